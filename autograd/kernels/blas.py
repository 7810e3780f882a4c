"""``axpy`` (``y += a * x``) from the OpenBLAS that numpy already loaded, through ctypes.

numpy does not expose BLAS's level-1 routines. The one used here is the plain SGD
update ``p += (-lr) * g`` of large parameters. It was chosen when OpenBLAS kept its own
threads: in a training loop its worker kept spinning on the second core after each matrix
product, and a numba parallel kernel's chunk on that core waited for it, while OpenBLAS's
axpy ran on the threads already awake. Measured then on 21M float32 (the wide MLP's
parameters, 2 cores) right after a GEMM: numba parallel 9.5 ms, numba serial 9.4 ms,
OpenBLAS axpy 5.3 ms. Its jobs now run on numba's threads like every OpenBLAS call
(``blas_threads``).

The library is found among the process's mapped files (Linux ``/proc/self/maps``;
numpy's wheels bundle ``libscipy_openblas64_``) and its ``cblas_[sd]axpy`` looked up
under the names numpy's builds use (``scipy_`` prefix, ``64_`` suffix for 64-bit
integers). Anywhere that fails (another BLAS, another OS) `axpy_` returns False and the
caller uses its numba kernel.
"""
from __future__ import annotations

import ctypes

import numpy as np

__all__ = ["axpy_", "available"]

# name templates, most specific first; the "64_" ones take 64-bit integers
_NAMES = ("scipy_cblas_{t}axpy64_", "cblas_{t}axpy64_", "scipy_cblas_{t}axpy", "cblas_{t}axpy")
_funcs = None  # dtype -> ctypes function, after the first lookup ({} when none was found)


def _openblas_paths():
    """Paths of the OpenBLAS libraries mapped into this process (numpy's first)."""
    import numpy.linalg  # noqa: F401  (makes sure numpy's BLAS is loaded)
    try:
        with open("/proc/self/maps") as f:
            paths = {line.split()[-1] for line in f if "openblas" in line.lower() and "/" in line}
    except OSError:
        return []
    return sorted(paths, key=lambda p: ("numpy" not in p, p))


def openblas_libraries():
    """The OpenBLAS libraries mapped into this process as ctypes libraries, numpy's first."""
    for path in _openblas_paths():
        try:
            yield ctypes.CDLL(path)
        except OSError:
            continue


def _lookup():
    funcs = {}
    for lib in openblas_libraries():
        for dtype, t, real in ((np.dtype(np.float32), "s", ctypes.c_float),
                               (np.dtype(np.float64), "d", ctypes.c_double)):
            for name in _NAMES:
                fn = getattr(lib, name.format(t=t), None)
                if fn is None:
                    continue
                integer = ctypes.c_int64 if name.endswith("64_") else ctypes.c_int
                fn.argtypes = [integer, real, ctypes.c_void_p, integer, ctypes.c_void_p, integer]
                fn.restype = None
                funcs[dtype] = fn
                break
        if len(funcs) == 2:
            return funcs
        funcs = {}
    return funcs


def available() -> bool:
    """True when an OpenBLAS axpy was found for float32 and float64."""
    global _funcs
    if _funcs is None:
        _funcs = _lookup()
    return bool(_funcs)


def axpy_(alpha, x, y) -> bool:
    """``y += alpha * x`` in place for 1-D C-contiguous float32/float64 arrays of one dtype
    and size (``y`` writeable); returns False, doing nothing, when no BLAS axpy is available.

    ``alpha`` is rounded to the arrays' dtype first. The BLAS may use fused multiply-adds,
    so float32 results can differ from ``y + alpha * x`` by an ulp.
    """
    if _funcs is None:
        available()
    fn = _funcs.get(x.dtype)
    if fn is None:
        return False
    if not (x.ndim == y.ndim == 1 and x.dtype == y.dtype and x.size == y.size
            and x.flags.c_contiguous and y.flags.c_contiguous and y.flags.writeable):
        raise ValueError("axpy_: x and y must be 1-D C-contiguous arrays of one dtype and size, "
                         "y writeable")
    fn(x.size, alpha, x.ctypes.data, 1, y.ctypes.data, 1)
    return True
