"""BatchNorm / LayerNorm (one fused op): gradcheck and gradgradcheck in float64, errors."""
import numpy as np
import pytest

import numbagrad.autograd as ag
import numbagrad.nn as nn
import numbagrad.nn.functional as F


def _t(*shape, seed=0, lo=-2, hi=2):
    return ag.tensor(np.random.default_rng(seed).uniform(lo, hi, shape), requires_grad=True)


@pytest.mark.parametrize("shape", [(5, 3), (4, 3, 2)])
@pytest.mark.parametrize("training", [True, False])
def test_batch_norm_gradcheck(shape, training):
    x, w, b = _t(*shape), _t(3, seed=1, lo=0.5), _t(3, seed=2)
    rm, rv = ag.tensor(np.array([0.1, -0.2, 0.3])), ag.tensor(np.array([1.5, 0.5, 2.0]))

    def fn(x, w, b):
        return F.batch_norm(x, rm.clone(), rv.clone(), w, b, training=training)
    assert ag.gradcheck(fn, (x, w, b))
    assert ag.gradgradcheck(fn, (x, w, b))
    assert ag.gradcheck(lambda x: F.batch_norm(x, None, None, training=True), (x,))


@pytest.mark.parametrize("norm_shape", [(4,), (3, 4)])
def test_layer_norm_gradcheck(norm_shape):
    x = _t(2, 3, 4)
    w, b = _t(*norm_shape, seed=1, lo=0.5), _t(*norm_shape, seed=2)
    assert ag.gradcheck(lambda x, w, b: F.layer_norm(x, norm_shape, w, b), (x, w, b))
    assert ag.gradgradcheck(lambda x, w, b: F.layer_norm(x, norm_shape, w, b), (x, w, b))
    assert ag.gradcheck(lambda x: F.layer_norm(x, norm_shape), (x,))


def test_momentum_none_is_cumulative_average():
    bn = nn.BatchNorm1d(2, momentum=None)
    xs = [ag.randn(6, 2) * (i + 1) for i in range(3)]
    for x in xs:
        bn(x)
    means = np.mean([x.numpy().mean(0) for x in xs], axis=0)
    np.testing.assert_allclose(bn.running_mean.numpy(), means, rtol=1e-5, atol=1e-6)
    assert bn.num_batches_tracked.item() == 3


def test_layer_norm_errors():
    with pytest.raises(RuntimeError, match="normalized_shape"):
        nn.LayerNorm(5)(ag.randn(2, 4))
    with pytest.raises(ValueError, match="2D or 3D"):
        nn.BatchNorm1d(3)(ag.randn(3))
