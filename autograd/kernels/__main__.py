"""``python -m numbagrad.autograd.kernels``: compile every kernel now and print the time taken."""
from ._warmup import warmup

if __name__ == "__main__":
    print(f"numbagrad kernels ready in {warmup(verbose=True):.1f} s")
