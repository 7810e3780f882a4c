"""Matrix products (``a @ b`` of 2-D arrays) through MKL's ``cblas_?gemm`` when the ``mkl``
package is installed (``pip install numbagrad[mkl]``), else numpy's ``np.dot``.

numpy's wheels multiply with OpenBLAS, PyTorch's with MKL, and at the shapes of a
small or medium MLP MKL is the faster GEMM. Measured on the project's 2-core machine
(Sapphire Rapids class, float32, medians, us, 2 threads; OpenBLAS 0.3.31 with
``blas_threads``' callback, MKL 2026.2):

========================  ========  =====
product                   OpenBLAS  MKL
========================  ========  =====
(128x784) @ (784x256)      240       170
(256x128) @ (128x784)      240       148
(128x256) @ (256x128)       52        33
(128x128) @ (128x256)       49        32
(512x1024) @ (1024x4096)   14.2 ms   12.2 ms
========================  ========  =====

(one thread: 407 and 283 us for the first row). A newer OpenBLAS (0.3.34) measured
the same as numpy's.

MKL comes from the ``mkl`` distribution's files (or the directory in ``NUMBAGRAD_MKL``;
``NUMBAGRAD_MKL=0`` keeps numpy's products): its LP64 interface, GNU OpenMP threading and
core libraries, loaded as one private group (`_group_library`: needs a C compiler once),
so PyTorch's own MKL in the same process never binds to ours. GNU OpenMP makes MKL's
threads the same pool as numba's kernels (and, through ``blas_threads``, numpy's
OpenBLAS): one pool, no second set of spinning workers; so MKL is used only under numba's
``omp`` threading layer, its thread count is OpenMP's (``threadpoolctl``'s "openmp"
limit, ``OMP_NUM_THREADS``), and a forked child process goes back to numpy's products
(OpenMP's pool does not survive ``fork``). Conditional numerical reproducibility is set
to ``AUTO``: the same product on the same machine and thread count gives the same bits
whatever the arrays' alignment (no measurable cost). Products smaller than `MKL_MIN`
multiply-adds stay with ``np.dot``, whose call costs less (0.6 against about 1 us).

MKL rounds differently from OpenBLAS (another summation order), like PyTorch's MKL;
results agree to float rounding, not bit for bit.
"""
from __future__ import annotations

import ctypes
import os

import numpy as np
from llvmlite import binding as llvm
from numba import types

from ._jit import enable_or_undo, jit

__all__ = ["dot", "backend", "load", "unload", "set_num_threads", "get_num_threads", "MKL_MIN"]

#: products of fewer multiply-adds (m * n * k) than this use ``np.dot``
MKL_MIN = 1 << 15

_ROW_MAJOR, _NO_TRANS, _TRANS = 101, 111, 112
_MKL_CBWR_AUTO = 2  # mkl_cbwr_set: reproducible whatever the arrays' alignment
_SYMBOLS = {"s": "numbagrad_mkl_cblas_sgemm", "d": "numbagrad_mkl_cblas_dgemm"}
_gemms = {}  # dtype -> numba function (a, b, out) -> bool, while MKL is in use
_library = None  # the ctypes library once loaded (kept: its code must stay mapped)


def _external(name, real):
    """``cblas_?gemm``'s C signature, row-major, pointers passed as integers."""
    i, p = types.intc, types.intp
    return types.ExternalFunction(name, types.void(i, i, i, i, i, i, real, p, i, p, i, real, p, i))


_sgemm = _external(_SYMBOLS["s"], types.float32)
_dgemm = _external(_SYMBOLS["d"], types.float64)


@jit
def _layout(x):
    """(transpose flag, leading dimension) that describe 2-D ``x`` to a row-major BLAS, or
    (0, 0) when neither of its dimensions is unit-stride (then it must be copied)."""
    m, n = x.shape
    it = x.itemsize
    s0, s1 = x.strides
    if (s1 == it or n <= 1) and s0 % it == 0:
        ld = s0 // it if m > 1 else n
        if ld >= max(n, 1):
            return _NO_TRANS, ld
    if (s0 == it or m <= 1) and s1 % it == 0:
        ld = s1 // it if n > 1 else m
        if ld >= max(m, 1):
            return _TRANS, ld
    return 0, 0


@jit
def _operands(a, b, out):
    """(trans_a, lda, trans_b, ldb, m, n, k) for ``out[:] = a @ b``; m = -1 when the
    shapes or layouts do not suit ``gemm`` (``out`` must be C-contiguous)."""
    m, k = a.shape
    n = b.shape[1]
    ta, lda = _layout(a)
    tb, ldb = _layout(b)
    it = out.itemsize
    if (b.shape[0] != k or out.shape[0] != m or out.shape[1] != n or ta == 0 or tb == 0
            or (m > 1 and out.strides[0] != n * it) or (n > 1 and out.strides[1] != it)):
        return 0, 0, 0, 0, -1, 0, 0
    return ta, lda, tb, ldb, m, n, k


@jit
def _gemm32(a, b, out):
    ta, lda, tb, ldb, m, n, k = _operands(a, b, out)
    if m < 0:
        return False
    _sgemm(_ROW_MAJOR, ta, tb, m, n, k, np.float32(1.0), a.ctypes.data, lda, b.ctypes.data,
           ldb, np.float32(0.0), out.ctypes.data, max(n, 1))
    return True


@jit
def _gemm64(a, b, out):
    ta, lda, tb, ldb, m, n, k = _operands(a, b, out)
    if m < 0:
        return False
    _dgemm(_ROW_MAJOR, ta, tb, m, n, k, 1.0, a.ctypes.data, lda, b.ctypes.data, ldb, 0.0,
           out.ctypes.data, max(n, 1))
    return True


def dot(a, b, out=None):
    """``np.dot(a, b, out=out)``; 2-D float32/float64 operands of one dtype go through
    MKL's gemm when it is loaded (see the module docstring), with ``out`` (when given)
    C-contiguous, writeable, of the result's shape and dtype and apart from the operands
    (else numpy's rules and errors apply)."""
    if b.ndim and a.size * b.shape[-1] >= MKL_MIN:  # the cheapest test first: small
        gemm = _gemms.get(a.dtype)                  # products are np.dot's at once
        if gemm is not None and a.ndim == 2 and b.ndim == 2 and b.dtype == a.dtype:
            if out is None:
                result = np.empty((a.shape[0], b.shape[1]), a.dtype)
                if gemm(a, b, result):
                    return result
            elif out.dtype == a.dtype and out.flags.writeable and not (
                    np.may_share_memory(out, a) or np.may_share_memory(out, b)) \
                    and gemm(a, b, out):  # (numpy copies overlapping operands first)
                return out
    return np.dot(a, b, out)


def backend() -> str:
    """``"mkl"`` when `dot` multiplies with MKL, else ``"numpy"``."""
    return "mkl" if _gemms else "numpy"


_LAYERS = ("libmkl_intel_lp64.so", "libmkl_gnu_thread.so", "libmkl_core.so")


def set_num_threads(n: int) -> None:
    """Let MKL's products use at most ``n`` threads (``numbagrad.autograd.set_num_threads``
    calls this; without it MKL follows OpenMP's count). Nothing happens without MKL."""
    if _library is not None:
        _library.MKL_Set_Num_Threads(int(n))


def get_num_threads() -> int | None:
    """MKL's thread count for the next product (None when MKL is not loaded)."""
    return int(_library.MKL_Get_Max_Threads()) if _library is not None else None


def _mkl_dir():
    """The directory of MKL's libraries: ``NUMBAGRAD_MKL``'s, else the ``mkl`` distribution's
    (None when it is not installed or ``NUMBAGRAD_MKL=0``)."""
    explicit = os.environ.get("NUMBAGRAD_MKL", "").strip()
    if explicit == "0":
        return None
    if explicit:
        return explicit
    from importlib import metadata
    try:
        files = metadata.distribution("mkl").files or ()
    except metadata.PackageNotFoundError:
        return None
    for f in files:
        if f.name.startswith("libmkl_core.so"):
            return os.path.dirname(os.path.realpath(str(f.locate())))
    return None


def _layer_files(directory):
    """MKL's LP64 interface, GNU-threading and core libraries in ``directory`` (their
    versioned file names), or None when one is missing."""
    try:
        names = os.listdir(directory)
    except OSError:
        return None
    found = []
    for prefix in _LAYERS:
        versions = sorted(n for n in names if n.startswith(prefix + ".") and n[len(prefix) + 1:].isdigit())
        if not versions:
            return None
        found.append(versions[-1])
    return found


def _group_library(directory, files):
    """A small shared library of our own whose only content is its dependencies: MKL's
    three layers and libgomp (built once with the C compiler, kept in a cache directory).

    Loaded with ``RTLD_LOCAL``, it brings MKL in as one group whose symbols resolve among
    themselves and stay out of the process's global namespace. MKL's usual entry point,
    ``libmkl_rt``, loads its layers globally instead; PyTorch, which links its own MKL and
    exports its symbols, then bound about 4,900 of them to our MKL when imported after us
    (seen with ``LD_DEBUG=bindings``), and earlier sessions measured PyTorch's products
    slowing down that way. Returns the path, or None without a working compiler.
    """
    import hashlib
    import subprocess
    import sysconfig
    import tempfile

    stamp = [directory] + [f"{n}:{os.stat(os.path.join(directory, n)).st_mtime_ns}" for n in files]
    key = hashlib.sha256("\n".join(stamp).encode()).hexdigest()[:16]
    for cache in (os.path.join(os.path.dirname(os.path.abspath(__file__)), "__pycache__"),
                  os.path.join(tempfile.gettempdir(), f"numbagrad-{os.getuid()}")):
        path = os.path.join(cache, f"libnumbagrad_mkl_{key}.so")
        if os.path.exists(path):
            return path
        try:
            os.makedirs(cache, exist_ok=True)
            partial = f"{path}.{os.getpid()}.tmp"
            cc = (sysconfig.get_config_var("CC") or "cc").split()
            subprocess.run(cc + ["-shared", "-x", "c", os.devnull, "-o", partial,
                                 "-Wl,--no-as-needed", f"-L{directory}"]
                           + [f"-l:{n}" for n in files] + ["-l:libgomp.so.1", f"-Wl,-rpath,{directory}"],
                           check=True, capture_output=True, timeout=60)
            os.replace(partial, path)  # atomic: a concurrent builder's copy is the same
            return path
        except (OSError, subprocess.SubprocessError):
            continue
    return None


def _mkl_mapped():
    """True when some MKL library is already mapped into this process (another user's)."""
    try:
        with open("/proc/self/maps") as f:
            return any("libmkl_" in line and "libnumbagrad_mkl" not in line for line in f)
    except OSError:
        return True


def load() -> bool:
    """Multiply with MKL from now on; True when it is in use (``NUMBAGRAD_MKL`` and the
    module docstring say when it is not)."""
    global _library
    if _gemms:
        return True
    if _library is None:
        directory = _mkl_dir()
        files = _layer_files(directory) if directory else None
        if files is None:
            return False
        from .blas_threads import numba_on_openmp
        if not numba_on_openmp() or _mkl_mapped():
            return False
        path = _group_library(directory, files)
        if path is None:
            return False
        try:
            lib = ctypes.CDLL(path)  # RTLD_LOCAL: see _group_library
        except OSError:
            return False
        lib.MKL_CBWR_Set(_MKL_CBWR_AUTO)
        for t, name in _SYMBOLS.items():
            llvm.add_symbol(name, ctypes.cast(getattr(lib, f"cblas_{t}gemm"), ctypes.c_void_p).value)
        _library = lib
    _gemms[np.dtype(np.float32)] = _gemm32
    _gemms[np.dtype(np.float64)] = _gemm64
    return True


def unload() -> None:
    """Multiply with ``np.dot`` from now on (MKL stays mapped; `load` resumes it)."""
    _gemms.clear()


def load_by_default() -> bool:
    """`load`; any error leaves numpy's products (called when the kernels are imported)."""
    return enable_or_undo(load, unload)


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=unload)
