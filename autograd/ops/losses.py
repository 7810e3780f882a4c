"""Fused binary cross-entropy primitives for nn (forward and derivative side by side).

- BCE(p, y; w)            = -w [y max(log p, -100) + (1-y) max(log(1-p), -100)]
  d/dp = w (p - y) / max(p (1-p), 1e-12)        d/dy = w [max(log(1-p), -100) - max(log p, -100)]
- BCEWithLogits(x, y; w, pw) = w [(1-y) x + (1 + (pw-1) y) softplus(-x)]
  d/dx = w [sigmoid(x) (pw y + 1 - y) - pw y]   d/dy = w [pw softplus(-x) - softplus(x)]

- Huber(d; delta, scale)  = scale (0.5 d^2 if |d| < delta else delta (|d| - 0.5 delta))
  d/d input = scale clamp(d, -delta, delta)   (d = input - target)

`weight` and `pos_weight` are constant arrays (broadcast against the input); `reduction`
is 'none', 'sum' or 'mean' and is applied inside the op, so a loss is one graph node.
"""
import numpy as np

from ._util import kernels as K
from ..function import Op
from ..tensor import Tensor
from ._util import reduce_to, sum_to


def _reduce(arr, reduction):
    if reduction == "none":
        return arr
    s = arr.sum(dtype=arr.dtype)
    return s if reduction == "sum" else s / arr.dtype.type(max(arr.size, 1))


def _grad_scale(g, ctx):
    """The upstream gradient spread over the elements (mean divides by their count)."""
    if ctx.reduction == "mean":
        return g * (1.0 / max(ctx.n, 1))
    return g


def _softplus_np(z):
    return np.logaddexp(z, 0).astype(z.dtype, copy=False)


class BinaryCrossEntropy(Op):
    """-w [y log p + (1-y) log(1-p)] with the logs clamped at -100, as PyTorch."""

    @staticmethod
    def forward(ctx, input, target, weight, reduction):
        p = input._data
        y = target._data
        with np.errstate(divide="ignore"):
            lp = np.maximum(np.log(p), -100).astype(p.dtype, copy=False)
            l1p = np.maximum(np.log1p(-p), -100).astype(p.dtype, copy=False)
        loss = -(y * lp + (1 - y) * l1p)
        if weight is not None:
            loss = loss * weight
        ctx.save_for_backward(input, target)
        ctx.weight, ctx.reduction, ctx.n = weight, reduction, loss.size
        ctx.logs = (lp, l1p)
        return _reduce(loss.astype(p.dtype, copy=False), reduction)

    @staticmethod
    def backward(ctx, g):
        p, y = ctx.saved_tensors
        e = ctx._edges
        g = _grad_scale(g, ctx)
        if ctx.weight is not None:
            g = g * Tensor(ctx.weight)
        gp = g * (p - y) / (p * (1.0 - p)).clamp(min=1e-12) if e[0] is not None else None
        gy = None
        if e[1] is not None:
            gy = g * ((1.0 - p).log().clamp(min=-100) - p.log().clamp(min=-100))
        return gp, gy, None, None

    @staticmethod
    def fast_backward(ctx, g):
        p, y = ctx.saved_tensors
        pd, yd = p._data, y._data
        e = ctx._edges
        g = _grad_scale(g, ctx)
        if ctx.weight is not None:
            g = g * ctx.weight
        gp = gy = None
        if e[0] is not None:
            gp = (g * (pd - yd) / np.maximum(pd * (1 - pd), 1e-12)).astype(pd.dtype, copy=False)
        if e[1] is not None:
            lp, l1p = ctx.logs
            gy = (g * (l1p - lp)).astype(yd.dtype, copy=False)
        return gp, gy, None, None


class BinaryCrossEntropyWithLogits(Op):
    """BCE on logits, stable for any |x| (no sigmoid is formed in the forward)."""

    @staticmethod
    def forward(ctx, input, target, weight, pos_weight, reduction):
        x = input._data
        y = target._data
        sp_neg = _softplus_np(-x)
        if pos_weight is None:
            loss = (1 - y) * x + sp_neg
        else:
            loss = (1 - y) * x + (1 + (pos_weight - 1) * y) * sp_neg
        if weight is not None:
            loss = loss * weight
        ctx.save_for_backward(input, target)
        ctx.weight, ctx.pos_weight, ctx.reduction, ctx.n = weight, pos_weight, reduction, loss.size
        return _reduce(loss.astype(x.dtype, copy=False), reduction)

    @staticmethod
    def backward(ctx, g):
        x, y = ctx.saved_tensors
        e = ctx._edges
        g = _grad_scale(g, ctx)
        if ctx.weight is not None:
            g = g * Tensor(ctx.weight)
        pw = ctx.pos_weight
        gx = gy = None
        if e[0] is not None:
            s = x.sigmoid()
            gx = g * (s - y) if pw is None else \
                g * (s * (y * Tensor(pw) + 1.0 - y) - y * Tensor(pw))
        if e[1] is not None:
            sp_neg, sp_pos = (-x).softplus(), x.softplus()
            gy = g * ((sp_neg if pw is None else sp_neg * Tensor(pw)) - sp_pos)
        return gx, gy, None, None, None

    @staticmethod
    def fast_backward(ctx, g):
        x, y = ctx.saved_tensors
        xd, yd = x._data, y._data
        e = ctx._edges
        g = _grad_scale(g, ctx)
        if ctx.weight is not None:
            g = g * ctx.weight
        pw = ctx.pos_weight
        gx = gy = None
        if e[0] is not None:
            s = K.sigmoid(np.ascontiguousarray(xd))
            d = s - yd if pw is None else s * (pw * yd + 1 - yd) - pw * yd
            gx = (g * d).astype(xd.dtype, copy=False)
        if e[1] is not None:
            sp_neg = _softplus_np(-xd)
            d = (sp_neg if pw is None else pw * sp_neg) - _softplus_np(xd)
            gy = (g * d).astype(yd.dtype, copy=False)
        return gx, gy, None, None, None


class Huber(Op):
    """scale * (0.5 d^2 if |d| < delta else delta (|d| - 0.5 delta)), d = input - target.

    HuberLoss is scale = 1; SmoothL1Loss(beta) is delta = beta, scale = 1 / beta.
    d/d input = scale * clamp(d, -delta, delta) = -d/d target.
    """

    @staticmethod
    def forward(ctx, input, target, delta, scale, reduction):
        a, b = input._data, target._data
        d = a - b
        ad = np.abs(d)
        loss = np.where(ad < delta, 0.5 * d * d, delta * (ad - 0.5 * delta))
        if scale != 1.0:
            loss = loss * scale
        ctx.save_for_backward(input, target)
        ctx.d, ctx.delta, ctx.scale, ctx.reduction, ctx.n = d, delta, scale, reduction, d.size
        ctx.shapes = (a.shape, b.shape)
        return _reduce(loss.astype(d.dtype, copy=False), reduction)

    @staticmethod
    def backward(ctx, g):
        x, y = ctx.saved_tensors
        e = ctx._edges
        base = _grad_scale(g, ctx) * ((x - y).clamp(-ctx.delta, ctx.delta) * ctx.scale)
        return (reduce_to(base, ctx.shapes[0]) if e[0] is not None else None,
                reduce_to(-base, ctx.shapes[1]) if e[1] is not None else None, None, None, None)

    @staticmethod
    def fast_backward(ctx, g):
        e = ctx._edges
        d = ctx.d
        base = _grad_scale(g, ctx) * (np.clip(d, -ctx.delta, ctx.delta) * ctx.scale)
        base = base.astype(d.dtype, copy=False)
        return (sum_to(base, ctx.shapes[0]) if e[0] is not None else None,
                -sum_to(base, ctx.shapes[1]) if e[1] is not None else None, None, None, None)
