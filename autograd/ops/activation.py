"""Activations, softmax family and the fused primitives behind nn (linear, losses, dropout).

Each backward has two forms: with recording off (plain `backward()`), a direct array
computation (a fused kernel where one exists); with recording on (`create_graph=True`),
the same derivative written in Tensor ops, so it can be differentiated again. Both are
checked against finite differences by the tests (gradcheck and gradgradcheck).
"""
import math

import numpy as np

from .. import grad_mode
from . import _pool
from ._util import kernels as K
from ..function import Op
from ..tensor import Tensor
from ._util import FLOATS, norm_dim, reduce_to, shape_of, sum_rows, sum_to

_state = grad_mode.state
_add_reduce = np.add.reduce  # np.sum/np.mean without their Python wrappers


def _out_data(ctx):
    """The saved output array (version-checked) without building a tensor."""
    out = ctx._out
    if out is None or out[1][1] > out[2]:
        return ctx.output._data  # raises the right error
    return out[0]


# ----------------------------------------------------------------------------- pointwise
class Relu(Op):
    """max(x, 0)"""

    save_output = True

    @staticmethod
    def forward(ctx, x):
        d = x._data
        if d.dtype in FLOATS and d.flags.c_contiguous:
            return K.relu_into_(d, _pool.empty(d.shape, d.dtype))
        return K.relu(d)

    @staticmethod
    def backward(ctx, g):
        y = _out_data(ctx)
        return (g * (y > 0).astype(y.dtype),)

    @staticmethod
    def fast_backward(ctx, g):
        y = _out_data(ctx)
        if g.dtype is y.dtype and y.dtype in FLOATS and g.shape == y.shape \
                and g.flags.c_contiguous and y.flags.c_contiguous:
            return (K.relu_backward_into_(g, y, _pool.empty(y.shape, y.dtype)),)
        return (K.relu_backward(g, y, out=_pool.empty_if_large(y.shape, y.dtype)),)


class LeakyRelu(Op):
    """x if x > 0 else negative_slope * x"""

    @staticmethod
    def forward(ctx, x, negative_slope):
        ctx.save_for_backward(x)
        ctx.slope = negative_slope
        return K.leaky_relu(x._data, negative_slope)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        d = x._data
        return (g * np.where(d > 0, 1.0, ctx.slope).astype(d.dtype), None)

    @staticmethod
    def fast_backward(ctx, g):
        (x,) = ctx.saved_tensors
        return (K.leaky_relu_backward(g, x._data, ctx.slope), None)


class Sigmoid(Op):
    """1 / (1 + exp(-x))"""

    save_output = True

    @staticmethod
    def forward(ctx, x):
        return K.sigmoid(x._data)

    @staticmethod
    def backward(ctx, g):
        y = ctx.output
        return (g * y * (1.0 - y),)

    @staticmethod
    def fast_backward(ctx, g):
        return (K.sigmoid_backward(g, _out_data(ctx)),)


class Tanh(Op):
    """tanh(x)"""

    save_output = True

    @staticmethod
    def forward(ctx, x):
        return K.tanh(x._data)

    @staticmethod
    def backward(ctx, g):
        y = ctx.output
        return (g * (1.0 - y * y),)

    @staticmethod
    def fast_backward(ctx, g):
        return (K.tanh_backward(g, _out_data(ctx)),)


class Gelu(Op):
    """x * Phi(x) (exact, erf form) or its tanh approximation."""

    @staticmethod
    def forward(ctx, x, approximate):
        ctx.save_for_backward(x)
        ctx.approximate = approximate
        return K.gelu(x._data, approximate)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        if ctx.approximate == "tanh":
            c = math.sqrt(2.0 / math.pi)
            inner = (x + 0.044715 * x * x * x) * c
            t = inner.tanh()
            d_inner = (1.0 + 3 * 0.044715 * x * x) * c
            return (g * (0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * d_inner), None)
        cdf = 0.5 * (1.0 + (x * (1.0 / math.sqrt(2.0))).erf())
        pdf = (x * x * -0.5).exp() * (1.0 / math.sqrt(2.0 * math.pi))
        return (g * (cdf + x * pdf), None)

    @staticmethod
    def fast_backward(ctx, g):
        (x,) = ctx.saved_tensors
        return (K.gelu_backward(g, x._data, ctx.approximate), None)


class Erf(Op):
    """The error function."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return K.erf(x._data)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return (g * (x * x * -1.0).exp() * (2.0 / math.sqrt(math.pi)),)


class Elu(Op):
    """x if x > 0 else alpha * (exp(x) - 1)"""

    @staticmethod
    def forward(ctx, x, alpha):
        ctx.save_for_backward(x)
        ctx.alpha = alpha
        return K.elu(x._data, alpha)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        pos = (x._data > 0)
        neg_part = x.masked_fill(pos, 0.0).exp() * ctx.alpha
        return (g * neg_part.masked_fill(pos, 1.0), None)

    @staticmethod
    def fast_backward(ctx, g):
        (x,) = ctx.saved_tensors
        return (K.elu_backward(g, x._data, ctx.alpha), None)


class Silu(Op):
    """x * sigmoid(x)"""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return K.silu(x._data)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        s = x.sigmoid()
        return (g * (s * (1.0 + x * (1.0 - s))),)

    @staticmethod
    def fast_backward(ctx, g):
        (x,) = ctx.saved_tensors
        return (K.silu_backward(g, x._data),)


class Softplus(Op):
    """log(1 + exp(beta x)) / beta, linear above threshold (PyTorch's definition)."""

    @staticmethod
    def forward(ctx, x, beta, threshold):
        ctx.save_for_backward(x)
        ctx.beta, ctx.threshold = beta, threshold
        return K.softplus(x._data, beta, threshold)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        linear = x._data * ctx.beta > ctx.threshold
        s = (x * ctx.beta).sigmoid()
        return (g * s.masked_fill(linear, 1.0), None, None)


# ----------------------------------------------------------------------------- softmax family

    @staticmethod
    def fast_backward(ctx, g):
        (x,) = ctx.saved_tensors
        return (K.softplus_backward(g, x._data, ctx.beta, ctx.threshold), None, None)


class Softmax(Op):
    """exp(x) / sum(exp(x)) along dim."""

    save_output = True

    @staticmethod
    def forward(ctx, x, dim):
        ctx.dim = dim
        return K.softmax(x._data, dim)

    @staticmethod
    def backward(ctx, g):
        y = ctx.output
        return (y * (g - (g * y).sum(ctx.dim, keepdim=True)), None)

    @staticmethod
    def fast_backward(ctx, g):
        return (K.softmax_backward(g, _out_data(ctx), ctx.dim), None)


class LogSoftmax(Op):
    """x - logsumexp(x) along dim."""

    save_output = True

    @staticmethod
    def forward(ctx, x, dim):
        ctx.dim = dim
        return K.log_softmax(x._data, dim)

    @staticmethod
    def backward(ctx, g):
        y = ctx.output
        return (g - y.exp() * g.sum(ctx.dim, keepdim=True), None)

    @staticmethod
    def fast_backward(ctx, g):
        return (K.log_softmax_backward(g, _out_data(ctx), ctx.dim), None)


def _softmax_args(input, dim, dtype, name):
    if dtype is not None:
        input = input.to(dtype)
    if input._data.dtype.kind != "f":
        raise RuntimeError(f"{name}: expected a floating point tensor, got {input._data.dtype}")
    if dim is None:
        raise TypeError(f"{name}() missing the required argument 'dim'")
    return input, norm_dim(dim, input._data.ndim, name)


def softmax(input, dim, dtype=None):
    """Softmax along dim."""
    input, d = _softmax_args(input, dim, dtype, "softmax")
    return Softmax.apply(input, dim=d)


def log_softmax(input, dim, dtype=None):
    """Log-softmax along dim (stable)."""
    input, d = _softmax_args(input, dim, dtype, "log_softmax")
    return LogSoftmax.apply(input, dim=d)


# ----------------------------------------------------------------------------- fused nn primitives
class Linear(Op):
    """x @ weight.T + bias, as one op (x of any rank >= 1, weight (out, in))."""

    @staticmethod
    def forward(ctx, x, weight, bias):
        ctx.save_for_backward(x, weight)
        xd = x._data
        wd = weight._data
        if xd.ndim == 2:
            # K.dot: MKL's gemm or np.dot (np.matmul's 2-D case with less dispatch); large
            # outputs recycled (_pool)
            out = K.dot(xd, wd.T, out=_pool.empty((xd.shape[0], wd.shape[0]), xd.dtype)) \
                if xd.dtype == wd.dtype and xd.dtype in FLOATS else np.dot(xd, wd.T)
            b = bias._data if bias is not None else None
            if b is not None and out.size and out.dtype in FLOATS and b.dtype == out.dtype \
                    and b.flags.c_contiguous:
                return K.bias_act_(out, b, 0)
        else:
            out = np.matmul(xd, weight._data.T)
        if bias is not None:
            out += bias._data
        return out

    @staticmethod
    def backward(ctx, g):
        x, w = ctx.saved_tensors
        e = ctx._edges
        need_b = len(e) > 2 and e[2] is not None
        g2 = g.reshape(-1, g._data.shape[-1])
        gx = g.matmul(w) if e[0] is not None else None
        gw = g2.mT.matmul(x.reshape(-1, x._data.shape[-1])) if e[1] is not None else None
        gb = g2.sum(0) if need_b else None
        return gx, gw, gb

    @staticmethod
    def fast_backward(ctx, g):
        return _linear_grads(ctx, g)


def _linear_grads(ctx, g):
    """(grad x, grad weight, grad bias) on ndarrays for the linear map saved in ``ctx``
    (x, weight), given the gradient ``g`` of its output (before any bias)."""
    x, w = ctx.saved_tensors
    e = ctx._edges
    g2 = g.reshape(-1, g.shape[-1]) if g.ndim != 2 else g
    wd, xd = w._data, x._data
    # K.dot: MKL's gemm or np.dot (np.matmul's 2-D case with less dispatch, 1.1 vs 1.4 us);
    # large outputs recycled (_pool) when every operand has one float dtype
    pooled = g.dtype == wd.dtype == xd.dtype and g.dtype in FLOATS
    gx = None
    if e[0] is not None:
        if g.ndim != 2:
            gx = np.matmul(g, wd)
        else:
            gx = K.dot(g, wd, out=_pool.empty((g.shape[0], wd.shape[1]), g.dtype)) \
                if pooled else np.dot(g, wd)
    gw = None
    if e[1] is not None:
        x2 = xd.reshape(-1, xd.shape[-1]) if xd.ndim != 2 else xd
        gw = K.dot(g2.T, x2, out=_pool.empty(wd.shape, g.dtype)) if pooled else np.dot(g2.T, x2)
    gb = sum_rows(g2) if len(e) > 2 and e[2] is not None else None
    return gx, gw, gb


def linear(input, weight, bias=None):
    """y = input @ weight.T + bias (PyTorch's F.linear), with clear shape errors."""
    xs, ws = input._data.shape, weight._data.shape
    if weight._data.ndim != 2:
        raise RuntimeError(f"linear: weight must be 2-D (out_features, in_features), got shape "
                           f"{tuple(ws)}")
    if input._data.ndim == 0 or xs[-1] != ws[1]:
        raise RuntimeError(
            f"linear: input has {xs[-1] if xs else 0} features (shape {tuple(xs)}) but the "
            f"weight expects in_features={ws[1]} (weight shape {tuple(ws)}): mat1 and mat2 shapes "
            f"cannot be multiplied")
    if input._data.dtype != weight._data.dtype:
        raise RuntimeError(f"linear: input dtype {input._data.dtype} does not match weight dtype "
                           f"{weight._data.dtype}")
    if bias is not None and bias._data.shape != (ws[0],):
        raise RuntimeError(f"linear: bias shape {tuple(bias._data.shape)} does not match "
                           f"out_features={ws[0]}")
    return Linear.apply(input, weight, bias)


class LinearAct(Op):
    """act(x @ weight.T + bias): a Linear layer and the activation after it as one op and
    one node (nn.Sequential fuses the pair); the subclasses LinearRelu, LinearTanh and
    LinearSigmoid name the activation.

    The bias and the activation are applied to the GEMM's output in one pass
    (``K.bias_act_``); backward turns the output gradient into the pre-activation one
    from the saved output, then runs Linear's backward. The caller (`linear_act`)
    guarantees a 2-D x, a bias, and one float dtype for all three.
    """

    save_output = True
    act = None  # "relu" | "tanh" | "sigmoid"
    code = 0  # the activation's index in kernels.epilogue.ACTIVATIONS

    @staticmethod
    def forward(ctx, x, weight, bias):
        ctx.save_for_backward(x, weight)
        xd, wd = x._data, weight._data
        out = K.dot(xd, wd.T, out=_pool.empty((xd.shape[0], wd.shape[0]), xd.dtype))
        if out.size:
            K.bias_act_(out, np.ascontiguousarray(bias._data), ctx.code)
        return out

    @staticmethod
    def backward(ctx, g):
        y = ctx.output
        act = ctx.act
        if act == "relu":
            gz = g * (y._data > 0).astype(y._data.dtype)
        elif act == "tanh":
            gz = g * (1.0 - y * y)
        else:
            gz = g * y * (1.0 - y)
        return Linear.backward(ctx, gz)

    @staticmethod
    def fast_backward(ctx, g):
        y = _out_data(ctx)
        if g.dtype is not y.dtype or g.shape != y.shape or not g.flags.c_contiguous \
                or not y.flags.c_contiguous:
            if g.shape != y.shape:
                raise ValueError(f"{ctx.act}_backward: grad shape {g.shape} does not match "
                                 f"input shape {y.shape}")
            g = np.ascontiguousarray(g, dtype=y.dtype)
            y = np.ascontiguousarray(y)
        gz = K.act_backward_(g, y, _pool.empty(y.shape, y.dtype), ctx.code)
        return _linear_grads(ctx, gz)


class LinearRelu(LinearAct):
    """relu(x @ weight.T + bias) as one op (see LinearAct)."""

    act, code = "relu", 1


class LinearTanh(LinearAct):
    """tanh(x @ weight.T + bias) as one op (see LinearAct)."""

    act, code = "tanh", 2


class LinearSigmoid(LinearAct):
    """sigmoid(x @ weight.T + bias) as one op (see LinearAct)."""

    act, code = "sigmoid", 3


_LINEAR_ACTS = {"relu": LinearRelu, "tanh": LinearTanh, "sigmoid": LinearSigmoid}


def linear_act(input, weight, bias, act):
    """``act(linear(input, weight, bias))`` as one fused op when it applies (2-D input, a bias,
    one float32/float64 dtype, matching shapes); None otherwise, and the caller runs the two
    ops. ``act`` is 'relu', 'tanh' or 'sigmoid'."""
    xd, wd = input._data, weight._data
    if bias is None or xd.ndim != 2 or wd.ndim != 2 or xd.dtype not in FLOATS:
        return None
    bd = bias._data
    if wd.dtype != xd.dtype or bd.dtype != xd.dtype or xd.shape[1] != wd.shape[1] \
            or bd.shape != (wd.shape[0],):
        return None
    return _LINEAR_ACTS[act].apply(input, weight, bias)


class CrossEntropyIndex(Op):
    """log-softmax + NLL over classes for logits (N, C) and int64 class indices (N,).

    `weight` (C,) is a constant array or None; `reduction` is 'mean' (weighted mean over
    non-ignored samples), 'sum' or 'none'.
    """

    @staticmethod
    def forward(ctx, logits, target, weight, ignore_index, reduction):
        x = logits._data
        losses, saved = K.log_softmax_nll(x, target, ignore_index)
        valid = target != ignore_index
        w = np.where(valid, 1.0, 0.0) if weight is None else \
            np.where(valid, weight[np.where(valid, target, 0)], 0.0)
        w = w.astype(x.dtype)
        ctx.save_for_backward(logits)
        ctx.saved, ctx.target, ctx.ignore_index, ctx.reduction = saved, target, ignore_index, reduction
        losses = losses * w
        if reduction == "none":
            ctx.coef = w
            return losses
        if reduction == "sum":
            ctx.coef = w
            return losses.sum(dtype=x.dtype)
        denom = w.sum(dtype=x.dtype)
        ctx.coef = w / denom
        return losses.sum(dtype=x.dtype) / denom

    @staticmethod
    def backward(ctx, g):
        coef = ctx.coef  # d loss / d per-sample loss, without the upstream gradient
        (logits,) = ctx.saved_tensors
        n, c = logits._data.shape
        onehot = np.zeros((n, c), dtype=logits._data.dtype)
        valid = ctx.target != ctx.ignore_index
        onehot[np.arange(n)[valid], ctx.target[valid]] = 1.0
        return ((logits.softmax(1) - onehot) * (g * coef).reshape(-1, 1), None, None, None, None)

    @staticmethod
    def fast_backward(ctx, g):
        (logits,) = ctx.saved_tensors
        scale = (g * ctx.coef).astype(logits._data.dtype, copy=False)
        d = K.log_softmax_nll_backward(scale, ctx.saved, ctx.target, ctx.ignore_index)
        return (d, None, None, None, None)


class MSELoss(Op):
    """Mean (or sum, or elementwise) squared error, as one op."""

    @staticmethod
    def forward(ctx, input, target, reduction):
        a = input._data
        b = target._data if isinstance(target, Tensor) else target
        diff = a - b
        ctx.save_for_backward(input, target)
        ctx.reduction = reduction
        ctx.diff = diff
        ctx.shapes = (a.shape, shape_of(target))
        sq = diff * diff
        if reduction == "none":
            return sq
        if reduction == "sum":
            return _add_reduce(sq, None)
        return _add_reduce(sq, None) / sq.dtype.type(sq.size) if sq.size else sq.mean()

    @staticmethod
    def backward(ctx, g):
        input, target = ctx.saved_tensors
        n = ctx.diff.size
        red = ctx.reduction
        scale = 2.0 / n if red == "mean" else 2.0
        e = ctx._edges
        gsc = g * scale if red != "none" else g * 2.0
        base = (input - target) * gsc
        return (reduce_to(base, ctx.shapes[0]) if e[0] is not None else None,
                reduce_to(-base, ctx.shapes[1]) if e[1] is not None else None)

    @staticmethod
    def fast_backward(ctx, g):
        e = ctx._edges
        scale = 2.0 / ctx.diff.size if ctx.reduction == "mean" else 2.0
        base = ctx.diff * (g * scale)
        return (sum_to(base, ctx.shapes[0]) if e[0] is not None else None,
                -sum_to(base, ctx.shapes[1]) if e[1] is not None else None)


class Dropout(Op):
    """Zero elements with probability p and scale the rest by 1 / (1 - p)."""

    @staticmethod
    def forward(ctx, x, p, rng):
        d = x._data
        keep = rng.random(d.shape, dtype=np.float32 if d.dtype == np.float32 else np.float64) >= p
        scale = np.asarray(1.0 / (1.0 - p), dtype=d.dtype)
        mask = keep * scale
        ctx.mask = mask
        return d * mask

    @staticmethod
    def backward(ctx, g):
        return (g * ctx.mask, None, None)

    @staticmethod
    def fast_backward(ctx, g):
        return (g * ctx.mask, None, None)
