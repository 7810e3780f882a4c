"""Reductions: sum, mean, prod, max/min, norms, and the composite var/std."""
import collections

import numpy as np

from ..function import Op
from ..tensor import Tensor
from ._util import norm_dim, norm_dims, wrap


_add_reduce = np.add.reduce  # the C reduction behind np.sum, without its Python wrapper
_ALL_AXES = [tuple(range(n)) for n in range(8)]


def _keep_shape(shape, axes):
    """`shape` with the reduced axes kept as size 1."""
    return tuple(1 if i in axes else s for i, s in enumerate(shape))


def _expand_back(g, in_shape, axes, keepdim):
    """Broadcast a reduced gradient back over the reduced axes (recorded)."""
    from .shape import Expand, Reshape
    if not keepdim and axes:
        g = Reshape.apply(g, shape=_keep_shape(in_shape, axes))
    if g._data.shape != in_shape:
        g = Expand.apply(g, shape=in_shape)
    return g


class Sum(Op):
    """Sum over `dim` (a tuple of non-negative axes, already normalised)."""

    @staticmethod
    def forward(ctx, x, dim, keepdim, dtype=None):
        d = x._data
        ctx.in_shape = d.shape
        ctx.axes = dim
        ctx.keepdim = keepdim
        if dtype is None and d.dtype.kind in "biu":
            dtype = np.int64
        return _add_reduce(d, dim, dtype, None, keepdim)

    @staticmethod
    def backward(ctx, g):
        return (_expand_back(g, ctx.in_shape, ctx.axes, ctx.keepdim), None, None, None)

    @staticmethod
    def fast_backward(ctx, g):
        out = np.empty(ctx.in_shape, g.dtype)  # cheaper than np.broadcast_to for small inputs
        if g.ndim == 0:
            out.fill(g)
        else:
            out[...] = g if ctx.keepdim else g.reshape(_keep_shape(ctx.in_shape, ctx.axes))
        return (out, None, None, None)


def sum(input, dim=None, keepdim=False, dtype=None):  # noqa: A001 - PyTorch's name
    """Sum of all elements, or over `dim` (int or tuple)."""
    nd = input._data.ndim
    axes = _ALL_AXES[nd] if dim is None and nd < 8 else norm_dims(dim, nd, "sum")
    if dtype is not None:  # cast first: the gradient is cast back to the input's dtype
        input = input.to(dtype)
    return Sum.apply(input, axes, keepdim, None)


class Mean(Op):
    """Mean over `dim` (normalised axes); the gradient is spread evenly."""

    @staticmethod
    def forward(ctx, x, dim, keepdim):
        d = x._data
        n = 1
        for a in dim:
            n *= d.shape[a]
        ctx.in_shape, ctx.axes, ctx.keepdim, ctx.n = d.shape, dim, keepdim, n
        with np.errstate(invalid="ignore", divide="ignore"):  # the mean of nothing is NaN
            return _add_reduce(d, dim, None, None, keepdim) / d.dtype.type(n)

    @staticmethod
    def backward(ctx, g):
        return (_expand_back(g, ctx.in_shape, ctx.axes, ctx.keepdim) / ctx.n, None, None)

    @staticmethod
    def fast_backward(ctx, g):
        out = np.empty(ctx.in_shape, g.dtype)
        scaled = g / g.dtype.type(ctx.n) if ctx.n else g * np.nan
        if g.ndim == 0:
            out.fill(scaled)
        else:
            out[...] = scaled if ctx.keepdim else scaled.reshape(_keep_shape(ctx.in_shape,
                                                                             ctx.axes))
        return (out, None, None)


def mean(input, dim=None, keepdim=False, dtype=None):
    """Mean of all elements, or over `dim`."""
    if dtype is not None:
        input = input.to(dtype)
    if input._data.dtype.kind not in "fc":
        raise RuntimeError(
            f"mean(): could not infer output dtype. Input dtype must be either a floating point "
            f"or complex dtype. Got: {input._data.dtype}")
    nd = input._data.ndim
    axes = _ALL_AXES[nd] if dim is None and nd < 8 else norm_dims(dim, nd, "mean")
    return Mean.apply(input, axes, keepdim)


class Prod(Op):
    """Product over one dim or all elements."""

    @staticmethod
    def forward(ctx, x, dim, keepdim):
        ctx.save_for_backward(x)
        ctx.axes = () if dim is None else (dim,)
        ctx.dim = dim
        ctx.keepdim = keepdim
        ctx.in_shape = x._data.shape
        return np.prod(x._data, axis=dim, keepdims=keepdim)

    save_output = True

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        axes = ctx.axes if ctx.dim is not None else tuple(range(x._data.ndim))
        gx = _expand_back(g, ctx.in_shape, axes, ctx.keepdim)
        if not (x._data == 0).any():
            out = _expand_back(ctx.output, ctx.in_shape, axes, ctx.keepdim)
            return (gx * out / x, None, None)
        # zeros present: the product of all the other elements (a constant here)
        return (gx * _prod_of_others(x._data, ctx.dim), None, None)


def _prod_of_others(d, dim):
    """For each element, the product of the other elements along dim (all when None)."""
    flat = d.reshape(-1) if dim is None else d
    axis = 0 if dim is None else dim
    n = flat.shape[axis]
    left = np.cumprod(np.insert(flat, 0, 1, axis=axis), axis=axis).take(range(n), axis=axis)
    rev = np.flip(flat, axis=axis)
    right = np.cumprod(np.insert(rev, 0, 1, axis=axis), axis=axis).take(range(n), axis=axis)
    return (left * np.flip(right, axis=axis)).reshape(d.shape)


def prod(input, dim=None, keepdim=False, dtype=None):
    """Product of all elements, or along one dim."""
    if dtype is not None:
        input = input.to(dtype)
    if dim is not None:
        dim = norm_dim(dim, input._data.ndim, "prod")
    return Prod.apply(input, dim=dim, keepdim=keepdim)


class AMax(Op):
    """Max (or min) over axes; ties share the gradient evenly (PyTorch's amax/max())."""

    @staticmethod
    def forward(ctx, x, axes, keepdim, largest):
        d = x._data
        if d.size == 0:
            raise RuntimeError(
                f"{'max' if largest else 'min'}(): Expected reduction dim to be specified for "
                f"input.numel() == 0. Specify the reduction dim with the 'dim' argument.")
        out = (np.max if largest else np.min)(d, axis=axes, keepdims=True)
        mask = d == out
        if out.dtype.kind == "f":  # a NaN result: its gradient goes to the NaNs, as PyTorch
            nan = np.isnan(out)
            if nan.any():
                mask = mask | (np.isnan(d) & nan)
        ctx.weights = mask / mask.sum(axis=axes, keepdims=True)
        ctx.in_shape = d.shape
        ctx.axes = axes
        ctx.keepdim = keepdim
        return out if keepdim else out.reshape([s for i, s in enumerate(d.shape) if i not in axes])

    @staticmethod
    def backward(ctx, g):
        w = ctx.weights.astype(g._data.dtype, copy=False)
        return (_expand_back(g, ctx.in_shape, ctx.axes, ctx.keepdim) * w, None, None, None)


def amax(input, dim=(), keepdim=False):
    """Max over dims (all when dim is empty); ties share the gradient."""
    axes = norm_dims(dim if dim != () else None, input._data.ndim, "amax")
    return AMax.apply(input, axes=axes, keepdim=keepdim, largest=True)


def amin(input, dim=(), keepdim=False):
    """Min over dims (all when dim is empty); ties share the gradient."""
    axes = norm_dims(dim if dim != () else None, input._data.ndim, "amin")
    return AMax.apply(input, axes=axes, keepdim=keepdim, largest=False)


MaxResult = collections.namedtuple("max", ["values", "indices"])
MinResult = collections.namedtuple("min", ["values", "indices"])


def _max_min(input, dim, keepdim, largest, other):
    """Shared body of max/min: whole tensor, along a dim (values, indices), or elementwise."""
    from .elementwise import Maximum, Minimum
    from .shape import gather_along
    if isinstance(dim, Tensor) or other is not None:
        other = dim if other is None else other
        return (Maximum if largest else Minimum).apply(input, other)
    if dim is None:
        return AMax.apply(input, axes=tuple(range(input._data.ndim)), keepdim=False,
                          largest=largest)
    d = norm_dim(dim, input._data.ndim, "max" if largest else "min")
    arr = input._data
    if arr.ndim == 0:
        idx = np.zeros((), dtype=np.int64)
        return (MaxResult if largest else MinResult)(input.clone(), wrap(idx))
    if arr.shape[d] == 0:
        raise IndexError(f"{'max' if largest else 'min'}(): Expected reduction dim {d} to have "
                         "non-zero size.")
    idx = (np.argmax if largest else np.argmin)(arr, axis=d, keepdims=True)
    values = gather_along(input, d, idx, keepdim)
    if not keepdim:
        idx = np.squeeze(idx, axis=d)
    return (MaxResult if largest else MinResult)(values, wrap(idx.astype(np.int64)))


def max(input, dim=None, keepdim=False, *, other=None):  # noqa: A001 - PyTorch's name
    """max(): the largest element; max(dim): (values, indices); max(other): elementwise."""
    return _max_min(input, dim, keepdim, True, other)


def min(input, dim=None, keepdim=False, *, other=None):  # noqa: A001 - PyTorch's name
    """min(): the smallest element; min(dim): (values, indices); min(other): elementwise."""
    return _max_min(input, dim, keepdim, False, other)


def argmax(input, dim=None, keepdim=False):
    """Index of the largest element (flattened when dim is None)."""
    d = input._data
    if dim is None:
        return wrap(np.asarray(np.argmax(d), dtype=np.int64))
    return wrap(np.argmax(d, axis=norm_dim(dim, d.ndim, "argmax"), keepdims=keepdim)
                .astype(np.int64))


def argmin(input, dim=None, keepdim=False):
    """Index of the smallest element (flattened when dim is None)."""
    d = input._data
    if dim is None:
        return wrap(np.asarray(np.argmin(d), dtype=np.int64))
    return wrap(np.argmin(d, axis=norm_dim(dim, d.ndim, "argmin"), keepdims=keepdim)
                .astype(np.int64))


def var(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    """Variance with PyTorch's `correction` (default 1: Bessel's correction)."""
    if correction is None:
        correction = 1 if unbiased is None else int(bool(unbiased))
    axes = norm_dims(dim, input._data.ndim, "var")
    n = 1
    for a in axes:
        n *= input._data.shape[a]
    centered = input - mean(input, dim=axes, keepdim=True)
    ss = sum(centered * centered, dim=axes, keepdim=keepdim)
    denom = n - correction
    if denom <= 0:
        return ss * float("inf") if denom == 0 else ss * float("nan")
    return ss / denom


class _StdSqrt(Op):
    """sqrt of a variance; zero gradient where the std is 0 (as PyTorch's std backward)."""

    save_output = True

    @staticmethod
    def forward(ctx, v):
        return np.sqrt(v._data)

    @staticmethod
    def backward(ctx, g):
        out = ctx.output
        zero = out._data == 0
        if not zero.any():
            return (g / (2.0 * out),)
        return ((g / (2.0 * out).masked_fill(zero, 1.0)).masked_fill(zero, 0.0),)


def std(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    """Standard deviation with PyTorch's `correction` semantics."""
    return _StdSqrt.apply(var(input, dim, unbiased, keepdim, correction=correction))


def var_mean(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    """(var, mean) in one call."""
    return (var(input, dim, unbiased, keepdim, correction=correction),
            mean(input, dim, keepdim))


def std_mean(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    """(std, mean) in one call."""
    return (std(input, dim, unbiased, keepdim, correction=correction),
            mean(input, dim, keepdim))


class Norm2(Op):
    """Euclidean norm over axes; its gradient is x / norm (0 where the norm is 0)."""

    save_output = True

    @staticmethod
    def forward(ctx, x, axes, keepdim):
        ctx.save_for_backward(x)
        ctx.axes = axes
        ctx.keepdim = keepdim
        ctx.in_shape = x._data.shape
        d = x._data
        return np.sqrt(np.sum(d * d, axis=axes, keepdims=keepdim))

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        out = ctx.output
        safe = out.masked_fill(out._data == 0, 1.0)
        scale = _expand_back(g / safe, ctx.in_shape, ctx.axes, ctx.keepdim)
        return (x * scale, None, None)


def norm(input, p="fro", dim=None, keepdim=False, dtype=None):
    """Vector norm: p in {2, 'fro', 1, inf, -inf, 0, any float} over dim (all when None)."""
    if dtype is not None:
        input = input.to(dtype)
    axes = norm_dims(dim, input._data.ndim, "norm")
    if p in ("fro", 2, 2.0):
        return Norm2.apply(input, axes=axes, keepdim=keepdim)
    a = input.abs()
    if p in (float("inf"), "inf"):
        return amax(a, axes, keepdim)
    if p in (float("-inf"), "-inf"):
        return amin(a, axes, keepdim)
    if p == 1:
        return sum(a, axes, keepdim)
    if p == 0:
        return sum((a != 0).to(input.dtype), axes, keepdim)
    return sum(a ** p, axes, keepdim) ** (1.0 / p)


class LogSumExp(Op):
    """log(sum(exp(x))) over axes, computed stably; gradient softmax(x)."""

    @staticmethod
    def forward(ctx, x, axes, keepdim):
        ctx.save_for_backward(x)
        ctx.axes = axes
        ctx.keepdim = keepdim
        ctx.in_shape = x._data.shape
        out = _logsumexp_keepdims(x._data, axes)
        return out if keepdim else out.reshape(
            [s for i, s in enumerate(x._data.shape) if i not in axes])

    save_output = True

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        out = ctx.output
        gk = _expand_back(g, ctx.in_shape, ctx.axes, ctx.keepdim)
        ok = _expand_back(out, ctx.in_shape, ctx.axes, ctx.keepdim)
        return (gk * (x - ok).exp(), None, None)


def _logsumexp_keepdims(d, axes):
    """Stable log-sum-exp with the reduced axes kept; all -inf gives -inf, +inf gives +inf."""
    m = np.max(d, axis=axes, keepdims=True) if d.size else np.full(
        [1 if i in axes else s for i, s in enumerate(d.shape)], -np.inf, d.dtype)
    shift = np.where(np.isfinite(m), m, 0).astype(d.dtype)
    with np.errstate(divide="ignore"):
        return np.log(np.sum(np.exp(d - shift), axis=axes, keepdims=True)) + shift


def logsumexp(input, dim, keepdim=False):
    """Stable log-sum-exp over dim (int or tuple)."""
    axes = norm_dims(dim, input._data.ndim, "logsumexp")
    return LogSumExp.apply(input, axes=axes, keepdim=keepdim)


class CumSum(Op):
    """Cumulative sum along a dim; gradient is the reversed cumulative sum."""

    @staticmethod
    def forward(ctx, x, dim):
        ctx.dim = dim
        return np.cumsum(x._data, axis=dim).reshape(x._data.shape)  # 0-d stays 0-d

    @staticmethod
    def backward(ctx, g):
        if g._data.ndim == 0:
            return (g, None)
        return (g.flip(ctx.dim).cumsum(ctx.dim).flip(ctx.dim), None)


def cumsum(input, dim, dtype=None):
    """Cumulative sum along dim."""
    if dtype is not None:
        input = input.to(dtype)
    return CumSum.apply(input, dim=norm_dim(dim, input._data.ndim, "cumsum"))


def all(input, dim=None, keepdim=False):  # noqa: A001
    """True where all elements are non-zero."""
    axes = None if dim is None else norm_dims(dim, input._data.ndim, "all")
    return wrap(np.asarray(np.all(input._data, axis=axes, keepdims=keepdim)))


def any(input, dim=None, keepdim=False):  # noqa: A001
    """True where any element is non-zero."""
    axes = None if dim is None else norm_dims(dim, input._data.ndim, "any")
    return wrap(np.asarray(np.any(input._data, axis=axes, keepdims=keepdim)))


def count_nonzero(input, dim=None):
    """Number of non-zero elements."""
    axes = None if dim is None else norm_dims(dim, input._data.ndim, "count_nonzero")
    return wrap(np.asarray(np.count_nonzero(input._data, axis=axes), dtype=np.int64))
