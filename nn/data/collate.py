"""Default collation as in ``torch.utils.data``: turn a list of samples into one batch of Tensors."""
import collections.abc

import numpy as np

from numbagrad import autograd as ag

from . import _backend


def _is_namedtuple(x):
    return isinstance(x, tuple) and hasattr(x, "_fields")


def _stack_tensors(batch):
    shapes = {tuple(t.shape) for t in batch}
    if len(shapes) != 1:
        raise RuntimeError(
            f"default_collate: stack expects each tensor to be equal size, got shapes {sorted(shapes)}"
        )
    return ag.stack(list(batch), 0)


def default_collate(batch):
    """Merge a list of samples into a batch, recursing like PyTorch's ``default_collate``.

    Tensors are stacked along a new dimension 0; numpy arrays are stacked and
    wrapped as Tensors; Python floats become a float64 Tensor, ints an int64
    Tensor, bools a bool Tensor; numpy scalars a Tensor of their dtype; strings
    and bytes stay a list; dicts, namedtuples, tuples and lists are collated
    field by field (a tuple or list gives a list, as in PyTorch).
    """
    if not isinstance(batch, collections.abc.Sequence) or isinstance(batch, (str, bytes)):
        raise TypeError(f"default_collate: expected a list of samples, got {type(batch).__name__}")
    if len(batch) == 0:
        raise ValueError("default_collate: got an empty batch")
    elem = batch[0]
    if _backend.is_tensor(elem):
        return _stack_tensors(batch)
    if isinstance(elem, np.ndarray):
        if elem.dtype.kind in "USO":
            raise TypeError(f"default_collate: numpy arrays of dtype {elem.dtype} cannot become tensors")
        shapes = {b.shape for b in batch}
        if len(shapes) != 1:
            raise RuntimeError(f"default_collate: stack expects each array to be equal size, got shapes {sorted(shapes)}")
        return _backend.from_numpy(np.stack(batch))
    if isinstance(elem, np.generic) and elem.dtype.kind not in "USO":
        return _backend.from_numpy(np.array(batch))
    if isinstance(elem, (bool, np.bool_)):
        return _backend.from_numpy(np.array(batch, dtype=np.bool_))
    if isinstance(elem, float):
        return _backend.from_numpy(np.array(batch, dtype=np.float64))
    if isinstance(elem, int):
        return _backend.from_numpy(np.array(batch, dtype=np.int64))
    if isinstance(elem, (str, bytes)):
        return list(batch)
    if isinstance(elem, collections.abc.Mapping):
        return {key: default_collate([d[key] for d in batch]) for key in elem}
    if _is_namedtuple(elem):
        return type(elem)(*(default_collate(list(s)) for s in zip(*batch)))
    if isinstance(elem, collections.abc.Sequence):
        if len({len(b) for b in batch}) != 1:
            raise RuntimeError("default_collate: each element in list of batch should be of equal size")
        return [default_collate(list(s)) for s in zip(*batch)]
    raise TypeError(
        "default_collate: batch must contain tensors, numpy arrays, numbers, strings, dicts or lists; "
        f"found {type(elem).__name__}"
    )


def default_convert(data):
    """Convert one sample without batching (``batch_size=None``): numpy arrays and scalars become Tensors."""
    if _backend.is_tensor(data):
        return data
    if isinstance(data, np.ndarray) and data.dtype.kind not in "USO":
        return _backend.from_numpy(data)
    if isinstance(data, np.generic) and data.dtype.kind not in "USO":
        return _backend.from_numpy(np.array(data))
    if isinstance(data, collections.abc.Mapping):
        return {k: default_convert(v) for k, v in data.items()}
    if _is_namedtuple(data):
        return type(data)(*(default_convert(d) for d in data))
    if isinstance(data, tuple):
        return [default_convert(d) for d in data]
    if isinstance(data, list):
        return [default_convert(d) for d in data]
    return data
