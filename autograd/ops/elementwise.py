"""Elementwise ops: forward on ndarrays, backward in Tensor ops, side by side.

Binary ops broadcast like numpy; their backward sums each gradient back to its
input's shape (`reduce_to`). Either operand may be a Python number (a constant).
"""
import numpy as np

from ..function import Op
from ..tensor import Tensor
from ._util import _F64, data, fix_float, reduce_to, shape_of, sum_to, wrap, zero_dim_f64


# a tensor's data: an ndarray, or a numpy scalar for some 0-d results
_ARRAY = (np.ndarray, np.generic)


def _nan_wins(wa, out, x):
    """Where max/min is NaN the gradient goes to the NaN operand (x if both), as PyTorch."""
    if isinstance(out, _ARRAY) and out.dtype.kind == "f":
        nan = np.isnan(out)
        if nan.any():
            return np.where(nan, np.isnan(x) * 1.0, wa)
    return wa


def _sign(d):
    """np.sign, but sign(nan) = 0 as PyTorch."""
    s = np.sign(d)
    if s.dtype.kind == "f":
        nan = np.isnan(s)
        if nan.any():
            s = np.where(nan, 0.0, s).astype(s.dtype, copy=False)
    return s


def _grad_of(ctx, i):
    """Does forward argument i need a gradient?"""
    return ctx._edges[i] is not None


def _broadcast_error(opname, operands, err):
    """numpy's broadcasting ValueError as a RuntimeError naming the op and every shape."""
    if "broadcast" not in str(err):
        return err  # some other ValueError: raised unchanged
    shapes = [tuple(np.shape(data(o))) for o in operands
              if isinstance(o, (Tensor, np.ndarray, list))]
    return RuntimeError(f"{opname}: shapes {' and '.join(map(str, shapes))} cannot be broadcast "
                        f"together ({err})")


# ----------------------------------------------------------------------------- binary
class Add(Op):
    """a + b"""

    @staticmethod
    def forward(ctx, a, b):
        try:
            x, y = data(a), data(b)
            ctx.shapes = (shape_of(a), shape_of(b))
            out = x + y
        except ValueError as e:  # numpy's broadcasting error
            raise _broadcast_error("add", (a, b), e) from None
        return out if out.dtype is not _F64 else fix_float(out, x, y)

    @staticmethod
    def backward(ctx, g):
        sa, sb = ctx.shapes
        return (reduce_to(g, sa) if _grad_of(ctx, 0) else None,
                reduce_to(g, sb) if _grad_of(ctx, 1) else None)

    @staticmethod
    def fast_backward(ctx, g):
        sa, sb = ctx.shapes
        e = ctx._edges
        return (sum_to(g, sa) if e[0] is not None else None,
                sum_to(g, sb) if e[1] is not None else None)


class Sub(Op):
    """a - b"""

    @staticmethod
    def forward(ctx, a, b):
        try:
            x, y = data(a), data(b)
            ctx.shapes = (shape_of(a), shape_of(b))
            out = x - y
        except ValueError as e:  # numpy's broadcasting error
            raise _broadcast_error("sub", (a, b), e) from None
        return out if out.dtype is not _F64 else fix_float(out, x, y)

    @staticmethod
    def backward(ctx, g):
        sa, sb = ctx.shapes
        return (reduce_to(g, sa) if _grad_of(ctx, 0) else None,
                reduce_to(-g, sb) if _grad_of(ctx, 1) else None)

    @staticmethod
    def fast_backward(ctx, g):
        sa, sb = ctx.shapes
        e = ctx._edges
        return (sum_to(g, sa) if e[0] is not None else None,
                sum_to(-g, sb) if e[1] is not None else None)


class Mul(Op):
    """a * b"""

    @staticmethod
    def forward(ctx, a, b):
        try:
            x, y = data(a), data(b)
            ctx.save_for_backward(a, b)
            out = x * y
        except ValueError as e:  # numpy's broadcasting error
            raise _broadcast_error("mul", (a, b), e) from None
        return out if out.dtype is not _F64 else fix_float(out, x, y)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        return (reduce_to(g * b, a._data.shape) if _grad_of(ctx, 0) else None,
                reduce_to(g * a, b._data.shape) if _grad_of(ctx, 1) else None)

    @staticmethod
    def fast_backward(ctx, g):
        a, b = ctx.saved_tensors
        e = ctx._edges
        return (sum_to(g * data(b), a._data.shape) if e[0] is not None else None,
                sum_to(g * data(a), b._data.shape) if e[1] is not None else None)


class Div(Op):
    """a / b (true division; integer inputs give the default float dtype)."""

    @staticmethod
    def forward(ctx, a, b):
        try:
            x, y = data(a), data(b)
            ctx.save_for_backward(a, b)
            out = x / y
            if out.dtype == np.float64:  # ndarray or numpy scalar (a 0-d result)
                out = fix_float(out, x, y)
            return out
        except ValueError as e:  # numpy's broadcasting error
            raise _broadcast_error("div", (a, b), e) from None

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        ga = gb = None
        if _grad_of(ctx, 0):
            ga = reduce_to(g / b, a._data.shape)
        if _grad_of(ctx, 1):
            gb = reduce_to(-g * a / (b * b), b._data.shape)
        return ga, gb


class Pow(Op):
    """a ** b, for tensor or number base and exponent."""

    @staticmethod
    def forward(ctx, a, b):
        try:
            x, y = data(a), data(b)
            ctx.save_for_backward(a, b)
            out = fix_float(np.power(x, y), x, y)
            return out
        except ValueError as e:  # numpy's broadcasting error
            raise _broadcast_error("pow", (a, b), e) from None

    save_output = True

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        ga = gb = None
        if _grad_of(ctx, 0):
            if isinstance(b, Tensor):
                ga = g * b * a ** (b - 1)
                ga = ga.masked_fill(b._data == 0, 0.0) if (b._data == 0).any() else ga
                ga = reduce_to(ga, a._data.shape)
            elif b == 0:
                ga = g * 0.0
            elif b == 1:
                ga = g
            elif b == 2:
                ga = g * (2.0 * a)
            else:
                ga = g * (b * a ** (b - 1))
        if _grad_of(ctx, 1):
            out = ctx.output
            if isinstance(a, Tensor):
                la = a.log() if not (a._data == 0).any() else _safe_log_base(a, b)
                gb = reduce_to(g * out * la, b._data.shape)
            else:
                gb = g * out * float(np.log(a)) if a > 0 else g * out * _log_number(a)
        return ga, gb


def _safe_log_base(a, b):
    """log(a) for the exponent's gradient, with 0 where a == 0 and b >= 0 (PyTorch's mask)."""
    mask = (a._data == 0) & (np.asarray(b._data) >= 0)
    safe = a.masked_fill(mask, 1.0)
    return safe.log()


def _log_number(a):
    if a == 0:
        return 0.0
    return float(np.log(a)) if a > 0 else float("nan")


class _Extremum(Op):
    """Elementwise max or min of two tensors; ties split the gradient in half, as PyTorch.

    Subclasses choose the numpy function and the comparison that makes `a` the winner.
    """

    _pick = _beats = _name = None

    @classmethod
    def forward(cls, ctx, a, b):
        try:
            x, y = data(a), data(b)
            ctx.shapes = (shape_of(a), shape_of(b))
            wa = cls._beats(x, y) + 0.5 * (x == y)
            out = fix_float(cls._pick(x, y), x, y)  # float32 vs int64: float32
            ctx.wa = _nan_wins(wa, out, x)
            return out
        except ValueError as e:  # numpy's broadcasting error
            raise _broadcast_error(cls._name, (a, b), e) from None

    @staticmethod
    def backward(ctx, g):
        wa = ctx.wa.astype(g._data.dtype, copy=False)
        sa, sb = ctx.shapes
        return (reduce_to(g * wa, sa) if _grad_of(ctx, 0) else None,
                reduce_to(g * (1.0 - wa), sb) if _grad_of(ctx, 1) else None)


class Maximum(_Extremum):
    """Elementwise max of two tensors."""

    _pick, _beats, _name = staticmethod(np.maximum), staticmethod(np.greater), "maximum"


class Minimum(_Extremum):
    """Elementwise min of two tensors."""

    _pick, _beats, _name = staticmethod(np.minimum), staticmethod(np.less), "minimum"


class Where(Op):
    """where(cond, a, b): a where cond is True, else b (cond is a constant bool array)."""

    @staticmethod
    def forward(ctx, cond, a, b):
        try:
            x, y = data(a), data(b)
            ctx.cond = cond
            ctx.shapes = (None, shape_of(a), shape_of(b))
            out = np.where(cond, x, y)
            if out.dtype == np.float64 and not (
                    (isinstance(x, _ARRAY) and x.dtype == np.float64)
                    or (isinstance(y, _ARRAY) and y.dtype == np.float64)):
                ref = x if isinstance(x, _ARRAY) else y
                out = out.astype(ref.dtype if isinstance(ref, _ARRAY) and ref.dtype.kind == "f"
                                 else np.float32)
            elif out.dtype == np.float64:
                out = zero_dim_f64(out, x, y)
            return out
        except ValueError as e:  # numpy's broadcasting error
            raise _broadcast_error("where", (cond, a, b), e) from None

    @staticmethod
    def backward(ctx, g):
        _, sa, sb = ctx.shapes
        cond = ctx.cond
        return (None,
                reduce_to(Where.apply(cond, g, 0.0), sa) if _grad_of(ctx, 1) else None,
                reduce_to(Where.apply(cond, 0.0, g), sb) if _grad_of(ctx, 2) else None)


class MaskedFill(Op):
    """x with `value` where the constant bool mask is True (mask broadcasts to x)."""

    @staticmethod
    def forward(ctx, x, mask, value):
        try:
            v = data(value)
            ctx.mask = mask
            ctx.vshape = shape_of(value)
            out = np.array(x._data)  # a copy, and an array even if x holds a numpy scalar
            np.copyto(out, v, where=np.broadcast_to(mask, out.shape), casting="unsafe")
            return out
        except ValueError as e:  # numpy's broadcasting error
            raise _broadcast_error("masked_fill", (x, mask, value), e) from None

    @staticmethod
    def backward(ctx, g):
        gx = MaskedFill.apply(g, ctx.mask, 0.0) if _grad_of(ctx, 0) else None
        gv = None
        if _grad_of(ctx, 2):
            gv = reduce_to(Where.apply(np.broadcast_to(ctx.mask, g._data.shape), g, 0.0)
                           .sum(), ctx.vshape) if ctx.vshape == () else None
        return gx, None, gv


# ----------------------------------------------------------------------------- unary
class Neg(Op):
    """-x"""

    @staticmethod
    def forward(ctx, x):
        return np.negative(x._data)

    @staticmethod
    def backward(ctx, g):
        return (-g,)

    @staticmethod
    def fast_backward(ctx, g):
        return (-g,)


class Exp(Op):
    """exp(x)"""

    save_output = True

    @staticmethod
    def forward(ctx, x):
        return np.exp(x._data)

    @staticmethod
    def backward(ctx, g):
        return (g * ctx.output,)

    @staticmethod
    def fast_backward(ctx, g):
        out = ctx._out
        if out[1][1] > out[2]:
            ctx.output  # raises the version error
        return (g * out[0],)


class Log(Op):
    """Natural logarithm."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.log(x._data)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return (g / x,)


class Log2(Op):
    """Base-2 logarithm."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.log2(x._data)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return (g / (x * float(np.log(2.0))),)


class Log10(Op):
    """Base-10 logarithm."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.log10(x._data)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return (g / (x * float(np.log(10.0))),)


class Log1p(Op):
    """log(1 + x), accurate for small x."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.log1p(x._data)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return (g / (x + 1.0),)


class Expm1(Op):
    """exp(x) - 1, accurate for small x."""

    save_output = True

    @staticmethod
    def forward(ctx, x):
        return np.expm1(x._data)

    @staticmethod
    def backward(ctx, g):
        return (g * (ctx.output + 1.0),)


class Sqrt(Op):
    """Square root."""

    save_output = True

    @staticmethod
    def forward(ctx, x):
        return np.sqrt(x._data)

    @staticmethod
    def backward(ctx, g):
        return (g / (2.0 * ctx.output),)


class Rsqrt(Op):
    """1 / sqrt(x)"""

    save_output = True

    @staticmethod
    def forward(ctx, x):
        return 1.0 / np.sqrt(x._data)

    @staticmethod
    def backward(ctx, g):
        out = ctx.output
        return (g * (-0.5) * out * out * out,)


class Reciprocal(Op):
    """1 / x"""

    save_output = True

    @staticmethod
    def forward(ctx, x):
        d = x._data
        return np.reciprocal(d if d.dtype.kind == "f" else d.astype(np.float32))

    @staticmethod
    def backward(ctx, g):
        out = ctx.output
        return (-g * out * out,)


class Sin(Op):
    """sin(x)"""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.sin(x._data)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return (g * x.cos(),)


class Cos(Op):
    """cos(x)"""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.cos(x._data)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return (-g * x.sin(),)


class Abs(Op):
    """|x| (gradient sign(x), 0 at 0)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.abs(x._data)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return (g * _sign(x._data),)


class Sign(Op):
    """sign(x); its gradient is zero."""

    @staticmethod
    def forward(ctx, x):
        return _sign(x._data)

    @staticmethod
    def backward(ctx, g):
        return (g * 0.0,)


class Clamp(Op):
    """Clamp into [min, max] (numbers or tensors; None for no bound)."""

    @staticmethod
    def forward(ctx, x, lo, hi):
        try:
            d = x._data
            lo_d, hi_d = data(lo), data(hi)
            keep = np.ones(d.shape, dtype=bool)
            out = d
            if lo_d is not None:
                keep = keep & (d >= lo_d)
                out = np.maximum(out, lo_d)
            if hi_d is not None:
                keep = keep & (d <= hi_d)
                out = np.minimum(out, hi_d)
            if out is d:
                out = d.copy()
            ctx.keep = keep
            ctx.shapes = (d.shape, shape_of(lo), shape_of(hi))
            ctx.lo_wins = None if lo_d is None else (d < lo_d)
            ctx.hi_wins = None if hi_d is None else (d > hi_d)
            if lo_d is not None and hi_d is not None:
                # PyTorch: min(max(x, lo), hi): where lo > hi the result is hi
                ctx.lo_wins = ctx.lo_wins & ~(np.asarray(lo_d) > np.asarray(hi_d))
                ctx.hi_wins = np.maximum(d, lo_d) > hi_d
            if d.dtype.kind == "f":
                return fix_float(out, d, None)
            bound = lo_d if lo_d is not None else hi_d  # int input: a float bound gives a float
            return fix_float(out.astype(np.result_type(d, bound)), d, bound)
        except ValueError as e:  # numpy's broadcasting error
            raise _broadcast_error("clamp", (x, lo, hi), e) from None

    @staticmethod
    def backward(ctx, g):
        dt = g._data.dtype
        gx = reduce_to(g * np.broadcast_to(ctx.keep, g._data.shape).astype(dt), ctx.shapes[0]) \
            if _grad_of(ctx, 0) else None
        glo = ghi = None
        if _grad_of(ctx, 1):
            glo = reduce_to(g * ctx.lo_wins.astype(dt), ctx.shapes[1])
        if _grad_of(ctx, 2):
            ghi = reduce_to(g * ctx.hi_wins.astype(dt), ctx.shapes[2])
        return gx, glo, ghi


class Rounding(Op):
    """floor, ceil, round, trunc: piecewise constant, so the gradient is zero."""

    @staticmethod
    def forward(ctx, x, fn):
        return fn(x._data)

    @staticmethod
    def backward(ctx, g):
        return (g * 0.0, None)


class Cast(Op):
    """Convert to another dtype; the gradient is cast back."""

    @staticmethod
    def forward(ctx, x, dtype):
        ctx.src = x._data.dtype
        return x._data.astype(dtype)

    @staticmethod
    def backward(ctx, g):
        if ctx.src.kind not in "fc":
            return (None,)
        return (Cast.apply(g, dtype=ctx.src),)


class Clone(Op):
    """A copy that stays in the graph."""

    @staticmethod
    def forward(ctx, x):
        return x._data.copy()

    @staticmethod
    def backward(ctx, g):
        return (g,)

    @staticmethod
    def fast_backward(ctx, g):
        return (g,)


class Lerp(Op):
    """start + weight * (end - start)"""

    @staticmethod
    def forward(ctx, start, end, weight):
        try:
            s, e, w = data(start), data(end), data(weight)
            ctx.save_for_backward(start, end, weight)
            return fix_float(s + w * (e - s), s, e)
        except ValueError as e:  # numpy's broadcasting error
            raise _broadcast_error("lerp", (start, end, weight), e) from None

    @staticmethod
    def backward(ctx, g):
        s, e, w = ctx.saved_tensors
        gs = reduce_to(g * (1.0 - w), s._data.shape) if _grad_of(ctx, 0) else None
        ge = reduce_to(g * w, e._data.shape) if _grad_of(ctx, 1) else None
        gw = reduce_to(g * (e - s), w._data.shape) if _grad_of(ctx, 2) else None
        return gs, ge, gw


# ----------------------------------------------------------------------------- non-differentiable
def compare(ufunc, a, b):
    """Comparison: a bool tensor, never recorded."""
    x = data(a)
    y = data(b)
    if not isinstance(y, (np.ndarray, int, float, bool)) and y is not None:
        y = np.asarray(y)
    try:
        return wrap(np.asarray(ufunc(x, y)))
    except ValueError as e:
        raise _broadcast_error(ufunc.__name__, (a, b), e) from None


def floor_divide(a, b):
    """a // b (floor division, no gradient)."""
    x, y = data(a), data(b)
    try:
        return wrap(np.asarray(fix_float(np.floor_divide(x, y), x, y)))
    except ValueError as e:
        raise _broadcast_error("floor_divide", (a, b), e) from None


def remainder(a, b):
    """Python-style remainder a % b (no gradient)."""
    x, y = data(a), data(b)
    try:
        return wrap(np.asarray(fix_float(np.remainder(x, y), x, y)))
    except ValueError as e:
        raise _broadcast_error("remainder", (a, b), e) from None


# ----------------------------------------------------------------------------- more math
# Inverse trigonometric and hyperbolic functions, exp2, erfc, frac, nan_to_num (unary), and
# atan2, hypot, logaddexp, xlogy (binary). Outside the domain (asin(2), acosh(0.5),
# atanh(2)) the value is NaN, as in PyTorch; atanh(+-1) is +-inf.
def _float_data(x):
    """x's data as a float array: integer tensors compute in the default float dtype."""
    d = x._data
    if d.dtype.kind not in "fc":
        from .. import dtypes
        d = d.astype(dtypes.get_default_dtype())
    return d


def _unary_errstate():
    return np.errstate(invalid="ignore", divide="ignore", over="ignore")


class Asin(Op):
    """arcsin(x); gradient 1 / sqrt(1 - x^2)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        with _unary_errstate():
            return np.arcsin(_float_data(x))

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return (g * (1.0 - x * x).rsqrt(),)

    @staticmethod
    def fast_backward(ctx, g):
        d = ctx.saved_tensors[0]._data
        with _unary_errstate():
            return (g / np.sqrt(1.0 - d * d),)


class Acos(Op):
    """arccos(x); gradient -1 / sqrt(1 - x^2)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        with _unary_errstate():
            return np.arccos(_float_data(x))

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return (-g * (1.0 - x * x).rsqrt(),)

    @staticmethod
    def fast_backward(ctx, g):
        d = ctx.saved_tensors[0]._data
        with _unary_errstate():
            return (-g / np.sqrt(1.0 - d * d),)


class Atan(Op):
    """arctan(x); gradient 1 / (1 + x^2)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.arctan(_float_data(x))

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return (g / (x * x + 1.0),)

    @staticmethod
    def fast_backward(ctx, g):
        d = ctx.saved_tensors[0]._data
        return (g / (d * d + 1.0),)


class Sinh(Op):
    """sinh(x); gradient cosh(x)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        with _unary_errstate():
            return np.sinh(_float_data(x))

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return (g * Cosh.apply(x),)

    @staticmethod
    def fast_backward(ctx, g):
        with _unary_errstate():
            return (g * np.cosh(ctx.saved_tensors[0]._data),)


class Cosh(Op):
    """cosh(x); gradient sinh(x)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        with _unary_errstate():
            return np.cosh(_float_data(x))

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return (g * Sinh.apply(x),)

    @staticmethod
    def fast_backward(ctx, g):
        with _unary_errstate():
            return (g * np.sinh(ctx.saved_tensors[0]._data),)


class Asinh(Op):
    """arcsinh(x); gradient 1 / sqrt(x^2 + 1)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.arcsinh(_float_data(x))

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return (g * (x * x + 1.0).rsqrt(),)

    @staticmethod
    def fast_backward(ctx, g):
        d = ctx.saved_tensors[0]._data
        with _unary_errstate():
            return (g / np.sqrt(d * d + 1.0),)


class Acosh(Op):
    """arccosh(x) (NaN below 1); gradient 1 / sqrt(x^2 - 1)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        with _unary_errstate():
            return np.arccosh(_float_data(x))

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return (g * (x * x - 1.0).rsqrt(),)

    @staticmethod
    def fast_backward(ctx, g):
        d = ctx.saved_tensors[0]._data
        with _unary_errstate():
            return (g / np.sqrt(d * d - 1.0),)


class Atanh(Op):
    """arctanh(x) (+-inf at +-1, NaN outside [-1, 1]); gradient 1 / (1 - x^2)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        with _unary_errstate():
            return np.arctanh(_float_data(x))

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return (g / (1.0 - x * x),)

    @staticmethod
    def fast_backward(ctx, g):
        d = ctx.saved_tensors[0]._data
        with _unary_errstate():
            return (g / (1.0 - d * d),)


_LN2 = float(np.log(2.0))


class Exp2(Op):
    """2 ** x; gradient 2 ** x * ln 2."""

    save_output = True

    @staticmethod
    def forward(ctx, x):
        with _unary_errstate():
            return np.exp2(_float_data(x))

    @staticmethod
    def backward(ctx, g):
        return (g * ctx.output * _LN2,)


def _erfc_array(d):
    """erfc on an ndarray, accurate in the tail (1 - erf(x) is not, beyond x ~ 0.5)."""
    try:
        from scipy.special import erfc as _sp_erfc
    except ImportError:  # scipy is optional: the C library's erfc, element by element
        import math
        out = np.frompyfunc(math.erfc, 1, 1)(d)
        return np.asarray(out, dtype=d.dtype)
    return np.asarray(_sp_erfc(d), dtype=d.dtype)


_TWO_OVER_SQRT_PI = 2.0 / float(np.sqrt(np.pi))


class Erfc(Op):
    """The complementary error function 1 - erf(x); gradient -2/sqrt(pi) exp(-x^2)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return _erfc_array(_float_data(x))

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return (g * (x * x * -1.0).exp() * -_TWO_OVER_SQRT_PI,)

    @staticmethod
    def fast_backward(ctx, g):
        d = ctx.saved_tensors[0]._data
        return (g * np.exp(-(d * d)) * g.dtype.type(-_TWO_OVER_SQRT_PI),)


class Frac(Op):
    """x - trunc(x) (the sign of x kept); gradient 1."""

    @staticmethod
    def forward(ctx, x):
        d = x._data
        with _unary_errstate():
            return d - np.trunc(d)

    @staticmethod
    def backward(ctx, g):
        return (g,)

    @staticmethod
    def fast_backward(ctx, g):
        return (g,)


class NanToNum(Op):
    """NaN, +inf and -inf replaced by numbers; the gradient passes where x is finite."""

    @staticmethod
    def forward(ctx, x, nan, posinf, neginf):
        d = x._data
        ctx.finite = np.isfinite(d)
        return np.nan_to_num(d, copy=True, nan=nan, posinf=posinf, neginf=neginf)

    @staticmethod
    def backward(ctx, g):
        return (g * ctx.finite.astype(g._data.dtype), None, None, None)

    @staticmethod
    def fast_backward(ctx, g):
        return (g * ctx.finite, None, None, None)


def _require_tensors(opname, *operands):
    for o in operands:
        if not isinstance(o, Tensor):
            raise TypeError(f"{opname}(): argument 'other' must be Tensor, not "
                            f"{type(o).__name__}")


def _require_float(opname, *operands):
    for o in operands:
        dt = np.asarray(data(o)).dtype
        if dt.kind not in "fc":
            raise NotImplementedError(f'"{opname}_cpu" not implemented for {dt} operands '
                                      f'(shapes {[tuple(np.shape(data(t))) for t in operands]})')


class Atan2(Op):
    """atan2(a, b), the angle of (b, a); gradient (b, -a) / (a^2 + b^2), 0 at the origin."""

    @staticmethod
    def forward(ctx, a, b):
        try:
            x, y = data(a), data(b)
            ctx.save_for_backward(a, b)
            return fix_float(np.arctan2(x, y), x, y)
        except ValueError as e:
            raise _broadcast_error("atan2", (a, b), e) from None

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        r2 = a * a + b * b
        zero = r2._data == 0
        recip = MaskedFill.apply(r2, zero, 1.0).reciprocal() if zero.any() else r2.reciprocal()
        if zero.any():
            recip = MaskedFill.apply(recip, zero, 0.0)
        return (reduce_to(g * b * recip, a._data.shape) if _grad_of(ctx, 0) else None,
                reduce_to(-g * a * recip, b._data.shape) if _grad_of(ctx, 1) else None)


class Hypot(Op):
    """sqrt(a^2 + b^2); gradient (a, b) / hypot (NaN at the origin, as PyTorch)."""

    save_output = True

    @staticmethod
    def forward(ctx, a, b):
        try:
            x, y = data(a), data(b)
            ctx.save_for_backward(a, b)
            return fix_float(np.hypot(x, y), x, y)
        except ValueError as e:
            raise _broadcast_error("hypot", (a, b), e) from None

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        q = g / ctx.output
        return (reduce_to(q * a, a._data.shape) if _grad_of(ctx, 0) else None,
                reduce_to(q * b, b._data.shape) if _grad_of(ctx, 1) else None)


class LogAddExp(Op):
    """log(exp(a) + exp(b)), computed stably; gradient 1 / (1 + exp(b - a)) for a."""

    @staticmethod
    def forward(ctx, a, b):
        try:
            x, y = data(a), data(b)
            ctx.save_for_backward(a, b)
            with _unary_errstate():
                return fix_float(np.logaddexp(x, y), x, y)
        except ValueError as e:
            raise _broadcast_error("logaddexp", (a, b), e) from None

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        ga = gb = None
        if _grad_of(ctx, 0):
            ga = reduce_to(g / ((b - a).exp() + 1.0), a._data.shape)
        if _grad_of(ctx, 1):
            gb = reduce_to(g / ((a - b).exp() + 1.0), b._data.shape)
        return ga, gb


class XLogY(Op):
    """x * log(y), and 0 where x == 0 (unless y is NaN), as torch.xlogy."""

    @staticmethod
    def forward(ctx, a, b):
        try:
            x, y = data(a), data(b)
            ctx.save_for_backward(a, b)
            with _unary_errstate():
                ly = np.log(y)
                out = np.asarray(x * ly)
                zero = np.asarray((x == 0) & ~np.isnan(y))
                if zero.any():
                    out = np.where(zero, 0, out).astype(out.dtype)
            return fix_float(out, x, y)
        except ValueError as e:
            raise _broadcast_error("xlogy", (a, b), e) from None

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        ga = gb = None
        x, y = data(a), data(b)
        if _grad_of(ctx, 0):
            ga = XLogY.apply(g, b)
            mask = np.asarray((x == 0) & (y <= 0))
            if mask.any():
                ga = MaskedFill.apply(ga, np.broadcast_to(mask, ga._data.shape), 0.0)
            ga = reduce_to(ga, a._data.shape)
        if _grad_of(ctx, 1):
            gb = reduce_to(g * a / b, b._data.shape)
        return ga, gb


def _floatify(x):
    """Integer tensors become the default float dtype (PyTorch's rule for float-valued ops)."""
    if x._data.dtype.kind not in "fc":
        from .. import dtypes
        return x.to(dtypes.get_default_dtype())
    return x


def asin(input):
    """Inverse sine (NaN outside [-1, 1])."""
    return Asin.apply(_floatify(input))


def acos(input):
    """Inverse cosine (NaN outside [-1, 1])."""
    return Acos.apply(_floatify(input))


def atan(input):
    """Inverse tangent."""
    return Atan.apply(_floatify(input))


def sinh(input):
    """Hyperbolic sine."""
    return Sinh.apply(_floatify(input))


def cosh(input):
    """Hyperbolic cosine."""
    return Cosh.apply(_floatify(input))


def asinh(input):
    """Inverse hyperbolic sine."""
    return Asinh.apply(_floatify(input))


def acosh(input):
    """Inverse hyperbolic cosine (NaN below 1)."""
    return Acosh.apply(_floatify(input))


def atanh(input):
    """Inverse hyperbolic tangent (+-inf at +-1, NaN outside [-1, 1])."""
    return Atanh.apply(_floatify(input))


arcsin, arccos, arctan = asin, acos, atan
arcsinh, arccosh, arctanh = asinh, acosh, atanh


def exp2(input):
    """2 ** input"""
    return Exp2.apply(_floatify(input))


def erfc(input):
    """Complementary error function 1 - erf(input), accurate in the tail."""
    return Erfc.apply(_floatify(input))


def sgn(input):
    """sign(input) for real tensors (PyTorch's sgn extends sign to complex numbers)."""
    return Sign.apply(input)


def frac(input):
    """input - trunc(input); gradient 1."""
    _require_float("frac", input)
    return Frac.apply(input)


def nan_to_num(input, nan=0.0, posinf=None, neginf=None):
    """NaN -> nan, +inf -> posinf, -inf -> neginf (defaults: 0 and the dtype's max and min)."""
    if input._data.dtype.kind not in "fc":
        return Clone.apply(input)  # integers have nothing to replace
    return NanToNum.apply(input, nan=nan, posinf=posinf, neginf=neginf)


def atan2(input, other):
    """Elementwise arctan(input / other) in the right quadrant (both tensors, broadcast)."""
    _require_tensors("atan2", input, other)
    return Atan2.apply(input, other)


arctan2 = atan2


def hypot(input, other):
    """sqrt(input^2 + other^2) of two float tensors (broadcast)."""
    _require_tensors("hypot", input, other)
    _require_float("hypot", input, other)
    return Hypot.apply(input, other)


def logaddexp(input, other):
    """log(exp(input) + exp(other)), computed without overflow (float tensors, broadcast)."""
    _require_tensors("logaddexp", input, other)
    _require_float("logaddexp", input, other)
    return LogAddExp.apply(input, other)


def xlogy(input, other):
    """input * log(other), 0 where input == 0 (either may be a number)."""
    if not isinstance(input, Tensor) and not isinstance(other, Tensor):
        raise TypeError("xlogy(): expected at least one Tensor argument")
    return XLogY.apply(input, other)
