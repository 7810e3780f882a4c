"""Shape ops: views (reshape, transpose, expand, basic indexing) and copies (cat, gather...).

View ops return tensors sharing memory and version counter with their input.
"""
import collections
import numbers

import numpy as np

from ..function import Op
from ..tensor import Tensor, _wrap
from ._util import data, norm_dim, reduce_to, sum_to, wrap


def _shape_arg(shape):
    """Accept reshape(2, 3), reshape((2, 3)) and reshape([2, 3])."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = shape[0]
    return tuple(int(s) for s in shape)


def _infer_shape(shape, size, opname):
    """Resolve one -1 in `shape`; PyTorch's error when the sizes do not match."""
    neg = [i for i, s in enumerate(shape) if s == -1]
    if len(neg) > 1:
        raise RuntimeError(f"{opname}: only one dimension can be inferred, got shape {list(shape)}")
    if any(s < -1 for s in shape):
        raise RuntimeError(f"{opname}: invalid shape dimension in {list(shape)}")
    known = 1
    for s in shape:
        if s != -1:
            known *= s
    if neg:
        if known == 0 or size % known:
            raise RuntimeError(f"{opname}: shape '{list(shape)}' is invalid for input of size {size}")
        shape = tuple(size // known if s == -1 else s for s in shape)
    elif known != size:
        raise RuntimeError(f"{opname}: shape '{list(shape)}' is invalid for input of size {size}")
    return shape


class Reshape(Op):
    """Reshape (a view when the memory layout allows, else a copy)."""

    is_view = True

    @staticmethod
    def forward(ctx, x, shape):
        ctx.in_shape = x._data.shape
        return x._data.reshape(shape)

    @staticmethod
    def backward(ctx, g):
        return (Reshape.apply(g, shape=ctx.in_shape),)

    @staticmethod
    def fast_backward(ctx, g):
        return (g.reshape(ctx.in_shape),)


def reshape(input, *shape):
    """A tensor with the same data and a new shape (one dim may be -1)."""
    shape = _infer_shape(_shape_arg(shape), input._data.size, "reshape")
    if shape == input._data.shape:
        return Reshape.apply(input, shape=shape)
    return Reshape.apply(input, shape=shape)


def view(input, *shape):
    """Like reshape, but raises when the result cannot share memory (as PyTorch's view)."""
    shape = _infer_shape(_shape_arg(shape), input._data.size, "view")
    probe = input._data.view()
    try:
        probe.shape = shape
    except AttributeError:
        raise RuntimeError(
            f"view size is not compatible with input tensor's size and stride (shape "
            f"{list(input._data.shape)} -> {list(shape)}); use .reshape(...) instead.") from None
    return Reshape.apply(input, shape=shape)


def flatten(input, start_dim=0, end_dim=-1):
    """Merge dims start_dim..end_dim into one."""
    nd = input._data.ndim
    if nd == 0:
        return reshape(input, 1)
    s = norm_dim(start_dim, nd, "flatten")
    e = norm_dim(end_dim, nd, "flatten")
    if s > e:
        raise RuntimeError("flatten() has invalid args: start_dim cannot come after end_dim")
    shp = input._data.shape
    n = 1
    for k in shp[s:e + 1]:
        n *= k
    return Reshape.apply(input, shape=shp[:s] + (n,) + shp[e + 1:])


def unflatten(input, dim, sizes):
    """Split one dim into `sizes`."""
    d = norm_dim(dim, input._data.ndim, "unflatten")
    shp = input._data.shape
    sizes = _infer_shape(tuple(sizes), shp[d], "unflatten")
    return Reshape.apply(input, shape=shp[:d] + sizes + shp[d + 1:])


class Permute(Op):
    """Reorder dims (a view)."""

    is_view = True

    @staticmethod
    def forward(ctx, x, dims):
        ctx.dims = dims
        return np.transpose(x._data, dims)

    @staticmethod
    def backward(ctx, g):
        return (Permute.apply(g, dims=tuple(np.argsort(ctx.dims))),)

    @staticmethod
    def fast_backward(ctx, g):
        return (np.transpose(g, np.argsort(ctx.dims)),)


def permute(input, *dims):
    """Reorder the dims."""
    dims = _shape_arg(dims)
    nd = input._data.ndim
    if len(dims) != nd:
        raise RuntimeError(f"permute(sparse_coo): number of dims don't match in permute: got "
                           f"{len(dims)} dims for a tensor of {nd} dims")
    dims = tuple(norm_dim(d, nd, "permute") for d in dims)
    if sorted(dims) != list(range(nd)):
        raise RuntimeError(f"permute(): repeated dim in {list(dims)}")
    return Permute.apply(input, dims=dims)


def transpose(input, dim0, dim1):
    """Swap two dims (a view)."""
    nd = input._data.ndim
    if nd == 0:
        return input
    d0, d1 = norm_dim(dim0, nd, "transpose"), norm_dim(dim1, nd, "transpose")
    dims = list(range(nd))
    dims[d0], dims[d1] = dims[d1], dims[d0]
    return Permute.apply(input, dims=tuple(dims))


def t(input):
    """Transpose a tensor of at most 2 dims."""
    if input._data.ndim > 2:
        raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is "
                           f"{input._data.ndim}D")
    return transpose(input, 0, 1) if input._data.ndim == 2 else input


def unsqueeze(input, dim):
    """Insert a size-1 dim at `dim`."""
    nd = input._data.ndim + 1
    d = norm_dim(dim, nd, "unsqueeze")
    shp = input._data.shape
    return Reshape.apply(input, shape=shp[:d] + (1,) + shp[d:])


def squeeze(input, dim=None):
    """Remove size-1 dims (all, or those in dim)."""
    shp = input._data.shape
    if dim is None:
        new = tuple(s for s in shp if s != 1)
    else:
        dims = dim if isinstance(dim, (tuple, list)) else (dim,)
        ds = {norm_dim(d, len(shp), "squeeze") for d in dims} if shp else set()
        new = tuple(s for i, s in enumerate(shp) if not (i in ds and s == 1))
    return Reshape.apply(input, shape=new)


class Expand(Op):
    """Broadcast to a bigger shape (a read-only view); gradient sums back."""

    is_view = True

    @staticmethod
    def forward(ctx, x, shape):
        ctx.in_shape = x._data.shape
        return np.broadcast_to(x._data, shape)

    @staticmethod
    def backward(ctx, g):
        return (reduce_to(g, ctx.in_shape),)

    @staticmethod
    def fast_backward(ctx, g):
        return (sum_to(g, ctx.in_shape),)


def expand(input, *sizes):
    """Broadcast size-1 dims to `sizes` (-1 keeps a dim)."""
    sizes = _shape_arg(sizes)
    shp = input._data.shape
    if len(sizes) < len(shp):
        raise RuntimeError(
            f"expand: the number of sizes provided ({len(sizes)}) must be greater or equal to "
            f"the number of dimensions in the tensor ({len(shp)})")
    lead = len(sizes) - len(shp)
    out = []
    for i, s in enumerate(sizes):
        if s == -1:
            if i < lead:
                raise RuntimeError("expand: -1 is not allowed in a leading, non-existing dimension")
            s = shp[i - lead]
        out.append(s)
    out = tuple(out)
    for i, s in enumerate(shp):
        if s != 1 and s != out[i + lead]:
            raise RuntimeError(
                f"The expanded size of the tensor ({out[i + lead]}) must match the existing size "
                f"({s}) at non-singleton dimension {i + lead}.  Target sizes: {list(sizes)}.  "
                f"Tensor sizes: {list(shp)}")
    return Expand.apply(input, shape=out)


def broadcast_to(input, shape):
    """Broadcast to `shape`, as numpy/PyTorch."""
    return expand(input, *tuple(shape))


def expand_as(input, other):
    """expand(input, other.shape)"""
    return expand(input, *other._data.shape)


def broadcast_tensors(*tensors):
    """Broadcast tensors against each other."""
    shape = np.broadcast_shapes(*(t._data.shape for t in tensors))
    return tuple(expand(t, *shape) for t in tensors)


# ----------------------------------------------------------------------------- indexing
def _index_key(key):
    """Turn tensors and lists inside an index into ndarrays; report if indexing is basic."""
    if not isinstance(key, tuple):
        key = (key,)
    out = []
    basic = True
    for k in key:
        if isinstance(k, Tensor):
            k = k._data
            if k.ndim == 0 and k.dtype.kind in "iu":
                k = int(k)
            else:
                basic = False
        elif isinstance(k, (list, np.ndarray)):
            k = np.asarray(k)
            if k.dtype == object:
                raise IndexError("getitem: ragged or mixed index lists are not supported")
            basic = False
        elif isinstance(k, (bool, np.bool_)):
            basic = False
        elif isinstance(k, numbers.Integral):
            k = int(k)
        elif not (k is None or k is Ellipsis or isinstance(k, slice)):
            raise IndexError(f"getitem: unsupported index of type {type(k).__name__}")
        out.append(k)
    return tuple(out), basic


class BasicIndex(Op):
    """x[ints, slices, None, ...]: a view."""

    is_view = True

    @staticmethod
    def forward(ctx, x, key):
        ctx.key = key
        ctx.in_shape = x._data.shape
        return x._data[key]

    @staticmethod
    def backward(ctx, g):
        return (IndexAdd.apply(g, key=ctx.key, shape=ctx.in_shape, basic=True),)

    @staticmethod
    def fast_backward(ctx, g):
        out = np.zeros(ctx.in_shape, dtype=g.dtype)
        out[ctx.key] = g
        return (out,)


class AdvancedIndex(Op):
    """x[int arrays / bool masks]: a copy; repeated indices accumulate in backward."""

    @staticmethod
    def forward(ctx, x, key):
        ctx.key = key
        ctx.in_shape = x._data.shape
        return x._data[key]

    @staticmethod
    def backward(ctx, g):
        return (IndexAdd.apply(g, key=ctx.key, shape=ctx.in_shape, basic=False),)

    @staticmethod
    def fast_backward(ctx, g):
        out = np.zeros(ctx.in_shape, dtype=g.dtype)
        np.add.at(out, ctx.key, g)
        return (out,)


class IndexAdd(Op):
    """zeros(shape) with g added at key: the gradient of indexing (and indexed again back)."""

    @staticmethod
    def forward(ctx, g, key, shape, basic):
        ctx.key = key
        ctx.basic = basic
        out = np.zeros(shape, dtype=g._data.dtype)
        if basic:
            out[key] = g._data
        else:
            np.add.at(out, key, g._data)
        return out

    @staticmethod
    def backward(ctx, gg):
        cls = BasicIndex if ctx.basic else AdvancedIndex
        return (cls.apply(gg, key=ctx.key),)


def getitem(input, key):
    """input[key] with numpy semantics (PyTorch's, for the supported index kinds)."""
    k, basic = _index_key(key)
    try:
        return (BasicIndex if basic else AdvancedIndex).apply(input, key=k)
    except IndexError as e:
        raise IndexError(f"getitem on a tensor of shape {tuple(input._data.shape)}: {e}") from None


class IndexPut(Op):
    """x with x[key] = value: the recorded form of `x[key] = value`."""

    @staticmethod
    def forward(ctx, x, key, value):
        ctx.key = key
        ctx.vshape = value._data.shape if isinstance(value, Tensor) else None
        out = x._data.copy()
        v = data(value)
        if isinstance(v, np.ndarray):
            target = out[key].shape
            while v.ndim > len(target) and v.shape[0] == 1:  # PyTorch drops leading 1-dims
                v = v[0]
        out[key] = v
        return out

    @staticmethod
    def backward(ctx, g):
        gx = IndexPut.apply(g, ctx.key, 0.0) if ctx._edges[0] is not None else None
        gv = None
        if ctx._edges[2] is not None:
            gv = reduce_to(g[ctx.key], ctx.vshape)
        return gx, None, gv


def setitem(input, key, value):
    """input[key] = value, in place; recorded when grad mode is on and a tensor needs grad."""
    from .inplace import assign_inplace
    k, _ = _index_key(key)
    if not isinstance(value, (Tensor, numbers.Number, np.generic)):
        value = np.asarray(value)
    assign_inplace(input, k, value)


# ----------------------------------------------------------------------------- joining
class Cat(Op):
    """Concatenate along a dim; the gradient is sliced back."""

    @staticmethod
    def forward(ctx, *tensors, dim):
        arrays = [t._data for t in tensors]
        ctx.dim = dim
        ctx.sizes = [a.shape[dim] for a in arrays]
        dt = np.result_type(*arrays)
        return np.concatenate(arrays, axis=dim, dtype=dt)

    @staticmethod
    def backward(ctx, g):
        out = []
        start = 0
        nd = g._data.ndim
        for i, n in enumerate(ctx.sizes):
            if ctx._edges[i] is not None:
                key = (slice(None),) * ctx.dim + (slice(start, start + n),) + \
                    (slice(None),) * (nd - ctx.dim - 1)
                out.append(BasicIndex.apply(g, key=key))
            else:
                out.append(None)
            start += n
        return tuple(out)


def cat(tensors, dim=0):
    """Concatenate tensors along an existing dim."""
    tensors = [t if isinstance(t, Tensor) else wrap(np.asarray(t)) for t in tensors]
    if not tensors:
        raise RuntimeError("cat(): expected a non-empty list of Tensors")
    tensors = [t for t in tensors if not (t._data.ndim == 1 and t._data.shape[0] == 0)] or tensors
    nd = tensors[0]._data.ndim
    if nd == 0:
        raise RuntimeError("cat(): zero-dimensional tensor cannot be concatenated")
    d = norm_dim(dim, nd, "cat")
    ref = tensors[0]._data.shape
    for i, t in enumerate(tensors):
        s = t._data.shape
        if len(s) != nd or any(a != b for j, (a, b) in enumerate(zip(s, ref)) if j != d):
            raise RuntimeError(
                f"cat(): sizes of tensors must match except in dimension {d}. Expected size "
                f"{list(ref)} but got size {list(s)} for tensor number {i} in the list.")
    dts = {t._data.dtype for t in tensors}
    if len(dts) > 1:  # PyTorch's promotion: floats win over ints without widening
        floats = [dt for dt in dts if dt.kind == "f"]
        to = np.result_type(*floats) if floats else np.result_type(*dts)
        tensors = [t if t._data.dtype == to else t.to(to) for t in tensors]
    return Cat.apply(*tensors, dim=d)


concat = concatenate = cat


class Stack(Op):
    """Stack along a new dim."""

    @staticmethod
    def forward(ctx, *tensors, dim):
        ctx.dim = dim
        arrays = [t._data for t in tensors]
        return np.stack(arrays, axis=dim, dtype=np.result_type(*arrays))

    @staticmethod
    def backward(ctx, g):
        nd = g._data.ndim
        out = []
        for i in range(len(ctx._edges)):
            if ctx._edges[i] is not None:
                key = (slice(None),) * ctx.dim + (i,) + (slice(None),) * (nd - ctx.dim - 1)
                out.append(BasicIndex.apply(g, key=key))
            else:
                out.append(None)
        return tuple(out)


def stack(tensors, dim=0):
    """Stack equally shaped tensors along a new dim."""
    tensors = [t if isinstance(t, Tensor) else wrap(np.asarray(t)) for t in tensors]
    if not tensors:
        raise RuntimeError("stack expects a non-empty TensorList")
    ref = tensors[0]._data.shape
    for i, t in enumerate(tensors):
        if t._data.shape != ref:
            raise RuntimeError(
                f"stack expects each tensor to be equal size, but got {list(ref)} at entry 0 "
                f"and {list(t._data.shape)} at entry {i}")
    d = norm_dim(dim, len(ref) + 1, "stack")
    return Stack.apply(*tensors, dim=d)


def hstack(tensors):
    """Concatenate along dim 1 (dim 0 for 1-D tensors)."""
    return cat(tensors, 0 if tensors[0]._data.ndim == 1 else 1)


def vstack(tensors):
    """Concatenate along dim 0 (1-D tensors become rows)."""
    return cat([t.reshape(1, -1) if t._data.ndim == 1 else t for t in tensors], 0)


def split(input, split_size_or_sections, dim=0):
    """Split into chunks of a given size, or of the given list of sizes."""
    d = norm_dim(dim, input._data.ndim, "split")
    n = input._data.shape[d]
    if isinstance(split_size_or_sections, numbers.Integral):
        size = int(split_size_or_sections)
        if size <= 0 and n > 0:
            raise RuntimeError(f"split expects split_size be non-negative, but got {size}")
        sizes = [min(size, n - s) for s in range(0, n, size)] if n else [0]
    else:
        sizes = [int(s) for s in split_size_or_sections]
        if sum(sizes) != n:
            raise RuntimeError(
                f"split_with_sizes expects split_sizes to sum exactly to {n} (input tensor's size "
                f"at dimension {d}), but got split_sizes={sizes}")
    out = []
    start = 0
    pre = (slice(None),) * d
    for s in sizes:
        out.append(BasicIndex.apply(input, key=pre + (slice(start, start + s),)))
        start += s
    return tuple(out)


def chunk(input, chunks, dim=0):
    """Split into `chunks` pieces (the last may be smaller), as PyTorch."""
    if chunks <= 0:
        raise RuntimeError(f"chunk expects `chunks` to be greater than 0, got: {chunks}")
    d = norm_dim(dim, input._data.ndim, "chunk")
    n = input._data.shape[d]
    size = -(-n // chunks) if n else 1
    return split(input, size, d)


def unbind(input, dim=0):
    """Tuple of slices along dim, with that dim removed."""
    d = norm_dim(dim, input._data.ndim, "unbind")
    pre = (slice(None),) * d
    return tuple(BasicIndex.apply(input, key=pre + (i,)) for i in range(input._data.shape[d]))


def select(input, dim, index):
    """The slice at `index` along dim (dim removed)."""
    d = norm_dim(dim, input._data.ndim, "select")
    return BasicIndex.apply(input, key=(slice(None),) * d + (int(index),))


def narrow(input, dim, start, length):
    """input.narrow(dim, start, length): a view of length elements from start."""
    d = norm_dim(dim, input._data.ndim, "narrow")
    return BasicIndex.apply(input, key=(slice(None),) * d + (slice(start, start + length),))


class Flip(Op):
    """Reverse the order along dims."""

    is_view = True

    @staticmethod
    def forward(ctx, x, dims):
        ctx.dims = dims
        return np.flip(x._data, axis=dims)

    @staticmethod
    def backward(ctx, g):
        return (Flip.apply(g, dims=ctx.dims),)


def flip(input, dims):
    """Reverse the order along dims."""
    dims = (dims,) if isinstance(dims, numbers.Integral) else tuple(dims)
    return Flip.apply(input, dims=tuple(norm_dim(d, input._data.ndim, "flip") for d in dims))


def repeat(input, *sizes):
    """Tile the tensor `sizes` times along each dim (PyTorch's repeat)."""
    sizes = _shape_arg(sizes)
    x = input
    nd = x._data.ndim
    if len(sizes) < nd:
        raise RuntimeError("Number of dimensions of repeat dims can not be smaller than number of "
                           "dimensions of tensor")
    x = x.reshape((1,) * (len(sizes) - nd) + x._data.shape)
    shp = x._data.shape
    inter = []
    target = []
    for r, s in zip(sizes, shp):
        inter += [1, s]
        target += [r, s]
    y = x.reshape(*inter).expand(*target)
    return y.reshape(*[r * s for r, s in zip(sizes, shp)])


# ----------------------------------------------------------------------------- gather/scatter
def _along_index(index, dim):
    """Full open-grid index tuple for take/put along `dim` with an index array."""
    grids = list(np.ogrid[tuple(slice(s) for s in index.shape)])
    grids[dim] = index
    return tuple(grids)


class Gather(Op):
    """out[i][j] = x[index[i][j]][j] (dim 0), as torch.gather."""

    @staticmethod
    def forward(ctx, x, dim, index):
        key = _along_index(index, dim)
        ctx.key = key
        ctx.in_shape = x._data.shape
        return x._data[key]

    @staticmethod
    def backward(ctx, g):
        return (IndexAdd.apply(g, key=ctx.key, shape=ctx.in_shape, basic=False), None, None)


def _check_index(op, input, dim, index):
    if index.dtype.kind not in "iu":
        raise RuntimeError(f"{op}(): Expected dtype int64 for index, got {index.dtype}")
    if index.ndim != input._data.ndim:
        raise RuntimeError(
            f"{op}(): Index tensor must have the same number of dimensions as input tensor "
            f"(index {list(index.shape)}, input {list(input._data.shape)})")
    for d, (a, b) in enumerate(zip(index.shape, input._data.shape)):
        if d != dim and a > b:
            raise RuntimeError(
                f"{op}(): Size does not match at dimension {d} expected index "
                f"{list(index.shape)} to be smaller than self {list(input._data.shape)} apart "
                f"from dimension {dim}")
    n = input._data.shape[dim]
    if index.size and (index.min() < 0 or index.max() >= n):  # negatives too, as PyTorch
        bad = int(index.min()) if index.min() < 0 else int(index.max())
        raise RuntimeError(f"{op}(): index {bad} is out of bounds for dimension {dim} with "
                           f"size {n}")


def gather(input, dim, index):
    """Pick values along dim at `index` (an int64 tensor of the same rank)."""
    d = norm_dim(dim, input._data.ndim, "gather")
    idx = index._data if isinstance(index, Tensor) else np.asarray(index)
    _check_index("gather", input, d, idx)
    return Gather.apply(input, dim=d, index=idx)


def gather_along(input, dim, index, keepdim=True):
    """Values at `index` (keepdims-shaped, from argmax/argsort) along dim; squeezed if asked."""
    out = Gather.apply(input, dim=dim, index=index)
    if not keepdim:
        out = squeeze(out, dim)
    return out


class ScatterAdd(Op):
    """input with src added at index along dim (torch.scatter_add)."""

    @staticmethod
    def forward(ctx, input, dim, index, src):
        key = _along_index(index, dim)
        ctx.key = key
        ctx.src_shape = src._data.shape
        ctx.index_shape = index.shape
        out = input._data.copy()
        s = src._data[tuple(slice(n) for n in index.shape)]
        np.add.at(out, key, s)
        return out

    @staticmethod
    def backward(ctx, g):
        gi = g if ctx._edges[0] is not None else None
        gs = None
        if ctx._edges[3] is not None:
            picked = AdvancedIndex.apply(g, key=ctx.key)
            if ctx.index_shape != ctx.src_shape:
                pad = [(0, s - n) for s, n in zip(ctx.src_shape, ctx.index_shape)]
                picked = pad_zeros(picked, pad)
            gs = picked
        return gi, None, None, gs


def scatter_add(input, dim, index, src):
    """Add src's values into a copy of input at index along dim."""
    d = norm_dim(dim, input._data.ndim, "scatter_add")
    idx = index._data if isinstance(index, Tensor) else np.asarray(index)
    _check_index("scatter_add", input, d, idx)
    return ScatterAdd.apply(input, d, idx, src)


def pad_zeros(x, pad):
    """Zero-pad with [(before, after), ...] per dim (recorded)."""
    key = tuple(slice(b, b + n) for (b, _), n in zip(pad, x._data.shape))
    shape = tuple(n + b + a for (b, a), n in zip(pad, x._data.shape))
    return IndexAdd.apply(x, key=key, shape=shape, basic=True)


# ----------------------------------------------------------------------------- sorting
SortResult = collections.namedtuple("sort", ["values", "indices"])
TopkResult = collections.namedtuple("topk", ["values", "indices"])


def sort(input, dim=-1, descending=False, stable=False):
    """(values, indices) sorted along dim; values are differentiable."""
    d = norm_dim(dim, input._data.ndim, "sort")
    arr = input._data
    if arr.ndim == 0:
        return SortResult(input.clone(), wrap(np.zeros((), np.int64)))
    if descending:
        idx = np.flip(np.argsort(np.flip(arr, d), axis=d, kind="stable"), d)
        idx = arr.shape[d] - 1 - idx
    else:
        idx = np.argsort(arr, axis=d, kind="stable")
    idx = np.ascontiguousarray(idx).astype(np.int64)
    return SortResult(Gather.apply(input, dim=d, index=idx), wrap(idx))


def argsort(input, dim=-1, descending=False, stable=False):
    """Indices that sort input along dim."""
    return sort(input, dim, descending, stable).indices


def topk(input, k, dim=-1, largest=True, sorted=True):  # noqa: A002
    """The k largest (or smallest) values along dim and their indices."""
    d = norm_dim(dim, input._data.ndim, "topk")
    n = input._data.shape[d] if input._data.ndim else 1
    if not 0 <= k <= n:
        raise RuntimeError(f"topk(): selected index k={k} out of range for dimension {d} of "
                           f"size {n}")
    s = sort(input, d, descending=largest)
    if input._data.ndim == 0:  # PyTorch returns the element itself (k 0 or 1)
        return TopkResult(*s)
    idx = np.take(s.indices._data, range(k), axis=d)
    return TopkResult(Gather.apply(input, dim=d, index=idx), wrap(idx))


def one_hot(tensor, num_classes=-1):
    """int64 one-hot encoding of class indices; a new last dim of size num_classes."""
    idx = tensor._data if isinstance(tensor, Tensor) else np.asarray(tensor)
    if idx.dtype.kind not in "iu":
        raise RuntimeError(f"one_hot is only applicable to index tensor of integer dtype, got "
                           f"{idx.dtype}")
    if idx.size and idx.min() < 0:
        raise RuntimeError("one_hot: Class values must be non-negative.")
    if num_classes == -1:
        num_classes = int(idx.max()) + 1 if idx.size else 0
    elif idx.size and idx.max() >= num_classes:
        raise RuntimeError(f"one_hot: Class values must be smaller than num_classes "
                           f"({num_classes}); got {int(idx.max())}.")
    out = np.zeros(idx.shape + (num_classes,), dtype=np.int64)
    np.put_along_axis(out, idx[..., None].astype(np.int64), 1, axis=-1)
    return _wrap(out, False, None, 0, None)




# ----------------------------------------------------------------------------- roll, diagonals, tiling
def _int_tuple(v):
    return (int(v),) if isinstance(v, numbers.Integral) else tuple(int(s) for s in v)


class Roll(Op):
    """Shift elements circularly along dims (all, flattened, when dims is None)."""

    @staticmethod
    def forward(ctx, x, shifts, dims):
        ctx.shifts, ctx.dims = shifts, dims
        return np.roll(x._data, shifts, dims)

    @staticmethod
    def backward(ctx, g):
        return (Roll.apply(g, tuple(-s for s in ctx.shifts), ctx.dims), None, None)

    @staticmethod
    def fast_backward(ctx, g):
        return (np.roll(g, tuple(-s for s in ctx.shifts), ctx.dims), None, None)


def roll(input, shifts, dims=None):
    """Roll along dims by shifts (ints or tuples of equal length); dims=None rolls the
    flattened tensor and restores the shape."""
    shifts = _int_tuple(shifts)
    nd = input._data.ndim
    if dims is None or (not isinstance(dims, numbers.Integral) and len(dims) == 0):
        if len(shifts) != 1:
            raise RuntimeError(f"roll: shifts and dimensions must align. shifts: {len(shifts)}, "
                               "dims:0")
        return Roll.apply(input, shifts, None)
    dims = _int_tuple(dims)
    if len(shifts) != len(dims):
        raise RuntimeError(f"roll: shifts and dimensions must align. shifts: {len(shifts)}, "
                           f"dims:{len(dims)}")
    dims = tuple(norm_dim(d, nd, "roll") for d in dims)
    if nd == 0:
        return Roll.apply(input, (0,), None)
    return Roll.apply(input, shifts, dims)


def _diag_index(shape, offset, dim1, dim2):
    """(rows, cols) of the offset diagonal of dims (dim1, dim2) of a tensor of `shape`."""
    n1, n2 = shape[dim1], shape[dim2]
    if offset >= 0:
        n = max(0, min(n1, n2 - offset))
        return np.arange(n), np.arange(n) + offset
    n = max(0, min(n1 + offset, n2))
    return np.arange(n) - offset, np.arange(n)


class Diagonal(Op):
    """The offset diagonal of dims (dim1, dim2), appended as the last dim (a copy)."""

    @staticmethod
    def forward(ctx, x, offset, dim1, dim2):
        ctx.params = (x._data.shape, offset, dim1, dim2)
        return np.diagonal(x._data, offset, dim1, dim2).copy()

    @staticmethod
    def backward(ctx, g):
        shape, offset, dim1, dim2 = ctx.params
        return (DiagonalScatter.apply(g, shape, offset, dim1, dim2), None, None, None)

    @staticmethod
    def fast_backward(ctx, g):
        return (_diag_scatter(g, *ctx.params), None, None, None)


def _diag_scatter(g, shape, offset, dim1, dim2):
    out = np.zeros(shape, dtype=g.dtype)
    rows, cols = _diag_index(shape, offset, dim1, dim2)
    np.moveaxis(out, (dim1, dim2), (-2, -1))[..., rows, cols] = g
    return out


class DiagonalScatter(Op):
    """zeros(shape) with g written on the offset diagonal of dims (dim1, dim2): the
    gradient of Diagonal, and the matrix that diag(vector) builds."""

    @staticmethod
    def forward(ctx, g, shape, offset, dim1, dim2):
        ctx.params = (offset, dim1, dim2)
        return _diag_scatter(g._data, shape, offset, dim1, dim2)

    @staticmethod
    def backward(ctx, gg):
        return (Diagonal.apply(gg, *ctx.params), None, None, None, None)


def diagonal(input, offset=0, dim1=0, dim2=1):
    """The offset diagonal of dims (dim1, dim2), as a new last dim (a copy, not a view)."""
    nd = input._data.ndim
    d1, d2 = norm_dim(dim1, nd, "diagonal"), norm_dim(dim2, nd, "diagonal")
    if d1 == d2:
        raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
    return Diagonal.apply(input, int(offset), d1, d2)


def diag(input, diagonal=0):
    """1-D input: a square matrix with input on the given diagonal; 2-D input: that diagonal."""
    nd = input._data.ndim
    k = int(diagonal)
    if nd == 1:
        m = input._data.shape[0] + abs(k)
        return DiagonalScatter.apply(input, (m, m), k, 0, 1)
    if nd == 2:
        return Diagonal.apply(input, k, 0, 1)
    raise RuntimeError(f"diag(): Supports 1D or 2D tensors. Got {nd}D")


def tile(input, dims):
    """Repeat the tensor dims[i] times along each dim; missing leading dims count as 1."""
    dims = _int_tuple(dims)
    nd = input._data.ndim
    if len(dims) < nd:
        dims = (1,) * (nd - len(dims)) + dims
    return repeat(input, *dims)


def repeat_interleave(input, repeats=None, dim=None, *, output_size=None):
    """Repeat each element (each slice along dim) repeats times; repeats is an int or a 1-D
    tensor with one count per slice. dim=None flattens first. With a single tensor of counts,
    returns the repeated indices (torch.repeat_interleave(repeats))."""
    if repeats is None:  # repeat_interleave(counts): 0, 1, 1, 2, 2, 2, ...
        counts = np.asarray(data(input))
        if counts.ndim > 1 or counts.dtype.kind not in "iu":
            raise RuntimeError("repeat_interleave: repeats must be 0-dim or 1-dim integer "
                               f"tensor, got shape {tuple(counts.shape)} and dtype {counts.dtype}")
        counts = counts.reshape(-1)
        if counts.size and counts.min() < 0:
            raise RuntimeError("repeat_interleave: repeats can not be negative")
        return wrap(np.repeat(np.arange(counts.size, dtype=np.int64), counts))
    x = input
    if dim is None:
        x = x.reshape(-1)
        d = 0
    else:
        d = norm_dim(dim, x._data.ndim, "repeat_interleave")
        if x._data.ndim == 0:
            x = x.reshape(1)
    n = x._data.shape[d]
    reps = np.asarray(data(repeats))
    if reps.dtype.kind not in "iu":
        raise RuntimeError(f"repeat_interleave: repeats must be an int or an integer tensor, "
                           f"got dtype {reps.dtype}")
    if reps.ndim > 1:
        raise RuntimeError("repeat_interleave: repeats must be 0-dim or 1-dim tensor")
    if reps.ndim == 1 and reps.size not in (1, n):
        raise RuntimeError(f"repeats must have the same size as input along dim, but got "
                           f"repeats.size(0) = {reps.size} and input.size({d}) = {n}")
    if reps.size and reps.min() < 0:
        raise RuntimeError("repeat_interleave: repeats can not be negative")
    idx = np.repeat(np.arange(n, dtype=np.int64), np.broadcast_to(reps.reshape(-1), (n,)))
    if output_size is not None and idx.size != output_size:
        raise RuntimeError(f"repeat_interleave: output_size {output_size} does not match the "
                           f"sum of repeats {idx.size}")
    return AdvancedIndex.apply(x, key=(slice(None),) * d + (idx,))


def meshgrid(*tensors, indexing=None):
    """Coordinate grids from 1-D tensors: indexing 'ij' (matrix, the default) or 'xy'
    (Cartesian: the first two output dims swapped). Outputs are broadcast views."""
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    if indexing is None:
        import warnings
        warnings.warn("torch.meshgrid: in an upcoming release, it will be required to pass the "
                      "indexing argument.", UserWarning, stacklevel=2)
        indexing = "ij"
    if indexing not in ("ij", "xy"):
        raise RuntimeError(f"torch.meshgrid: indexing must be one of \"xy\" or \"ij\", but "
                           f"received: {indexing}")
    if not tensors:
        raise RuntimeError("meshgrid expects a non-empty TensorList")
    for t_ in tensors:
        if t_._data.ndim > 1:
            raise RuntimeError(f"torch.meshgrid: Expected 0D or 1D tensor in the tensor list but "
                               f"got a tensor of shape {tuple(t_._data.shape)}")
    if len({t_._data.dtype for t_ in tensors}) > 1:
        raise RuntimeError("meshgrid expects all tensors to have the same dtype")
    sizes = [t_._data.size for t_ in tensors]
    pos = list(range(len(tensors)))
    if indexing == "xy" and len(tensors) >= 2:
        pos[0], pos[1] = 1, 0
    shape = [0] * len(tensors)
    for i, p in enumerate(pos):
        shape[p] = sizes[i]
    out = []
    for i, t_ in enumerate(tensors):
        view_shape = [1] * len(tensors)
        view_shape[pos[i]] = sizes[i]
        out.append(expand(t_.reshape(*view_shape), *shape))
    return tuple(out)
