"""Shape ops: values and gradients against PyTorch, float32 and float64, broadcasting."""
import pytest
from hypothesis import given, strategies as st

from strategies import OPS, compare_with_torch

torch = pytest.importorskip("torch", reason="PyTorch is the oracle for these comparisons")

SPECS = [s for s in OPS if s.cat == "shape"]


@pytest.mark.parametrize("spec", SPECS, ids=repr)
@given(data=st.data())
def test_matches_torch(spec, data):
    compare_with_torch(spec, data, torch)


# ----------------------------------------------------------------------------- empty tensors
import numpy as np  # noqa: E402

import numbagrad.autograd as ag  # noqa: E402
from strategies import AG, Namespace, outputs_of, to_numpy  # noqa: E402

T = Namespace(torch, torch.nn.functional, is_torch=True)

EMPTY = {
    "sum": (lambda L, x: x.sum(), (0, 3)), "sum_dim0": (lambda L, x: x.sum(0), (0, 3)),
    "sum_dim1": (lambda L, x: x.sum(1), (0, 3)), "prod": (lambda L, x: x.prod(), (0,)),
    "mean_dim1": (lambda L, x: x.mean(1), (0, 3)), "exp": (lambda L, x: x.exp(), (2, 0)),
    "add_broadcast": (lambda L, x: x + L.ones(1, 1), (0, 3)),
    "matmul_inner_0": (lambda L, x: x.reshape(2, 0) @ L.ones(0, 3), (2, 0)),
    "matmul_outer_0": (lambda L, x: x @ L.ones(3, 2), (0, 3)),
    "reshape": (lambda L, x: x.reshape(3, 0, 1), (0, 3)),
    "cat": (lambda L, x: L.cat([x, L.ones(1, 3)]), (0, 3)),
    "stack": (lambda L, x: L.stack([x, x], 1), (0, 3)),
    "getitem_empty_slice": (lambda L, x: x[1:1], (3, 2)),
    "getitem_empty_mask": (lambda L, x: x[L.zeros(3, dtype=L.bool)], (3, 2)),
    "softmax": (lambda L, x: L.softmax(x, 1), (0, 3)),
    "logsumexp_empty_dim": (lambda L, x: L.logsumexp(x, 1), (2, 0)),
    "split": (lambda L, x: L.split(x, 1, 1), (0, 3)),
    "transpose": (lambda L, x: x.t(), (0, 3)),
    "expand": (lambda L, x: x.expand(0, 3), (1, 3)),
    "cumsum": (lambda L, x: L.cumsum(x, 0), (0, 2)),
    "relu": (lambda L, x: L.relu(x), (0,)), "sigmoid": (lambda L, x: L.sigmoid(x), (3, 0)),
    "gelu": (lambda L, x: L.gelu(x), (0, 2)),
}


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("name", sorted(EMPTY))
def test_empty_tensors_match_torch(name):
    fn, shape = EMPTY[name]
    res = []
    for L in (AG, T):
        x = L.tensor(np.ones(shape, dtype=np.float32), requires_grad=True)
        outs = outputs_of(fn(L, x))
        loss = sum((o * 1.0).sum() for o in outs)
        loss.backward()
        res.append(([to_numpy(o) for o in outs], to_numpy(x.grad)))
    (va, ga), (vt, gt) = res
    assert [v.shape for v in va] == [v.shape for v in vt]
    for a, t in zip(va, vt):
        np.testing.assert_allclose(a, t)
    np.testing.assert_allclose(ga, gt)


@pytest.mark.parametrize("fn", [lambda x: x.max(), lambda x: x.amax(0), lambda x: x.max(0),
                                lambda x: x.argmax()])
def test_max_of_empty_raises(fn):
    for x in (ag.zeros(0, 2), torch.zeros(0, 2)):
        with pytest.raises((RuntimeError, IndexError, ValueError)):
            fn(x)
