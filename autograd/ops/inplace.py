"""In-place ops (`add_`, `mul_`, `x[k] = v`, ...): every one bumps the version counter.

With recording off (optimizer steps, init code) they write straight into the array.
With recording on, the out-of-place op is recorded and its result written back into
the same memory, so the tensor's history continues through the new node.
"""
import numpy as np

from .. import grad_mode
from ..tensor import Tensor, _wrap, bump_version
from ._util import data

_state = grad_mode.state


def _copy_src(x, src):
    s = src.to(x.dtype) if src.dtype != x.dtype else src
    return s.expand(*x.shape) if s.shape != x.shape else s.clone()


def _fill(x, value):
    if isinstance(value, Tensor):
        return x * 0 + value.to(x.dtype)
    return x * 0 + value


# Out-of-place twins, recorded when an in-place op happens with recording on.
_RECORDED = {
    "add": lambda x, o, alpha=1: x + (o * alpha if alpha != 1 else o),
    "sub": lambda x, o, alpha=1: x - (o * alpha if alpha != 1 else o),
    "mul": lambda x, o: x * o,
    "div": lambda x, o: x / o,
    "pow": lambda x, o: x ** o,
    "addcmul": lambda x, a, b, value=1: x + a * b * value,
    "addcdiv": lambda x, a, b, value=1: x + a / b * value,
    "lerp": lambda x, end, w: x.lerp(end, w),
    "clamp": lambda x, min=None, max=None: x.clamp(min, max),  # noqa: A002
    "sqrt": lambda x: x.sqrt(),
    "exp": lambda x: x.exp(),
    "neg": lambda x: -x,
    "abs": lambda x: x.abs(),
    "sign": lambda x: x.sign(),
    "relu": lambda x: x.relu(),
    "sigmoid": lambda x: x.sigmoid(),
    "tanh": lambda x: x.tanh(),
    "copy": _copy_src,
    "fill": _fill,
    "fill_array": lambda x, arr: x * 0 + arr.astype(x.dtype),
    "masked_fill": lambda x, mask, value: x.masked_fill(mask, value),
}


def _np_clamp(d, min=None, max=None):  # noqa: A002
    lo, hi = data(min), data(max)
    if lo is not None:
        np.maximum(d, lo, out=d, casting="unsafe")
    if hi is not None:
        np.minimum(d, hi, out=d, casting="unsafe")


def _np_fill(d, value):
    d[...] = data(value)


def _np_masked_fill(d, mask, value):
    np.copyto(d, data(value), where=np.broadcast_to(data(mask), d.shape), casting="unsafe")


def _np_lerp(d, end, w):
    e, w = data(end), data(w)
    d += w * (e - d)


# Direct array versions, used when nothing is recorded.
_DIRECT = {
    "add": lambda d, o, alpha=1: np.add(d, data(o) if alpha == 1 else data(o) * alpha, out=d,
                                        casting="same_kind"),
    "sub": lambda d, o, alpha=1: np.subtract(d, data(o) if alpha == 1 else data(o) * alpha,
                                             out=d, casting="same_kind"),
    "mul": lambda d, o: np.multiply(d, data(o), out=d, casting="same_kind"),
    "div": lambda d, o: np.true_divide(d, data(o), out=d, casting="same_kind"),
    "pow": lambda d, o: np.power(d, data(o), out=d, casting="same_kind"),
    "addcmul": lambda d, a, b, value=1: np.add(d, data(a) * data(b) * value, out=d,
                                               casting="same_kind"),
    "addcdiv": lambda d, a, b, value=1: np.add(d, data(a) / data(b) * value, out=d,
                                               casting="same_kind"),
    "lerp": _np_lerp,
    "clamp": _np_clamp,
    "sqrt": lambda d: np.sqrt(d, out=d),
    "exp": lambda d: np.exp(d, out=d),
    "neg": lambda d: np.negative(d, out=d),
    "abs": lambda d: np.abs(d, out=d),
    "sign": lambda d: np.sign(d, out=d),
    "relu": lambda d: np.maximum(d, 0, out=d),
    "sigmoid": lambda d: np.copyto(d, 1 / (1 + np.exp(-d))),
    "tanh": lambda d: np.tanh(d, out=d),
    "copy": lambda d, src: np.copyto(d, data(src), casting="unsafe"),
    "fill": _np_fill,
    "fill_array": lambda d, arr: np.copyto(d, arr, casting="unsafe"),
    "masked_fill": _np_masked_fill,
}


_bump = bump_version


def _check_writable(x, name):
    if not x._data.flags.writeable:
        raise RuntimeError(
            f"{name}_: unsupported operation: the tensor (shape {tuple(x._data.shape)}) is a "
            "read-only broadcast view (from expand/broadcast_to); call .clone() first")


def _records(x, args):
    if not _state.enabled:
        return False
    if x._rg:
        return True
    return any(isinstance(a, Tensor) and a._rg for a in args)


def _check_recordable(x, name):
    if x._fn is None and x._rg:
        raise RuntimeError(
            f"{name}: a leaf Variable that requires grad (shape {tuple(x._data.shape)}) is being "
            "used in an in-place operation. Wrap it in `with no_grad():` (as optimizers and "
            "init functions do) or use an out-of-place op.")
    if x._base is not None:
        raise RuntimeError(
            f"{name}: an in-place operation on a view (shape {tuple(x._data.shape)}) is being "
            "recorded for autograd; numbagrad does not rebase a view's history onto its base. "
            "Use an out-of-place op (e.g. torch.where, cat, or clone() the view first).")


def _record(x, new):
    """Write a recorded result back into x's memory and continue x's history from it."""
    try:
        np.copyto(x._data, new._data, casting="unsafe")
    except ValueError as e:
        raise RuntimeError(f"in-place operation failed on shape {tuple(x._data.shape)}: {e}") \
            from None
    x._fn = new._fn
    x._nr = new._nr
    x._rg = new._rg
    _bump(x)


def inplace(x, name, *args, **kwargs):
    """Apply the named in-place op to x; returns x."""
    _check_writable(x, name)
    if not _records(x, args):
        try:
            _DIRECT[name](x._data, *args, **kwargs)
        except TypeError as e:  # numpy's casting error is a TypeError
            raise RuntimeError(
                f"{name}_: result type can't be cast to the tensor's dtype {x._data.dtype} "
                f"(shape {tuple(x._data.shape)}): {e}") from None
        except ValueError as e:  # shapes: the result must keep x's shape
            shapes = [tuple(a._data.shape) for a in args if isinstance(a, Tensor)]
            raise RuntimeError(
                f"{name}_: output with shape {tuple(x._data.shape)} doesn't match the broadcast "
                f"of the operand shapes {shapes} ({e})") from None
        _bump(x)
        return x
    _check_recordable(x, name + "_")
    old = _wrap(x._data.copy(), x._rg, x._fn, x._nr, None)
    _record(x, _RECORDED[name](old, *args, **kwargs))
    return x


def assign_inplace(x, key, value):
    """x[key] = value."""
    from .shape import IndexPut
    _check_writable(x, "setitem")
    if not _records(x, (value,)):
        try:
            x._data[key] = data(value)
        except (IndexError, ValueError) as e:
            raise type(e)(f"setitem on a tensor of shape {tuple(x._data.shape)}: {e}") from None
        _bump(x)
        return
    _check_recordable(x, "setitem")
    old = _wrap(x._data.copy(), x._rg, x._fn, x._nr, None)
    if isinstance(value, np.ndarray):
        value = _wrap(value, False, None, 0, None)
    _record(x, IndexPut.apply(old, key, value))
