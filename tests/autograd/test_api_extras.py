"""Smaller PyTorch functions built on the op table: values vs torch, gradients by gradcheck."""
import numpy as np
import pytest

import numbagrad.autograd as ag

torch = pytest.importorskip("torch", reason="these tests compare against PyTorch")

CASES = {
    "tril": (lambda m, t: m.tril(t, 1), lambda m, t: m.tril(t, 1)),
    "triu": (lambda m, t: m.triu(t, -1), lambda m, t: m.triu(t, -1)),
    "index_select": (lambda m, t: m.index_select(t, 1, m.tensor([0, 2, 2])),
                     lambda m, t: m.index_select(t, 1, m.tensor([0, 2, 2]))),
    "masked_select": (lambda m, t: m.masked_select(t, m.tensor([True, False, True, True])),
                      lambda m, t: m.masked_select(t, m.tensor([True, False, True, True]))),
    "addcmul": (lambda m, t: m.addcmul(t, t, t, value=0.5), lambda m, t: m.addcmul(t, t, t, value=0.5)),
    "addcdiv": (lambda m, t: m.addcdiv(t, t, t * t + 1, value=2.0),
                lambda m, t: m.addcdiv(t, t, t * t + 1, value=2.0)),
    "clamp_min": (lambda m, t: m.clamp_min(t, 0.1), lambda m, t: m.clamp_min(t, 0.1)),
    "clamp_max": (lambda m, t: m.clamp_max(t, 0.1), lambda m, t: m.clamp_max(t, 0.1)),
    "fmax": (lambda m, t: m.fmax(t, t.flip(0)), lambda m, t: m.fmax(t, t.flip(0))),
    "swapaxes": (lambda m, t: m.swapaxes(t, 0, 1), lambda m, t: m.swapaxes(t, 0, 1)),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_values_and_gradients_match_torch(name):
    ours, theirs = CASES[name]
    a = np.random.default_rng(0).standard_normal((3, 4))
    x = ag.tensor(a, requires_grad=True)
    xt = torch.tensor(a, requires_grad=True)
    y, yt = ours(ag, x), theirs(torch, xt)
    np.testing.assert_allclose(y.detach().numpy(), yt.detach().numpy(), rtol=1e-12)
    y.sum().backward()
    yt.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), xt.grad.numpy(), rtol=1e-12)
    assert ag.gradcheck(lambda t: ours(ag, t), (ag.tensor(a, requires_grad=True),))
    assert ag.gradgradcheck(lambda t: ours(ag, t), (ag.tensor(a, requires_grad=True),))


def test_new_factories_keep_dtype():
    x = ag.zeros(2, dtype=ag.float64)
    assert x.new_zeros(2, 3).dtype == ag.float64 and x.new_zeros(2, 3).shape == (2, 3)
    assert x.new_ones((4,)).tolist() == [1.0] * 4
    assert x.new_full((2,), 7).tolist() == [7.0, 7.0]
    assert x.new_tensor([1, 2]).dtype == ag.float64
    assert x.new_zeros(2, requires_grad=True).requires_grad


def test_index_select_bad_index():
    x = ag.zeros(3, 4)
    with pytest.raises(IndexError, match="out of range"):
        ag.index_select(x, 1, ag.tensor([4]))
    with pytest.raises(RuntimeError, match="1-D integer"):
        ag.index_select(x, 1, ag.tensor([0.5]))
