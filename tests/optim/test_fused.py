"""The public single-tensor fused functions (numbagrad.autograd.fused) against the reference path."""
import numpy as np
import pytest

import numbagrad.autograd as ag
from numbagrad import optim
from numbagrad.autograd import fused


def _pair(shape=(3, 4), dtype=ag.float64):
    rng = np.random.default_rng(0)
    p = ag.tensor(rng.standard_normal(shape), dtype=dtype, requires_grad=True)
    g = ag.tensor(rng.standard_normal(shape), dtype=dtype)
    return p, g


def _ref(cls, p, g, steps, **kw):
    q = ag.tensor(p.detach().numpy().copy(), requires_grad=True)
    opt = cls([q], foreach=False, **kw)
    for _ in range(steps):
        q.grad = g
        opt.step()
    return q.detach().numpy()


def test_adam_single():
    p, g = _pair()
    want = _ref(optim.Adam, p, g, 3, lr=0.1, amsgrad=True, weight_decay=0.1)
    m, v, vm = ag.zeros_like(p), ag.zeros_like(p), ag.zeros_like(p)
    with ag.no_grad():
        for t in (1, 2, 3):
            fused.adam_(p, g, m, v, vm, t, lr=0.1, beta1=0.9, beta2=0.999, eps=1e-8,
                        weight_decay=0.1, amsgrad=True, maximize=False, decoupled=False)
    np.testing.assert_allclose(p.detach().numpy(), want, rtol=1e-14)


def test_sgd_single():
    p, g = _pair()
    want = _ref(optim.SGD, p, g, 3, lr=0.1, momentum=0.9, nesterov=True)
    buf = ag.empty_like(p)
    with ag.no_grad():
        for t in range(3):
            fused.sgd_(p, g, buf, 0.1, momentum=0.9, nesterov=True, first_step=t == 0)
    np.testing.assert_allclose(p.detach().numpy(), want, rtol=1e-14)


def test_rmsprop_and_adagrad_single():
    p, g = _pair()
    want = _ref(optim.RMSprop, p, g, 3, lr=0.1, centered=True, momentum=0.5)
    sq, ga, buf = ag.zeros_like(p), ag.zeros_like(p), ag.zeros_like(p)
    with ag.no_grad():
        for _ in range(3):
            fused.rmsprop_(p, g, sq, ga, buf, 0.1, 0.99, 1e-8, 0, 0.5, True, False)
    np.testing.assert_allclose(p.detach().numpy(), want, rtol=1e-14)
    p, g = _pair()
    want = _ref(optim.Adagrad, p, g, 3, lr=0.1, lr_decay=0.1)
    s = ag.zeros_like(p)
    with ag.no_grad():
        for t in (1, 2, 3):
            fused.adagrad_(p, g, s, t, 0.1, 0.1, 0, 1e-10, False)
    np.testing.assert_allclose(p.detach().numpy(), want, rtol=1e-14)


def test_errors_name_the_problem():
    p, g = _pair()
    with pytest.raises(ValueError, match="exp_avg must be a C-contiguous float64 tensor of shape"):
        fused.adam_(p, g, ag.zeros(3, 4, dtype=ag.float32), ag.zeros_like(p), None, 1, 0.1, 0.9,
                    0.999, 1e-8, 0, False, False, False)
    with pytest.raises(ValueError, match="gradient a tensor of the same shape"):
        fused.sgd_(p, ag.zeros(4, 3, dtype=ag.float64), None, 0.1)
    assert not fused.eligible(p, ag.zeros(3, 4, dtype=ag.float32))
    assert fused.eligible(p, g)


def test_noncontiguous_gradient_is_accepted():
    p, g = _pair((3, 4))
    gt = ag.tensor(g.numpy().T.copy().T)  # same values, Fortran order
    assert not gt.is_contiguous()
    want = _ref(optim.SGD, p, g, 1, lr=0.1)
    with ag.no_grad():
        fused.sgd_(p, gt, None, 0.1)
    np.testing.assert_allclose(p.detach().numpy(), want, rtol=1e-15)
