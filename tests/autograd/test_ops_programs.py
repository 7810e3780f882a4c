"""Random programs: chains and diamonds of ops on broadcastable leaves, against PyTorch.

Each program reuses intermediate results (so gradients accumulate through the engine),
mixes broadcasting, keepdim reductions and activations, and is differentiated both by
backward() and by grad(create_graph=True).
"""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import numbagrad.autograd as ag
from strategies import AG, Namespace, arrays, broadcast_shapes, dtypes, to_numpy

torch = pytest.importorskip("torch", reason="PyTorch is the oracle for these comparisons")
T = Namespace(torch, torch.nn.functional, is_torch=True)

BINARY = [
    ("add", lambda L, a, b: a + b), ("sub", lambda L, a, b: a - b),
    ("mul", lambda L, a, b: a * b), ("div", lambda L, a, b: a / (b * b + 1.0)),
    ("lerp", lambda L, a, b: L.lerp(a, b, 0.3)),
    ("where", lambda L, a, b: L.where(a > b, a, b * 2)),
    ("hypot", lambda L, a, b: (a * a + b * b + 1e-3).sqrt()),
    ("maximum", lambda L, a, b: L.maximum(a, b)), ("minimum", lambda L, a, b: L.minimum(a, b)),
    ("pow", lambda L, a, b: (a * a + 0.5) ** L.tanh(b)),
    ("clamp_by", lambda L, a, b: L.clamp(a, min=b) if a.shape == (a + b).shape else a - b),
]
UNARY = [
    ("tanh", lambda L, a: L.tanh(a)), ("sigmoid", lambda L, a: L.sigmoid(a)),
    ("sin", lambda L, a: L.sin(a)), ("softplus", lambda L, a: L.softplus(a)),
    ("exp_tanh", lambda L, a: L.exp(L.tanh(a))), ("square", lambda L, a: a * a),
    ("sum_keep", lambda L, a: a.sum(-1, keepdim=True) if a.ndim else a),
    ("mean_keep", lambda L, a: a.mean(0, keepdim=True) if a.ndim else a),
    ("softmax", lambda L, a: L.softmax(a, -1) if a.ndim else a),
    ("logsumexp_keep", lambda L, a: L.logsumexp(a, -1, keepdim=True) if a.ndim else a),
    ("gelu", lambda L, a: L.gelu(a)), ("silu", lambda L, a: L.silu(a)),
    ("clone", lambda L, a: a.clone()), ("neg", lambda L, a: -a),
    ("getitem_all", lambda L, a: a[...]), ("unsqueeze_squeeze", lambda L, a: a.unsqueeze(0)[0]),
    ("relu", lambda L, a: L.relu(a)), ("abs", lambda L, a: L.abs(a)),
    ("clamp", lambda L, a: L.clamp(a, -0.5, 0.5)),
    ("cumsum", lambda L, a: L.cumsum(a, -1) if a.ndim else a),
    ("flip", lambda L, a: a.flip(-1) if a.ndim else a),
    ("sort_values", lambda L, a: L.sort(a, dim=-1, stable=True)[0] if a.ndim else a),
    ("amax_keep", lambda L, a: L.amax(a, -1, keepdim=True) if a.ndim else a),
    ("log_softmax", lambda L, a: L.log_softmax(a, 0) if a.ndim else a),
    ("norm_keep", lambda L, a: L.norm(a * a + 0.1, dim=-1, keepdim=True) if a.ndim else a),
    ("var_keep", lambda L, a: L.var(a, -1, keepdim=True, correction=0) if a.ndim else a),
    ("swap_back", lambda L, a: a.transpose(0, -1).transpose(0, -1) if a.ndim else a),
    ("reshape_back", lambda L, a: a.reshape(-1).reshape(a.shape)),
    ("matmul_self", lambda L, a: a @ a.mT if a.ndim >= 2 and a.shape[-1] == a.shape[-2] else a),
]


@st.composite
def programs(draw):
    dtype = draw(dtypes)
    n_leaves = draw(st.integers(1, 3))
    shps = draw(broadcast_shapes(n_leaves, max_dims=3, max_side=3))
    leaves = [draw(arrays(s, dtype, -2.0, 2.0)) for s in shps]
    steps = []
    for i in range(draw(st.integers(1, 8))):
        n = n_leaves + i
        if draw(st.booleans()):
            steps.append(("u", draw(st.integers(0, len(UNARY) - 1)), draw(st.integers(0, n - 1))))
        else:
            steps.append(("b", draw(st.integers(0, len(BINARY) - 1)),
                          draw(st.integers(0, n - 1)), draw(st.integers(0, n - 1))))
    return dtype, leaves, steps


def _run(L, leaves, steps, seed):
    xs = [L.tensor(a, requires_grad=True) for a in leaves]
    nodes = list(xs)
    for st_ in steps:
        if st_[0] == "u":
            nodes.append(UNARY[st_[1]][1](L, nodes[st_[2]]))
        else:
            nodes.append(BINARY[st_[1]][1](L, nodes[st_[2]], nodes[st_[3]]))
    rng = np.random.default_rng(seed)
    # every node contributes to the loss: many paths back to each leaf
    loss = None
    for nd in nodes[len(xs):]:
        w = L.tensor(rng.standard_normal(tuple(nd.shape)).astype(leaves[0].dtype))
        term = (nd * w).sum()
        loss = term if loss is None else loss + term
    if loss is None:
        loss = sum((x * x).sum() for x in xs)
    return xs, loss


@given(prog=programs(), seed=st.integers(0, 1000))
@settings(max_examples=80)
def test_random_programs_match_torch(prog, seed):
    dtype, leaves, steps = prog
    tol = dict(rtol=2e-4, atol=2e-5) if dtype == np.float32 else dict(rtol=1e-9, atol=1e-11)
    xa, la = _run(AG, leaves, steps, seed)
    xt, lt = _run(T, leaves, steps, seed)
    np.testing.assert_allclose(to_numpy(la), to_numpy(lt), **tol)
    graph = ag.grad(la, xa, create_graph=True, retain_graph=True, allow_unused=True)
    la.backward()
    lt.backward()
    for a, g, t in zip(xa, graph, xt):
        ref = to_numpy(t.grad) if t.grad is not None else np.zeros(t.shape)
        for got in (a.grad, g):
            got = to_numpy(got) if got is not None else np.zeros(ref.shape)
            assert got.dtype == ref.dtype and got.shape == ref.shape
            np.testing.assert_allclose(got, ref, **tol)
