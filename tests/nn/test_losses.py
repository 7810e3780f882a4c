"""Losses without PyTorch: the course notes' worked examples, gradcheck in float64, bad input."""
import math

import numpy as np
import pytest

import numbagrad.autograd as ag
import numbagrad.nn as nn
import numbagrad.nn.functional as F

from _nn_helpers import gradcheck


# ----------------------------------------------------------------------------- worked examples
def test_mse_worked_example():
    loss = nn.MSELoss()(ag.tensor([2.5, 5.2]), ag.tensor([3.0, 5.0]))
    assert loss.item() == pytest.approx(0.145, abs=1e-6)


def test_bce_worked_example():
    """The notes print 0.216; -(log 0.9 + log 0.8) / 2 is 0.1643."""
    loss = nn.BCELoss()(ag.tensor([0.9, 0.2]), ag.tensor([1.0, 0.0]))
    assert loss.item() == pytest.approx(-(math.log(0.9) + math.log(0.8)) / 2, rel=1e-6)
    assert round(loss.item(), 4) == 0.1643


def test_cce_worked_example():
    """CCE of y = [0, 1, 0], p = [0.1, 0.7, 0.2]: -log 0.7 = 0.3567 (NLL of log p)."""
    p = ag.tensor([[0.1, 0.7, 0.2]])
    assert round(F.nll_loss(p.log(), ag.tensor([1])).item(), 4) == 0.3567
    # the same with the one-hot target as class probabilities, from logits log p
    assert round(F.cross_entropy(p.log(), ag.tensor([[0.0, 1.0, 0.0]])).item(), 4) == 0.3567


def test_huber_worked_example():
    loss = nn.HuberLoss(delta=1.0)(ag.tensor([5.0]), ag.tensor([3.0]))
    assert loss.item() == pytest.approx(1.5)


def test_kl_worked_example():
    """KL(P||Q) for P = [0.5, 0.3, 0.2], Q = [0.4, 0.4, 0.2] is 0.0253 nats (the notes print
    0.061). kl_div takes log Q as input and P as target."""
    P = ag.tensor([0.5, 0.3, 0.2])
    Q = ag.tensor([0.4, 0.4, 0.2])
    kl = F.kl_div(Q.log(), P, reduction="sum")
    assert round(kl.item(), 4) == 0.0253
    assert round(nn.KLDivLoss(reduction="batchmean")(Q.log().reshape(1, 3),
                                                       P.reshape(1, 3)).item(), 4) == 0.0253


def test_hinge_worked_example():
    loss = nn.HingeLoss()(ag.tensor([0.5, -2.0, 2.0]), ag.tensor([1.0, -1.0, -1.0]))
    assert loss.item() == pytest.approx((0.5 + 0.0 + 3.0) / 3)


# ----------------------------------------------------------------------------- gradcheck
def _x(*shape, lo=-2, hi=2, seed=0):
    r = np.random.default_rng(seed)
    return ag.tensor(r.uniform(lo, hi, shape), requires_grad=True)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_gradcheck_pointwise_losses(reduction):
    x, y = _x(3, 4), _x(3, 4, seed=1)
    for fn in (F.mse_loss, F.l1_loss, F.huber_loss, F.smooth_l1_loss):
        assert gradcheck(lambda a, b, fn=fn: fn(a, b, reduction=reduction), (x, y))
    p, t = _x(3, 4, lo=0.1, hi=0.9), _x(3, 4, lo=0, hi=1, seed=2)
    w = np.linspace(0.5, 2, 4)
    assert gradcheck(lambda a, b: F.binary_cross_entropy(a, b, w, reduction=reduction), (p, t))
    assert gradcheck(lambda a, b: F.binary_cross_entropy_with_logits(
        a, b, w, reduction=reduction, pos_weight=w[::-1].copy()), (x, t))
    assert gradcheck(lambda a, b: F.kl_div(a, b, reduction=reduction), (x, t))
    assert gradcheck(lambda a, b: F.kl_div(a, b, reduction=reduction, log_target=True), (x, y))
    lab = ag.tensor(np.sign(np.random.default_rng(3).standard_normal((3, 4))))
    assert gradcheck(lambda a: F.hinge_embedding_loss(a, lab, reduction=reduction), (x,))
    assert gradcheck(lambda a: F.hinge_loss(a, lab, reduction=reduction), (x,))


def test_gradgradcheck_fused_binary_losses():
    p, t = _x(2, 3, lo=0.1, hi=0.9), _x(2, 3, lo=0, hi=1, seed=2)
    x = _x(2, 3)
    assert ag.gradgradcheck(lambda a, b: F.binary_cross_entropy(a, b), (p, t))
    assert ag.gradgradcheck(lambda a, b: F.binary_cross_entropy_with_logits(
        a, b, pos_weight=np.array([1.0, 2.0, 3.0])), (x, t))


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_gradcheck_class_losses(reduction):
    x = _x(4, 3, 2)
    t = ag.tensor(np.array([[0, 2], [1, 1], [2, 0], [1, -100]]))
    w = np.array([0.5, 1.0, 2.0])
    assert gradcheck(lambda a: F.cross_entropy(a, t, w, reduction=reduction,
                                               label_smoothing=0.1), (x,))
    assert gradcheck(lambda a: F.nll_loss(a, t, w, reduction=reduction), (x,))
    probs = ag.tensor(np.random.default_rng(1).dirichlet([1, 1, 1], (4, 2)).transpose(0, 2, 1)
                      .copy(), requires_grad=True)
    assert gradcheck(lambda a, b: F.cross_entropy(a, b, w, reduction=reduction), (x, probs))
    x2 = _x(4, 3)
    t2 = ag.tensor(np.array([0, 2, 1, 1]))
    for p in (1, 2):
        assert gradcheck(lambda a, p=p: F.multi_margin_loss(a, t2, p=p, weight=w,
                                                            reduction=reduction), (x2,))


# ----------------------------------------------------------------------------- bad input
def test_out_of_range_label_raises():
    with pytest.raises(IndexError):
        F.cross_entropy(ag.randn(2, 3), ag.tensor([0, 3]))
    with pytest.raises(IndexError, match="out of bounds"):
        F.nll_loss(ag.randn(2, 3), ag.tensor([0, -1]))
    with pytest.raises(IndexError):
        F.multi_margin_loss(ag.randn(2, 3), ag.tensor([0, 5]))


def test_float_labels_for_nll_raise():
    with pytest.raises(RuntimeError, match="integer class indices"):
        F.nll_loss(ag.randn(2, 3), ag.tensor([0.0, 1.0]))


def test_mismatched_shapes_raise():
    with pytest.raises(ValueError, match=r"\(3,\).*\(4,\)|\(4,\).*\(3,\)"):
        F.mse_loss(ag.randn(3), ag.randn(4))
    with pytest.raises(ValueError, match="different to the input size"):
        F.binary_cross_entropy(ag.rand(3, 1), ag.rand(3))
    with pytest.raises(ValueError, match="different to the input size"):
        F.binary_cross_entropy_with_logits(ag.rand(3, 1), ag.rand(3))
    with pytest.raises(ValueError, match="expected target of shape"):
        F.cross_entropy(ag.randn(4, 3), ag.tensor([0, 1, 2]))
    with pytest.raises(ValueError, match="probability targets"):
        F.cross_entropy(ag.randn(4, 3), ag.rand(4, 2))
    with pytest.warns(UserWarning, match="broadcasting"):
        F.mse_loss(ag.randn(3, 1), ag.randn(3))


def test_bad_values_raise():
    with pytest.raises(RuntimeError, match="between 0 and 1"):
        F.binary_cross_entropy(ag.tensor([1.5]), ag.tensor([1.0]))
    with pytest.raises(ValueError, match=r"-1 or \+1"):
        F.hinge_loss(ag.tensor([0.3, 0.2]), ag.tensor([1.0, 0.0]))
    with pytest.raises(ValueError, match="not a valid value for reduction"):
        F.mse_loss(ag.randn(3), ag.randn(3), reduction="avg")
    with pytest.raises(ValueError, match="not a valid value for reduction"):
        nn.L1Loss(reduction="elementwise")
    with pytest.raises(RuntimeError, match="weight should have shape"):
        F.cross_entropy(ag.randn(2, 3), ag.tensor([0, 1]), weight=ag.ones(4))


def test_losses_keep_float64():
    x = ag.randn(3, 2, dtype=ag.float64, requires_grad=True)
    for loss in (F.mse_loss(x, ag.zeros(3, 2, dtype=ag.float64)),
                 F.cross_entropy(x, ag.tensor([0, 1, 1])),
                 F.binary_cross_entropy_with_logits(x, ag.zeros(3, 2, dtype=ag.float64))):
        assert loss.dtype == ag.float64


def test_broadcast_targets_warn_and_differentiate():
    """Mismatched but broadcastable shapes warn (as PyTorch) and still get right gradients."""
    import warnings
    x, y = _x(3, 1), _x(4, seed=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for fn in (F.mse_loss, F.huber_loss, F.smooth_l1_loss, F.l1_loss):
            assert gradcheck(lambda a, b, fn=fn: fn(a, b), (x, y))
        assert ag.gradgradcheck(lambda a, b: F.huber_loss(a, b, delta=0.7), (x, y))
