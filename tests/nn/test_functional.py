"""nn.functional odds and ends: one_hot, dropout options, implicit softmax dim, inplace forms."""
import numpy as np
import pytest

import numbagrad.autograd as ag
import numbagrad.nn as nn
import numbagrad.nn.functional as F


def test_one_hot():
    oh = F.one_hot(ag.tensor([0, 2, 1]), 3)
    assert oh.dtype == ag.int64
    np.testing.assert_array_equal(oh.numpy(), np.eye(3)[[0, 2, 1]])
    assert F.one_hot(ag.tensor([[1], [3]])).shape == (2, 1, 4)


def test_dropout_generator_and_eval():
    x = ag.ones(100)
    g1, g2 = ag.Generator().manual_seed(4), ag.Generator().manual_seed(4)
    np.testing.assert_array_equal(F.dropout(x, 0.5, generator=g1).numpy(),
                                  F.dropout(x, 0.5, generator=g2).numpy())
    assert F.dropout(x, 0.5, training=False) is x and F.dropout(x, 0.0) is x
    with pytest.raises(ValueError):
        F.dropout(x, -0.1)
    y = ag.ones(10)
    assert F.dropout(y, 0.5, inplace=True) is y  # no graph: written in place


def test_softmax_implicit_dim_warns_like_torch():
    x = ag.randn(2, 3)
    with pytest.warns(UserWarning, match="Implicit dimension"):
        y = F.softmax(x)
    np.testing.assert_allclose(y.numpy().sum(1), 1, rtol=1e-6)
    with pytest.warns(UserWarning):
        nn.LogSoftmax()(x)


@pytest.mark.parametrize("fn", [lambda t, i: F.relu(t, inplace=i),
                                lambda t, i: F.leaky_relu(t, 0.1, inplace=i),
                                lambda t, i: F.elu(t, 0.5, inplace=i),
                                lambda t, i: F.silu(t, inplace=i)])
def test_inplace_activations_keep_gradients(fn):
    x = ag.randn(6, requires_grad=True)
    fn(x * 1.0, False).sum().backward()
    expected = x.grad.numpy().copy()
    x.grad = None
    fn(x * 1.0, True).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), expected)
    with ag.no_grad():
        y = ag.randn(5)
        before = y.numpy().copy()
        out = fn(y, True)
    assert out is y and not np.array_equal(y.numpy(), before) or (before > 0).all()


def test_functional_layers():
    x = ag.randn(3, 4)
    w, b = ag.randn(2, 4), ag.randn(2)
    np.testing.assert_allclose(F.linear(x, w, b).numpy(), x.numpy() @ w.numpy().T + b.numpy(),
                               rtol=1e-5, atol=1e-6)
    assert F.flatten(ag.randn(2, 3, 4), 1).shape == (2, 12)
    assert F.identity(x) is x
    with pytest.raises(RuntimeError, match="in_features=4"):
        F.linear(ag.randn(3, 5), w)


def test_nn_layering_never_imports_numba():
    """DESIGN.md: nn is built on the autograd API only (numba lives in autograd.kernels)."""
    import pathlib
    import re
    root = pathlib.Path(nn.__file__).parent
    pattern = re.compile(r"^\s*(from|import)\s+numba\b", re.M)
    for path in root.glob("*.py"):
        assert not pattern.search(path.read_text()), path.name
