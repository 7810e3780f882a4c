"""Softmax family along any dim: softmax, log_softmax, their backwards, logsumexp.

The input is viewed as ``(outer, n, inner)`` around ``dim`` (a reshape of the
C-contiguous array, no copy). ``inner == 1`` (``dim`` is the last axis, or
all later axes have size 1) uses row kernels over a 2-D ``(outer, n)`` view;
otherwise column kernels reduce over the middle axis while streaming the
contiguous inner axis, so no transposed copy is ever made.

Numerics follow PyTorch: ``softmax = exp(x - max) / sum``; ``log_softmax =
x - max - log(sum exp(x - max))``; a row of all ``-inf`` gives NaN for softmax
and log_softmax (as PyTorch) and ``-inf`` for logsumexp, which, like PyTorch,
shifts by 0 instead of an infinite max (a ``+inf`` entry gives ``+inf``).

Row maxima use ``llvm.maxnum`` in a helper compiled with ``fastmath={'nnan',
'nsz'}`` so LLVM vectorises the max reduction (a compare-and-select max ran
at 1 element per cycle); a NaN in a row still makes the whole row NaN,
because the exp-sum pass (compiled without those flags) propagates it.
exp is ``vmath.vexp_fast`` (float32 terms below 2e-38 count as 0, which
cannot change a sum that contains exp(0) = 1). Sums use ``reassoc`` (vectorised reduction; NaN/inf semantics unchanged).
"""
from __future__ import annotations

import math

import numpy as np
from numba import prange

from ._jit import FLOAT_DTYPES, as_float, jit, jit_pair, maxnum, parallel_guard
from .vmath import neg_inf_of, one_of, vexp_fast as vexp, zero_of

__all__ = ["softmax", "softmax_backward", "log_softmax", "log_softmax_backward", "logsumexp"]

# Serial vs parallel row softmax (rows of 100, float32, us): 8000: 7.6 / 5.4,
# 4000: 4.0 / 3.6, 2000: 2.5 / 2.6; rows are independent so the break-even is low.
PAR_MIN_ELEMENTS = 8_000
_FM = {"contract", "reassoc"}


@jit(fastmath={"nnan", "nsz", "contract"})
def _rowmax(x, r):
    xr = x[r]
    m = neg_inf_of(x)
    for j in range(xr.shape[0]):
        m = maxnum(m, xr[j])
    return m


# --------------------------------------------------------------- row kernels
def _softmax_rows_k(x, out):
    n = x.shape[1]
    for r in prange(x.shape[0]):
        m = _rowmax(x, r)
        s = zero_of(x)
        for j in range(n):
            e = vexp(x[r, j] - m)
            out[r, j] = e
            s += e
        inv = one_of(x) / s
        for j in range(n):
            out[r, j] *= inv


def _log_softmax_rows_k(x, out):
    n = x.shape[1]
    for r in prange(x.shape[0]):
        m = _rowmax(x, r)
        s = zero_of(x)
        for j in range(n):
            s += vexp(x[r, j] - m)
        c = m + math.log(s)
        for j in range(n):
            out[r, j] = x[r, j] - c


def _logsumexp_rows_k(x, out):
    n = x.shape[1]
    for r in prange(x.shape[0]):
        m = _rowmax(x, r)
        m = zero_of(x) if (m == np.inf or m == -np.inf) else m
        s = zero_of(x)
        for j in range(n):
            s += vexp(x[r, j] - m)
        out[r] = math.log(s) + m


def _softmax_bw_rows_k(g, y, out):
    n = y.shape[1]
    for r in prange(y.shape[0]):
        d = zero_of(y)
        for j in range(n):
            d += g[r, j] * y[r, j]
        for j in range(n):
            out[r, j] = y[r, j] * (g[r, j] - d)


def _log_softmax_bw_rows_k(g, y, out):
    n = y.shape[1]
    for r in prange(y.shape[0]):
        s = zero_of(y)
        for j in range(n):
            s += g[r, j]
        for j in range(n):
            out[r, j] = g[r, j] - vexp(y[r, j]) * s


# ------------------------------------------------------------ column kernels
# x: (outer, n, inner); reductions over axis 1, vectorised along axis 2.
def _softmax_cols_k(x, out):
    n, inner = x.shape[1], x.shape[2]
    for o in prange(x.shape[0]):
        m = np.full(inner, -np.inf, dtype=x.dtype)
        for k in range(n):
            for j in range(inner):
                v = x[o, k, j]
                m[j] = v if v > m[j] else m[j]
        s = np.zeros(inner, dtype=x.dtype)
        for k in range(n):
            for j in range(inner):
                e = vexp(x[o, k, j] - m[j])
                out[o, k, j] = e
                s[j] += e
        for j in range(inner):
            s[j] = 1 / s[j]
        for k in range(n):
            for j in range(inner):
                out[o, k, j] *= s[j]


def _log_softmax_cols_k(x, out):
    n, inner = x.shape[1], x.shape[2]
    for o in prange(x.shape[0]):
        m = np.full(inner, -np.inf, dtype=x.dtype)
        for k in range(n):
            for j in range(inner):
                v = x[o, k, j]
                m[j] = v if v > m[j] else m[j]
        s = np.zeros(inner, dtype=x.dtype)
        for k in range(n):
            for j in range(inner):
                s[j] += vexp(x[o, k, j] - m[j])
        for j in range(inner):
            s[j] = m[j] + math.log(s[j])
        for k in range(n):
            for j in range(inner):
                out[o, k, j] = x[o, k, j] - s[j]


def _logsumexp_cols_k(x, out):
    n, inner = x.shape[1], x.shape[2]
    for o in prange(x.shape[0]):
        m = np.full(inner, -np.inf, dtype=x.dtype)
        for k in range(n):
            for j in range(inner):
                v = x[o, k, j]
                m[j] = v if v > m[j] else m[j]
        for j in range(inner):
            if m[j] == np.inf or m[j] == -np.inf or m[j] != m[j]:
                m[j] = 0
        s = np.zeros(inner, dtype=x.dtype)
        for k in range(n):
            for j in range(inner):
                s[j] += vexp(x[o, k, j] - m[j])
        for j in range(inner):
            out[o, j] = math.log(s[j]) + m[j]


def _softmax_bw_cols_k(g, y, out):
    n, inner = y.shape[1], y.shape[2]
    for o in prange(y.shape[0]):
        d = np.zeros(inner, dtype=y.dtype)
        for k in range(n):
            for j in range(inner):
                d[j] += g[o, k, j] * y[o, k, j]
        for k in range(n):
            for j in range(inner):
                out[o, k, j] = y[o, k, j] * (g[o, k, j] - d[j])


def _log_softmax_bw_cols_k(g, y, out):
    n, inner = y.shape[1], y.shape[2]
    for o in prange(y.shape[0]):
        s = np.zeros(inner, dtype=y.dtype)
        for k in range(n):
            for j in range(inner):
                s[j] += g[o, k, j]
        for k in range(n):
            for j in range(inner):
                out[o, k, j] = g[o, k, j] - vexp(y[o, k, j]) * s[j]


_softmax_rows, _softmax_rows_p = jit_pair(_softmax_rows_k, fastmath=_FM)
_log_softmax_rows, _log_softmax_rows_p = jit_pair(_log_softmax_rows_k, fastmath=_FM)
_logsumexp_rows, _logsumexp_rows_p = jit_pair(_logsumexp_rows_k, fastmath=_FM)
_softmax_bw_rows, _softmax_bw_rows_p = jit_pair(_softmax_bw_rows_k, fastmath=_FM)
_log_softmax_bw_rows, _log_softmax_bw_rows_p = jit_pair(_log_softmax_bw_rows_k, fastmath=_FM)
_softmax_cols, _softmax_cols_p = jit_pair(_softmax_cols_k, fastmath=_FM)
_log_softmax_cols, _log_softmax_cols_p = jit_pair(_log_softmax_cols_k, fastmath=_FM)
_logsumexp_cols, _logsumexp_cols_p = jit_pair(_logsumexp_cols_k, fastmath=_FM)
_softmax_bw_cols, _softmax_bw_cols_p = jit_pair(_softmax_bw_cols_k, fastmath=_FM)
_log_softmax_bw_cols, _log_softmax_bw_cols_p = jit_pair(_log_softmax_bw_cols_k, fastmath=_FM)



# Rows shorter than one 16-lane vector run entirely in the scalar remainder of
# the 512-bit loop; LLVM's own choice (8 lanes) is 2x faster there (softmax over
# (100000, 10) float32, serial: 3.7 ms with 16 lanes, 1.8 ms with the default).
SHORT_ROW = 16
_softmax_rows_n, _softmax_rows_np = jit_pair(_softmax_rows_k, "_narrow", fastmath=_FM, wide_f32=False)
_log_softmax_rows_n, _log_softmax_rows_np = jit_pair(_log_softmax_rows_k, "_narrow", fastmath=_FM, wide_f32=False)
_logsumexp_rows_n, _logsumexp_rows_np = jit_pair(_logsumexp_rows_k, "_narrow", fastmath=_FM, wide_f32=False)
_softmax_bw_rows_n, _softmax_bw_rows_np = jit_pair(_softmax_bw_rows_k, "_narrow", fastmath=_FM, wide_f32=False)
_log_softmax_bw_rows_n, _log_softmax_bw_rows_np = jit_pair(_log_softmax_bw_rows_k, "_narrow", fastmath=_FM,
                                                           wide_f32=False)
_NARROW = {
    _softmax_rows: (_softmax_rows_n, _softmax_rows_np),
    _log_softmax_rows: (_log_softmax_rows_n, _log_softmax_rows_np),
    _logsumexp_rows: (_logsumexp_rows_n, _logsumexp_rows_np),
    _softmax_bw_rows: (_softmax_bw_rows_n, _softmax_bw_rows_np),
    _log_softmax_bw_rows: (_log_softmax_bw_rows_n, _log_softmax_bw_rows_np),
}


# ------------------------------------------------------------------ wrappers
def _norm_dim(dim, ndim, op):
    nd = max(ndim, 1)
    if not isinstance(dim, (int, np.integer)) or isinstance(dim, bool):
        raise TypeError(f"{op}: dim must be an int, got {dim!r}")
    if not -nd <= dim < nd:
        raise IndexError(f"{op}: dim {dim} out of range for a {ndim}-d input "
                         f"(expected to be in range [{-nd}, {nd - 1}])")
    return dim % nd


def _split(shape, d):
    outer = math.prod(shape[:d])
    inner = math.prod(shape[d + 1:])
    return outer, shape[d], inner


def _pick(serial, parallel, size, outer, n=SHORT_ROW):
    """The kernel to call: narrow twins for rows < SHORT_ROW; parallel (through the stall
    guard) for large inputs of at least two rows."""
    if n < SHORT_ROW and serial in _NARROW:
        serial, parallel = _NARROW[serial]
    if size >= PAR_MIN_ELEMENTS and outer >= 2:
        return lambda *args: parallel_guard(serial, parallel, size, *args)
    return serial


def _small_rows(x, dim):
    """``x`` as its ``(rows, n)`` view when ``dim`` is its last axis and it is a small,
    non-empty, C-contiguous float array (the serial kernels' case); else None.

    Small inputs are where the wrappers' checks cost more than the kernel (a softmax
    of 10 floats: 0.2 us in the kernel, 2 us around it), so this case skips them.
    """
    if x.__class__ is np.ndarray and dim.__class__ is int and x.ndim and x.dtype in FLOAT_DTYPES \
            and (dim == -1 or dim == x.ndim - 1) and 0 < x.size < PAR_MIN_ELEMENTS \
            and x.flags.c_contiguous:
        n = x.shape[-1]
        return x.reshape(x.size // n, n)
    return None


def _serial_rows(kernel, n):
    return _NARROW[kernel][0] if n < SHORT_ROW and kernel in _NARROW else kernel


def _run_map(x, dim, kernels, op):
    """softmax / log_softmax forward: same-shape output."""
    rows = _small_rows(x, dim)
    if rows is not None:
        out = np.empty(x.shape, x.dtype)
        _serial_rows(kernels[0], rows.shape[1])(rows, out.reshape(rows.shape))
        return out
    x = as_float(x)
    shape = x.shape
    d = _norm_dim(dim, x.ndim, op)
    if x.ndim == 0:
        x = x.reshape(1)
    outer, n, inner = _split(x.shape, d)
    out = np.empty(x.shape, x.dtype)
    if x.size:
        if inner == 1:
            k = _pick(kernels[0], kernels[1], x.size, outer, n)
            k(x.reshape(outer, n), out.reshape(outer, n))
        else:
            k = _pick(kernels[2], kernels[3], x.size, outer)
            k(x.reshape(outer, n, inner), out.reshape(outer, n, inner))
    return out.reshape(shape)


def _run_backward(grad, y, dim, kernels, op):
    rows = _small_rows(y, dim)
    if rows is not None and grad.__class__ is np.ndarray and grad.shape == y.shape \
            and grad.dtype == y.dtype and grad.flags.c_contiguous:
        out = np.empty(y.shape, y.dtype)
        _serial_rows(kernels[0], rows.shape[1])(grad.reshape(rows.shape), rows, out.reshape(rows.shape))
        return out
    y = as_float(y)
    grad = np.asarray(grad)
    if grad.shape != y.shape:
        raise ValueError(f"{op}: grad shape {grad.shape} does not match output shape {y.shape}")
    g = as_float(grad, y.dtype)
    shape = y.shape
    d = _norm_dim(dim, y.ndim, op)
    if y.ndim == 0:
        y, g = y.reshape(1), g.reshape(1)
    outer, n, inner = _split(y.shape, d)
    out = np.empty(y.shape, y.dtype)
    if y.size:
        if inner == 1:
            k = _pick(kernels[0], kernels[1], y.size, outer, n)
            k(g.reshape(outer, n), y.reshape(outer, n), out.reshape(outer, n))
        else:
            k = _pick(kernels[2], kernels[3], y.size, outer)
            k(g.reshape(outer, n, inner), y.reshape(outer, n, inner), out.reshape(outer, n, inner))
    return out.reshape(shape)


def softmax(x, dim=-1):
    """Softmax of ``x`` along ``dim``: ``exp(x - max) / sum(exp(x - max))``."""
    return _run_map(x, dim, (_softmax_rows, _softmax_rows_p, _softmax_cols, _softmax_cols_p), "softmax")


def log_softmax(x, dim=-1):
    """Log-softmax of ``x`` along ``dim``: ``x - max - log(sum(exp(x - max)))``."""
    return _run_map(x, dim, (_log_softmax_rows, _log_softmax_rows_p, _log_softmax_cols, _log_softmax_cols_p),
                    "log_softmax")


def softmax_backward(grad, y, dim=-1):
    """Gradient of softmax from its output ``y``: ``y * (grad - sum(grad * y, dim))``."""
    return _run_backward(grad, y, dim, (_softmax_bw_rows, _softmax_bw_rows_p, _softmax_bw_cols,
                                        _softmax_bw_cols_p), "softmax_backward")


def log_softmax_backward(grad, y, dim=-1):
    """Gradient of log_softmax from its output ``y``: ``grad - exp(y) * sum(grad, dim)``."""
    return _run_backward(grad, y, dim, (_log_softmax_bw_rows, _log_softmax_bw_rows_p, _log_softmax_bw_cols,
                                        _log_softmax_bw_cols_p), "log_softmax_backward")


def logsumexp(x, dim=-1, keepdim=False):
    """``log(sum(exp(x), dim))`` computed stably (shift by the max; an infinite max shifts by 0, so a
    row of all ``-inf`` gives ``-inf`` and a ``+inf`` entry gives ``+inf``, as PyTorch).

    ``dim`` is one int (negative allowed); an empty reduced axis gives ``-inf``.
    """
    x = as_float(x)
    shape = x.shape
    d = _norm_dim(dim, x.ndim, "logsumexp")
    if x.ndim == 0:
        x = x.reshape(1)
    outer, n, inner = _split(x.shape, d)
    out = np.empty((outer, inner), x.dtype)
    if out.size:
        if inner == 1:
            k = _pick(_logsumexp_rows, _logsumexp_rows_p, x.size, outer, n)
            k(x.reshape(outer, n), out.reshape(outer))
        else:
            k = _pick(_logsumexp_cols, _logsumexp_cols_p, x.size, outer)
            k(x.reshape(outer, n, inner), out)
    if len(shape) == 0:
        return out.reshape(())
    if keepdim:
        return out.reshape(shape[:d] + (1,) + shape[d + 1:])
    return out.reshape(shape[:d] + shape[d + 1:])
