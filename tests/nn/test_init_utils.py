"""nn.init (statistics, reproducibility) and nn.utils (clipping, vectors, penalties)."""
import math

import numpy as np
import pytest

import numbagrad.autograd as ag
import numbagrad.nn as nn
from numbagrad.nn import init, utils


def _w(*shape):
    return nn.Parameter(ag.empty(*shape))


def test_init_statistics():
    ag.manual_seed(0)
    w = _w(200, 300)
    fan_in, fan_out = 300, 200
    init.uniform_(w, -2, 3)
    a = w.detach().numpy()
    assert a.min() >= -2 and a.max() <= 3 and abs(a.mean() - 0.5) < 0.05
    init.normal_(w, 1.0, 2.0)
    assert abs(w.detach().numpy().mean() - 1) < 0.05 and abs(w.detach().numpy().std() - 2) < 0.05
    init.xavier_uniform_(w, gain=2.0)
    bound = 2.0 * math.sqrt(6 / (fan_in + fan_out))
    assert np.abs(w.detach().numpy()).max() <= bound
    assert np.abs(w.detach().numpy()).max() > 0.95 * bound
    init.xavier_normal_(w)
    assert abs(w.detach().numpy().std() - math.sqrt(2 / (fan_in + fan_out))) < 2e-3
    init.kaiming_uniform_(w, nonlinearity="relu")
    bound = math.sqrt(2) * math.sqrt(3 / fan_in)
    assert np.abs(w.detach().numpy()).max() <= bound
    init.kaiming_normal_(w, mode="fan_out", nonlinearity="relu")
    assert abs(w.detach().numpy().std() - math.sqrt(2 / fan_out)) < 3e-3
    init.constant_(w, 0.3)
    np.testing.assert_allclose(w.detach().numpy(), 0.3, rtol=1e-6)
    init.zeros_(w)
    assert not w.detach().numpy().any()
    init.ones_(w)
    assert (w.detach().numpy() == 1).all()
    assert w.grad_fn is None and w.requires_grad and w.is_leaf


def test_eye_and_orthogonal():
    w = _w(3, 5)
    init.eye_(w)
    np.testing.assert_array_equal(w.detach().numpy(), np.eye(3, 5))
    for shape in [(6, 4), (4, 6), (5, 5)]:
        w = _w(*shape)
        init.orthogonal_(w, gain=2.0)
        a = w.detach().numpy().astype(np.float64) / 2
        small = min(shape)
        gram = a.T @ a if shape[0] >= shape[1] else a @ a.T
        np.testing.assert_allclose(gram, np.eye(small), atol=1e-5)
    with pytest.raises(ValueError):
        init.eye_(_w(3))
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        init.xavier_uniform_(_w(3))


def test_init_reproducible_and_generator():
    for fn in (init.uniform_, init.normal_, init.xavier_uniform_, init.kaiming_normal_,
               init.orthogonal_):
        ag.manual_seed(5)
        a = fn(_w(4, 3)).detach().numpy()
        ag.manual_seed(5)
        np.testing.assert_array_equal(a, fn(_w(4, 3)).detach().numpy())
    g1, g2 = ag.Generator().manual_seed(1), ag.Generator().manual_seed(1)
    np.testing.assert_array_equal(init.normal_(_w(3, 3), generator=g1).detach().numpy(),
                                  init.normal_(_w(3, 3), generator=g2).detach().numpy())


def test_calculate_gain_values():
    assert init.calculate_gain("relu") == pytest.approx(math.sqrt(2))
    assert init.calculate_gain("tanh") == pytest.approx(5 / 3)
    assert init.calculate_gain("leaky_relu", 0.2) == pytest.approx(math.sqrt(2 / 1.04))
    with pytest.raises(ValueError):
        init.calculate_gain("swish")


def _with_grads(*grads):
    params = []
    for g in grads:
        p = nn.Parameter(ag.zeros(*np.shape(g)))
        p.grad = ag.tensor(np.asarray(g, np.float32))
        params.append(p)
    return params


def test_clip_grad_norm():
    params = _with_grads([3.0, 0.0], [[4.0]])
    total = utils.clip_grad_norm_(params, 1.0)
    assert total.item() == pytest.approx(5.0)
    np.testing.assert_allclose(params[0].grad.numpy(), [0.6, 0.0], rtol=1e-5)
    np.testing.assert_allclose(params[1].grad.numpy(), [[0.8]], rtol=1e-5)
    params = _with_grads([3.0, 0.0], [[4.0]])
    assert utils.clip_grad_norm_(params, 10.0).item() == pytest.approx(5.0)
    np.testing.assert_allclose(params[0].grad.numpy(), [3.0, 0.0])  # below max: unchanged
    params = _with_grads([3.0, -7.0])
    assert utils.clip_grad_norm_(params, 3.5, norm_type=math.inf).item() == pytest.approx(7.0)
    np.testing.assert_allclose(params[0].grad.numpy(), [1.5, -3.5], rtol=1e-5)
    params = _with_grads([float("nan"), 1.0])
    with pytest.raises(RuntimeError, match="non-finite"):
        utils.clip_grad_norm_(params, 1.0, error_if_nonfinite=True)


def test_clip_grad_value():
    params = _with_grads([3.0, -0.5, -7.0])
    utils.clip_grad_value_(params, 1.0)
    np.testing.assert_allclose(params[0].grad.numpy(), [1.0, -0.5, -1.0])


def test_parameters_vector_round_trip():
    net = nn.Sequential(nn.Linear(3, 2), nn.Linear(2, 1))
    vec = utils.parameters_to_vector(net.parameters())
    assert vec.shape == (3 * 2 + 2 + 2 + 1,)
    utils.vector_to_parameters(ag.arange(11, dtype=ag.float32), net.parameters())
    np.testing.assert_array_equal(net[0].weight.detach().numpy(), np.arange(6).reshape(2, 3))
    np.testing.assert_array_equal(net[1].bias.detach().numpy(), [10])
    with pytest.raises(RuntimeError, match="11"):
        utils.vector_to_parameters(ag.zeros(5), net.parameters())


def test_penalties():
    net = nn.Linear(2, 2)
    with ag.no_grad():
        net.weight.copy_(ag.tensor([[1.0, -2.0], [3.0, 0.0]]))
        net.bias.copy_(ag.tensor([-1.0, 0.5]))
    assert utils.l1_penalty(net).item() == pytest.approx(7.5)
    assert utils.l2_penalty(net.parameters()).item() == pytest.approx(15.25)
    utils.l1_penalty(net.parameters()).backward()
    np.testing.assert_array_equal(net.weight.grad.numpy(), [[1, -1], [1, 0]])


def test_l2_penalty_matches_weight_decay():
    """loss + lam/2 * l2_penalty gives the same SGD step as weight_decay=lam."""
    from numbagrad import optim
    lam = 0.1
    x, y = ag.randn(8, 3), ag.randn(8, 1)
    ag.manual_seed(0)
    a = nn.Linear(3, 1)
    ag.manual_seed(0)
    b = nn.Linear(3, 1)
    oa = optim.SGD(a.parameters(), lr=0.1, weight_decay=lam)
    ob = optim.SGD(b.parameters(), lr=0.1)
    for _ in range(3):
        oa.zero_grad()
        nn.functional.mse_loss(a(x), y).backward()
        oa.step()
        ob.zero_grad()
        (nn.functional.mse_loss(b(x), y) + lam / 2 * utils.l2_penalty(b)).backward()
        ob.step()
    np.testing.assert_allclose(a.weight.detach().numpy(), b.weight.detach().numpy(), rtol=1e-5)
