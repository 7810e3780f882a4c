"""Every loss against PyTorch: values and gradients (input and, where differentiable, target)
over hypothesis-drawn shapes, options, reductions and dtypes."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import numbagrad.nn as nn
import numbagrad.nn.functional as F

from _nn_helpers import close, pair

torch = pytest.importorskip("torch", reason="PyTorch is the oracle for these tests")
TF = torch.nn.functional

DTYPES = st.sampled_from([np.float32, np.float64])
REDUCTIONS = st.sampled_from(["mean", "sum", "none"])
SHAPES = st.lists(st.integers(1, 5), min_size=1, max_size=3).map(tuple)


def _rng(seed):
    return np.random.default_rng(seed)


def check(ours_fn, torch_fn, arrays, grad_idx, dtype):
    """Run both, compare outputs and the gradients of the inputs listed in grad_idx."""
    ours, theirs = [], []
    for i, a in enumerate(arrays):
        o, t = pair(a, requires_grad=i in grad_idx)
        ours.append(o)
        theirs.append(t)
    lo, lt = ours_fn(*ours), torch_fn(*theirs)
    close(lo, lt, dtype)
    seed = _rng(7).standard_normal(lt.shape).astype(dtype)
    lo.backward(__import__("numbagrad.autograd", fromlist=["tensor"]).tensor(seed))
    lt.backward(torch.tensor(seed))
    for i in grad_idx:
        close(ours[i].grad, theirs[i].grad, dtype)


@given(SHAPES, DTYPES, REDUCTIONS, st.integers(0, 2**31))
def test_regression_losses(shape, dtype, red, seed):
    r = _rng(seed)
    x = r.standard_normal(shape).astype(dtype) * 2
    y = r.standard_normal(shape).astype(dtype) * 2
    delta = float(r.uniform(0.2, 2.0))
    check(lambda a, b: F.mse_loss(a, b, reduction=red),
          lambda a, b: TF.mse_loss(a, b, reduction=red), [x, y], (0, 1), dtype)
    check(lambda a, b: F.l1_loss(a, b, reduction=red),
          lambda a, b: TF.l1_loss(a, b, reduction=red), [x, y], (0, 1), dtype)
    check(lambda a, b: nn.HuberLoss(red, delta)(a, b),
          lambda a, b: torch.nn.HuberLoss(red, delta)(a, b), [x, y], (0, 1), dtype)
    check(lambda a, b: nn.SmoothL1Loss(red, delta)(a, b),
          lambda a, b: torch.nn.SmoothL1Loss(reduction=red, beta=delta)(a, b), [x, y], (0, 1),
          dtype)


@given(SHAPES, DTYPES, REDUCTIONS, st.booleans(), st.integers(0, 2**31))
def test_bce(shape, dtype, red, weighted, seed):
    r = _rng(seed)
    p = r.uniform(0.02, 0.98, shape).astype(dtype)
    y = r.uniform(0, 1, shape).astype(dtype)
    w = r.uniform(0.5, 2, shape[-1:]).astype(dtype) if weighted else None
    check(lambda a, b: nn.BCELoss(None if w is None else w, red)(a, b),
          lambda a, b: torch.nn.BCELoss(None if w is None else torch.tensor(w),
                                        reduction=red)(a, b), [p, y], (0, 1), dtype)


def test_bce_clamps_logs_like_torch():
    """p = 0 or 1: finite loss and input gradient, as torch. (The target gradient uses the
    clamped logs too, so it stays finite where torch's is infinite.)"""
    p = np.array([0.0, 1.0, 0.5, 1e-30], np.float64)
    y = np.array([1.0, 0.0, 1.0, 0.0])
    check(lambda a, b: F.binary_cross_entropy(a, b, reduction="none"),
          lambda a, b: TF.binary_cross_entropy(a, b, reduction="none"), [p, y], (0,),
          np.float64)


@given(SHAPES, DTYPES, REDUCTIONS, st.booleans(), st.booleans(), st.integers(0, 2**31))
def test_bce_with_logits(shape, dtype, red, weighted, pos, seed):
    r = _rng(seed)
    x = (r.standard_normal(shape) * 5).astype(dtype)
    y = r.uniform(0, 1, shape).astype(dtype)
    w = r.uniform(0.5, 2, shape[-1:]).astype(dtype) if weighted else None
    pw = r.uniform(0.5, 3, shape[-1:]).astype(dtype) if pos else None
    tt = (lambda a: None if a is None else torch.tensor(a))
    check(lambda a, b: nn.BCEWithLogitsLoss(w, red, pos_weight=pw)(a, b),
          lambda a, b: torch.nn.BCEWithLogitsLoss(tt(w), reduction=red, pos_weight=tt(pw))(a, b),
          [x, y], (0, 1), dtype)


def test_bce_with_logits_extreme_logits_are_finite():
    x = np.array([-1000.0, 1000.0, 0.0, 80.0], np.float32)
    y = np.array([1.0, 0.0, 0.5, 1.0], np.float32)
    check(lambda a, b: F.binary_cross_entropy_with_logits(a, b, reduction="none"),
          lambda a, b: TF.binary_cross_entropy_with_logits(a, b, reduction="none"), [x, y], (0, 1),
          np.float32)


@st.composite
def ce_case(draw):
    n = draw(st.integers(1, 6))
    c = draw(st.integers(2, 5))
    extra = draw(st.lists(st.integers(1, 3), max_size=2))
    unbatched = draw(st.booleans()) and not extra
    return n, c, tuple(extra), unbatched


@given(ce_case(), DTYPES, REDUCTIONS, st.booleans(), st.sampled_from([0.0, 0.1, 0.3]),
       st.booleans(), st.integers(0, 2**31))
def test_cross_entropy_indices(case, dtype, red, weighted, smoothing, ignore, seed):
    n, c, extra, unbatched = case
    r = _rng(seed)
    shape = (c,) if unbatched else (n, c) + extra
    x = (r.standard_normal(shape) * 3).astype(dtype)
    t = r.integers(0, c, () if unbatched else (n,) + extra).astype(np.int64)
    ig = -100
    if ignore and t.ndim and t.size > 1:
        ig = int(t.flat[0])  # an actual class, so some samples are skipped
        if (t == ig).all():
            t.flat[-1] = (ig + 1) % c
    w = r.uniform(0.5, 2, c).astype(dtype) if weighted else None
    tt = None if w is None else torch.tensor(w)
    check(lambda a, b: F.cross_entropy(a, b, w, ignore_index=ig, reduction=red,
                                       label_smoothing=smoothing),
          lambda a, b: TF.cross_entropy(a, b, tt, ignore_index=ig, reduction=red,
                                        label_smoothing=smoothing), [x, t], (0,), dtype)


@given(ce_case(), DTYPES, REDUCTIONS, st.booleans(), st.sampled_from([0.0, 0.2]),
       st.integers(0, 2**31))
def test_cross_entropy_probabilities(case, dtype, red, weighted, smoothing, seed):
    n, c, extra, unbatched = case
    r = _rng(seed)
    shape = (c,) if unbatched else (n, c) + extra
    x = (r.standard_normal(shape) * 3).astype(dtype)
    cdim = 0 if unbatched else 1
    p = r.uniform(0, 1, shape)
    p = (p / p.sum(cdim, keepdims=True)).astype(dtype)
    w = r.uniform(0.5, 2, c).astype(dtype) if weighted else None
    tt = None if w is None else torch.tensor(w)
    check(lambda a, b: nn.CrossEntropyLoss(w, reduction=red, label_smoothing=smoothing)(a, b),
          lambda a, b: torch.nn.CrossEntropyLoss(tt, reduction=red,
                                                 label_smoothing=smoothing)(a, b),
          [x, p], (0, 1), dtype)


@given(ce_case(), DTYPES, REDUCTIONS, st.booleans(), st.booleans(), st.integers(0, 2**31))
def test_nll_loss(case, dtype, red, weighted, ignore, seed):
    n, c, extra, _ = case
    r = _rng(seed)
    x = (r.standard_normal((n, c) + extra)).astype(dtype)
    t = r.integers(0, c, (n,) + extra).astype(np.int64)
    ig = int(t.flat[0]) if ignore and t.size > 1 and not (t == t.flat[0]).all() else -100
    w = r.uniform(0.5, 2, c).astype(dtype) if weighted else None
    tt = None if w is None else torch.tensor(w)
    check(lambda a, b: nn.NLLLoss(w, ignore_index=ig, reduction=red)(a, b),
          lambda a, b: torch.nn.NLLLoss(tt, ignore_index=ig, reduction=red)(a, b), [x, t], (0,),
          dtype)


@given(SHAPES, DTYPES, st.sampled_from(["mean", "sum", "none", "batchmean"]), st.booleans(),
       st.integers(0, 2**31))
def test_kl_div(shape, dtype, red, log_target, seed):
    r = _rng(seed)
    q = r.uniform(0.05, 1, shape)
    p = r.uniform(0.05, 1, shape)
    p[r.uniform(size=shape) < 0.2] = 0.0  # zero probabilities contribute 0
    logq = np.log(q / q.sum(-1, keepdims=True)).astype(dtype)
    p = (p / np.maximum(p.sum(-1, keepdims=True), 1e-9)).astype(dtype)
    target = np.log(np.maximum(p, 1e-6)).astype(dtype) if log_target else p
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check(lambda a, b: nn.KLDivLoss(red, log_target=log_target)(a, b),
              lambda a, b: torch.nn.KLDivLoss(reduction=red, log_target=log_target)(a, b),
              [logq, target], (0, 1) if log_target else (0,), dtype)
        # the target gradient where P > 0 (torch's xlogy has the same derivative there)
        if not log_target and (p > 0).all():
            check(lambda a, b: F.kl_div(a, b, red), lambda a, b: TF.kl_div(a, b, reduction=red),
                  [logq, p], (0, 1), dtype)


@given(SHAPES, DTYPES, REDUCTIONS, st.floats(0.1, 2.0), st.integers(0, 2**31))
def test_hinge_embedding(shape, dtype, red, margin, seed):
    r = _rng(seed)
    x = (r.standard_normal(shape) * 2).astype(dtype)
    y = r.choice([-1.0, 1.0], shape).astype(dtype)
    check(lambda a, b: nn.HingeEmbeddingLoss(margin, red)(a, b),
          lambda a, b: torch.nn.HingeEmbeddingLoss(margin, reduction=red)(a, b), [x, y], (0,),
          dtype)


@given(st.integers(1, 6), st.integers(2, 5), DTYPES, REDUCTIONS, st.sampled_from([1, 2]),
       st.floats(0.2, 2.0), st.booleans(), st.booleans(), st.integers(0, 2**31))
def test_multi_margin(n, c, dtype, red, p, margin, weighted, unbatched, seed):
    r = _rng(seed)
    x = r.standard_normal((c,) if unbatched else (n, c)).astype(dtype)
    t = r.integers(0, c, () if unbatched else (n,)).astype(np.int64)
    w = r.uniform(0.5, 2, c).astype(dtype) if weighted else None
    tt = None if w is None else torch.tensor(w)
    check(lambda a, b: nn.MultiMarginLoss(p, margin, w, red)(a, b),
          lambda a, b: torch.nn.MultiMarginLoss(p, margin, tt, reduction=red)(a, b), [x, t],
          (0,), dtype)


@given(SHAPES, DTYPES, REDUCTIONS, st.integers(0, 2**31))
def test_hinge_loss_is_relu_of_margin(shape, dtype, red, seed):
    """The SVM hinge loss has no torch twin: compare with relu(1 - y yhat) written in torch."""
    r = _rng(seed)
    x = (r.standard_normal(shape) * 2).astype(dtype)
    y = r.choice([-1.0, 1.0], shape).astype(dtype)

    def ref(a, b):
        loss = torch.relu(1 - a * b)
        return loss.mean() if red == "mean" else loss.sum() if red == "sum" else loss
    check(lambda a, b: nn.HingeLoss(red)(a, b), ref, [x, y], (0, 1), dtype)


def test_loss_state_dict_matches_torch():
    w = np.array([1.0, 2.0, 3.0], np.float32)
    for ours, theirs in [(nn.CrossEntropyLoss(w), torch.nn.CrossEntropyLoss(torch.tensor(w))),
                         (nn.BCEWithLogitsLoss(pos_weight=w),
                          torch.nn.BCEWithLogitsLoss(pos_weight=torch.tensor(w))),
                         (nn.MSELoss(), torch.nn.MSELoss())]:
        assert list(ours.state_dict()) == list(theirs.state_dict())
        assert repr(ours) == repr(theirs)
