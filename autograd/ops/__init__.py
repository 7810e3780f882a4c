"""The op table: every differentiable primitive, and the functions and Tensor methods
built on them. Forward and backward of each primitive sit side by side in its module:

- elementwise.py: + - * / ** and the unary math functions
- reduction.py: sum, mean, prod, max/min, var/std, norm, logsumexp
- shape.py: views, indexing, cat/stack/split, gather/scatter, sort/topk
- linalg.py: matmul and friends
- activation.py: activations, softmax family, fused nn primitives (linear, losses, dropout)
- inplace.py: add_, mul_, x[k] = v, ...
"""
import sys

import numpy as np

from ..tensor import Tensor
from ._util import data, norm_dim, wrap
from .activation import (CrossEntropyIndex, Dropout, Elu, Erf, Gelu, LeakyRelu, Linear,
                         LogSoftmax, MSELoss, Relu, Sigmoid, Silu, Softmax, Softplus, Tanh,
                         linear, log_softmax, softmax)
from .elementwise import (Abs, Add, Cast, Clamp, Clone, Cos, Div, Exp, Expm1, Lerp, Log, Log1p,
                          Log2, Log10, MaskedFill, Maximum, Minimum, Mul, Neg, Pow, Reciprocal,
                          Rounding, Rsqrt, Sign, Sin, Sqrt, Sub, Where, compare, floor_divide,
                          remainder)
from .inplace import assign_inplace, inplace
from .linalg import Matmul, addmm, bmm, dot, matmul, mm, mv, outer
from .reduction import (all, amax, amin, any, argmax, argmin, count_nonzero, cumsum, logsumexp,
                        max, mean, min, norm, prod, std, std_mean, sum, var, var_mean)
from .shape import (broadcast_tensors, broadcast_to, cat, chunk, concat, concatenate, expand,
                    expand_as, flatten, flip, gather, getitem, hstack, narrow, one_hot, permute,
                    repeat, reshape, scatter_add, select, setitem, sort, split, squeeze, stack,
                    t, topk, transpose, unbind, unflatten, unsqueeze, view, vstack, argsort)


def _t(x):
    """Accept array-likes where a tensor is expected (as constants)."""
    if isinstance(x, Tensor):
        return x
    return wrap(np.asarray(x))


# ----------------------------------------------------------------------------- functions
def add(input, other, alpha=1):
    """input + alpha * other"""
    return Add.apply(input, other if alpha == 1 else other * alpha)


def sub(input, other, alpha=1):
    """input - alpha * other"""
    return Sub.apply(input, other if alpha == 1 else other * alpha)


subtract = sub


def mul(input, other):
    """input * other"""
    return Mul.apply(input, other)


multiply = mul


def div(input, other, rounding_mode=None):
    """input / other (rounding_mode 'floor' or 'trunc' gives a non-differentiable result)."""
    if rounding_mode is None:
        return Div.apply(input, other)
    if rounding_mode == "floor":  # as PyTorch: Python's floor division, not floor(a / b)
        q = floor_divide(input, other)._data
    else:
        q = np.trunc(Div.apply(input, other)._data)
    if _t(input)._data.dtype.kind in "iu" and (not isinstance(other, Tensor)
                                                or other._data.dtype.kind in "iu"):
        q = q.astype(_t(input)._data.dtype)
    return wrap(np.asarray(q))


divide = true_divide = div


def pow(input, exponent):  # noqa: A001 - PyTorch's name
    """input ** exponent (either may be a number)."""
    return Pow.apply(input, exponent)


def neg(input):
    """-input"""
    return Neg.apply(input)


negative = neg


def exp(input):
    """e ** input"""
    return Exp.apply(_float_input(input))


def _float_input(x):
    d = x._data
    if d.dtype.kind != "f":
        from .. import dtypes
        return x.to(dtypes.get_default_dtype())
    return x


def log(input):
    """Natural logarithm."""
    return Log.apply(_float_input(input))


def log2(input):
    """Base-2 logarithm."""
    return Log2.apply(_float_input(input))


def log10(input):
    """Base-10 logarithm."""
    return Log10.apply(_float_input(input))


def log1p(input):
    """log(1 + input)"""
    return Log1p.apply(_float_input(input))


def expm1(input):
    """exp(input) - 1"""
    return Expm1.apply(_float_input(input))


def sqrt(input):
    """Square root."""
    return Sqrt.apply(_float_input(input))


def rsqrt(input):
    """1 / sqrt(input)"""
    return Rsqrt.apply(_float_input(input))


def reciprocal(input):
    """1 / input"""
    return Reciprocal.apply(input)


def square(input):
    """input * input"""
    return Mul.apply(input, input)


def sin(input):
    """Sine."""
    return Sin.apply(_float_input(input))


def cos(input):
    """Cosine."""
    return Cos.apply(_float_input(input))


def tan(input):
    """Tangent."""
    return sin(input) / cos(input)


def tanh(input):
    """Hyperbolic tangent."""
    return Tanh.apply(_float_input(input))


def sigmoid(input):
    """Logistic sigmoid."""
    return Sigmoid.apply(_float_input(input))


def relu(input):
    """max(input, 0)"""
    if input._data.dtype.kind != "f":  # integers stay integers, as in PyTorch
        return wrap(np.maximum(input._data, 0))
    return Relu.apply(input)


def erf(input):
    """The error function."""
    return Erf.apply(_float_input(input))


def abs(input):  # noqa: A001
    """|input|"""
    return Abs.apply(input)


absolute = abs


def sign(input):
    """-1, 0 or 1 (zero gradient)."""
    return Sign.apply(input)


def clamp(input, min=None, max=None):  # noqa: A002
    """Clamp into [min, max]; bounds may be numbers or tensors."""
    if min is None and max is None:
        raise RuntimeError("clamp: at least one of 'min' or 'max' must not be None")
    return Clamp.apply(input, min, max)


clip = clamp


def maximum(input, other):
    """Elementwise max (ties split the gradient)."""
    return Maximum.apply(input, _t(other) if not isinstance(other, (int, float)) else other)


def minimum(input, other):
    """Elementwise min (ties split the gradient)."""
    return Minimum.apply(input, _t(other) if not isinstance(other, (int, float)) else other)


fmax, fmin = maximum, minimum


def where(condition, input=None, other=None):
    """input where condition else other; where(condition) gives the nonzero indices."""
    cond = data(condition)
    if input is None and other is None:
        return tuple(wrap(i.astype(np.int64)) for i in np.nonzero(cond))
    cond = np.asarray(cond, dtype=bool)
    return Where.apply(cond, input if not isinstance(input, (list, np.ndarray)) else _t(input),
                       other if not isinstance(other, (list, np.ndarray)) else _t(other))


def masked_fill(input, mask, value):
    """A copy of input with value where mask is True."""
    m = np.asarray(data(mask), dtype=bool)
    return MaskedFill.apply(input, m, value)


def lerp(input, end, weight):
    """input + weight * (end - input)"""
    return Lerp.apply(input, end, weight)


def floor(input):
    """Round down (zero gradient)."""
    return Rounding.apply(input, fn=np.floor)


def ceil(input):
    """Round up (zero gradient)."""
    return Rounding.apply(input, fn=np.ceil)


def round(input, decimals=0):  # noqa: A001
    """Round half to even, as PyTorch (zero gradient)."""
    return Rounding.apply(input, fn=lambda d: np.round(d, decimals))


def trunc(input):
    """Round toward zero (zero gradient)."""
    return Rounding.apply(input, fn=np.trunc)


def clone(input):
    """A copy that stays in the graph."""
    return Clone.apply(input)


def leaky_relu(input, negative_slope=0.01):
    """x if x > 0 else negative_slope * x"""
    return LeakyRelu.apply(input, negative_slope=negative_slope)


def gelu(input, approximate="none"):
    """GELU, exact ('none') or tanh-approximated."""
    if approximate not in ("none", "tanh"):
        raise RuntimeError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
    return Gelu.apply(input, approximate=approximate)


def elu(input, alpha=1.0):
    """ELU."""
    return Elu.apply(input, alpha=alpha)


def silu(input):
    """x * sigmoid(x)"""
    return Silu.apply(input)


def softplus(input, beta=1.0, threshold=20.0):
    """log(1 + exp(beta x)) / beta"""
    return Softplus.apply(input, beta=beta, threshold=threshold)


# comparisons and predicates (no gradient)
def eq(input, other):
    """Elementwise ==."""
    return compare(np.equal, input, other)


def ne(input, other):
    """Elementwise !=."""
    return compare(np.not_equal, input, other)


def lt(input, other):
    """Elementwise <."""
    return compare(np.less, input, other)


def le(input, other):
    """Elementwise <=."""
    return compare(np.less_equal, input, other)


def gt(input, other):
    """Elementwise >."""
    return compare(np.greater, input, other)


def ge(input, other):
    """Elementwise >=."""
    return compare(np.greater_equal, input, other)


greater, greater_equal, less, less_equal, not_equal = gt, ge, lt, le, ne


def logical_and(input, other):
    """Elementwise logical and."""
    return compare(np.logical_and, input, other)


def logical_or(input, other):
    """Elementwise logical or."""
    return compare(np.logical_or, input, other)


def logical_xor(input, other):
    """Elementwise logical xor."""
    return compare(np.logical_xor, input, other)


def logical_not(input):
    """Elementwise logical not."""
    return wrap(np.logical_not(data(input)))


def bitwise_not(input):
    """Bitwise not of an integer tensor."""
    return wrap(np.invert(data(input)))


def equal(input, other):
    """True if both tensors have the same shape and elements."""
    a, b = data(input), data(other)
    return bool(np.shape(a) == np.shape(b) and np.array_equal(a, b))


def allclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False):
    """True if all elements are close (numpy's rule, PyTorch's defaults)."""
    return bool(np.allclose(data(input), data(other), rtol=rtol, atol=atol, equal_nan=equal_nan))


def isclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False):
    """Elementwise closeness, a bool tensor."""
    return wrap(np.isclose(data(input), data(other), rtol=rtol, atol=atol, equal_nan=equal_nan))


def isnan(input):
    """Elementwise NaN test."""
    return wrap(np.isnan(data(input)))


def isinf(input):
    """Elementwise infinity test."""
    return wrap(np.isinf(data(input)))


def isfinite(input):
    """Elementwise finiteness test."""
    return wrap(np.isfinite(data(input)))


def nonzero(input, as_tuple=False):
    """Indices of non-zero elements: (n, ndim) int64, or a tuple of 1-D index tensors."""
    d = data(input)
    if np.ndim(d) == 0:  # PyTorch: a 0-d input is treated as one element with no index dims
        d = np.atleast_1d(d)
        return (wrap(np.zeros(int(d[0] != 0), np.int64)),) if as_tuple else \
            wrap(np.zeros((int(d[0] != 0), 0), np.int64))
    idx = np.nonzero(d)
    if as_tuple:
        return tuple(wrap(i.astype(np.int64)) for i in idx)
    return wrap(np.stack(idx, axis=1).astype(np.int64) if idx else np.zeros((0, 0), np.int64))


def addcmul(input, tensor1, tensor2, value=1):
    """input + value * tensor1 * tensor2"""
    prod = Mul.apply(tensor1, tensor2)
    return Add.apply(input, prod if value == 1 else prod * value)


def addcdiv(input, tensor1, tensor2, value=1):
    """input + value * tensor1 / tensor2"""
    q = Div.apply(tensor1, tensor2)
    return Add.apply(input, q if value == 1 else q * value)


def clamp_min(input, min):  # noqa: A002
    """max(input, min)"""
    return Clamp.apply(input, min, None)


def clamp_max(input, max):  # noqa: A002
    """min(input, max)"""
    return Clamp.apply(input, None, max)


def index_select(input, dim, index):
    """The entries at `index` (1-D int64) along dim; repeated indices accumulate gradients."""
    d = norm_dim(dim, input._data.ndim, "index_select")
    idx = np.asarray(data(index))
    if idx.ndim > 1 or idx.dtype.kind not in "iu":
        raise RuntimeError(f"index_select(): index must be a 1-D integer tensor, got shape "
                           f"{tuple(idx.shape)} and dtype {idx.dtype}")
    n = input._data.shape[d] if input._data.ndim else 1
    if idx.size and (idx.min() < 0 or idx.max() >= n):
        raise IndexError(f"index_select(): index out of range for dim {d} of size {n}")
    return getitem(input, (slice(None),) * d + (idx.reshape(-1),))


def masked_select(input, mask):
    """1-D tensor of the entries where the (broadcast) bool mask is True."""
    m = np.asarray(data(mask), dtype=bool)
    shape = np.broadcast_shapes(input._data.shape, m.shape)
    x = input if input._data.shape == shape else expand(input, *shape)
    return getitem(x, np.broadcast_to(m, shape))


def _tri_mask(input, diagonal, upper):
    r, c = input._data.shape[-2:]
    return (np.triu if upper else np.tril)(np.ones((r, c), dtype=bool), diagonal)


def tril(input, diagonal=0):
    """Lower triangle of the last two dims (the rest set to 0)."""
    return Where.apply(_tri_mask(input, diagonal, False), input, 0)


def triu(input, diagonal=0):
    """Upper triangle of the last two dims (the rest set to 0)."""
    return Where.apply(_tri_mask(input, diagonal, True), input, 0)


def numel(input):
    """Number of elements."""
    return input._data.size


def is_tensor(obj):
    """True for numbagrad tensors."""
    return isinstance(obj, Tensor)


def _mT(self):
    nd = self._data.ndim
    if nd < 2:
        raise RuntimeError(f"tensor.mT is only supported on matrices or batches of matrices. Got "
                           f"{nd}-D tensor.")
    return transpose(self, -2, -1)


def _T(self):
    nd = self._data.ndim
    return permute(self, *reversed(range(nd))) if nd >= 2 else self



def _tensor_where(self, condition, other):
    """``where(condition, self, other)`` (PyTorch's ``Tensor.where``)."""
    return where(condition, self, other)


# ----------------------------------------------------------------------------- Tensor methods
# The methods are these functions (self is the first argument), listed once here.
_METHODS = dict(
    add=add, sub=sub, subtract=sub, mul=mul, multiply=mul, div=div, divide=div,
    true_divide=div, pow=pow, neg=neg, negative=neg, exp=exp, log=log, log2=log2, log10=log10,
    log1p=log1p, expm1=expm1, sqrt=sqrt, rsqrt=rsqrt, reciprocal=reciprocal, square=square,
    sin=sin, cos=cos, tan=tan, tanh=tanh, sigmoid=sigmoid, relu=relu, erf=erf, abs=abs,
    absolute=abs, sign=sign, clamp=clamp, clip=clamp, maximum=maximum, minimum=minimum,
    masked_fill=masked_fill, lerp=lerp, floor=floor, ceil=ceil, round=round, trunc=trunc,
    sum=sum, mean=mean, prod=prod, max=max, min=min, amax=amax, amin=amin, argmax=argmax,
    argmin=argmin, var=var, std=std, norm=norm, logsumexp=logsumexp, cumsum=cumsum, all=all,
    any=any, count_nonzero=count_nonzero, softmax=softmax, log_softmax=log_softmax,
    matmul=matmul, mm=mm, bmm=bmm, mv=mv, dot=dot, outer=outer, reshape=reshape, view=view,
    flatten=flatten, unflatten=unflatten, permute=permute, transpose=transpose, t=t,
    unsqueeze=unsqueeze, squeeze=squeeze, expand=expand, expand_as=expand_as,
    broadcast_to=broadcast_to, split=split, chunk=chunk, unbind=unbind, select=select,
    narrow=narrow, flip=flip, repeat=repeat, gather=gather, scatter_add=scatter_add, sort=sort,
    argsort=argsort, topk=topk, isnan=isnan, isinf=isinf, isfinite=isfinite, equal=equal,
    allclose=allclose, isclose=isclose, nonzero=nonzero, logical_not=logical_not,
    logical_and=logical_and, logical_or=logical_or, where=_tensor_where,
    leaky_relu=leaky_relu, gelu=gelu, elu=elu, silu=silu, softplus=softplus,
    addcmul=addcmul, addcdiv=addcdiv, clamp_min=clamp_min, clamp_max=clamp_max,
    index_select=index_select, masked_select=masked_select, tril=tril, triu=triu,
    fmax=maximum, fmin=minimum, remainder=remainder, floor_divide=floor_divide,
)
for _name, _fn in _METHODS.items():
    setattr(Tensor, _name, _fn)
Tensor.mT = property(_mT, doc="Transpose of the last two dims (a view).")
Tensor.T = property(_T, doc="All dims reversed (a view).")
Tensor.swapaxes = Tensor.swapdims = transpose
swapaxes = swapdims = transpose
fmax, fmin = maximum, minimum
def _view_as(self, other):
    """A view of self with other's shape."""
    return view(self, *other._data.shape)


Tensor.view_as = _view_as


def _new(fill):
    def make(self, *size, dtype=None, requires_grad=False, **kw):
        from ..factories import full
        shape = size[0] if len(size) == 1 and isinstance(size[0], (tuple, list)) else size
        out = full(tuple(shape), fill, dtype=dtype or self._data.dtype)
        return out.requires_grad_(requires_grad) if requires_grad else out
    make.__doc__ = f"A new tensor of `size` filled with {fill}, in this tensor's dtype."
    return make


Tensor.new_zeros = _new(0)
Tensor.new_ones = _new(1)
Tensor.new_empty = _new(0)


def _new_full(self, size, fill_value, dtype=None, requires_grad=False):
    """A new tensor of `size` filled with fill_value, in this tensor's dtype."""
    from ..factories import full
    out = full(tuple(size), fill_value, dtype=dtype or self._data.dtype)
    return out.requires_grad_(requires_grad) if requires_grad else out


def _new_tensor(self, data, dtype=None, requires_grad=False):
    """A new tensor holding a copy of data, in this tensor's dtype unless given."""
    from ..factories import tensor
    return tensor(data, dtype=dtype or self._data.dtype, requires_grad=requires_grad)


Tensor.new_full = _new_full
Tensor.new_tensor = _new_tensor
def _reshape_as(self, other):
    """self reshaped to other's shape."""
    return reshape(self, *other._data.shape)


def _type_as(self, other):
    """self cast to other's dtype."""
    return self.to(other.dtype)


Tensor.reshape_as = _reshape_as
Tensor.type_as = _type_as

# Tensor methods reach the op table through this module reference (no import cycle).
sys.modules[Tensor.__module__]._O = sys.modules[__name__]


# ----------------------------------------------------------------------------- more ops
# Inverse trig/hyperbolic functions and friends, cumprod/median, roll/diagonal/tile/...,
# einsum/tensordot/kron/cross and distances: the functions, then their Tensor methods.
from .elementwise import (Acos, Acosh, Asin, Asinh, Atan, Atan2, Atanh, Cosh, Erfc,  # noqa: E402
                          Exp2, Frac, Hypot, LogAddExp, NanToNum, Sinh, XLogY, acos, acosh,
                          arccos, arccosh, arcsin, arcsinh, arctan, arctan2, arctanh, asin,
                          asinh, atan, atan2, atanh, cosh, erfc, exp2, frac, hypot, logaddexp,
                          nan_to_num, sgn, sinh, xlogy)
from .linalg import (Einsum, cdist, cosine_similarity, cross, einsum, kron,  # noqa: E402
                     pairwise_distance, tensordot, trace)
from .reduction import CumProd, MedianAll, cumprod, median  # noqa: E402
from .shape import (Diagonal, DiagonalScatter, Roll, diag, diagonal, meshgrid,  # noqa: E402
                    repeat_interleave, roll, tile)


def _tile_method(self, *dims):
    """x.tile(2, 3) or x.tile((2, 3))"""
    return tile(self, dims[0] if len(dims) == 1 and isinstance(dims[0], (tuple, list))
                else dims)


_MORE_METHODS = dict(
    asin=asin, acos=acos, atan=atan, arcsin=asin, arccos=acos, arctan=atan, sinh=sinh,
    cosh=cosh, asinh=asinh, acosh=acosh, atanh=atanh, arcsinh=asinh, arccosh=acosh,
    arctanh=atanh, atan2=atan2, arctan2=atan2, hypot=hypot, logaddexp=logaddexp, xlogy=xlogy,
    exp2=exp2, erfc=erfc, sgn=sgn, frac=frac, nan_to_num=nan_to_num, cumprod=cumprod,
    median=median, roll=roll, diag=diag, diagonal=diagonal, trace=trace, tile=_tile_method,
    repeat_interleave=repeat_interleave, kron=kron, cross=cross,
)
for _name, _fn in _MORE_METHODS.items():
    setattr(Tensor, _name, _fn)
