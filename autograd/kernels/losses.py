"""Fused log-softmax + negative log-likelihood (the core of cross-entropy).

``log_softmax_nll(logits, target)`` reads the (N, C) logits once per pass
(row max, then the exp-sum) and writes only the per-sample loss and the row
log-sum-exp (N,): nothing of size N*C is written in the forward. The backward
recomputes ``softmax = exp(logits - lse)`` while writing the gradient, one
read and one write of N*C. Class weights, label smoothing and reductions are
composed above this layer.
"""
from __future__ import annotations

import math

import numpy as np
from numba import prange

from ._jit import as_float, jit_pair, parallel_guard
from .softmax_family import PAR_MIN_ELEMENTS, SHORT_ROW, _rowmax
from .vmath import vexp_fast as vexp, zero_of

__all__ = ["log_softmax_nll", "log_softmax_nll_backward"]


def _nll_fwd_k(x, target, ignore_index, loss, lse, bad):
    # bad[0] is set (by any thread: they all write 1) when a label is neither a class
    # nor ignore_index; that row's loss is 0 and the caller raises
    n = x.shape[1]
    for r in prange(x.shape[0]):
        m = _rowmax(x, r)
        s = zero_of(x)
        for j in range(n):
            s += vexp(x[r, j] - m)
        c = m + math.log(s)
        lse[r] = c
        t = target[r]
        if t == ignore_index:
            loss[r] = zero_of(x)
        elif t < 0 or t >= n:
            loss[r] = zero_of(x)
            bad[0] = 1
        else:
            loss[r] = c - x[r, t]


def _nll_bwd_k(g, x, lse, target, ignore_index, out):
    n = x.shape[1]
    for r in prange(x.shape[0]):
        t = target[r]
        if t == ignore_index:
            for j in range(n):
                out[r, j] = zero_of(x)
            continue
        gr = g[r]
        c = lse[r]
        for j in range(n):
            out[r, j] = gr * vexp(x[r, j] - c)
        out[r, t] -= gr


_nll_fwd, _nll_fwd_p = jit_pair(_nll_fwd_k, fastmath={"contract", "reassoc"})
_nll_bwd, _nll_bwd_p = jit_pair(_nll_bwd_k, fastmath={"contract", "reassoc"})
# fewer classes than one 16-lane vector (MNIST's 10): LLVM's default width (see softmax_family.SHORT_ROW)
_nll_fwd_n, _nll_fwd_np = jit_pair(_nll_fwd_k, "_narrow", fastmath={"contract", "reassoc"}, wide_f32=False)
_nll_bwd_n, _nll_bwd_np = jit_pair(_nll_bwd_k, "_narrow", fastmath={"contract", "reassoc"}, wide_f32=False)


def _check(logits, target, op):
    """Logits and labels as the kernels take them (the label range is checked in the kernel)."""
    x = as_float(logits)
    if x.ndim != 2:
        raise ValueError(f"{op}: logits must be 2-D (N, C), got shape {x.shape}")
    t = np.asarray(target)
    if t.dtype.kind not in "iu":
        raise TypeError(f"{op}: target must hold integer class labels, got dtype {t.dtype}")
    if t.shape != (x.shape[0],):
        raise ValueError(f"{op}: target shape {t.shape} does not match logits shape {x.shape} "
                         f"(expected ({x.shape[0]},))")
    return x, np.asarray(t, dtype=np.int64, order="C")


def _raise_bad_label(t, n_classes, ignore_index, op):
    bad = ((t < 0) | (t >= n_classes)) & (t != ignore_index)
    label = int(t[np.argmax(bad)])
    raise IndexError(f"{op}: target label {label} is out of bounds for {n_classes} classes "
                     f"(expected 0 <= label < {n_classes}, or ignore_index={ignore_index})")


def log_softmax_nll(logits, target, ignore_index=-100):
    """Per-sample ``-log_softmax(logits)[i, target[i]]`` for logits (N, C) and int labels (N,).

    Returns ``(loss, saved)``: ``loss`` (N,) in the logits' dtype (0 where
    ``target == ignore_index``) and ``saved = (logits, lse)`` (the C-contiguous
    logits used and the row log-sum-exp (N,)), which ``log_softmax_nll_backward``
    needs. Raises IndexError naming the first bad label and the class count.
    """
    x, t = _check(logits, target, "log_softmax_nll")
    n, c = x.shape
    loss = np.empty(n, x.dtype)
    lse = np.empty(n, x.dtype)
    if n:
        if c == 0:
            raise ValueError("log_softmax_nll: logits have 0 classes")
        pair = (_nll_fwd_n, _nll_fwd_np) if c < SHORT_ROW else (_nll_fwd, _nll_fwd_p)
        bad = np.zeros(1, np.int8)
        if x.size >= PAR_MIN_ELEMENTS and n >= 2:
            parallel_guard(pair[0], pair[1], x.size, x, t, np.int64(ignore_index), loss, lse, bad)
        else:
            pair[0](x, t, np.int64(ignore_index), loss, lse, bad)
        if bad[0]:
            _raise_bad_label(t, c, ignore_index, "log_softmax_nll")
    return loss, (x, lse)


def log_softmax_nll_backward(grad, saved, target, ignore_index=-100):
    """Gradient w.r.t. the logits: ``grad[i] * (softmax(logits)[i] - onehot(target[i]))``, zero rows
    where ``target == ignore_index``. ``grad`` is (N,) (the upstream gradient of each sample's loss),
    ``saved`` is the second value returned by ``log_softmax_nll``."""
    x, lse = saved
    t = np.asarray(np.asarray(target), dtype=np.int64, order="C")
    g = np.asarray(grad)
    if g.shape != (x.shape[0],):
        raise ValueError(f"log_softmax_nll_backward: grad shape {g.shape} does not match ({x.shape[0]},)")
    g = as_float(g, x.dtype)
    out = np.empty(x.shape, x.dtype)
    if x.size:
        pair = (_nll_bwd_n, _nll_bwd_np) if x.shape[1] < SHORT_ROW else (_nll_bwd, _nll_bwd_p)
        if x.size >= PAR_MIN_ELEMENTS and x.shape[0] >= 2:
            parallel_guard(pair[0], pair[1], x.size, g, x, lse, t, np.int64(ignore_index), out)
        else:
            pair[0](g, x, lse, t, np.int64(ignore_index), out)
    return out
