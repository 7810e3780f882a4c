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
