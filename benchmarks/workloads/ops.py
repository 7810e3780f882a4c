"""op_overhead: forward + backward of single ops on 10-element tensors (per-op overhead).

At this size the arithmetic is free and the time is the framework's: tensor
creation, dispatch, graph recording and the backward walk. Each timed call
clears the leaves' ``.grad`` (as ``zero_grad(set_to_none=True)`` would), runs
the forward and calls ``backward(g)`` with a fixed upstream gradient of ones.
The floor is the same forward and its hand-derived backward in numpy.
"""
from __future__ import annotations

import numpy as np

from .. import libs
from ..harness import Case, trio

N = 10
#: the case that chains several ops (the others time one op each)
COMPOSITE = "composite ((x*w+b).relu()).sum()"


def _composite_np(x, w, b, g):
    t = x * w
    u = t + b
    r = np.maximum(u, 0)
    s = r.sum()
    gr = (u > 0) * g
    return s, gr * x, gr


def _sm_np(a, g):
    e = np.exp(a - a.max())
    y = e / e.sum()
    return y, y * (g - (g * y).sum())


def _lsm_np(a, g):
    m = a.max()
    y = a - (m + np.log(np.exp(a - m).sum()))
    return y, g - np.exp(y) * g.sum()


def _getitem_np(a, g):
    ga = np.zeros_like(a)
    ga[2:7] = g
    return a[2:7], ga


def _sigmoid_np(a, g):
    y = 1.0 / (1.0 + np.exp(-a))
    return y, g * y * (1.0 - y)


def _tanh_np(a, g):
    y = np.tanh(a)
    return y, g * (1.0 - y * y)


def _exp_np(a, g):
    y = np.exp(a)
    return y, g * y


#: name -> (input shapes, tensor-API function, numpy forward+backward(inputs..., g) -> (out, grads...))
OPS = {
    COMPOSITE: (
        [(N,), (N,), (N,)], lambda x, w, b: ((x * w + b).relu()).sum(), _composite_np),
    "add": ([(N,), (N,)], lambda a, b: a + b, lambda a, b, g: (a + b, g, g)),
    "mul": ([(N,), (N,)], lambda a, b: a * b, lambda a, b, g: (a * b, g * b, g * a)),
    "matmul 4x4": ([(4, 4), (4, 4)], lambda a, b: a @ b, lambda a, b, g: (a @ b, g @ b.T, a.T @ g)),
    "exp": ([(N,)], lambda a: a.exp(), _exp_np),
    "tanh": ([(N,)], lambda a: a.tanh(), _tanh_np),
    "sigmoid": ([(N,)], lambda a: a.sigmoid(), _sigmoid_np),
    "relu": ([(N,)], lambda a: a.relu(), lambda a, g: (np.maximum(a, 0), g * (a > 0))),
    "sum": ([(N,)], lambda a: a.sum(), lambda a, g: (a.sum(), np.full_like(a, g))),
    "mean": ([(N,)], lambda a: a.mean(), lambda a, g: (a.mean(), np.full_like(a, g / a.size))),
    "reshape": ([(N,)], lambda a: a.reshape(2, 5), lambda a, g: (a.reshape(2, 5), g.reshape(a.shape))),
    "getitem": ([(N,)], lambda a: a[2:7], _getitem_np),
    "softmax": ([(N,)], lambda a: a.softmax(-1), _sm_np),
    "log_softmax": ([(N,)], lambda a: a.log_softmax(-1), _lsm_np),
}



def _inputs(shapes, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(s, dtype=np.float32) for s in shapes]


#: output shape of the ops whose output is not shaped like their first input
OUT_SHAPES = {COMPOSITE: (), "sum": (), "mean": (), "reshape": (2, 5), "getitem": (5,)}


def _out_grad(name):
    """The upstream gradient: ones shaped like the op's output."""
    return np.ones(OUT_SHAPES.get(name, OPS[name][0][0]), np.float32)


def tensor_step_factory(L, name):
    """Forward+backward of op ``name`` with library ``L``'s tensor API."""
    shapes, fn, _ = OPS[name]
    T = L.torch
    arrays = _inputs(shapes)
    if name == COMPOSITE:  # x is data; w and b require grad
        leaves = [T.tensor(arrays[0])] + [T.tensor(a, requires_grad=True) for a in arrays[1:]]
        grad_leaves = leaves[1:]
    else:
        leaves = [T.tensor(a, requires_grad=True) for a in arrays]
        grad_leaves = leaves
    g = T.tensor(_out_grad(name))

    def step():
        for t in grad_leaves:
            t.grad = None
        fn(*leaves).backward(g)

    return step


def floor_step_factory(name):
    """The numpy forward and hand-written backward of op ``name``."""
    shapes, _, np_fn = OPS[name]
    arrays = _inputs(shapes)
    g = _out_grad(name)
    if g.shape == ():
        g = np.float32(1.0)
    return lambda: np_fn(*arrays, g)


def cases(workload: str, settings) -> list:
    """One case per op; thread counts do not matter here, torch runs at each anyway."""
    out = []
    for name in OPS:
        out.append(Case(workload, name, trio(
            lambda name=name: tensor_step_factory(libs.numbagrad(), name),
            lambda name=name: floor_step_factory(name),
            lambda name=name: tensor_step_factory(libs.pytorch(), name),
            settings.threads, ours_threaded=False, floor_threaded=False), unit="fwd+bwd"))
    return out
