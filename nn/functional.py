"""numbagrad.nn.functional: the stateless forms of the layers, activations and losses.

Names, arguments and defaults follow `torch.nn.functional`. Everything is built from
numbagrad.autograd ops (fused primitives where they exist), so gradients flow through.
Losses take `reduction` in {'mean', 'sum', 'none'}.
"""
import warnings

import numpy as np

import numbagrad.autograd as ag
from numbagrad.autograd import Tensor
from numbagrad.autograd import ops as _ops
from numbagrad.autograd.ops import losses as _L
from numbagrad.autograd.ops import normalization as _norm

__all__ = [
    "linear", "dropout", "batch_norm", "layer_norm", "one_hot", "relu", "leaky_relu",
    "sigmoid", "tanh", "softmax", "log_softmax", "gelu", "elu", "silu", "softplus",
    "mse_loss", "l1_loss", "huber_loss", "smooth_l1_loss", "binary_cross_entropy",
    "binary_cross_entropy_with_logits", "cross_entropy", "nll_loss", "kl_div",
    "hinge_embedding_loss", "multi_margin_loss", "hinge_loss", "flatten", "identity",
]


# ----------------------------------------------------------------------------- layers
def linear(input, weight, bias=None):
    """y = input @ weight.T + bias; weight is (out_features, in_features)."""
    return _ops.linear(input, weight, bias)


def identity(input):
    """Return the input unchanged."""
    return input


def flatten(input, start_dim=0, end_dim=-1):
    """Merge dims start_dim..end_dim into one."""
    return input.flatten(start_dim, end_dim)


def dropout(input, p=0.5, training=True, inplace=False, generator=None):
    """Zero each element with probability p and scale the others by 1/(1-p) when training;
    the identity otherwise. Draws from the project-wide generator unless one is given."""
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    if not training or p == 0.0:
        return input
    if p == 1.0:
        out = input * 0.0
    else:
        rng = (generator or ag.default_generator).rng
        out = _ops.Dropout.apply(input, p=p, rng=rng)
    return _maybe_inplace(input, out, inplace)


def _channel_shape(ndim, c):
    return (1, c) + (1,) * (ndim - 2)


def batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False,
               momentum=0.1, eps=1e-5):
    """Batch normalisation over (N, C) or (N, C, L) inputs, per channel C.

    Training (or no running statistics): normalise with the batch mean and biased
    variance, and update running_mean / running_var in place as PyTorch does
    (running = (1 - momentum) running + momentum batch, with the unbiased variance).
    Evaluation: normalise with the running statistics. One fused graph node.
    """
    x = input
    if x.ndim < 2:
        raise ValueError(f"batch_norm: expected 2D or 3D input (got {x.ndim}D input)")
    c = x.shape[1]
    for name, t in (("running_mean", running_mean), ("running_var", running_var),
                    ("weight", weight), ("bias", bias)):
        if t is not None and tuple(t.shape) != (c,):
            raise RuntimeError(f"batch_norm: {name} should have shape ({c},) for an input with "
                               f"{c} channels (input shape {tuple(x.shape)}), got "
                               f"{tuple(t.shape)}")
    axes = (0,) + tuple(range(2, x.ndim))
    pshape = _channel_shape(x.ndim, c)
    xd = x._data
    if training:
        n = xd.size // c if c else 0
        if n <= 1:
            raise ValueError(f"Expected more than 1 value per channel when training, got input "
                             f"size {list(x.shape)}")
        mean, var = _norm.moments(x, axes)
        with ag.no_grad():  # running = running + momentum (batch - running)
            if running_mean is not None:
                bm = mean.reshape(c).astype(running_mean.dtype, copy=False)
                running_mean.lerp_(ag.from_numpy(bm), momentum)
            if running_var is not None:
                bv = (var.reshape(c) * (n / (n - 1))).astype(running_var.dtype, copy=False)
                running_var.lerp_(ag.from_numpy(bv), momentum)
    else:
        if running_mean is None or running_var is None:
            raise RuntimeError("batch_norm: running_mean and running_var are needed when "
                               "training=False")
        mean = running_mean._data.reshape(pshape).astype(xd.dtype, copy=False)
        var = running_var._data.reshape(pshape).astype(xd.dtype, copy=False)
    return _norm.AffineNorm.apply(x, weight, bias, mean=mean, var=var, eps=eps, axes=axes,
                                  red_axes=axes, pshape=pshape, batch=bool(training))


def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5):
    """Normalise over the last len(normalized_shape) dims (biased variance), then scale
    by weight and shift by bias (both of shape normalized_shape). One fused graph node."""
    if isinstance(normalized_shape, int):
        normalized_shape = (normalized_shape,)
    normalized_shape = tuple(normalized_shape)
    k = len(normalized_shape)
    if input.ndim < k or tuple(input.shape[input.ndim - k:]) != normalized_shape:
        raise RuntimeError(f"layer_norm: input shape {tuple(input.shape)} does not end with "
                           f"normalized_shape {normalized_shape}")
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and tuple(t.shape) != normalized_shape:
            raise RuntimeError(f"layer_norm: {name} should have shape {normalized_shape}, got "
                               f"{tuple(t.shape)}")
    nd = input.ndim
    axes = tuple(range(nd - k, nd))
    mean, var = _norm.moments(input, axes)
    return _norm.AffineNorm.apply(input, weight, bias, mean=mean, var=var, eps=eps, axes=axes,
                                  red_axes=tuple(range(nd - k)), pshape=normalized_shape,
                                  batch=True)


def one_hot(tensor, num_classes=-1):
    """int64 one-hot encoding with a new last dim of size num_classes."""
    return ag.one_hot(tensor, num_classes)


# ----------------------------------------------------------------------------- activations
def relu(input, inplace=False):
    """max(input, 0)"""
    return input.relu_() if inplace else _ops.relu(input)


def leaky_relu(input, negative_slope=0.01, inplace=False):
    """input if input > 0 else negative_slope * input"""
    out = _ops.leaky_relu(input, negative_slope)
    return _maybe_inplace(input, out, inplace)


def _maybe_inplace(input, out, inplace):
    """inplace=True writes the result into input when no graph is being recorded through
    it; otherwise the out-of-place result is returned (same values, correct gradients)."""
    if not inplace or (input.requires_grad and ag.is_grad_enabled()):
        return out
    with ag.no_grad():
        input.copy_(out)
    return input


def sigmoid(input):
    """1 / (1 + exp(-input))"""
    return _ops.sigmoid(input)


def tanh(input):
    """Hyperbolic tangent."""
    return _ops.tanh(input)


def _softmax_dim(ndim):
    warnings.warn("Implicit dimension choice for softmax has been deprecated. Change the call "
                  "to include dim=X as an argument.", UserWarning, stacklevel=3)
    return 0 if ndim in (0, 1, 3) else 1


def softmax(input, dim=None, dtype=None):
    """exp(x) / sum(exp(x)) along dim."""
    if dim is None:
        dim = _softmax_dim(input.ndim)
    return _ops.softmax(input, dim, dtype)


def log_softmax(input, dim=None, dtype=None):
    """log(softmax(x)) along dim, computed stably."""
    if dim is None:
        dim = _softmax_dim(input.ndim)
    return _ops.log_softmax(input, dim, dtype)


def gelu(input, approximate="none"):
    """x * Phi(x), or its tanh approximation (approximate='tanh')."""
    return _ops.gelu(input, approximate)


def elu(input, alpha=1.0, inplace=False):
    """input if input > 0 else alpha * (exp(input) - 1)"""
    return _maybe_inplace(input, _ops.elu(input, alpha), inplace)


def silu(input, inplace=False):
    """input * sigmoid(input)"""
    return _maybe_inplace(input, _ops.silu(input), inplace)


def softplus(input, beta=1.0, threshold=20.0):
    """log(1 + exp(beta x)) / beta (linear where beta x > threshold)."""
    return _ops.softplus(input, beta, threshold)


# ----------------------------------------------------------------------------- loss helpers
_REDUCTIONS = ("mean", "sum", "none")


def _check_reduction(reduction, allowed=_REDUCTIONS):
    if reduction not in allowed:
        raise ValueError(f"{reduction!r} is not a valid value for reduction (expected one of "
                         f"{', '.join(map(repr, allowed))})")


def _reduce(loss, reduction):
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


def _as_tensor(x, like=None):
    if isinstance(x, Tensor):
        return x
    arr = np.asarray(x)
    if like is not None and arr.dtype.kind in "fiub" and like.dtype.kind == "f":
        arr = arr.astype(like.dtype)
    return ag.tensor(arr)


def _pair_shapes(name, input, target, strict=False):
    """Check input/target shapes; elementwise losses broadcast with PyTorch's warning."""
    if not isinstance(input, Tensor):
        raise TypeError(f"{name}: input must be a Tensor, got {type(input).__name__}")
    target = _as_tensor(target, input)
    a, b = input._data.shape, target._data.shape
    if a != b:
        if strict:
            raise ValueError(f"{name}: Using a target size ({b}) that is different to the input "
                             f"size ({a}) is not supported. Please ensure they have the same "
                             "size.")
        try:
            np.broadcast_shapes(a, b)
        except ValueError:
            raise ValueError(f"{name}: the input shape {a} and the target shape {b} cannot be "
                             "broadcast together; they should be the same") from None
        warnings.warn(f"{name}: Using a target size ({b}) that is different to the input size "
                      f"({a}). This will likely lead to incorrect results due to broadcasting. "
                      "Please ensure they have the same size.", UserWarning, stacklevel=3)
    td, xd = target._data.dtype, input._data.dtype
    if td != xd and td.kind in "fiub" and xd.kind == "f":
        target = target.to(input.dtype)
    return target


def _const(x, dtype):
    """A weight given as Tensor/array/list -> constant ndarray of dtype (or None)."""
    if x is None:
        return None
    arr = x._data if isinstance(x, Tensor) else np.asarray(x)
    return arr.astype(dtype, copy=False)


# ----------------------------------------------------------------------------- regression losses
def mse_loss(input, target, reduction="mean"):
    """Mean squared error: mean((input - target)^2)."""
    _check_reduction(reduction)
    target = _pair_shapes("mse_loss", input, target)
    return _ops.MSELoss.apply(input, target, reduction=reduction)


def l1_loss(input, target, reduction="mean"):
    """Mean absolute error: mean(|input - target|)."""
    _check_reduction(reduction)
    target = _pair_shapes("l1_loss", input, target)
    return _reduce((input - target).abs(), reduction)


def huber_loss(input, target, reduction="mean", delta=1.0):
    """0.5 d^2 where |d| < delta, else delta (|d| - 0.5 delta), with d = input - target."""
    _check_reduction(reduction)
    if delta <= 0:
        raise ValueError(f"huber_loss: delta must be positive, got {delta}")
    target = _pair_shapes("huber_loss", input, target)
    return _L.Huber.apply(input, target, delta=float(delta), scale=1.0, reduction=reduction)


def smooth_l1_loss(input, target, reduction="mean", beta=1.0):
    """0.5 d^2 / beta where |d| < beta, else |d| - 0.5 beta (beta=0 gives the L1 loss)."""
    _check_reduction(reduction)
    if beta < 0:
        raise ValueError(f"smooth_l1_loss: beta must be non-negative, got {beta}")
    target = _pair_shapes("smooth_l1_loss", input, target)
    if beta == 0:
        return _reduce((input - target).abs(), reduction)
    return _L.Huber.apply(input, target, delta=float(beta), scale=1.0 / beta,
                          reduction=reduction)


# ----------------------------------------------------------------------------- binary losses
def binary_cross_entropy(input, target, weight=None, reduction="mean"):
    """-w [y log p + (1 - y) log(1 - p)] for probabilities p in [0, 1]; the logs are
    clamped at -100 as in PyTorch, so p = 0 or 1 gives a finite loss."""
    _check_reduction(reduction)
    target = _pair_shapes("binary_cross_entropy", input, target, strict=True)
    p = input._data
    if p.size and not ((p >= 0) & (p <= 1)).all():
        raise RuntimeError("binary_cross_entropy: all elements of input should be between 0 "
                           f"and 1 (got values in [{np.nanmin(p)}, {np.nanmax(p)}]); apply "
                           "sigmoid first or use binary_cross_entropy_with_logits")
    w = _const(weight, p.dtype)
    if w is not None:
        np.broadcast_shapes(w.shape, p.shape)
    return _L.BinaryCrossEntropy.apply(input, target, weight=w, reduction=reduction)


def binary_cross_entropy_with_logits(input, target, weight=None, reduction="mean",
                                     pos_weight=None):
    """BCE on logits x: -w [pw y log sigmoid(x) + (1 - y) log(1 - sigmoid(x))], computed
    stably for any x; pos_weight (per class, last dim) weighs the positive term."""
    _check_reduction(reduction)
    target = _pair_shapes("binary_cross_entropy_with_logits", input, target, strict=True)
    dt = input._data.dtype
    w, pw = _const(weight, dt), _const(pos_weight, dt)
    for name, a in (("weight", w), ("pos_weight", pw)):
        if a is not None:
            try:
                if np.broadcast_shapes(a.shape, input._data.shape) != input._data.shape:
                    raise ValueError
            except ValueError:
                raise ValueError(f"binary_cross_entropy_with_logits: {name} of shape "
                                 f"{a.shape} does not broadcast to the input shape "
                                 f"{tuple(input.shape)}") from None
    return _L.BinaryCrossEntropyWithLogits.apply(input, target, weight=w, pos_weight=pw,
                                                 reduction=reduction)


def hinge_loss(input, target, reduction="mean"):
    """The SVM hinge loss max(0, 1 - y * yhat) with labels y in {-1, +1} (PyTorch lacks it)."""
    _check_reduction(reduction)
    target = _pair_shapes("hinge_loss", input, target, strict=True)
    y = target._data
    if not np.isin(y, (-1, 1)).all():
        bad = np.unique(y[~np.isin(y, (-1, 1))])[:5]
        raise ValueError(f"hinge_loss: target labels must be -1 or +1, got {bad.tolist()}")
    return _reduce((1.0 - input * target).relu(), reduction)


def hinge_embedding_loss(input, target, margin=1.0, reduction="mean"):
    """x where y = 1, max(0, margin - x) where y = -1 (PyTorch's HingeEmbeddingLoss)."""
    _check_reduction(reduction)
    target = _pair_shapes("hinge_embedding_loss", input, target)
    y = target._data
    margin_part = (margin - input).relu()
    zero = ag.zeros_like(input)
    loss = ag.where(y != 1, margin_part, zero) + ag.where(y != -1, input, zero)
    return _reduce(loss, reduction)


# ----------------------------------------------------------------------------- class losses
def _labels(target, name):
    t = target._data if isinstance(target, Tensor) else np.asarray(target)
    if t.dtype.kind not in "iu":
        raise RuntimeError(f"{name}: expected integer class indices (int64) as target, got "
                           f"dtype {t.dtype}")
    return t.astype(np.int64, copy=False)


def _classes_last(input, target, name):
    """(N, C, d1, ...) / (C,) -> a 2-D (M, C) view, and the flat target (M,)."""
    nd = input.ndim
    if nd == 0:
        raise ValueError(f"{name}: input must have at least one dimension (the classes)")
    if nd == 1:
        if target.ndim != 0:
            raise ValueError(f"{name}: for an unbatched input of shape {tuple(input.shape)} the "
                             f"target must be 0-d, got shape {target.shape}")
        return input.reshape(1, -1), target.reshape(1), ()
    n, c = input.shape[0], input.shape[1]
    expect = (n,) + tuple(input.shape[2:])
    if target.shape != expect:
        raise ValueError(f"{name}: expected target of shape {expect} for input of shape "
                         f"{tuple(input.shape)}, got {target.shape}")
    x2 = input
    if nd > 2:
        perm = (0,) + tuple(range(2, nd)) + (1,)
        x2 = input.permute(*perm).reshape(-1, c)
    return x2, target.reshape(-1), expect


def _class_weight(weight, c, dtype, name):
    w = _const(weight, dtype)
    if w is not None and w.shape != (c,):
        raise RuntimeError(f"{name}: weight should have shape ({c},) (one entry per class), got "
                           f"{w.shape}")
    return w


def cross_entropy(input, target, weight=None, ignore_index=-100, reduction="mean",
                  label_smoothing=0.0):
    """Cross-entropy between logits and targets: log_softmax over dim 1 (dim 0 for an
    unbatched (C,) input) followed by the negative log-likelihood.

    target holds class indices (int64, shape input.shape without the class dim) or class
    probabilities (float, the input's shape). `weight` rescales classes, `ignore_index`
    skips samples (index targets), `label_smoothing` mixes the target with uniform.
    """
    if (weight is None and not label_smoothing and isinstance(input, Tensor)
            and isinstance(target, Tensor) and reduction in _REDUCTIONS):
        t = target._data  # the common case, kept short: (N, C) logits, (N,) int64 labels
        if t.dtype == np.int64 and t.ndim == 1 and input._data.ndim == 2 and \
                t.shape[0] == input._data.shape[0] and t.flags.c_contiguous:
            return _ops.CrossEntropyIndex.apply(input, t, None, ignore_index, reduction)
    _check_reduction(reduction)
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"cross_entropy: label_smoothing must be in [0, 1], got "
                         f"{label_smoothing}")
    if not isinstance(input, Tensor):
        raise TypeError(f"cross_entropy: input must be a Tensor, got {type(input).__name__}")
    t = target._data if isinstance(target, Tensor) else np.asarray(target)
    cdim = 0 if input.ndim == 1 else 1
    c = input.shape[cdim] if input.ndim else 0
    w = _class_weight(weight, c, input._data.dtype, "cross_entropy")
    if t.dtype.kind == "f":
        return _cross_entropy_probs(input, _as_tensor(target, input), w, reduction,
                                    label_smoothing, cdim)
    t = _labels(t, "cross_entropy")
    x2, t2, out_shape = _classes_last(input, t, "cross_entropy")
    out = _ops.CrossEntropyIndex.apply(x2, np.ascontiguousarray(t2), w, ignore_index,
                                       reduction)
    if label_smoothing > 0:
        out = out * (1.0 - label_smoothing) + _smooth_term(
            x2, t2, w, ignore_index, reduction) * (label_smoothing / c)
    if reduction == "none":
        out = out.reshape(*out_shape)
    return out


def _smooth_term(x2, t2, w, ignore_index, reduction):
    """PyTorch's label-smoothing term: -sum_c w_c log p_c per sample (ignored ones 0)."""
    logp = x2.log_softmax(1)
    per = -(logp * ag.from_numpy(w) if w is not None else logp).sum(1)
    ignored = t2 == ignore_index
    per = per.masked_fill(ignored, 0.0)
    if reduction == "none":
        return per
    if reduction == "sum":
        return per.sum()
    keep = ~ignored
    denom = float(w[t2[keep]].sum()) if w is not None else float(keep.sum())
    return per.sum() / denom


def _cross_entropy_probs(input, target, w, reduction, label_smoothing, cdim):
    if tuple(target.shape) != tuple(input.shape):
        raise ValueError(f"cross_entropy: probability targets must have the input's shape "
                         f"{tuple(input.shape)}, got {tuple(target.shape)}")
    c = input.shape[cdim]
    if label_smoothing > 0:
        target = target * (1.0 - label_smoothing) + label_smoothing / c
    logp = input.log_softmax(cdim)
    prod = logp * target
    if w is not None:
        prod = prod * ag.from_numpy(w.reshape((c,) + (1,) * (input.ndim - cdim - 1)))
    per = -prod.sum(cdim)
    if reduction == "mean":
        return per.sum() / max(input.numel() // max(c, 1), 1)
    return _reduce(per, reduction)


def nll_loss(input, target, weight=None, ignore_index=-100, reduction="mean"):
    """Negative log-likelihood of log-probabilities input (N, C[, d1...]) at class indices
    target: -weight[t] * input[n, t], averaged over the weights of non-ignored samples."""
    _check_reduction(reduction)
    t = _labels(target, "nll_loss")
    x2, t2, out_shape = _classes_last(input, t, "nll_loss")
    c = x2.shape[1]
    w = _class_weight(weight, c, input._data.dtype, "nll_loss")
    valid = t2 != ignore_index
    bad = valid & ((t2 < 0) | (t2 >= c))
    if bad.any():
        raise IndexError(f"nll_loss: Target {int(t2[bad][0])} is out of bounds: class indices "
                         f"must be in [0, {c - 1}] (or equal ignore_index={ignore_index})")
    safe = np.where(valid, t2, 0)
    picked = x2.gather(1, ag.from_numpy(safe.reshape(-1, 1))).reshape(-1)
    sw = (w[safe] if w is not None else np.ones(len(safe), x2._data.dtype)) * valid
    sw = sw.astype(x2._data.dtype)
    per = -picked * ag.from_numpy(sw)
    if reduction == "none":
        return per.reshape(*out_shape)
    if reduction == "sum":
        return per.sum()
    return per.sum() / ag.tensor(sw.sum(dtype=sw.dtype))


def kl_div(input, target, reduction="mean", log_target=False):
    """KL divergence with input = log Q and target = P (or log P if log_target):
    pointwise P (log P - log Q), 0 where P = 0. reduction='batchmean' divides the sum by
    the batch size (the true KL); 'mean' divides by the number of elements, as PyTorch."""
    _check_reduction(reduction, _REDUCTIONS + ("batchmean",))
    target = _pair_shapes("kl_div", input, target)
    if log_target:
        loss = target.exp() * (target - input)
    else:
        safe = target.masked_fill(target._data <= 0, 1.0)
        loss = target * safe.log() - target * input
    if reduction == "batchmean":
        n = input.shape[0] if input.ndim else 1
        return loss.sum() / n
    if reduction == "mean":
        warnings.warn("kl_div: reduction='mean' divides the total loss by the number of "
                      "elements, not the batch size; use reduction='batchmean' for the KL "
                      "divergence.", UserWarning, stacklevel=2)
    return _reduce(loss, reduction)


def multi_margin_loss(input, target, p=1, margin=1.0, weight=None, reduction="mean"):
    """Multi-class hinge loss: per sample sum_{j != y} max(0, margin - x[y] + x[j])^p / C,
    each term scaled by weight[y]."""
    _check_reduction(reduction)
    if p not in (1, 2):
        raise ValueError(f"multi_margin_loss: only p == 1 and p == 2 supported, got {p}")
    t = _labels(target, "multi_margin_loss")
    x = input if input.ndim == 2 else input.reshape(1, -1)
    t = t.reshape(-1)
    n, c = x.shape
    if t.shape != (n,):
        raise ValueError(f"multi_margin_loss: expected target of shape ({n},) for input of "
                         f"shape {tuple(input.shape)}, got {t.shape}")
    if ((t < 0) | (t >= c)).any():
        raise IndexError(f"multi_margin_loss: target values must be in [0, {c - 1}], got "
                         f"{int(t[(t < 0) | (t >= c)][0])}")
    w = _class_weight(weight, c, x._data.dtype, "multi_margin_loss")
    tt = ag.from_numpy(t.reshape(-1, 1))
    z = (x - x.gather(1, tt) + margin).relu()
    if p == 2:
        z = z * z
    mask = np.ones((n, c), dtype=x._data.dtype)
    mask[np.arange(n), t] = 0
    if w is not None:
        mask = mask * w[t].reshape(-1, 1)
    per = (z * ag.from_numpy(mask)).sum(1) / c
    if input.ndim != 2 and reduction == "none":
        per = per.reshape(())
    return _reduce(per, reduction)


# ----------------------------------------------------------------------------- distances
def cosine_similarity(x1, x2, dim=1, eps=1e-8):
    """Cosine similarity of x1 and x2 along dim (broadcast); norms clamped to at least eps."""
    return _ops.cosine_similarity(x1, x2, dim=dim, eps=eps)


def pairwise_distance(x1, x2, p=2.0, eps=1e-6, keepdim=False):
    """p-norm of x1 - x2 + eps over the last dim (broadcast)."""
    return _ops.pairwise_distance(x1, x2, p=p, eps=eps, keepdim=keepdim)
