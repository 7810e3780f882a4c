"""Compile (or load from numba's on-disk cache) every kernel ahead of first use."""
from __future__ import annotations

import time

import numpy as np


def warmup(dtypes=("float32", "float64"), parallel: bool = True, verbose: bool = False) -> float:
    """Run every public kernel once per dtype on tiny inputs so all compile now (cold: tens of
    seconds; from the cache: about a second), and MKL's product wrappers (``gemm``) when MKL
    is in use. With ``parallel`` the ``parallel=True`` twins are
    compiled too. Returns the seconds spent. ``python -m numbagrad.autograd.kernels`` calls this."""
    from . import activations as A
    from . import epilogue as E
    from . import losses as L
    from . import softmax_family as S
    import numbagrad.autograd.kernels as K

    saved = (A.PAR_CHEAP, A.PAR_EXP, S.PAR_MIN_ELEMENTS, L.PAR_MIN_ELEMENTS, E.PAR_MIN_ELEMENTS,
             A.TANH_NUMPY_BELOW)
    t0 = time.perf_counter()
    try:
        for par in ((False, True) if parallel else (False,)):
            big = 0 if par else 1 << 62
            A.PAR_CHEAP = A.PAR_EXP = S.PAR_MIN_ELEMENTS = L.PAR_MIN_ELEMENTS = E.PAR_MIN_ELEMENTS = big
            A.TANH_NUMPY_BELOW = 0
            for dt in dtypes:
                t1 = time.perf_counter()
                x = np.linspace(-2, 2, 12, dtype=dt).reshape(3, 4)
                g = np.ones_like(x)
                for name in ("relu", "sigmoid", "tanh", "gelu", "elu", "silu", "softplus", "leaky_relu"):
                    y = getattr(K, name)(x)
                    getattr(K, name + "_backward")(g, y if name in ("sigmoid", "tanh") else x)
                K.gelu(x, "tanh")
                K.gelu_backward(g, x, "tanh")
                for d in (1, 0):
                    K.softmax_backward(g, K.softmax(x, d), d)
                    K.log_softmax_backward(g, K.log_softmax(x, d), d)
                    K.logsumexp(x, d)
                loss, saved_ce = K.log_softmax_nll(x, np.array([0, 1, 2]))
                K.log_softmax_nll_backward(loss, saved_ce, np.array([0, 1, 2]))
                for act in E.ACTIVATIONS:
                    K.bias_act(x.copy(), x[0], act)
                gemm = K.gemm._gemms.get(x.dtype)  # MKL's products, when loaded: one wrapper
                if gemm is not None and not par:  # per operand layout a Linear layer uses
                    c = np.ones((4, 2), dt)
                    for a, b in ((x, x.T), (x.T, x), (x, c)):  # x @ W.T, g.T @ x, g @ W
                        gemm(a, b, np.empty((a.shape[0], b.shape[1]), dt))
                if verbose:
                    print(f"kernels {dt} {'parallel' if par else 'serial'}: {time.perf_counter() - t1:.1f} s")
    finally:
        (A.PAR_CHEAP, A.PAR_EXP, S.PAR_MIN_ELEMENTS, L.PAR_MIN_ELEMENTS, E.PAR_MIN_ELEMENTS,
         A.TANH_NUMPY_BELOW) = saved
    return time.perf_counter() - t0
