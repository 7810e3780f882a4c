"""The public testing kit: strategies, gradcheck re-export, PyTorch parity helpers."""
import numpy as np
import pytest
from hypothesis import given, settings

import numbagrad.autograd as ag
from numbagrad import optim
from numbagrad.autograd import testing


class Cube(ag.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x * x

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return 3 * x * x * g


class WrongCube(Cube):
    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return 2 * x * x * g


def test_reexports():
    assert testing.gradcheck is ag.gradcheck and testing.gradgradcheck is ag.gradgradcheck


@settings(max_examples=15, deadline=None)
@given(testing.tensors(shape=testing.shapes(max_dims=2), requires_grad=True))
def test_strategies_feed_gradcheck(x):
    assert x.dtype == ag.float64 and x.requires_grad
    assert testing.gradcheck(Cube.apply, (x,))


@settings(max_examples=15, deadline=None)
@given(testing.broadcastable_shapes(n=3))
def test_broadcastable_shapes(shps):
    assert len(shps) == 3
    np.broadcast_shapes(*shps)


@settings(max_examples=10, deadline=None)
@given(testing.arrays("int64", (2, 3)), testing.arrays("float32", shape=testing.shapes()))
def test_arrays_dtypes(a, b):
    assert a.dtype == np.int64 and a.shape == (2, 3) and np.all(np.abs(a) <= 3)
    assert b.dtype == np.float32 and np.all(np.isfinite(b))


def test_wrong_backward_caught_by_gradcheck():
    x = ag.randn(3, dtype=ag.float64, requires_grad=True)
    with pytest.raises(testing.GradcheckError):
        testing.gradcheck(WrongCube.apply, (x,))


def test_assert_matches_torch_passes_and_fails():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((3, 4)), rng.standard_normal((4,))
    testing.assert_matches_torch(lambda x, y: (Cube.apply(x) * y).sum(-1).tanh(),
                                 lambda x, y: ((x ** 3) * y).sum(-1).tanh(), a, b)
    # integer labels get no gradient; Python numbers pass through unchanged
    labels = np.array([0, 2, 1])
    testing.assert_matches_torch(
        lambda x, t, s: (x.log_softmax(-1) * ag.one_hot(t, 4)).sum() * s,
        lambda x, t, s: (x.log_softmax(-1) * torch.nn.functional.one_hot(t, 4)).sum() * s,
        a, labels, 0.5)
    with pytest.raises(AssertionError, match="gradient of input 0"):
        testing.assert_matches_torch(lambda x: WrongCube.apply(x), lambda x: x ** 3, a)
    with pytest.raises(AssertionError, match="output 0 differs"):
        testing.assert_matches_torch(lambda x: x.exp(), lambda x: x.exp() + 1e-3, a,
                                     check_grad=False)


def test_compare_optimizers():
    torch = pytest.importorskip("torch")
    d = testing.compare_optimizers(optim.SGD, torch.optim.SGD, steps=10, lr=0.01,
                                   momentum=0.9, nesterov=True)
    assert d < 1e-9
    testing.compare_optimizers(optim.Adam, torch.optim.Adam, steps=10, lr=0.05)

    class BadSGD(optim.SGD):
        def step(self, closure=None):
            super().step(closure)
            with ag.no_grad():
                for g in self.param_groups:
                    for p in g["params"]:
                        p.mul_(1.0001)

    with pytest.raises(AssertionError, match="after step 1"):
        testing.compare_optimizers(BadSGD, torch.optim.SGD, steps=3, lr=0.01)


def test_missing_torch(monkeypatch):
    import sys
    monkeypatch.setitem(sys.modules, "torch", None)
    with pytest.raises(pytest.skip.Exception, match="PyTorch is not installed"):
        testing.require_torch()
    monkeypatch.delitem(sys.modules, "pytest")
    with pytest.raises(ImportError, match="pip install torch"):
        testing.require_torch()
