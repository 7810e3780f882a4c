"""Fused normalisation primitive for nn's BatchNorm and LayerNorm (one graph node).

    xhat = (x - mean) * invstd,  invstd = 1 / sqrt(var + eps),  y = xhat * w + b

mean/var are over `axes` (biased), from the batch (`batch=True`: their dependence on x
is part of the derivative) or given constants (BatchNorm in eval mode). With m = number
of elements per statistic and gy = g * w:

    dx = invstd * (gy - mean(gy) - xhat * mean(gy * xhat))    (batch statistics)
    dx = invstd * gy                                           (constant statistics)
    dw = sum(g * xhat) over red_axes,  db = sum(g) over red_axes

w and b (or None) have shape `wshape` and broadcast as `pshape`.
"""
import numpy as np

from ..function import Op
from ..tensor import _wrap


def moments(x, axes):
    """Batch mean and biased variance of tensor x over axes, as arrays (keepdims), for
    AffineNorm and the running-statistics update."""
    d = x._data
    inv_n = d.dtype.type(1.0 / _count(d.shape, axes))
    mean = _sum(d, axes, keepdims=True) * inv_n
    dev = d - mean
    return mean, _sum(dev * dev, axes, keepdims=True) * inv_n


_sum = np.add.reduce


def _count(shape, axes):
    n = 1
    for a in axes:
        n *= shape[a]
    return max(n, 1)


class AffineNorm(Op):
    """Normalise over axes, then scale and shift (the statistics are given to forward)."""

    @staticmethod
    def forward(ctx, x, weight, bias, mean, var, eps, axes, red_axes, pshape, batch):
        xd = x._data
        invstd = (1.0 / np.sqrt(var + eps)).astype(xd.dtype, copy=False)
        xhat = (xd - mean) * invstd
        out = xhat
        if weight is not None:
            out = out * weight._data.reshape(pshape)
        if bias is not None:
            out = out + bias._data.reshape(pshape)
        ctx.save_for_backward(x, weight)
        ctx.xhat, ctx.invstd, ctx.mean, ctx.var = xhat, invstd, mean, var
        ctx.eps, ctx.axes, ctx.red_axes, ctx.pshape, ctx.batch = eps, axes, red_axes, pshape, batch
        return out.astype(xd.dtype, copy=False)

    @staticmethod
    def backward(ctx, g):
        x, w = ctx.saved_tensors
        e = ctx._edges
        axes, pshape = ctx.axes, ctx.pshape
        if ctx.batch:
            mean = x.mean(axes, keepdim=True)
            var = x.var(axes, correction=0, keepdim=True)
        else:
            mean = _wrap(ctx.mean, False, None, 0, None)
            var = _wrap(ctx.var, False, None, 0, None)
        invstd = (var + ctx.eps).rsqrt()
        xhat = (x - mean) * invstd
        gx = gw = gb = None
        if e[0] is not None:
            gy = g * w.reshape(*pshape) if w is not None else g
            if ctx.batch:
                gx = invstd * (gy - gy.mean(axes, keepdim=True)
                               - xhat * (gy * xhat).mean(axes, keepdim=True))
            else:
                gx = gy * invstd
        if w is not None and e[1] is not None:
            gw = (g * xhat).sum(ctx.red_axes).reshape(*w.shape)
        if len(e) > 2 and e[2] is not None:
            gb = g.sum(ctx.red_axes).reshape(*w.shape) if w is not None else \
                g.sum(ctx.red_axes)
        return gx, gw, gb

    @staticmethod
    def fast_backward(ctx, g):
        x, w = ctx.saved_tensors
        e = ctx._edges
        xhat, invstd, axes, pshape = ctx.xhat, ctx.invstd, ctx.axes, ctx.pshape
        gx = gw = gb = None
        if e[0] is not None:
            gy = g * w._data.reshape(pshape) if w is not None else g
            if ctx.batch:
                inv_n = 1.0 / _count(xhat.shape, axes)
                gx = invstd * (gy - _sum(gy, axes, keepdims=True) * inv_n
                               - xhat * (_sum(gy * xhat, axes, keepdims=True) * inv_n))
            else:
                gx = gy * invstd
            gx = gx.astype(x._data.dtype, copy=False)
        if w is not None and e[1] is not None:
            gw = (g * xhat).sum(ctx.red_axes).reshape(w._data.shape)
        if len(e) > 2 and e[2] is not None:
            gb = g.sum(ctx.red_axes)
            if w is not None:
                gb = gb.reshape(w._data.shape)
        return gx, gw, gb
