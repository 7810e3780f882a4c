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


# ----------------------------------------------------------------------------- cumprod, median
class CumProd(Op):
    """Cumulative product along a dim.

    Gradient without zeros: reversed cumsum(g * out) / x. With zeros that formula divides by
    zero, so, as PyTorch does: an O(n) masked formula on arrays when the backward is not
    recorded, and the O(n^2) sum over omitted products (itself differentiable) when it is.
    """

    save_output = True

    @staticmethod
    def forward(ctx, x, dim):
        ctx.save_for_backward(x)
        ctx.dim = dim
        return np.cumprod(x._data, axis=dim).reshape(x._data.shape)  # 0-d stays 0-d

    @staticmethod
    def backward(ctx, g):
        from .. import grad_mode
        (x,) = ctx.saved_tensors
        d, xd = ctx.dim, x._data
        if xd.ndim == 0 or xd.shape[d] <= 1:
            return (g, None)
        if not (xd == 0).any():
            w = g * ctx.output
            return (w.flip(d).cumsum(d).flip(d) / x, None)
        if not grad_mode.is_grad_enabled():
            return (wrap(_cumprod_grad_zeros(g._data, xd, ctx.output._data, d)), None)
        return (_cumprod_grad_omitted(g, x, d), None)

    @staticmethod
    def fast_backward(ctx, g):
        (x,) = ctx.saved_tensors
        d, xd = ctx.dim, x._data
        if xd.ndim == 0 or xd.shape[d] <= 1:
            return (g, None)
        out = ctx.output._data
        if not (xd == 0).any():
            w = g * out
            return (np.flip(np.cumsum(np.flip(w, d), d), d) / xd, None)
        return (_cumprod_grad_zeros(g, xd, out, d), None)


def _cumprod_grad_zeros(g, x, out, d):
    """Gradient of cumprod along d on arrays, where x may hold zeros (PyTorch's O(n) scheme).

    With z1 the first zero of a slice: before z1 the no-zero formula holds; at z1 the
    gradient is prod(x[:z1]) * sum_{z1<=j<z2} g_j prod(x[z1+1..j]); after z1 it is 0.
    """
    is_zero = x == 0
    count = np.cumsum(is_zero, axis=d)
    before = count == 0
    w = np.where(before, g * out, 0)
    safe = np.where(before, x, 1)
    gi = np.where(before, np.flip(np.cumsum(np.flip(w, d), d), d) / safe, 0).astype(g.dtype)
    upto2 = count == 1  # from the first zero up to (not including) the second
    first = is_zero & upto2
    between = upto2 & ~first
    prods = np.cumprod(np.where(between, x, 1), axis=d)
    s = np.sum(prods * np.where(upto2, g, 0), axis=d, keepdims=True)
    z1 = np.argmax(first, axis=d)[..., None] if d == x.ndim - 1 else \
        np.expand_dims(np.argmax(first, axis=d), d)
    lead = np.take_along_axis(out, np.maximum(z1 - 1, 0), axis=d)
    lead = np.where(z1 == 0, 1, lead)
    return np.where(first, s * lead, gi).astype(g.dtype, copy=False)


def _cumprod_grad_omitted(g, x, d):
    """The recorded (differentiable) gradient of cumprod with zeros: for each k,
    sum_{j>=k} g_j * prod_{i<=j, i!=k} x_i, from prod(x[:k]) and cumprod(x[k+1:])."""
    from .shape import cat, narrow
    n = x._data.shape[d]
    one_shape = list(x._data.shape)
    one_shape[d] = 1
    ones = wrap(np.ones(one_shape, dtype=x._data.dtype))
    parts = []
    for k in range(n):
        if k == 0:
            omitted = cat([ones, cumprod(narrow(x, d, 1, n - 1), d)], d)
        else:
            until_k = prod(narrow(x, d, 0, k), d, keepdim=True)
            if k == n - 1:
                omitted = until_k
            else:
                after = cumprod(narrow(x, d, k + 1, n - k - 1), d)
                omitted = cat([until_k, until_k * after], d)
        parts.append(sum(narrow(g, d, k, n - k) * omitted, d, keepdim=True))
    return cat(parts, d)


def cumprod(input, dim, dtype=None):
    """Cumulative product along dim (its gradient is right also where input has zeros)."""
    if dtype is not None:
        input = input.to(dtype)
    elif input._data.dtype.kind in "biu":
        input = input.to(np.int64)  # PyTorch: integer (and bool) inputs accumulate in int64
    return CumProd.apply(input, dim=norm_dim(dim, input._data.ndim, "cumprod"))


MedianResult = collections.namedtuple("median", ["values", "indices"])


class MedianAll(Op):
    """The lower median of all elements (NaN if any is NaN); ties share the gradient evenly,
    as PyTorch's median() without dim."""

    @staticmethod
    def forward(ctx, x):
        d = x._data
        flat = d.reshape(-1)
        ctx.in_shape = d.shape
        if flat.size == 0:
            if d.dtype.kind not in "fc":
                raise RuntimeError("median(): cannot compute the median of an empty integer "
                                   "tensor")
            ctx.weights = np.zeros(d.shape, d.dtype)
            return np.array(np.nan, dtype=d.dtype)
        s = np.sort(flat)
        v = s[(flat.size - 1) // 2]
        if d.dtype.kind == "f" and np.isnan(s[-1]):
            v = s[-1]  # a NaN sorts last: the median is NaN
            mask = np.isnan(d)
        else:
            mask = d == v
        ctx.weights = mask / mask.sum()
        return np.asarray(v, dtype=d.dtype)

    @staticmethod
    def backward(ctx, g):
        return (g * ctx.weights.astype(g._data.dtype, copy=False),)


def median(input, dim=None, keepdim=False):
    """median(): the lower median of all elements; median(dim): (values, indices) of the lower
    median along dim (a NaN wins, as in PyTorch); the gradient goes to the selected element."""
    from .shape import gather_along
    if dim is None:
        return MedianAll.apply(input)
    arr = input._data
    d = norm_dim(dim, arr.ndim, "median")
    if arr.ndim == 0:
        return MedianResult(input.clone(), wrap(np.zeros((), np.int64)))
    n = arr.shape[d]
    if n == 0:
        raise IndexError(f"median(): Expected reduction dim {d} to have non-zero size.")
    # the lower median's position in a stable sort (PyTorch picks the same element on ties)
    idx = np.take(np.argsort(arr, axis=d, kind="stable"), [(n - 1) // 2], axis=d)
    if arr.dtype.kind == "f":
        nan = np.isnan(arr)
        has_nan = nan.any(axis=d, keepdims=True)
        if has_nan.any():  # the first NaN of a slice is its median
            idx = np.where(has_nan, np.argmax(nan, axis=d, keepdims=True), idx)
    idx = np.ascontiguousarray(idx).astype(np.int64)
    values = gather_along(input, d, idx, keepdim)
    if not keepdim:
        idx = np.squeeze(idx, axis=d)
    return MedianResult(values, wrap(idx))
