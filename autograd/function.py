"""Graph nodes and custom functions.

Every recorded operation is a `Function` subclass: `forward(ctx, ...)` computes the
result and `backward(ctx, *grads)` returns one gradient per forward argument. The node
that `grad_fn` points to is an instance of that subclass, and it doubles as `ctx`.

Built-in ops (the op table in `ops_*.py`) subclass `Op`: their `forward` works on
numpy arrays (`x._data`) and returns an ndarray, their `backward` works on Tensors, so
`create_graph=True` records the backward pass like any other computation. User
functions subclass `Function` and work on Tensors in both directions, as in PyTorch.
"""
import itertools
import sys
import traceback

import numpy as np

from . import grad_mode
from .tensor import Tensor, _clock, _wrap, bump_version

_state = grad_mode.state
_new = object.__new__


class _Anomaly:
    """Anomaly-mode flag, read when nodes are created (see anomaly.py)."""

    enabled = False


anomaly = _Anomaly()


class Node:
    """Base of every graph node (a tensor's `grad_fn`).

    `_edges` holds, per forward argument, where its gradient goes: `(node, output_nr)`
    for a recorded tensor, `(leaf_tensor, 0)` for a leaf that requires grad, or None.
    """

    __slots__ = ("_edges", "_seq", "__dict__", "__weakref__")

    num_outputs = 1
    # Defaults read from the class until a node sets its own (kept out of __slots__ so
    # creating a node costs nothing for the fields most nodes never use).
    _saved = None
    _stamp = 0
    _out = None
    _hooks = None
    _pre_hooks = None
    _out_hooks = None
    _trace = None
    _freed = False
    _special = False  # set once a node has hooks or is freed: the engine's careful path
    fast_backward = None  # optional array-in, arrays-out backward (see Op)

    def name(self):
        """PyTorch-style node name, e.g. 'MulBackward0'."""
        return type(self).__name__ + "Backward0"

    def __repr__(self):
        return f"<{self.name()} object at {id(self):#x}>"

    # ----- introspection, as in PyTorch
    @property
    def next_functions(self):
        """Tuple of (node, output_nr) per input; leaves appear as AccumulateGrad."""
        out = []
        for e in self._edges:
            if e is None:
                out.append((None, 0))
            elif e[1] < 0:
                out.append((AccumulateGrad(e[0]), 0))
            else:
                out.append(e)
        return tuple(out)

    @property
    def metadata(self):
        """A dict for user annotations (PyTorch has the same attribute)."""
        d = self.__dict__.setdefault("_metadata", {})
        return d

    def register_hook(self, fn):
        """fn(grad_inputs, grad_outputs) runs after this node's backward; may return new grad_inputs."""
        if self._hooks is None:
            self._hooks = []
        self._special = True
        return _RemovableHandle(self._hooks, fn)

    def register_prehook(self, fn):
        """fn(grad_outputs) runs before this node's backward; may return new grad_outputs."""
        if self._pre_hooks is None:
            self._pre_hooks = []
        self._special = True
        return _RemovableHandle(self._pre_hooks, fn)

    # ----- saved tensors
    def save_for_backward(self, *tensors):
        """Keep tensors (or None) for backward; in-place changes to them are detected."""
        self._saved = tensors
        self._stamp = _clock[0]

    @property
    def saved_tensors(self):
        """The tensors given to save_for_backward; raises if freed or modified in place."""
        if self._freed:
            self._raise_freed()
        saved = self._saved
        if saved is None:
            return ()
        stamp = self._stamp
        if _clock[0] != stamp:  # something was changed in place since: check ours
            for t in saved:
                if isinstance(t, Tensor) and t._vc is not None and t._vc[1] > stamp:
                    raise RuntimeError(
                        f"one of the variables needed for gradient computation has been "
                        f"modified by an inplace operation: [{_describe(t)}] is at version "
                        f"{t._vc[0]}; it was changed in place after {self.name()} saved it "
                        "for backward.")
        return saved

    @property
    def output(self):
        """The op's (first) output, rebuilt as a tensor whose grad_fn is this node."""
        out = self._out
        if out is None:
            if self._freed:
                self._raise_freed()
            raise RuntimeError(f"{self.name()} did not save its output")
        data, box, stamp = out
        if box[1] > stamp:
            raise RuntimeError(
                f"one of the variables needed for gradient computation has been modified by "
                f"an inplace operation: the output of {self.name()} "
                f"[{data.dtype} {list(data.shape)}] is at version {box[0]}; it was changed "
                "in place after it was saved for backward.")
        return _wrap(data, True, self, 0, box)

    def _free(self):
        """Drop everything backward needed (saved tensors, arrays, metadata)."""
        d = self.__dict__
        d.clear()
        d["_freed"] = True

    def _raise_freed(self):
        raise RuntimeError(
            f"{self.name()}: trying to backward through the graph a second time (or to "
            "access saved tensors after they were freed). Saved intermediate values of "
            "the graph are freed when you call .backward() or autograd.grad(). Pass "
            "retain_graph=True if you need to backward through the graph a second time.")


class _RemovableHandle:
    """Handle returned by register_hook; `remove()` unregisters the hook."""

    __slots__ = ("_list", "_fn")

    def __init__(self, hooks, fn):
        self._list = hooks
        self._fn = fn
        hooks.append(fn)

    def remove(self):
        """Unregister the hook (a second call does nothing)."""
        try:
            self._list.remove(self._fn)
        except ValueError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()


class AccumulateGrad:
    """What PyTorch shows for a leaf in next_functions: `.variable` is the leaf."""

    __slots__ = ("variable",)

    def __init__(self, variable):
        self.variable = variable

    def name(self):
        """Node name, as in PyTorch."""
        return "AccumulateGrad"

    def __repr__(self):
        return "<AccumulateGrad object>"

    next_functions = ()


def _describe(t):
    return f"{t._data.dtype} {list(t._data.shape)}"


_PKG_DIR = __file__.rsplit("/", 1)[0].rsplit("/", 1)[0]  # the repository's code folders


def _capture_trace(node):
    """Anomaly mode: remember where in user code the forward op was called."""
    stack = [f for f in traceback.extract_stack(sys._getframe(2))
             if not f.filename.startswith(_PKG_DIR + "/autograd/")]
    node._trace = "".join(traceback.format_list(stack[-3:]))


def _link_view(out, base):
    """A view shares its base's version counter (in-place changes are seen by both)."""
    if base._vc is None:
        base._vc = [0, 0]
    out._vc = base._vc
    out._base = base if base._base is None else base._base


_ndarray = np.ndarray
# Creation order of nodes: an op's inputs were always made before it, so running nodes
# from the newest down is a valid reverse topological order (the engine's heap).
_next_seq = itertools.count().__next__
_asarray = np.asarray


class Op(Node):
    """Base of built-in ops: forward on ndarrays, backward on Tensors.

    Subclasses define `forward(ctx, *args, **params) -> ndarray` and
    `backward(ctx, grad) -> tuple` (one entry per positional argument; None where an
    argument is not a tensor or needs no gradient). Set `save_output = True` to make
    `ctx.output` available in backward.
    """

    __slots__ = ()
    save_output = False
    is_view = False

    @classmethod
    def apply(cls, *args, **params):
        """Run forward, and record a node when grad mode is on and an input requires grad."""
        ctx = _new(cls)
        data = cls.forward(ctx, *args, **params)
        if data.__class__ is not _ndarray:
            data = _asarray(data)
        if _state.enabled:
            needed = False
            edges = []
            for a in args:
                if isinstance(a, Tensor) and a._rg:
                    fn = a._fn
                    edges.append((fn, a._nr) if fn is not None else (a, -1))
                    needed = True
                else:
                    edges.append(None)
            if needed:
                ctx._edges = edges
                ctx._seq = _next_seq()
                out = _wrap(data, True, ctx, 0, None)
                if cls.save_output:
                    box = out._vc = [0, 0]
                    ctx._out = (data, box, _clock[0])
                if cls.is_view:
                    _link_view(out, args[0])
                if anomaly.enabled:
                    _capture_trace(ctx)
                return out
        out = _wrap(data, False, None, 0, None)
        if cls.is_view:
            _link_view(out, args[0])
        return out

    @staticmethod
    def forward(ctx, *args, **params):  # pragma: no cover - abstract
        """Compute the op on ndarrays."""
        raise NotImplementedError

    @staticmethod
    def backward(ctx, grad):  # pragma: no cover - abstract
        """Return the gradient of each forward argument (Tensors or None)."""
        raise NotImplementedError

    @property
    def needs_input_grad(self):
        """Per forward argument: does it need a gradient?"""
        return tuple(e is not None for e in self._edges)


class FunctionCtx:
    """Marker base kept for PyTorch compatibility (`torch.autograd.function.FunctionCtx`)."""


class Function(Node):
    """Base for user-defined differentiable functions, as `torch.autograd.Function`.

    Define `forward(ctx, *args)` (Tensors in, Tensor or tuple of Tensors out; runs with
    recording off) and `backward(ctx, *grad_outputs)` returning one gradient per forward
    argument. Call `MyFn.apply(*args)`. `ctx.save_for_backward`, `ctx.saved_tensors`,
    `ctx.needs_input_grad`, `ctx.mark_non_differentiable`, `ctx.mark_dirty` and
    `ctx.set_materialize_grads` behave as in PyTorch.
    """

    __slots__ = ()

    @classmethod
    def apply(cls, *args, **kwargs):
        """Run forward with recording off, then connect the outputs to a new node."""
        ctx = _new(cls)
        ctx.__dict__.update(_materialize=True, _non_diff=(), _dirty=())
        edges = [None] * len(args)
        any_rg = False
        if _state.enabled:
            for i, a in enumerate(args):
                if isinstance(a, Tensor) and a._rg:
                    fn = a._fn
                    edges[i] = (fn, a._nr) if fn is not None else (a, -1)
                    any_rg = True
        ctx._edges = edges
        ctx._seq = _next_seq()
        ctx._in_shapes = tuple(a._data.shape if isinstance(a, Tensor) else None for a in args)
        with grad_mode.no_grad():
            result = cls.forward(ctx, *args, **kwargs)
        single = not isinstance(result, tuple)
        outs = (result,) if single else result
        wrapped = []
        nondiff = {id(t) for t in ctx._non_diff}
        dirty = {id(t) for t in ctx._dirty}
        ctx._num_out = len(outs)
        ctx._out_meta = []
        for nr, o in enumerate(outs):
            if not isinstance(o, Tensor):
                if isinstance(o, np.ndarray):
                    o = _wrap(o, False, None, 0, None)
                else:
                    wrapped.append(o)
                    ctx._out_meta.append(None)
                    continue
            ctx._out_meta.append((o._data.shape, o._data.dtype))
            if any_rg and id(o) not in nondiff and o._data.dtype.kind in "fc":
                if id(o) in dirty:
                    t = o
                else:
                    # an input returned as is, or an output already used elsewhere: alias
                    t = _wrap(o._data, False, None, 0, o._vc)
                t._rg = True
                t._fn = ctx
                t._nr = nr
                if t._vc is None:
                    t._vc = [0, 0]
                wrapped.append(t)
            else:
                wrapped.append(o if id(o) not in dirty else o)
        if any_rg and anomaly.enabled:
            _capture_trace(ctx)
        return wrapped[0] if single else tuple(wrapped)

    @property
    def num_outputs(self):
        return self._num_out

    @property
    def needs_input_grad(self):
        """Per forward argument: does it need a gradient?"""
        return tuple(e is not None for e in self._edges)

    def mark_non_differentiable(self, *tensors):
        """Declare outputs that never get a gradient (e.g. integer indices)."""
        self._non_diff = tensors

    def mark_dirty(self, *tensors):
        """Declare inputs that forward modified in place."""
        self._dirty = tensors
        for t in tensors:
            bump_version(t)

    def set_materialize_grads(self, value):
        """If False, backward may receive None for outputs that got no gradient."""
        self._materialize = bool(value)

    @staticmethod
    def forward(ctx, *args, **kwargs):  # pragma: no cover - abstract
        """Compute the outputs from the inputs (Tensors)."""
        raise NotImplementedError("subclasses of Function must implement forward")

    @staticmethod
    def backward(ctx, *grad_outputs):  # pragma: no cover - abstract
        """Return one gradient per forward argument."""
        raise NotImplementedError("subclasses of Function must implement backward")


def once_differentiable(backward):
    """Decorator for a Function.backward that does not support double backward.

    The decorated backward runs with recording off, so create_graph builds no graph
    through it.
    """
    def wrapper(ctx, *grads):
        with grad_mode.no_grad():
            return backward(ctx, *grads)

    wrapper.__name__ = backward.__name__
    wrapper.__doc__ = backward.__doc__
    return wrapper
