"""Private glue between ``numbagrad.nn.data`` and ``numbagrad.autograd``.

Everything that touches Tensors or random generators goes through here, so the
rest of the package works on plain numpy arrays.
"""
import numpy as np

from numbagrad import autograd as ag


def is_tensor(x):
    """True when ``x`` is a numbagrad Tensor."""
    tensor_type = getattr(ag, "Tensor", None)
    return tensor_type is not None and isinstance(x, tensor_type)


def to_numpy(x):
    """Return ``x`` as an ndarray: a Tensor is detached, anything else goes through ``np.asarray``."""
    if hasattr(x, "detach") and hasattr(x, "numpy"):
        return x.detach().numpy()
    return np.asarray(x)


def from_numpy(arr):
    """Wrap an ndarray in a Tensor (sharing memory when numbagrad allows it)."""
    arr = np.asarray(arr)
    return ag.from_numpy(arr if arr.flags.c_contiguous else np.ascontiguousarray(arr))


def default_rng():
    """The numpy Generator behind ``ag.default_generator`` (reseeded by ``ag.manual_seed``)."""
    return ag.default_generator.rng


def fresh_seed(generator=None):
    """Draw a 63-bit seed from ``generator`` (or the default generator), as torch's samplers do."""
    rng = default_rng() if generator is None else as_numpy_rng(generator)
    return int(rng.integers(0, 2**63 - 1))


def as_numpy_rng(generator):
    """Return the numpy Generator of ``generator``: an ``ag.Generator`` or a ``numpy.random.Generator``."""
    if isinstance(generator, np.random.Generator):
        return generator
    rng = getattr(generator, "rng", None)
    if isinstance(rng, np.random.Generator):
        return rng
    raise TypeError(
        f"generator: expected a numbagrad.autograd.Generator or numpy.random.Generator, "
        f"got {type(generator).__name__}"
    )


def resolve_rng(seed=None, generator=None):
    """Pick the random source for a data function.

    ``seed`` (an int) gives a fresh private generator; ``generator`` (an
    ``ag.Generator`` or numpy Generator) is used and advanced; with neither,
    the project-wide default generator is used, so ``ag.manual_seed`` makes the
    result reproducible. Passing both is an error.
    """
    if seed is not None and generator is not None:
        raise ValueError("pass either seed or generator, not both")
    if generator is not None:
        return as_numpy_rng(generator)
    if seed is not None:
        if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer)):
            raise TypeError(f"seed: expected an int, got {type(seed).__name__}")
        return np.random.default_rng(int(seed))
    return default_rng()
