"""The backward engine: reverse topological traversal of the graph, without recursion.

1. Every node records its creation order; an op's inputs always come from older nodes.
2. Starting from the roots, the engine keeps the nodes that hold a gradient in a heap
   and always runs the newest: by then every node that feeds it has run, so its
   gradient is complete. Its backward's results are summed into the buffers of the
   nodes it points to (which join the heap), or accumulated into leaves' `.grad`.
3. Unless retain_graph is set, each node frees what it saved once it has run.

`grad()` uses the same walk but captures the gradients of the requested inputs instead
of accumulating into `.grad`, and only runs the nodes that lead to those inputs.
"""
from heapq import heappop, heappush

import numpy as np

from . import grad_mode
from .function import Function, anomaly
from .tensor import Tensor, _wrap

_state = grad_mode.state


def _as_grad_tensor(g, out, i, what="grad_output"):
    """Validate a user-supplied output gradient against its output tensor."""
    if not isinstance(g, Tensor):
        arr = np.asarray(g, dtype=out._data.dtype)
        g = _wrap(arr, False, None, 0, None)
    if g._data.shape != out._data.shape:
        raise RuntimeError(
            f"Mismatch in shape: {what}[{i}] has a shape of {tuple(g._data.shape)} and "
            f"output[{i}] has a shape of {tuple(out._data.shape)}.")
    if g._data.dtype != out._data.dtype:
        g = g.to(out._data.dtype)
    return g


def _root_grads(outputs, grad_outputs, create_graph):
    grads = []
    for i, t in enumerate(outputs):
        if not isinstance(t, Tensor):
            raise TypeError(f"backward: outputs must be Tensors, got {type(t).__name__} at {i}")
        if not t._rg:
            raise RuntimeError(
                f"element {i} of tensors does not require grad and does not have a grad_fn "
                f"(shape {tuple(t._data.shape)}); did you compute it under no_grad or forget "
                "requires_grad=True?")
        g = None if grad_outputs is None else grad_outputs[i]
        if g is None:
            if t._data.size != 1:
                raise RuntimeError(
                    f"grad can be implicitly created only for scalar outputs; output {i} has "
                    f"shape {tuple(t._data.shape)}. Pass `gradient=` (a tensor of that shape).")
            g = _wrap(np.ones(t._data.shape, dtype=t._data.dtype), False, None, 0, None)
        else:
            g = _as_grad_tensor(g, t, i)
        grads.append(g)
    return grads


def backward(tensors, grad_tensors=None, retain_graph=None, create_graph=False, inputs=None):
    """Accumulate d(tensors)/d(leaves) into the leaves' `.grad` (torch.autograd.backward)."""
    if isinstance(tensors, Tensor):
        tensors = (tensors,)
    if isinstance(grad_tensors, Tensor):
        grad_tensors = (grad_tensors,)
    tensors = tuple(tensors)
    if grad_tensors is not None:
        grad_tensors = tuple(grad_tensors)
        if len(grad_tensors) != len(tensors):
            raise RuntimeError(f"backward: got {len(grad_tensors)} gradients for "
                               f"{len(tensors)} tensors")
    if retain_graph is None:
        retain_graph = create_graph
    if inputs is None and not create_graph and len(tensors) == 1 and isinstance(tensors[0], Tensor):
        backward_one(tensors[0], None if grad_tensors is None else grad_tensors[0], retain_graph)
        return
    _backward_general(tensors, grad_tensors, retain_graph, create_graph, inputs)


def backward_one(root, gradient=None, retain_graph=None):
    """``root.backward(gradient, retain_graph)`` without create_graph or inputs=: the common
    call (loss.backward()), checked inline and run by `_run_plain` (a one-op backward costs
    ~3 us; the general set-up was about a third of it)."""
    retain_graph = bool(retain_graph)
    if root._fn is None or anomaly.enabled:
        _backward_general((root,), None if gradient is None else (gradient,), retain_graph,
                          False, None)
        return
    d = root._data
    if gradient is None and d.size == 1 and root._rg:
        g = np.ones(d.shape, d.dtype)
    elif gradient.__class__ is Tensor and gradient._data.shape == d.shape \
            and gradient._data.dtype == d.dtype:
        g = gradient._data
    else:  # converted, or refused with the general path's errors
        g = _root_grads((root,), None if gradient is None else (gradient,), False)[0]._data
    _run_plain(root, g, retain_graph)


def _backward_general(tensors, grad_tensors, retain_graph, create_graph, inputs):
    """`backward` with several roots, create_graph, inputs=, a leaf root or anomaly mode."""
    grads = _root_grads(tensors, grad_tensors, create_graph)
    targets = None
    if inputs is not None:
        inputs = (inputs,) if isinstance(inputs, Tensor) else tuple(inputs)
        if not inputs:
            raise RuntimeError("backward: 'inputs' argument to backward() cannot be empty.")
        targets = inputs
    captured = _run(tensors, grads, retain_graph, create_graph, targets, accumulate=True)
    if targets is not None:
        for t, g in zip(targets, captured):  # non-leaf inputs get .grad too, as in PyTorch
            if t._fn is not None and g is not None:
                g = g if create_graph else _wrap(np.array(g._data), False, None, 0, None)
                t._grad = g if t._grad is None else t._grad + g


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False,
         allow_unused=None, is_grads_batched=False, materialize_grads=False):
    """Return d(outputs)/d(inputs) without touching `.grad` (torch.autograd.grad)."""
    if is_grads_batched:
        raise NotImplementedError("grad: is_grads_batched=True is not supported by numbagrad")
    single_out = isinstance(outputs, Tensor)
    outputs = (outputs,) if single_out else tuple(outputs)
    inputs = (inputs,) if isinstance(inputs, Tensor) else tuple(inputs)
    if grad_outputs is not None:
        grad_outputs = (grad_outputs,) if isinstance(grad_outputs, Tensor) else tuple(grad_outputs)
        if len(grad_outputs) != len(outputs):
            raise RuntimeError(f"grad: got {len(grad_outputs)} grad_outputs for {len(outputs)} "
                               "outputs")
    if allow_unused is None:
        allow_unused = materialize_grads
    for i, t in enumerate(inputs):
        if not isinstance(t, Tensor):
            raise TypeError(f"grad: inputs must be Tensors, got {type(t).__name__} at {i}")
        if not t._rg:
            raise RuntimeError(
                f"One of the differentiated Tensors (input {i}, shape {tuple(t._data.shape)}) "
                "does not require grad")
    if retain_graph is None:
        retain_graph = create_graph
    grads = _root_grads(outputs, grad_outputs, create_graph)
    captured = _run(outputs, grads, retain_graph, create_graph, inputs, accumulate=False)
    result = []
    for i, (t, g) in enumerate(zip(inputs, captured)):
        if g is None:
            if not allow_unused:
                raise RuntimeError(
                    f"One of the differentiated Tensors (input {i}, shape "
                    f"{tuple(t._data.shape)}) appears to not have been used in the graph. Set "
                    "allow_unused=True if this is the desired behavior.")
            if materialize_grads:
                g = _wrap(np.zeros_like(t._data), False, None, 0, None)
        result.append(g)
    return tuple(result)


def _needed_nodes(roots, targets):
    """Nodes from which some target is reachable (iterative post-order DFS)."""
    target_nodes = {id(t._fn) for t in targets if t._fn is not None}
    target_leaves = {id(t) for t in targets if t._fn is None}
    needed = {}
    stack = [(n, False) for n in roots]
    while stack:
        node, done = stack.pop()
        if done:
            ok = id(node) in target_nodes
            for e in node._edges:
                if e is not None:
                    ok = ok or (id(e[0]) in target_leaves if e[1] < 0 else needed.get(e[0], False))
            needed[node] = ok
            continue
        if node in needed:
            continue
        needed[node] = False
        stack.append((node, True))
        for e in node._edges:
            if e is not None and e[1] >= 0 and e[0] not in needed:
                stack.append((e[0], False))
    return needed


def _run(roots, root_grads, retain_graph, create_graph, targets, accumulate):
    """Walk the graph from `roots`; returns captured input gradients when targets are given.

    Buffers hold, per node, the summed gradient of its output (a list for nodes with
    several outputs). Without create_graph the gradients travel as plain ndarrays and
    ops with a `fast_backward` run it directly; tensors are only made where a user sees
    them (hooks, `.grad`, the results of grad()).
    """
    fast = not create_graph
    walk = _Walk(targets, accumulate, create_graph, roots)
    buffers = {}
    heap = []  # nodes holding a gradient, newest first: (-creation order, node)
    for t, g in zip(roots, root_grads):
        walk.given.add(id(g._data))
        if fast:
            g = g._data
        if t._fn is None:
            walk.deliver_leaf(t, g)
        else:
            if t._fn not in buffers:
                heappush(heap, (-t._fn._seq, t._fn))
            _add_to_buffer(buffers, t._fn, t._nr, g)
    _drain(heap, buffers, walk, retain_graph)
    captured = walk.captured
    if fast and captured is not None:
        captured = [None if g is None else _wrap(g, False, None, 0, None) for g in captured]
    return captured


def _run_plain(root, g, retain_graph):
    """`root.backward(g)` in the common case (one non-leaf root, ndarray gradient ``g``, no
    create_graph, no inputs=, no anomaly mode): `_run` without its general set-up."""
    walk = _Walk(None, True, False, None)
    walk.given.add(id(g))
    node = root._fn
    buffers = {}
    _add_to_buffer(buffers, node, root._nr, g)
    _drain([(-node._seq, node)], buffers, walk, retain_graph)


def _drain(heap, buffers, walk, retain_graph):
    """Run the nodes of the heap newest first until every gradient has been delivered."""
    create_graph = walk.create_graph
    fast = not create_graph
    prev_mode = _state.enabled
    _state.enabled = create_graph
    # the common case (plain backward(): no grad() targets, no anomaly mode) skips checks
    simple = fast and walk.needed is None and not anomaly.enabled
    deliver = walk.deliver_leaf
    plain_leaves = simple and walk.accumulate
    given = walk.given
    try:
        while heap:
            node = heappop(heap)[1]
            grads = buffers.pop(node)
            edges = node._edges
            fb = node.fast_backward
            if simple and fb is not None and not node._special:
                out = fb(node, grads)
                if len(out) != len(edges):
                    out = _fix_count(node, out, len(edges))
                if not retain_graph:
                    node.__dict__.clear()
                    node._freed = node._special = True
            else:
                out = _general_step(node, grads, fast, walk, retain_graph)
            for e, g in zip(edges, out):
                if e is None or g is None:
                    continue
                nxt, nr = e
                if nr < 0:
                    if plain_leaves and nxt._hooks is None:
                        _accumulate_array(nxt, g, given)
                    else:
                        deliver(nxt, g)
                    continue
                if nxt not in buffers:
                    heappush(heap, (-nxt._seq, nxt))
                if nxt.num_outputs == 1:
                    old = buffers.get(nxt)
                    buffers[nxt] = g if old is None else _sum(old, g)
                else:
                    _add_to_buffer(buffers, nxt, nr, g)
    finally:
        _state.enabled = prev_mode


def _general_step(node, grads, fast, walk, retain_graph):
    """One node with everything checked: hooks, grad() targets, Functions, anomaly mode."""
    if node.num_outputs == 1:
        grads = [grads]
    if node._out_hooks or node._pre_hooks or walk.capture_node:
        grads = walk.pre_hooks(node, grads)
    needed = walk.needed
    if needed is not None and not (needed.get(node, False) and
                                   any(g is not None for g in grads)):
        return (None,) * len(node._edges)
    out = _call_backward(node, grads, fast)
    if not retain_graph:
        node.__dict__.clear()
        node._freed = node._special = True
    return out


def _add_to_buffer(buffers, node, nr, g):
    if node.num_outputs == 1:
        old = buffers.get(node)
        buffers[node] = g if old is None else _sum(old, g)
        return
    buf = buffers.get(node)
    if buf is None:
        buf = buffers[node] = [None] * node.num_outputs
    buf[nr] = g if buf[nr] is None else _sum(buf[nr], g)


def _sorted_hooks(hooks):
    # retain_grad's hook runs after the user's hooks, as in PyTorch
    return [h for h in hooks if not hasattr(h, "_retains")] + \
        [h for h in hooks if hasattr(h, "_retains")]


_NO_CAPTURE = {}


class _Walk:
    """What one backward pass delivers where: leaf accumulation, grad() capture, hooks."""

    __slots__ = ("accumulate", "create_graph", "given", "needed", "capture_leaf",
                 "capture_node", "captured")

    def __init__(self, targets, accumulate, create_graph, roots):
        self.accumulate = accumulate
        self.create_graph = create_graph
        self.given = set()  # arrays handed to a .grad (or by the user): never aliased
        self.needed = self.captured = None
        self.capture_leaf = self.capture_node = _NO_CAPTURE
        if targets is not None:
            start = list(dict.fromkeys(t._fn for t in roots if t._fn is not None))
            self.needed = _needed_nodes(start, targets)
            self.capture_leaf = {}
            self.capture_node = {}
            self.captured = [None] * len(targets)
            for i, t in enumerate(targets):
                if t._fn is None:
                    self.capture_leaf.setdefault(id(t), []).append(i)
                else:
                    self.capture_node.setdefault((t._fn, t._nr), []).append(i)

    def pre_hooks(self, node, grads):
        """Tensor hooks of the node's outputs, grad() capture, then the node's pre-hooks."""
        out_hooks = node._out_hooks
        if out_hooks:
            for nr, hooks in out_hooks.items():
                if grads[nr] is not None:
                    grads[nr] = self.run_tensor_hooks(_sorted_hooks(hooks), grads[nr])
        if self.capture_node:
            captured = self.captured
            for nr in range(len(grads)):
                slots = self.capture_node.get((node, nr))
                if slots and grads[nr] is not None:
                    for s in slots:
                        captured[s] = grads[nr] if captured[s] is None else captured[s] + grads[nr]
        pre = node._pre_hooks
        if pre:
            tensors = tuple(self.as_tensor(g) for g in grads)
            for h in list(pre):
                r = h(tensors)
                if r is not None:
                    tensors = tuple(r)
            grads = [self.as_value(g) for g in tensors]
        return grads

    @staticmethod
    def check_leaf_shape(leaf, arr):
        """A gradient must have its leaf's shape."""
        if arr.shape != leaf._data.shape:
            raise RuntimeError(f"gradient of shape {tuple(arr.shape)} cannot accumulate into a "
                               f"leaf of shape {tuple(leaf._data.shape)}")

    def as_tensor(self, g):
        """A gradient as users see it: a Tensor (arrays travel raw in the fast mode)."""
        return _wrap(g, False, None, 0, None) if isinstance(g, np.ndarray) else g

    def as_value(self, g):
        """A gradient in the engine's representation for this pass."""
        if self.create_graph or g is None:
            return g
        return g._data if isinstance(g, Tensor) else np.asarray(g)

    def run_tensor_hooks(self, hooks, g):
        """Run tensor hooks (each may return a replacement gradient)."""
        t = self.as_tensor(g)
        changed = False
        for h in list(hooks):
            r = h(t)
            if r is not None:
                t = r
                changed = True
        return self.as_value(t) if changed else g

    def deliver_leaf(self, leaf, g):
        """Run a leaf's hooks, then capture (grad()) or accumulate into .grad (backward())."""
        dt = leaf._data.dtype
        if self.create_graph:
            if g._data.dtype != dt:  # each gradient takes its input's dtype, as in PyTorch
                g = g.to(dt)
        elif g.dtype != dt:
            g = np.asarray(g, dtype=dt)
        if leaf._hooks:
            g = self.run_tensor_hooks(leaf._hooks, g)
        if self.captured is not None:
            slots = self.capture_leaf.get(id(leaf))
            if not slots:
                return
            captured = self.captured
            for s in slots:
                captured[s] = g if captured[s] is None else captured[s] + g
        if not self.accumulate:
            return
        if self.create_graph:
            self.check_leaf_shape(leaf, g._data)
            leaf._grad = g if leaf._grad is None else leaf._grad + g
            return
        _accumulate_array(leaf, g, self.given)


def _sum(a, b):
    """a + b for gradients: Tensors, or ndarrays (kept ndarrays: numpy turns 0-d sums into
    numpy scalars)."""
    s = a + b
    return np.asarray(s) if isinstance(s, np.generic) else s


def _accumulate_array(leaf, g, given):
    """Add an ndarray gradient into leaf.grad (out of place, so no gradient is aliased)."""
    if g.__class__ is not np.ndarray:
        g = np.asarray(g)
    old = leaf._grad
    data = leaf._data
    if g.shape != data.shape:
        _Walk.check_leaf_shape(leaf, g)
    if old is None:
        # a view, an array some other leaf already holds, or the user's own gradient: copy
        if g.base is not None or id(g) in given or g.dtype != data.dtype:
            g = np.array(g, dtype=data.dtype, order="C")
        given.add(id(g))
        leaf._grad = _wrap(g, False, None, 0, None)
    else:
        total = _sum(old._data, g)
        if total.dtype != data.dtype:
            total = total.astype(data.dtype)
        leaf._grad = _wrap(total, False, None, 0, None)


def _call_backward(node, grads, fast):
    """Run one node's backward and check what it returned.

    In the fast mode grads are ndarrays: an op's `fast_backward` takes and returns
    arrays; any other backward gets tensors and its results are unwrapped.
    """
    if node._freed:
        node._raise_freed()
    fb = node.fast_backward if fast else None
    if fb is not None:
        out = fb(node, grads[0])
    else:
        tgrads = [None if g is None else _wrap(np.asarray(g), False, None, 0, None) for g in grads] \
            if fast else grads
        if isinstance(node, Function):
            out = node.backward(node, *_materialize(node, tgrads))
        else:
            out = node.backward(node, tgrads[0])
    if out.__class__ is not tuple:
        out = (out,)
    n = len(node._edges)
    if len(out) != n:
        out = _fix_count(node, out, n)
    if isinstance(node, Function):
        out = _check_function_grads(node, out)
    if fast and fb is None:
        out = tuple(g._data if isinstance(g, Tensor) else g for g in out)
    if node._hooks:
        out = _post_hooks(node, out, grads, fast)
    if anomaly.enabled:
        _check_finite(node, out)
    return out


def _post_hooks(node, out, grads, fast):
    """Node hooks: fn(grad_inputs, grad_outputs), tensors in, optional replacement out."""
    def t(g):
        return _wrap(g, False, None, 0, None) if isinstance(g, np.ndarray) else g

    tin = tuple(t(g) for g in out)
    tout = tuple(t(g) for g in grads)
    for h in list(node._hooks):
        r = h(tin, tout)
        if r is not None:
            tin = tuple(r)
    if fast:
        return tuple(g._data if isinstance(g, Tensor) else g for g in tin)
    return tin


def _fix_count(node, out, n):
    """Pad a short tuple of gradients with None; extra entries must be None."""
    if len(out) > n and all(g is None for g in out[n:]):
        return out[:n]
    if len(out) < n and not isinstance(node, Function):
        return out + (None,) * (n - len(out))
    raise RuntimeError(f"function {node.name()} returned an incorrect number of gradients "
                       f"(expected {n}, got {len(out)})")


def _materialize(node, grads):
    if not node._materialize:
        return grads
    out = []
    for nr, g in enumerate(grads):
        if g is None:
            meta = node._out_meta[nr]
            if meta is not None:
                g = _wrap(np.zeros(meta[0], dtype=meta[1]), False, None, 0, None)
        out.append(g)
    return out


def _check_function_grads(node, out):
    """A custom Function's gradients must be tensors (or None) shaped like the inputs."""
    fixed = []
    shapes = node._in_shapes
    for i, (g, e) in enumerate(zip(out, node._edges)):
        if g is not None and not isinstance(g, Tensor):
            g = _wrap(np.asarray(g), False, None, 0, None)
        if g is not None and e is not None and shapes[i] is not None and \
                g._data.shape != shapes[i]:
            try:
                g = g.expand(*shapes[i]) if g._data.ndim <= len(shapes[i]) else None
            except RuntimeError:
                g = None
            if g is None:
                raise RuntimeError(
                    f"Function {node.name()} returned an invalid gradient at index {i} - got "
                    f"{list(out[i].shape)} but expected shape compatible with {list(shapes[i])}")
        fixed.append(g if e is not None else None)
    return tuple(fixed)


def _check_finite(node, out):
    for i, g in enumerate(out):
        if isinstance(g, Tensor):
            g = g._data
        if g is not None and g.dtype.kind == "f" and not np.isfinite(g).all():
            trace = node._trace
            where = f"\nThe forward op was called at:\n{trace}" if trace else ""
            raise RuntimeError(
                f"Function '{node.name()}' returned nan values in its {i}th output "
                f"(shape {tuple(g.shape)}).{where}")
