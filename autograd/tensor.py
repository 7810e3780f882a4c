"""Tensor: a numpy array plus what reverse-mode autodiff needs to know about it.

A tensor is a leaf (made by the user, `grad_fn is None`) or the output of a recorded
op (`grad_fn` is that op's node). `backward()` walks the graph from here (engine.py).
The math lives in the op table (`ops_*.py`); the methods below only route to it.
"""
import numbers
import weakref

import numpy as np

from . import dtypes as _dt
from . import grad_mode

_state = grad_mode.state
_new = object.__new__


def _engine():
    """The engine module (imported on first use: it imports this module)."""
    global _engine_module
    if _engine_module is None:
        from . import engine as _engine_module
    return _engine_module


_engine_module = None


def _wrap(data, rg, fn, nr, vc):
    """Fast constructor used by the ops: no checks, no copies."""
    t = _new(Tensor)
    t._data = data
    t._rg = rg
    t._grad = None
    t._fn = fn
    t._nr = nr
    t._vc = vc
    t._hooks = None
    t._base = None
    return t


# Version counters. A tensor's `_vc` box is [count, stamp]: how many times it was changed
# in place, and the value of the process-wide clock at its last change. Saving a tensor
# for backward records only the clock, so it costs O(1); backward finds a change made
# after the save by comparing stamps (and skips the check when the clock has not moved).
_clock = [0]


def bump_version(t):
    """Record an in-place change of t (seen by every view sharing its counter)."""
    _clock[0] += 1
    vc = t._vc
    if vc is None:
        t._vc = [1, _clock[0]]
    else:
        vc[0] += 1
        vc[1] = _clock[0]


def new_version_box():
    """A fresh [count, stamp] version counter."""
    return [0, 0]


def _view(base, data):
    """Wrap `data`, a numpy view of `base`'s memory: shares base's version counter."""
    if base._vc is None:
        base._vc = [0, 0]
    t = _wrap(data, False, None, 0, base._vc)
    t._base = base if base._base is None else base._base
    return t


class Tensor:
    """An n-dimensional array that can record the operations applied to it.

    Create tensors with `numbagrad.autograd.tensor(...)` and the other factories.
    Attributes and methods follow PyTorch: `shape`, `dtype`, `requires_grad`, `grad`,
    `grad_fn`, `backward()`, `detach()`, arithmetic operators, reductions, ...
    """

    __slots__ = ("_data", "_rg", "_grad", "_fn", "_nr", "_vc", "_hooks", "_base",
                 "__weakref__")
    __array_priority__ = 1000  # so ndarray (op) Tensor defers to Tensor's reflected op

    def __init__(self, *data, dtype=None, requires_grad=False):
        """As `torch.Tensor(...)`: Tensor(2, 3) is a (2, 3) tensor (of zeros here), and
        Tensor(sequence) copies the values, in the default float dtype (an ndarray keeps
        its own dtype). Prefer the factories (`tensor`, `zeros`, ...)."""
        dt = _dt.to_dtype(dtype) or _dt.get_default_dtype()
        if all(isinstance(d, numbers.Integral) and not isinstance(d, bool) for d in data):
            arr = np.zeros(tuple(int(d) for d in data), dtype=dt)
        elif len(data) == 1:
            src = data[0]._data if isinstance(data[0], Tensor) else data[0]
            # an ndarray keeps its dtype (PyTorch would make it float32)
            arr = np.array(src, dtype=dtype if isinstance(src, np.ndarray) else dt)
        else:
            raise TypeError(f"Tensor(): expected sizes or one sequence, got {data!r}")
        self._data = arr
        self._rg = False
        self._grad = None
        self._fn = None
        self._nr = 0
        self._vc = None
        self._hooks = None
        self._base = None
        if requires_grad:
            self.requires_grad_(True)

    # ------------------------------------------------------------------ metadata
    @property
    def shape(self):
        """The size of each dimension, as a tuple (PyTorch's torch.Size)."""
        return Size(self._data.shape)

    @property
    def dtype(self):
        """The element type (a numpy dtype under PyTorch's names: ag.float32, ...)."""
        return self._data.dtype

    @property
    def ndim(self):
        """Number of dimensions."""
        return self._data.ndim

    def dim(self):
        """Number of dimensions."""
        return self._data.ndim

    def size(self, dim=None):
        """The shape, or the size of one dimension."""
        if dim is None:
            return Size(self._data.shape)
        return self._data.shape[_norm_dim(dim, self._data.ndim, "size")]

    def numel(self):
        """Number of elements."""
        return self._data.size

    nelement = numel

    def element_size(self):
        """Bytes per element."""
        return self._data.itemsize

    @property
    def device(self):
        """Always 'cpu'."""
        return "cpu"

    @property
    def is_leaf(self):
        """True for tensors not produced by a recorded op."""
        return self._fn is None

    @property
    def grad_fn(self):
        """The node that produced this tensor, or None for leaves."""
        return self._fn

    @property
    def requires_grad(self):
        """Whether gradients flow to (or through) this tensor."""
        return self._rg

    @requires_grad.setter
    def requires_grad(self, value):
        self.requires_grad_(value)

    def requires_grad_(self, requires_grad=True):
        """Set requires_grad on a leaf in place; returns self."""
        if self._fn is not None:
            if not requires_grad:
                raise RuntimeError(
                    "you can only change requires_grad flags of leaf variables. If you want "
                    "to use a computed variable in a subgraph that doesn't require "
                    "differentiation use var_no_grad = var.detach().")
            return self
        if requires_grad and self._data.dtype.kind not in "fc":
            raise RuntimeError(
                f"only Tensors of floating point dtype can require gradients; this tensor "
                f"has dtype {self._data.dtype} and shape {tuple(self._data.shape)}")
        self._rg = bool(requires_grad)
        return self

    @property
    def grad(self):
        """The accumulated gradient (a Tensor) or None."""
        return self._grad

    @grad.setter
    def grad(self, value):
        if value is not None:
            if not isinstance(value, Tensor):
                raise TypeError(f"assigned grad must be a Tensor or None, got {type(value).__name__}")
            if value._data.shape != self._data.shape:
                raise RuntimeError(
                    f"assigned grad has shape {tuple(value._data.shape)} but the tensor has "
                    f"shape {tuple(self._data.shape)}")
            if value._data.dtype != self._data.dtype:
                raise RuntimeError(
                    f"assigned grad has dtype {value._data.dtype} but the tensor has dtype "
                    f"{self._data.dtype}")
        self._grad = value

    @property
    def data(self):
        """A tensor sharing this one's memory, detached from the graph (PyTorch's `.data`)."""
        t = _wrap(self._data, False, None, 0, None)
        return t

    @data.setter
    def data(self, value):
        if not isinstance(value, Tensor):
            raise TypeError(f"Tensor.data must be set to a Tensor, got {type(value).__name__}")
        self._data = value._data

    @property
    def _version(self):
        """Counts in-place changes; backward checks it for tensors it saved."""
        return self._vc[0] if self._vc is not None else 0

    @property
    def is_cuda(self):
        """Always False: numbagrad runs on the CPU."""
        return False

    def is_floating_point(self):
        """True for floating dtypes."""
        return self._data.dtype.kind == "f"

    def is_contiguous(self):
        """True if the memory is C-contiguous."""
        return self._data.flags.c_contiguous

    def contiguous(self):
        """A C-contiguous tensor with the same values (self if already contiguous)."""
        if self._data.flags.c_contiguous:
            return self
        return _O.Clone.apply(self)

    def stride(self, dim=None):
        """Strides in elements, as PyTorch counts them."""
        s = tuple(x // self._data.itemsize for x in self._data.strides)
        return s if dim is None else s[dim]

    # ------------------------------------------------------------------ conversion
    def numpy(self, force=False):
        """The underlying ndarray (shared memory); raises if the tensor requires grad."""
        if self._rg and not force:
            raise RuntimeError(
                "Can't call numpy() on Tensor that requires grad. Use tensor.detach().numpy() "
                "instead.")
        return self._data

    def __array__(self, dtype=None, copy=None):
        if self._rg:
            raise RuntimeError(
                "Can't convert a Tensor that requires grad to a numpy array. Use "
                "tensor.detach().numpy() instead.")
        return self._data if dtype is None else self._data.astype(dtype)

    def item(self):
        """The value of a one-element tensor as a Python number."""
        if self._data.size != 1:
            raise RuntimeError(
                f"a Tensor with {self._data.size} elements cannot be converted to Scalar "
                f"(item() on shape {tuple(self._data.shape)})")
        return self._data.item()

    def tolist(self):
        """Nested Python lists (a number for a 0-d tensor)."""
        return self._data.tolist()

    def __float__(self):
        return float(self.item())

    def __int__(self):
        return int(self.item())

    def __bool__(self):
        if self._data.size != 1:
            raise RuntimeError(
                f"Boolean value of Tensor with {self._data.size} elements is ambiguous")
        return bool(self._data.item())

    def __index__(self):
        if self._data.dtype.kind not in "iub" or self._data.size != 1:
            raise TypeError("only integer tensors of a single element can be converted to an index")
        return int(self._data.item())

    def to(self, *args, **kwargs):
        """Convert dtype (`to(dtype)`, `to(other)`); device arguments other than 'cpu' raise."""
        dtype = kwargs.pop("dtype", None)
        copy = kwargs.pop("copy", False)
        kwargs.pop("non_blocking", None)
        device = kwargs.pop("device", None)
        for a in args:
            if isinstance(a, Tensor):
                dtype = a.dtype
            elif isinstance(a, str) or a is None:
                device = a
            else:
                dtype = a
        if device is not None and str(device) != "cpu":
            raise RuntimeError(f"numbagrad runs on the CPU only; cannot move to device {device!r}")
        if kwargs:
            raise TypeError(f"to() got unexpected arguments {sorted(kwargs)}")
        if dtype is None:
            return self.clone() if copy else self
        dtype = _dt.to_dtype(dtype)
        if dtype == self._data.dtype:
            return self.clone() if copy else self
        return _O.Cast.apply(self, dtype=dtype)

    def type(self, dtype=None):
        """The dtype name, or a converted tensor when a dtype is given."""
        if dtype is None:
            return str(self._data.dtype)
        return self.to(dtype)

    def float(self):
        """Convert to float32."""
        return self.to(_dt.float32)

    def double(self):
        """Convert to float64."""
        return self.to(_dt.float64)

    def half(self):
        """Convert to float16."""
        return self.to(_dt.float16)

    def long(self):
        """Convert to int64."""
        return self.to(_dt.int64)

    def int(self):
        """Convert to int32."""
        return self.to(_dt.int32)

    def bool(self):
        """Convert to bool."""
        return self.to(_dt.bool)

    def cpu(self):
        """Return self (numbagrad runs on the CPU)."""
        return self

    def detach(self):
        """A tensor sharing memory and version counter, cut from the graph."""
        if self._vc is None:
            self._vc = [0, 0]
        return _wrap(self._data, False, None, 0, self._vc)

    def detach_(self):
        """Cut this tensor from the graph in place (it becomes a leaf)."""
        self._fn = None
        self._nr = 0
        self._rg = False
        return self

    def clone(self, memory_format=None):
        """A copy that stays in the graph (gradient flows back to self)."""
        return _O.Clone.apply(self)

    def retain_grad(self):
        """Keep .grad for this non-leaf tensor after backward."""
        if self._fn is None:
            if not self._rg:
                raise RuntimeError("can't retain_grad on Tensor that has requires_grad=False")
            return
        node = self._fn
        hooks = node._out_hooks
        if hooks is None:
            hooks = node._out_hooks = {}
        node._special = True
        lst = hooks.setdefault(self._nr, [])
        if any(getattr(h, "_retains", None) is not None and h._retains() is self for h in lst):
            return
        ref = weakref.ref(self)

        def retain(grad):
            t = ref()
            if t is not None:
                g = grad.detach() if not _state.enabled else grad
                if t._grad is None:
                    t._grad = g if _state.enabled else _wrap(g._data.copy(), False, None, 0, None)
                else:
                    t._grad = t._grad + g
            return None

        retain._retains = ref
        lst.append(retain)

    @property
    def retains_grad(self):
        """True if retain_grad() was called on this non-leaf tensor."""
        node = self._fn
        if node is None or node._out_hooks is None:
            return False
        return any(getattr(h, "_retains", None) is not None and h._retains() is self
                   for h in node._out_hooks.get(self._nr, ()))

    def register_hook(self, hook):
        """Run hook(grad) when this tensor's gradient is computed; it may return a new grad.

        Returns a handle whose `remove()` unregisters the hook.
        """
        from .function import _RemovableHandle
        if not self._rg:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        if self._fn is None:
            if self._hooks is None:
                self._hooks = []
            return _RemovableHandle(self._hooks, hook)
        node = self._fn
        if node._out_hooks is None:
            node._out_hooks = {}
        node._special = True
        return _RemovableHandle(node._out_hooks.setdefault(self._nr, []), hook)

    def backward(self, gradient=None, retain_graph=None, create_graph=False, inputs=None):
        """Compute the gradient of this tensor w.r.t. the graph leaves (accumulated in .grad)."""
        if inputs is None and not create_graph:
            (_engine_module or _engine()).backward_one(self, gradient, retain_graph)
        else:
            _engine().backward((self,), None if gradient is None else (gradient,), retain_graph,
                               create_graph, inputs)

    # ------------------------------------------------------------------ printing
    def __repr__(self):
        body = np.array2string(self._data, separator=", ", precision=4, threshold=1000,
                               edgeitems=3, prefix="tensor(")
        extras = []
        if self._data.dtype not in (_dt.get_default_dtype(), _dt.int64, _dt.bool) or (
                self._data.size == 0 and self._data.dtype != _dt.get_default_dtype()):
            extras.append(f"dtype={_dtype_name(self._data.dtype)}")
        if self._data.size == 0:
            extras.insert(0, f"size={tuple(self._data.shape)}")
        if self._fn is not None:
            extras.append(f"grad_fn=<{self._fn.name()}>")
        elif self._rg:
            extras.append("requires_grad=True")
        tail = "".join(", " + e for e in extras)
        return f"tensor({body}{tail})"

    __str__ = __repr__

    def __format__(self, spec):
        if self._data.ndim == 0:
            return format(self._data.item(), spec)
        return repr(self)

    # ------------------------------------------------------------------ python protocol
    def __len__(self):
        if self._data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self._data.shape[0]

    def __iter__(self):
        if self._data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(self._data.shape[0]))

    def __hash__(self):
        return id(self)

    def __contains__(self, value):
        v = value._data if isinstance(value, Tensor) else value
        return bool((self._data == v).any())

    def __reduce_ex__(self, protocol):
        raise TypeError(
            "numbagrad tensors are not pickled; use numbagrad.autograd.save(), which writes a "
            "safe .npz checkpoint")

    def __deepcopy__(self, memo):
        """copy.deepcopy of a leaf (e.g. inside a Module): new memory, same flags and grad."""
        if self._fn is not None:
            raise RuntimeError("Only Tensors created explicitly by the user (graph leaves) "
                               "support the deepcopy protocol; detach() it first")
        if id(self) in memo:
            return memo[id(self)]
        new = _new(type(self))
        memo[id(self)] = new
        new._data = self._data.copy()
        new._rg = self._rg
        new._grad = None if self._grad is None else self._grad.__deepcopy__(memo)
        new._fn, new._nr, new._vc, new._hooks, new._base = None, 0, None, None, None
        return new

    # ------------------------------------------------------------------ arithmetic
    def __add__(self, other):
        return _O.Add.apply(self, other)

    def __radd__(self, other):
        return _O.Add.apply(other, self)

    def __sub__(self, other):
        return _O.Sub.apply(self, other)

    def __rsub__(self, other):
        return _O.Sub.apply(other, self)

    def __mul__(self, other):
        return _O.Mul.apply(self, other)

    def __rmul__(self, other):
        return _O.Mul.apply(other, self)

    def __truediv__(self, other):
        return _O.Div.apply(self, other)

    def __rtruediv__(self, other):
        return _O.Div.apply(other, self)

    def __floordiv__(self, other):
        return _O.floor_divide(self, other)

    def __rfloordiv__(self, other):
        return _O.floor_divide(other, self)

    def __mod__(self, other):
        return _O.remainder(self, other)

    def __rmod__(self, other):
        return _O.remainder(other, self)

    def __pow__(self, other):
        return _O.pow(self, other)

    def __rpow__(self, other):
        return _O.pow(other, self)

    def __matmul__(self, other):
        return _O.matmul(self, other)

    def __rmatmul__(self, other):
        return _O.matmul(other, self)

    def __neg__(self):
        return _O.Neg.apply(self)

    def __pos__(self):
        return self

    def __abs__(self):
        return _O.Abs.apply(self)

    def __invert__(self):
        return _O.logical_not(self) if self._data.dtype == np.bool_ else _O.bitwise_not(self)

    def __and__(self, other):
        return _O.logical_and(self, other)

    def __or__(self, other):
        return _O.logical_or(self, other)

    def __xor__(self, other):
        return _O.logical_xor(self, other)

    __rand__, __ror__, __rxor__ = __and__, __or__, __xor__

    # comparisons: bool results, never recorded
    def __eq__(self, other):
        """Elementwise self == other, as a bool tensor (broadcasting)."""
        return _O.compare(np.equal, self, other)

    def __ne__(self, other):
        """Elementwise self != other, as a bool tensor (broadcasting)."""
        return _O.compare(np.not_equal, self, other)

    def __lt__(self, other):
        """Elementwise self < other, as a bool tensor (broadcasting)."""
        return _O.compare(np.less, self, other)

    def __le__(self, other):
        """Elementwise self <= other, as a bool tensor (broadcasting)."""
        return _O.compare(np.less_equal, self, other)

    def __gt__(self, other):
        """Elementwise self > other, as a bool tensor (broadcasting)."""
        return _O.compare(np.greater, self, other)

    def __ge__(self, other):
        """Elementwise self >= other, as a bool tensor (broadcasting)."""
        return _O.compare(np.greater_equal, self, other)

    eq = __eq__
    ne = __ne__
    lt = __lt__
    le = __le__
    gt = __gt__
    ge = __ge__

    # ------------------------------------------------------------------ indexing
    def __getitem__(self, key):
        return _O.getitem(self, key)

    def __setitem__(self, key, value):
        _O.setitem(self, key, value)

    # ------------------------------------------------------------------ in-place ops
    def add_(self, other, alpha=1):
        """self += alpha * other, in place."""
        return _O.inplace(self, "add", other, alpha=alpha)

    def sub_(self, other, alpha=1):
        """self -= alpha * other, in place."""
        return _O.inplace(self, "sub", other, alpha=alpha)

    def mul_(self, other):
        """self *= other, in place."""
        return _O.inplace(self, "mul", other)

    def div_(self, other):
        """self /= other, in place."""
        return _O.inplace(self, "div", other)

    def pow_(self, exponent):
        """self **= exponent, in place."""
        return _O.inplace(self, "pow", exponent)

    def addcmul_(self, tensor1, tensor2, value=1):
        """self += value * tensor1 * tensor2, in place."""
        return _O.inplace(self, "addcmul", tensor1, tensor2, value=value)

    def addcdiv_(self, tensor1, tensor2, value=1):
        """self += value * tensor1 / tensor2, in place."""
        return _O.inplace(self, "addcdiv", tensor1, tensor2, value=value)

    def lerp_(self, end, weight):
        """self += weight * (end - self), in place."""
        return _O.inplace(self, "lerp", end, weight)

    def clamp_(self, min=None, max=None):  # noqa: A002 - PyTorch's names
        """Clamp into [min, max] in place."""
        return _O.inplace(self, "clamp", min=min, max=max)

    clip_ = clamp_

    def sqrt_(self):
        """Square root in place."""
        return _O.inplace(self, "sqrt")

    def exp_(self):
        """Exponential in place."""
        return _O.inplace(self, "exp")

    def neg_(self):
        """Negate in place."""
        return _O.inplace(self, "neg")

    def abs_(self):
        """Absolute value in place."""
        return _O.inplace(self, "abs")

    def sign_(self):
        """Sign in place."""
        return _O.inplace(self, "sign")

    def relu_(self):
        """ReLU in place."""
        return _O.inplace(self, "relu")

    def sigmoid_(self):
        """Sigmoid in place."""
        return _O.inplace(self, "sigmoid")

    def tanh_(self):
        """tanh in place."""
        return _O.inplace(self, "tanh")

    def copy_(self, src):
        """Copy src's values into self (broadcasting src), in place."""
        return _O.inplace(self, "copy", src)

    def zero_(self):
        """Fill with zeros in place."""
        return _O.inplace(self, "fill", 0)

    def fill_(self, value):
        """Fill with a value in place."""
        return _O.inplace(self, "fill", value)

    def uniform_(self, a=0.0, b=1.0, generator=None):
        """Fill with samples from U(a, b) (the project-wide generator unless one is given)."""
        from .random import _rng
        vals = _rng(generator).uniform(a, b, size=self._data.shape)
        return _O.inplace(self, "fill_array", vals)

    def normal_(self, mean=0.0, std=1.0, generator=None):
        """Fill with samples from N(mean, std^2)."""
        from .random import _rng
        vals = _rng(generator).normal(mean, std, size=self._data.shape)
        return _O.inplace(self, "fill_array", vals)

    def bernoulli_(self, p=0.5, generator=None):
        """Fill with 0/1 samples that are 1 with probability p."""
        from .random import _rng
        vals = _rng(generator).random(size=self._data.shape) < p
        return _O.inplace(self, "fill_array", vals)

    def exponential_(self, lambd=1.0, generator=None):
        """Fill with samples from an exponential distribution of rate lambd."""
        from .random import _rng
        vals = _rng(generator).exponential(1.0 / lambd, size=self._data.shape)
        return _O.inplace(self, "fill_array", vals)

    def masked_fill_(self, mask, value):
        """Set value where mask is True, in place."""
        return _O.inplace(self, "masked_fill", mask, value)

    def index_fill_(self, dim, index, value):
        """Fill the slices at index along dim with value, in place."""
        key = [slice(None)] * self._data.ndim
        key[dim] = index._data if isinstance(index, Tensor) else np.asarray(index)
        self[tuple(key)] = value
        return self


class Size(tuple):
    """A tensor's shape: a tuple, printed as PyTorch prints torch.Size."""

    __slots__ = ()

    def __repr__(self):
        return f"Size({list(self)})"

    def numel(self):
        """Product of the sizes."""
        n = 1
        for s in self:
            n *= s
        return n


def _norm_dim(dim, ndim, opname):
    """Map a possibly negative dim into range, with PyTorch's error when it is out of range."""
    n = max(ndim, 1)
    if not -n <= dim < n:
        raise IndexError(
            f"{opname}: Dimension out of range (expected to be in range of [{-n}, {n - 1}], "
            f"but got {dim})")
    return dim + n if dim < 0 else dim


def _dtype_name(dtype):
    return f"numbagrad.{np.dtype(dtype).name}"


# The op table namespace; set by ops/__init__.py when it loads (it imports this module).
_O = None


def _is_number(x):
    return isinstance(x, numbers.Number) and not isinstance(x, bool)
