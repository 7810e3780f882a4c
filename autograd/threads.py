"""Thread control, as `torch.set_num_threads` / `torch.get_num_threads`.

numbagrad uses threads in two places: numba's `parallel=True` kernels (large
activations, softmax, optimizer updates) and BLAS (matrix products: MKL's when the
``mkl`` extra is installed, numpy's otherwise). On a
machine whose cores are busy with other processes a 2-thread region can stall for
milliseconds, so `set_num_threads(1)` is the robust choice there; on an idle machine
the default (all cores) is faster for large tensors.
"""
_requested = [None]
_PARALLEL_OFF = 1 << 62


def set_num_threads(n):
    """Use at most `n` threads for numba kernels and BLAS in this process.

    `n = 1` also switches the kernels' parallel variants off entirely (no thread pool
    is woken up). numpy's BLAS threads are limited through threadpoolctl when it is
    installed, MKL's (``kernels.gemm``) directly.
    """
    n = int(n)
    if n < 1:
        raise ValueError(f"set_num_threads: expected a positive number of threads, got {n}")
    import numba

    from . import kernels
    from .kernels import optim_updates

    numba.set_num_threads(min(n, numba.config.NUMBA_NUM_THREADS))
    kernels.gemm.set_num_threads(n)
    kernels.set_parallel(n > 1)
    if not hasattr(optim_updates, "_PARALLEL_MIN_DEFAULT"):
        optim_updates._PARALLEL_MIN_DEFAULT = optim_updates.PARALLEL_MIN
    optim_updates.PARALLEL_MIN = optim_updates._PARALLEL_MIN_DEFAULT if n > 1 else _PARALLEL_OFF
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        pass
    else:
        threadpool_limits(limits=n, user_api="blas")
    _requested[0] = n


def get_num_threads():
    """The thread count set by set_num_threads (numba's current count by default)."""
    if _requested[0] is not None:
        return _requested[0]
    import numba
    return numba.get_num_threads()
