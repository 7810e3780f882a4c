"""numpy's OpenBLAS runs its parallel jobs on numba's thread pool (one pool, not two).

numpy's OpenBLAS and numba each keep a pool of worker threads, and an idle worker of
either spins for a while before it sleeps (OpenBLAS's for about 0.1 s). A training step
alternates between the two every few tens of microseconds (GEMMs, an epilogue kernel,
GEMMs, the optimizer kernel), so the pool that just finished still spins on the second
core while the other one works there. OpenBLAS (0.3.27 and later) lets its caller run
its jobs (``openblas_set_threads_callback_function``): `install`, called when the
kernels are first imported (unless ``NUMBAGRAD_SHARED_BLAS_POOL=0``), sets a callback
that runs them as a numba ``prange``, so numpy's products (numbagrad's GEMMs and any
others in the process) and numba's kernels share one pool. Measured on the project's
2-core machine (full benchmark runs, 2 threads): MNIST MLP step 1.16 -> 1.06 ms, wide MLP
step 216 -> 201 ms; alone, PyTorch imported first (medians of 7 rounds of 300 steps), the
MNIST step 1.09-1.16 -> 0.99-1.01 ms. Only numpy's products are covered: another copy of
OpenBLAS (scipy's) keeps its threads, and so do they all after `uninstall`.

Installing only around numbagrad's own products was tried and dropped: a numpy product
of the user's in the loop then woke OpenBLAS's threads, whose spinning slowed the GEMMs
on numba's several-fold (MNIST step with one extra 128x784x256 product: 1.4 ms with
OpenBLAS's threads, 11-13 ms scoped, 1.2-1.35 ms with the callback installed for good).

The jobs of one level-3 call wait on each other (each packs a panel the others read),
so they must all run at once: run one after another they deadlock. The callback gives
each job its own thread of numba's OpenMP team, whose threads run concurrently: for a
call with more jobs than the caller's numba thread count (``numba.set_num_threads``
lowered it, or OpenBLAS's count was raised above numba's pool) the team is widened to
one thread per job for that call, and OpenMP starts any threads it lacks. So it is
installed only with numba's ``omp`` threading layer (tbb's tasks need not run at once)
and an OpenBLAS that exports the callback setter. A forked child process uninstalls it
(OpenMP's pool does not survive ``fork``).
"""
from __future__ import annotations

import ctypes
import os

import numba
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

from . import blas
from ._jit import cfunc, enable_or_undo, jit

__all__ = ["install", "uninstall", "installed", "install_by_default", "numba_on_openmp"]

#: the callback's C signature: (sync, dojob, numjobs, jobdata_elsize, jobdata, dojob_data);
#: pointers pass as integers
_CALLBACK_SIG = types.void(types.intc, types.intp, types.intc, types.uintp, types.intp, types.intc)
_SETTERS = ("scipy_openblas_set_threads_callback_function64_",
            "scipy_openblas_set_threads_callback_function",
            "openblas_set_threads_callback_function64_", "openblas_set_threads_callback_function")
_installed = None  # (setter, callback) while installed


@intrinsic
def _call_job(typingctx, dojob, thread, data, arg):
    """Call OpenBLAS's job function at address ``dojob`` as ``dojob(thread, data, arg)``
    (C types ``void (int, void *, int)``)."""
    sig = types.void(types.intp, types.intp, types.intp, types.intp)

    def codegen(context, builder, signature, args):
        address, thread_, data_, arg_ = args
        i32, void_p = ir.IntType(32), ir.IntType(8).as_pointer()
        fnty = ir.FunctionType(ir.VoidType(), [i32, void_p, i32])
        fn = builder.inttoptr(address, fnty.as_pointer())
        builder.call(fn, [builder.trunc(thread_, i32), builder.inttoptr(data_, void_p),
                          builder.trunc(arg_, i32)])
        return context.get_dummy_value()

    return sig, codegen


@intrinsic
def _team_threads(typingctx):
    """This thread's numba thread count (numba's C ``get_num_threads``)."""
    def codegen(context, builder, signature, args):
        fnty = ir.FunctionType(ir.IntType(32), [])
        fn = cgutils.get_or_insert_function(builder.module, fnty, "get_num_threads")
        return builder.sext(builder.call(fn, []), ir.IntType(64))

    return types.int64(), codegen


@intrinsic
def _set_team_threads(typingctx, n):
    """Set this thread's numba thread count (numba's C ``set_num_threads``; no check)."""
    def codegen(context, builder, signature, args):
        fnty = ir.FunctionType(ir.VoidType(), [ir.IntType(32)])
        fn = cgutils.get_or_insert_function(builder.module, fnty, "set_num_threads")
        builder.call(fn, [builder.trunc(args[0], ir.IntType(32))])
        return context.get_dummy_value()

    return types.void(types.int64), codegen


@jit(parallel=True)
def _run_parallel(dojob, numjobs, elsize, jobdata, arg):
    """Job i on its own thread of the team, with i as OpenBLAS's thread number (which
    picks the job's scratch buffer)."""
    for i in numba.prange(numjobs):
        _call_job(dojob, i, jobdata + i * elsize, arg)


@jit
def _run_jobs(dojob, numjobs, elsize, jobdata, arg):
    """Run OpenBLAS's ``numjobs`` jobs at once: alone on the calling thread, else one
    per thread of numba's team (of ``numjobs`` threads for the call when it has fewer)."""
    if numjobs == 1:
        _call_job(dojob, 0, jobdata, arg)
        return
    threads = _team_threads()
    if numjobs > threads:
        _set_team_threads(numjobs)
    _run_parallel(dojob, numjobs, elsize, jobdata, arg)
    if numjobs > threads:
        _set_team_threads(threads)


def _compile_callback():
    """The C callback (cached on disk like the kernels)."""
    @cfunc(_CALLBACK_SIG)
    def run(sync, dojob, numjobs, elsize, jobdata, arg):
        _run_jobs(dojob, numjobs, elsize, jobdata, arg)
    return run


def _find_openblas():
    """The callback setter of the first mapped OpenBLAS that has one, numpy's first
    (None when none has)."""
    for lib in blas.openblas_libraries():
        setter = next((getattr(lib, n) for n in _SETTERS if hasattr(lib, n)), None)
        if setter is not None:
            setter.restype, setter.argtypes = None, [ctypes.c_void_p]
            return setter
    return None


def numba_on_openmp() -> bool:
    """Start numba's thread pool (if not yet: that fixes its threading layer) and say whether
    it runs on OpenMP, the one pool the BLAS callback and MKL's products (``gemm``) share."""
    _run_parallel(0, 0, 0, 0, 0)
    return numba.threading_layer() == "omp"


def install() -> bool:
    """Run numpy's OpenBLAS parallel jobs on numba's threads from now on; True when
    installed (see the module docstring for where it is not)."""
    global _installed
    if _installed is not None:
        return True
    if numba.config.NUMBA_NUM_THREADS < 2:
        return False
    if not numba_on_openmp():
        return False
    setter = _find_openblas()
    if setter is None:
        return False
    callback = _compile_callback()
    setter(callback.address)
    _installed = (setter, callback)
    return True


def uninstall() -> None:
    """Give numpy's OpenBLAS back its own threads."""
    global _installed
    if _installed is not None:
        _installed[0](None)
        _installed = None


def installed() -> bool:
    """True while numpy's OpenBLAS runs its parallel jobs on numba's threads."""
    return _installed is not None


def install_by_default() -> bool:
    """`install`, unless the environment says ``NUMBAGRAD_SHARED_BLAS_POOL=0``; any error
    leaves OpenBLAS its own threads (called when the kernels are first imported)."""
    if os.environ.get("NUMBAGRAD_SHARED_BLAS_POOL", "1").strip() == "0":
        return False
    return enable_or_undo(install, uninstall)


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=uninstall)
