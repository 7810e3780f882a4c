"""Child process of the cold_start workload: ``python -m benchmarks._cold_child LIB``.

Times, in a fresh interpreter, the import of LIB's modules ("numbagrad",
"torch" or "numpy"), building the mnist_mlp model and its first two training
steps, and prints them as one JSON line. It imports nothing before the timed
import (``benchmarks/__init__.py`` is empty of imports on purpose).
"""
import json
import sys
import time


def main(lib: str) -> None:
    """Measure and print ``{"import_s", "build_s", "first_step_s", "second_step_s"}``."""
    t0 = time.perf_counter()
    if lib == "numbagrad":
        import numbagrad.autograd  # noqa: F401
        import numbagrad.nn  # noqa: F401
        import numbagrad.optim  # noqa: F401
    elif lib == "torch":
        import torch  # noqa: F401
    else:
        import numpy  # noqa: F401
    t1 = time.perf_counter()

    from benchmarks import libs
    from benchmarks.workloads import mlp

    spec = mlp.SPECS["mnist_mlp"]
    t2 = time.perf_counter()
    if lib == "numpy":
        step = mlp.floor_step_factory(spec)
    else:
        step = mlp.train_step_factory(libs.numbagrad() if lib == "numbagrad" else libs.pytorch(), spec)
    t3 = time.perf_counter()
    step()
    t4 = time.perf_counter()
    step()
    t5 = time.perf_counter()
    print(json.dumps({"import_s": t1 - t0, "build_s": t3 - t2, "first_step_s": t4 - t3,
                      "second_step_s": t5 - t4}))


if __name__ == "__main__":
    main(sys.argv[1])
