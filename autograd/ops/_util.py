"""Helpers shared by the op table: operand unpacking, dtype promotion, unbroadcasting."""
import numbers

import numpy as np

from .. import dtypes as _dt
from ..tensor import Tensor, _wrap


def data(x):
    """The ndarray behind a Tensor; Python numbers pass through; arrays become arrays."""
    if isinstance(x, Tensor):
        return x._data
    if isinstance(x, np.generic):
        return x.item()
    return x


def as_tensor_like(x, like=None):
    """Wrap a non-tensor operand (ndarray, list) as a constant tensor."""
    if isinstance(x, Tensor):
        return x
    if isinstance(x, numbers.Number) or isinstance(x, np.generic):
        return x
    arr = np.asarray(x)
    if arr.dtype == np.float64 and not isinstance(x, np.ndarray):
        arr = arr.astype(_dt.get_default_dtype())
    return _wrap(arr, False, None, 0, None)


_F64 = np.dtype(np.float64)


def fix_float(result, x, y):
    """PyTorch promotion for int tensor (op) Python float: the default dtype, not float64."""
    if result.dtype is _F64:
        # a numpy scalar here is a 0-d tensor's data (data() turns other numpy scalars into
        # Python numbers), so it promotes like an array
        if (isinstance(x, (np.ndarray, np.generic)) and x.dtype == np.float64) or \
                (isinstance(y, (np.ndarray, np.generic)) and y.dtype == np.float64):
            return zero_dim_f64(result, x, y)
        return result.astype(_dt.get_default_dtype())
    return result


def zero_dim_f64(result, x, y):
    """PyTorch: a 0-d float64 tensor does not widen a dimensioned float32 tensor."""
    if x.__class__ is np.ndarray and y.__class__ is np.ndarray and x.ndim and y.ndim:
        return result  # the common case: two dimensioned arrays
    for a, b in ((x, y), (y, x)):
        if np.ndim(a) == 0 and getattr(b, "ndim", 0) and b.dtype == np.float32:
            return result.astype(np.float32)
    return result


def reduce_to(g, shape):
    """Sum a broadcast gradient back down to `shape` (recorded, so it is differentiable)."""
    gshape = g._data.shape
    if gshape == shape:
        return g
    if len(gshape) < len(shape):  # e.g. a (1,) value assigned into a scalar slot
        from .shape import Reshape
        g = Reshape.apply(g, shape=(1,) * (len(shape) - len(gshape)) + gshape)
        gshape = g._data.shape
    lead = len(gshape) - len(shape)
    axes = tuple(range(lead)) + tuple(
        i + lead for i, s in enumerate(shape) if s == 1 and gshape[i + lead] != 1)
    from .reduction import Sum
    out = Sum.apply(g, dim=axes, keepdim=False) if axes else g
    if out._data.shape != shape:
        from .shape import Reshape
        out = Reshape.apply(out, shape=shape)
    return out


def sum_to(g, shape):
    """Array version of reduce_to: sum a broadcast ndarray gradient down to `shape`."""
    if shape is None:
        return None
    gshape = g.shape
    if gshape == shape:
        return g
    lead = len(gshape) - len(shape)
    if lead < 0:
        return g.reshape(shape)
    axes = tuple(range(lead)) + tuple(
        i + lead for i, s in enumerate(shape) if s == 1 and gshape[i + lead] != 1)
    out = g.sum(axis=axes) if axes else g
    return out.reshape(shape) if out.shape != shape else out


_ONES = {}
#: the float dtypes with BLAS and numba kernels
FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


def sum_rows(a):
    """``a.sum(0)`` of a 2-D array; float32/float64 go through BLAS as ``ones @ a``.

    For the bias gradient of a batch that is 2-4x faster than numpy's axis-0 reduction
    (128x256 float32: 2.3 us against 6.5 us) and no less accurate (BLAS accumulates
    in the vector registers, one sum per column).
    """
    dt = a.dtype
    if dt not in FLOATS or not a.shape[0]:
        return np.add.reduce(a, 0)
    key = (a.shape[0], dt)
    ones = _ONES.get(key)
    if ones is None:
        if len(_ONES) > 64:  # many batch sizes: keep the cache small
            _ONES.clear()
        ones = _ONES[key] = np.ones(a.shape[0], dt)
    return np.dot(ones, a)


def shape_of(x):
    """Shape of a tensor operand (None for Python numbers)."""
    return x._data.shape if isinstance(x, Tensor) else None


def wrap(arr):
    """A constant tensor around an ndarray."""
    return _wrap(arr, False, None, 0, None)


def norm_dims(dim, ndim, opname):
    """Normalise dim (None, int or sequence) into a sorted tuple of non-negative axes."""
    if dim is None or (isinstance(dim, (list, tuple)) and len(dim) == 0):
        return tuple(range(ndim))  # PyTorch: dim=() or [] reduces over every dim
    if isinstance(dim, (list, tuple)):
        dims = dim
    else:
        dims = (dim,)
    n = max(ndim, 1)
    out = []
    for d in dims:
        d = int(d)
        if not -n <= d < n:
            raise IndexError(
                f"{opname}: Dimension out of range (expected to be in range of [{-n}, {n - 1}], "
                f"but got {d})")
        out.append(d % n if ndim > 0 else 0)
    if len(set(out)) != len(out):
        raise RuntimeError(f"{opname}: dim {list(dims)} appears multiple times in the list of dims")
    return tuple(sorted(out)) if ndim > 0 else ()


def norm_dim(dim, ndim, opname):
    """Normalise one dim into range."""
    n = max(ndim, 1)
    d = int(dim)
    if not -n <= d < n:
        raise IndexError(
            f"{opname}: Dimension out of range (expected to be in range of [{-n}, {n - 1}], "
            f"but got {d})")
    return d % n


class LazyKernels:
    """Stands in for `autograd.kernels` until a kernel is first needed.

    Importing numba costs 0.2-1 s; deferring it keeps `import numbagrad.autograd` light.
    The first attribute access imports the kernel package and returns from it.
    """

    _module = None

    def __getattr__(self, name):  # only called for names not cached on the instance yet
        mod = LazyKernels._module
        if mod is None:
            from .. import kernels as mod
            LazyKernels._module = mod
        value = getattr(mod, name)
        setattr(self, name, value)
        return value


kernels = LazyKernels()
