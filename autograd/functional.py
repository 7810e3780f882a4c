"""Higher-level derivatives, as torch.autograd.functional: vjp, jvp, jacobian, hessian, hvp.

`create_graph=True` keeps the results differentiable; otherwise they are detached.
"""
import numpy as np

from . import grad_mode
from .engine import grad as _grad
from .tensor import Tensor, _wrap


def _tuple(x):
    return ((x,), False) if isinstance(x, Tensor) else (tuple(x), True)


def _prepare(inputs, create_graph):
    out = []
    for x in inputs:
        if not isinstance(x, Tensor):
            raise TypeError(f"expected Tensors as inputs, got {type(x).__name__}")
        t = x if (create_graph and x.requires_grad) else x.detach()
        if not t.requires_grad:
            t = _wrap(t._data, False, None, 0, None).requires_grad_(True)
        out.append(t)
    return tuple(out)


def _grads(outputs, inputs, grad_outputs, create_graph):
    outs = [o for o in outputs]
    keep = [(o, g) for o, g in zip(outs, grad_outputs) if o.requires_grad]
    if not keep:
        return tuple(None for _ in inputs)
    with grad_mode.enable_grad():
        return _grad([k[0] for k in keep], inputs, [k[1] for k in keep], create_graph=True,
                     retain_graph=True, allow_unused=True)


def _fill(gs, inputs, create_graph):
    out = []
    for g, x in zip(gs, inputs):
        if g is None:
            g = _wrap(np.zeros_like(x._data), False, None, 0, None)
        out.append(g if create_graph else g.detach())
    return tuple(out)


def vjp(func, inputs, v=None, create_graph=False, strict=False):
    """(func(inputs), v^T J): a vector-Jacobian product."""
    inputs, many_in = _tuple(inputs)
    xs = _prepare(inputs, create_graph)
    with grad_mode.enable_grad():
        out = func(*xs)
    outs, many_out = _tuple(out)
    if v is None:
        if any(o._data.size != 1 for o in outs):
            raise RuntimeError("vjp: v can only be None if the output is a single element")
        v = tuple(_wrap(np.ones_like(o._data), False, None, 0, None) for o in outs)
    else:
        v, _ = _tuple(v)
    gs = _fill(_grads(outs, xs, v, create_graph), xs, create_graph)
    res = tuple(o if create_graph else o.detach() for o in outs)
    return (res if many_out else res[0]), (gs if many_in else gs[0])


def jvp(func, inputs, v=None, create_graph=False, strict=False):
    """(func(inputs), J v): a Jacobian-vector product, by the double-vjp trick."""
    inputs, many_in = _tuple(inputs)
    xs = _prepare(inputs, create_graph)
    if v is None:
        if any(x._data.size != 1 for x in xs):
            raise RuntimeError("jvp: v can only be None if the input is a single element")
        v = tuple(_wrap(np.ones_like(x._data), False, None, 0, None) for x in xs)
    else:
        v, _ = _tuple(v)
    with grad_mode.enable_grad():
        out = func(*xs)
        outs, many_out = _tuple(out)
        us = tuple(_wrap(np.zeros_like(o._data), True, None, 0, None) for o in outs)
        gs = _grads(outs, xs, us, True)
        pairs = [(g, vv) for g, vv in zip(gs, v) if g is not None]
        if pairs:
            jv = _grad([p[0] for p in pairs], us, [p[1] for p in pairs],
                       create_graph=create_graph, allow_unused=True)
        else:
            jv = tuple(None for _ in us)
    jv = _fill(jv, outs, create_graph)
    res = tuple(o if create_graph else o.detach() for o in outs)
    return (res if many_out else res[0]), (jv if many_out else jv[0])


def jacobian(func, inputs, create_graph=False, strict=False, vectorize=False,
             strategy="reverse-mode"):
    """The Jacobian: shape output.shape + input.shape (nested tuples for several)."""
    inputs, many_in = _tuple(inputs)
    xs = _prepare(inputs, create_graph)
    with grad_mode.enable_grad():
        out = func(*xs)
    outs, many_out = _tuple(out)
    result = []
    for o in outs:
        rows = [[] for _ in xs]
        for j in range(o._data.size):
            seed = np.zeros(o._data.size, dtype=o._data.dtype)
            seed[j] = 1
            gs = _fill(_grads([o], xs, [_wrap(seed.reshape(o._data.shape), False, None, 0,
                                                None)], create_graph), xs, create_graph)
            for k, g in enumerate(gs):
                rows[k].append(g)
        per_in = []
        from .ops import stack
        for k, x in enumerate(xs):
            if rows[k]:
                j = stack(rows[k]).reshape(*o._data.shape, *x._data.shape)
            else:
                j = _wrap(np.zeros(o._data.shape + x._data.shape, x._data.dtype), False, None, 0,
                          None)
            per_in.append(j)
        result.append(tuple(per_in) if many_in else per_in[0])
    return tuple(result) if many_out else result[0]


def hessian(func, inputs, create_graph=False, strict=False, vectorize=False,
            outer_jacobian_strategy="reverse-mode"):
    """The Hessian of a scalar function: shape input.shape + input.shape."""
    inputs, many_in = _tuple(inputs)

    def grad_fn(*xs):
        with grad_mode.enable_grad():
            out = func(*xs)
            if out._data.size != 1:
                raise RuntimeError("hessian: the function must return a single-element tensor")
            gs = _grad(out, xs, create_graph=True, allow_unused=True)
        gs = tuple(g if g is not None else _wrap(np.zeros_like(x._data), False, None, 0, None)
                   for g, x in zip(gs, xs))
        return gs if many_in else gs[0]

    return jacobian(grad_fn, inputs if many_in else inputs[0], create_graph=create_graph)


def vhp(func, inputs, v=None, create_graph=False, strict=False):
    """(func(inputs), v^T H)."""
    return hvp(func, inputs, v, create_graph, strict)


def hvp(func, inputs, v=None, create_graph=False, strict=False):
    """(func(inputs), H v) for a scalar function, by double backward."""
    inputs, many_in = _tuple(inputs)
    xs = _prepare(inputs, create_graph)
    if v is None:
        if any(x._data.size != 1 for x in xs):
            raise RuntimeError("hvp: v can only be None if the input is a single element")
        v = tuple(_wrap(np.ones_like(x._data), False, None, 0, None) for x in xs)
    else:
        v, _ = _tuple(v)
    with grad_mode.enable_grad():
        out = func(*xs)
        if out._data.size != 1:
            raise RuntimeError("hvp: the function must return a single-element tensor")
        gs = _grad(out, xs, create_graph=True, allow_unused=True)
        pairs = [(g, vv, x) for g, vv, x in zip(gs, v, xs) if g is not None and g.requires_grad]
        if pairs:
            hv = _grad([p[0] for p in pairs], xs, [p[1] for p in pairs],
                       create_graph=create_graph, allow_unused=True)
        else:
            hv = tuple(None for _ in xs)
    hv = _fill(hv, xs, create_graph)
    res = out if create_graph else out.detach()
    return res, (hv if many_in else hv[0])
