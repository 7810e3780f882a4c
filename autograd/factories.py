"""Tensor factories, with PyTorch's names, arguments and dtype rules."""
import numbers

import numpy as np

from . import dtypes as _dt
from .random import _rng
from .tensor import Tensor, _wrap


def _finish(arr, requires_grad):
    t = _wrap(arr, False, None, 0, None)
    if requires_grad:
        t.requires_grad_(True)
    return t


def _size(size, kwargs_size=None):
    """Accept f(2, 3), f((2, 3)), f([2, 3]) and f(size=(2, 3))."""
    if kwargs_size is not None:
        size = (kwargs_size,)
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = tuple(size[0])
    out = []
    for s in size:
        if isinstance(s, Tensor):
            s = s.item()
        if not isinstance(s, numbers.Integral):
            raise TypeError(f"size must be a sequence of ints, got {size!r}")
        if s < 0:
            raise RuntimeError(f"Trying to create tensor with negative dimension {s}: {list(size)}")
        out.append(int(s))
    return tuple(out)


def _float_dtype(dtype):
    return _dt.to_dtype(dtype) or _dt.get_default_dtype()


def _infer_array(data, dtype):
    """numpy array from Python data with PyTorch's dtype inference."""
    if isinstance(data, Tensor):
        arr = np.array(data._data, dtype=dtype)
        return arr
    if isinstance(data, np.ndarray):
        return np.array(data, dtype=dtype)
    if isinstance(data, (list, tuple)) and any(isinstance(x, Tensor) for x in _flat(data)):
        data = _tensors_to_lists(data)
    arr = np.array(data, dtype=dtype)
    if dtype is None:
        if arr.dtype == np.float64 and not isinstance(data, np.generic):
            arr = arr.astype(_dt.get_default_dtype())
        elif arr.dtype.kind in "iu" and not isinstance(data, np.generic):
            arr = arr.astype(np.int64)
        elif arr.dtype == object:
            raise TypeError(f"tensor(): could not infer a dtype from {type(data).__name__} "
                            "(ragged nested sequences are not supported)")
    return arr


def _flat(seq):
    for x in seq:
        if isinstance(x, (list, tuple)):
            yield from _flat(x)
        else:
            yield x


def _tensors_to_lists(seq):
    return [_tensors_to_lists(x) if isinstance(x, (list, tuple)) else
            (x._data if isinstance(x, Tensor) else x) for x in seq]


def tensor(data, dtype=None, device=None, requires_grad=False, pin_memory=False):
    """A new tensor holding a copy of `data` (Python numbers, nested lists, ndarray, tensor).

    Python floats become the default dtype (float32), Python ints int64; an ndarray keeps
    its dtype.
    """
    arr = _infer_array(data, _dt.to_dtype(dtype))
    if arr.dtype.kind not in "biufc":
        raise TypeError(f"tensor(): unsupported dtype {arr.dtype}")
    return _finish(arr, requires_grad)


def as_tensor(data, dtype=None, device=None):
    """A tensor sharing memory with `data` when it is an ndarray of the right dtype."""
    if isinstance(data, Tensor):
        return data if dtype is None or _dt.to_dtype(dtype) == data.dtype else data.to(dtype)
    if isinstance(data, np.ndarray) and (dtype is None or _dt.to_dtype(dtype) == data.dtype):
        return _wrap(data, False, None, 0, None)
    return tensor(data, dtype=dtype)


def from_numpy(ndarray):
    """A tensor sharing memory with a numpy array (same dtype)."""
    if not isinstance(ndarray, np.ndarray):
        raise TypeError(f"from_numpy: expected np.ndarray (got {type(ndarray).__name__})")
    if ndarray.dtype.kind not in "biuf":
        raise TypeError(f"from_numpy: can't convert np.ndarray of type {ndarray.dtype}")
    return _wrap(ndarray, False, None, 0, None)


def zeros(*size, dtype=None, device=None, requires_grad=False, out=None):
    """A tensor of zeros."""
    return _finish(np.zeros(_size(size), dtype=_float_dtype(dtype)), requires_grad)


def ones(*size, dtype=None, device=None, requires_grad=False):
    """A tensor of ones."""
    return _finish(np.ones(_size(size), dtype=_float_dtype(dtype)), requires_grad)


def empty(*size, dtype=None, device=None, requires_grad=False):
    """An uninitialised tensor (numbagrad fills it with zeros, to stay deterministic)."""
    return zeros(*size, dtype=dtype, requires_grad=requires_grad)


def full(size, fill_value, dtype=None, device=None, requires_grad=False):
    """A tensor filled with fill_value (dtype inferred from the value, as PyTorch)."""
    if dtype is None:
        if isinstance(fill_value, bool):
            dtype = _dt.bool
        elif isinstance(fill_value, numbers.Integral):
            dtype = _dt.int64
        else:
            dtype = _dt.get_default_dtype()
    return _finish(np.full(_size((size,)), fill_value, dtype=_dt.to_dtype(dtype)), requires_grad)


def eye(n, m=None, dtype=None, device=None, requires_grad=False):
    """An identity matrix of n rows (m columns)."""
    return _finish(np.eye(n, m, dtype=_float_dtype(dtype)), requires_grad)


def arange(start, end=None, step=1, dtype=None, device=None, requires_grad=False):
    """Values in [start, end) by step: int64 for integer arguments, else the default dtype."""
    if end is None:
        start, end = 0, start
    if step == 0:
        raise RuntimeError("arange: step must be nonzero")
    if dtype is None:
        ints = all(isinstance(v, numbers.Integral) for v in (start, end, step))
        dtype = _dt.int64 if ints else _dt.get_default_dtype()
    arr = np.arange(start, end, step, dtype=np.float64 if np.dtype(dtype).kind == "f" else None)
    return _finish(arr.astype(_dt.to_dtype(dtype)), requires_grad)


def linspace(start, end, steps, dtype=None, device=None, requires_grad=False):
    """`steps` evenly spaced values from start to end inclusive."""
    return _finish(np.linspace(start, end, steps).astype(_float_dtype(dtype)), requires_grad)


def logspace(start, end, steps, base=10.0, dtype=None, device=None, requires_grad=False):
    """`steps` values spaced evenly on a log scale."""
    return _finish(np.logspace(start, end, steps, base=base).astype(_float_dtype(dtype)),
                   requires_grad)


def rand(*size, generator=None, dtype=None, device=None, requires_grad=False):
    """Uniform samples in [0, 1)."""
    dt = _float_dtype(dtype)
    return _finish(_rng(generator).random(_size(size), dtype=dt if dt in (
        _dt.float32, _dt.float64) else np.float64).astype(dt, copy=False), requires_grad)


def randn(*size, generator=None, dtype=None, device=None, requires_grad=False):
    """Standard normal samples."""
    dt = _float_dtype(dtype)
    return _finish(_rng(generator).standard_normal(_size(size), dtype=dt if dt in (
        _dt.float32, _dt.float64) else np.float64).astype(dt, copy=False), requires_grad)


def randint(low=0, high=None, size=None, generator=None, dtype=None, device=None,
            requires_grad=False):
    """Integers in [low, high): randint(high, size) or randint(low, high, size)."""
    if size is None:
        if high is None:
            raise TypeError("randint() missing the required argument 'size'")
        low, high, size = 0, low, high
    elif high is None:
        low, high = 0, low
    if high <= low:
        raise RuntimeError(f"random_ expects 'from' to be less than 'to', but got from={low} >= "
                           f"to={high}")
    dt = _dt.to_dtype(dtype) or _dt.int64
    return _finish(_rng(generator).integers(low, high, size=_size((size,))).astype(dt),
                   requires_grad)


def randperm(n, generator=None, dtype=None, device=None, requires_grad=False):
    """A random permutation of 0..n-1 (int64)."""
    return _finish(_rng(generator).permutation(n).astype(_dt.to_dtype(dtype) or _dt.int64),
                   requires_grad)


def normal(mean, std, size=None, generator=None):
    """Normal samples with the given mean and std (numbers or tensors)."""
    m = mean._data if isinstance(mean, Tensor) else mean
    s = std._data if isinstance(std, Tensor) else std
    shape = _size((size,)) if size is not None else np.broadcast_shapes(np.shape(m), np.shape(s))
    ref = mean if isinstance(mean, Tensor) else std if isinstance(std, Tensor) else None
    dt = ref.dtype if ref is not None else _dt.get_default_dtype()
    return _finish(_rng(generator).normal(m, s, size=shape).astype(dt), False)


def bernoulli(input, p=None, generator=None):
    """0/1 samples: 1 with probability input (or p)."""
    probs = input._data if p is None else np.full(input._data.shape, p)
    return _finish((_rng(generator).random(input._data.shape) < probs).astype(input.dtype),
                   False)


def multinomial(input, num_samples, replacement=False, generator=None):
    """Sample category indices from (rows of) non-negative weights."""
    w = np.atleast_2d(input._data).astype(np.float64)
    rng = _rng(generator)
    rows = [rng.choice(w.shape[1], size=num_samples, replace=replacement, p=r / r.sum())
            for r in w]
    out = np.array(rows, dtype=np.int64)
    return _finish(out if input._data.ndim == 2 else out[0], False)


def _like(input, dtype):
    return _dt.to_dtype(dtype) or input._data.dtype


def zeros_like(input, dtype=None, device=None, requires_grad=False):
    """Zeros with input's shape and dtype."""
    return _finish(np.zeros(input._data.shape, dtype=_like(input, dtype)), requires_grad)


def ones_like(input, dtype=None, device=None, requires_grad=False):
    """Ones with input's shape and dtype."""
    return _finish(np.ones(input._data.shape, dtype=_like(input, dtype)), requires_grad)


def empty_like(input, dtype=None, device=None, requires_grad=False):
    """Like zeros_like (numbagrad does not hand out uninitialised memory)."""
    return zeros_like(input, dtype=dtype, requires_grad=requires_grad)


def full_like(input, fill_value, dtype=None, device=None, requires_grad=False):
    """fill_value with input's shape and dtype."""
    return _finish(np.full(input._data.shape, fill_value, dtype=_like(input, dtype)),
                   requires_grad)


def rand_like(input, dtype=None, generator=None, device=None, requires_grad=False):
    """Uniform [0, 1) samples shaped like input."""
    return rand(*input._data.shape, dtype=_like(input, dtype), generator=generator,
                requires_grad=requires_grad)


def randn_like(input, dtype=None, generator=None, device=None, requires_grad=False):
    """Standard normal samples shaped like input."""
    return randn(*input._data.shape, dtype=_like(input, dtype), generator=generator,
                 requires_grad=requires_grad)


def randint_like(input, low=0, high=None, dtype=None, generator=None):
    """Random integers shaped like input."""
    if high is None:
        low, high = 0, low
    return randint(low, high, input._data.shape, generator=generator,
                   dtype=dtype or input._data.dtype)
