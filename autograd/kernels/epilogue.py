"""Linear-layer epilogue: ``z += bias`` then an activation, in place, in one pass.

Kept because it wins (benchmarks/kernel_throughput.py, float32, medians, this
machine): numpy needs two passes (``z += b; np.maximum(z, 0, out=z)``) and, for
tanh/sigmoid, numpy's slower transcendental passes; the fused kernel reads and
writes z once. See ``EPILOGUE_MEASUREMENTS`` for the numbers recorded when the
decision was taken.
"""
from __future__ import annotations

import numpy as np
from numba import prange

from . import activations as _acts
from ._jit import faster_twin, jit_pair, parallel_guard
from .vmath import vsigmoid, vtanh, zero_of

__all__ = ["bias_act", "bias_act_", "act_backward_", "ACTIVATIONS"]

ACTIVATIONS = ("none", "relu", "tanh", "sigmoid")
PAR_MIN_ELEMENTS = 50_000
_CODES = {name: i for i, name in enumerate(ACTIVATIONS)}

# Measured when deciding (float32, medians, ms; numpy = ``z += b`` then
# ``np.maximum(z, 0, out=z)`` / ``np.tanh(z, out=z)``); rerun with
# ``python -m benchmarks.kernel_throughput`` (rows bias_act_*).
EPILOGUE_MEASUREMENTS = """
shape        act    fused    numpy   numpy/fused
(128, 256)   none   0.0032   0.0059   1.8
(128, 256)   relu   0.0033   0.0147   4.5
(128, 256)   tanh   0.0114   0.0148   1.3
(512, 4096)  none   0.148    0.420    2.8
(512, 4096)  relu   0.147    0.843    5.7
(512, 4096)  tanh   0.448    1.020    2.3
"""


def _bias_act_k(z, b, act):
    m = z.shape[1]
    for r in prange(z.shape[0]):
        if act == 0:
            for j in range(m):
                z[r, j] = z[r, j] + b[j]
        elif act == 1:
            for j in range(m):
                v = z[r, j] + b[j]
                z[r, j] = v if not (v < 0) else zero_of(z)
        elif act == 2:
            for j in range(m):
                z[r, j] = vtanh(z[r, j] + b[j])
        else:
            for j in range(m):
                z[r, j] = vsigmoid(z[r, j] + b[j])


_bias_act, _bias_act_p = jit_pair(_bias_act_k)


def bias_act(z, bias, act="none"):
    """In place: ``z += bias`` (broadcast over rows) then ``act`` in {'none', 'relu', 'tanh', 'sigmoid'}.

    ``z`` must be a writeable C-contiguous float32/float64 array of shape (N, M)
    (as returned by ``x @ W.T``); ``bias`` has shape (M,) and is cast to z's
    dtype. Returns ``z``.
    """
    if act not in _CODES:
        raise ValueError(f"bias_act: act must be one of {ACTIVATIONS}, got {act!r}")
    if not isinstance(z, np.ndarray) or z.ndim != 2 or z.dtype not in (np.float32, np.float64):
        raise ValueError(f"bias_act: z must be a 2-D float32/float64 ndarray, got "
                         f"{getattr(z, 'shape', type(z))} {getattr(z, 'dtype', '')}")
    if not z.flags.c_contiguous or not z.flags.writeable:
        raise ValueError("bias_act: z must be C-contiguous and writeable (the op works in place)")
    b = np.asarray(bias)
    if b.shape != (z.shape[1],):
        raise ValueError(f"bias_act: bias shape {b.shape} does not match z shape {z.shape} "
                         f"(expected ({z.shape[1]},))")
    b = np.asarray(b, dtype=z.dtype, order="C")
    if z.size:
        if z.size >= PAR_MIN_ELEMENTS and z.shape[0] >= 2:
            parallel_guard(_bias_act, _bias_act_p, z.size, z, b, _CODES[act])
        else:
            _bias_act(z, b, _CODES[act])
    return z


def bias_act_(z, b, code):
    """``bias_act`` for the caller that already holds a C-contiguous, writeable, non-empty
    2-D float32/float64 ``z`` and a contiguous ``b`` of shape ``(z.shape[1],)`` and z's
    dtype (the Linear ops' forward); ``code`` is the index of the activation in
    ``ACTIVATIONS`` (0: bias only); no checks. numpy broadcasts the row once per row
    (100 x 16 floats: 1.6 us against 0.4 us here).

    Large arrays go through ``faster_twin`` (timed choice of serial or parallel), not
    ``parallel_guard``: this kernel runs right after a matrix product, while OpenBLAS's
    worker still spins on the other core, and there the serial twin is often faster
    (wide MLP step, 512 x 4096 float32: serial 0.4 ms, parallel 0.7-0.8 ms)."""
    if z.size >= PAR_MIN_ELEMENTS and z.shape[0] >= 2:
        faster_twin(_bias_act, _bias_act_p, z.size, z, b, code)
    else:
        _bias_act(z, b, code)
    return z


# the derivative kernels (grad, activation output, out, a, b) of the activations above, with
# their constant a (the 1 in tanh's 1 - y*y and sigmoid's (1 - y) * y)
_BACKWARD = {1: (_acts._relu_bw, _acts._relu_bw_p, 0.0), 2: (_acts._tanh_bw, _acts._tanh_bw_p, 1.0),
             3: (_acts._sigmoid_bw, _acts._sigmoid_bw_p, 1.0)}


def act_backward_(g, y, out, code):
    """Into ``out``: the gradient before activation ``code`` (1 relu, 2 tanh, 3 sigmoid) from
    the gradient ``g`` after it and its output ``y``; unchecked (all three C-contiguous, one
    shape, one float32/float64 dtype, as the fused Linear ops hold them). Like `bias_act_`
    it runs next to matrix products, so large arrays take the timed serial/parallel choice
    (wide MLP step, relu backward of 512 x 4096 float32: serial 0.8-0.9 ms, parallel
    1.7-2.1 ms)."""
    serial, parallel, a = _BACKWARD[code]
    n = y.size
    if n:
        g1, y1, out1 = g.reshape(n), y.reshape(n), out.reshape(n)
        if n < PAR_MIN_ELEMENTS:
            serial(g1, y1, out1, a, 0.0)
        else:
            faster_twin(serial, parallel, n, g1, y1, out1, a, 0.0)
    return out
