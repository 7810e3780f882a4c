"""`python -m numbagrad.autograd.warmup`: compile every numba kernel into the on-disk cache.

numba compiles a kernel the first time it runs (for float32 and float64 separately)
and caches the machine code next to the sources (or in NUMBA_CACHE_DIR). Running this
once after installing moves the whole one-time cost here; later programs load the
kernels from the cache in about a second.
"""
import time

import numpy as np


def _warm_fused_optimizers(dtypes):
    """One step of every fused optimizer update, serial and parallel variants."""
    from . import fused
    from .kernels import optim_updates
    from .tensor import _wrap

    def t(a):
        return _wrap(a, False, None, 0, None)

    saved = optim_updates.PARALLEL_MIN
    try:
        for par_min in (1 << 62, 0):  # serial kernels, then their prange twins
            optim_updates.PARALLEL_MIN = par_min
            for dt in dtypes:
                def z():
                    return t(np.zeros(8, dt))
                p, g = t(np.ones(8, dt)), t(np.full(8, 0.5, dt))
                fused.adam_(p, g, z(), z(), z(), step=1, lr=1e-3, beta1=0.9, beta2=0.999,
                            eps=1e-8, weight_decay=0.0, amsgrad=True, maximize=False,
                            decoupled=False)
                fused.sgd_(p, g, z(), lr=0.1, momentum=0.9, first_step=True)
                fused.rmsprop_(p, g, z(), z(), z(), lr=1e-2, alpha=0.99, eps=1e-8,
                               weight_decay=0.0, momentum=0.9, centered=True, maximize=False)
                fused.adagrad_(p, g, z(), step=1, lr=1e-2, lr_decay=0.0, weight_decay=0.0,
                               eps=1e-10, maximize=False)
    finally:
        optim_updates.PARALLEL_MIN = saved


def warmup(dtypes=("float32", "float64"), verbose=False):
    """Compile (or load from the cache) every kernel; returns the seconds it took."""
    from .kernels import warmup as warm_kernels
    t0 = time.perf_counter()
    warm_kernels(dtypes=dtypes, verbose=verbose)
    t1 = time.perf_counter()
    _warm_fused_optimizers(dtypes)
    if verbose:
        print(f"optimizer kernels: {time.perf_counter() - t1:.1f} s")
    return time.perf_counter() - t0


if __name__ == "__main__":
    print(f"numbagrad: all kernels compiled and cached in {warmup(verbose=True):.1f} s")
