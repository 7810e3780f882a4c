"""Fused log-softmax + NLL and the bias + activation epilogue."""
import numpy as np
import pytest
from hypothesis import given, strategies as st

import numbagrad.autograd.kernels as K
from numbagrad.autograd.kernels import epilogue as E
from numbagrad.autograd.kernels import losses as L
from numbagrad.autograd.kernels import softmax_family as S

DTYPES = [np.float32, np.float64]


def _tol(dtype):
    return dict(rtol=3e-6, atol=3e-6) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-13)


def _check_nll(x, t, ignore_index=-100):
    dtype = x.dtype
    n, c = x.shape
    loss, saved = K.log_softmax_nll(x, t, ignore_index)
    assert loss.dtype == dtype and loss.shape == (n,)
    x64 = x.astype(np.float64)
    m = x64.max(axis=1, keepdims=True) if c else np.zeros((n, 1))
    lsm = x64 - m - np.log(np.exp(x64 - m).sum(axis=1, keepdims=True))
    keep = t != ignore_index
    expect = np.zeros(n)
    expect[keep] = -lsm[np.arange(n)[keep], t[keep]]
    np.testing.assert_allclose(loss, expect, **_tol(dtype))
    g = np.linspace(0.5, 2.0, n).astype(dtype)
    gx = K.log_softmax_nll_backward(g, saved, t, ignore_index)
    onehot = np.zeros((n, c))
    onehot[np.arange(n)[keep], t[keep]] = 1
    expect_g = g.astype(np.float64)[:, None] * (np.exp(lsm) - onehot) * keep[:, None]
    np.testing.assert_allclose(gx, expect_g, **_tol(dtype))


@given(st.sampled_from(DTYPES), st.integers(0, 9), st.integers(1, 12), st.integers(0, 2**31 - 1))
def test_nll_matches_reference(dtype, n, c, seed):
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal((n, c)) * 5).astype(dtype)
    t = rng.integers(0, c, n)
    t[rng.random(n) < 0.2] = -100
    _check_nll(x, t)


@pytest.mark.parametrize("dtype", DTYPES)
def test_nll_large_non_contiguous_parallel_and_custom_ignore(dtype, monkeypatch):
    rng = np.random.default_rng(1)
    x = (rng.standard_normal((40, 300)) * 3).astype(dtype)
    t = rng.integers(0, 40, 300)
    _check_nll(x.T, t)  # (300, 40) transposed view
    t[::7] = 3
    _check_nll(x.T, t, ignore_index=3)
    monkeypatch.setattr(L, "PAR_MIN_ELEMENTS", 0)
    _check_nll(x.T, t, ignore_index=3)


def test_nll_errors():
    with pytest.raises(IndexError, match=r"target label 5 is out of bounds for 5 classes"):
        K.log_softmax_nll(np.zeros((2, 5), np.float32), np.array([0, 5]))
    with pytest.raises(IndexError, match=r"label -1 "):
        K.log_softmax_nll(np.zeros((2, 5), np.float32), np.array([-1, 0]))
    # the kernel finds the bad label, on one thread or several; the first bad one is named
    from numbagrad.autograd.kernels import losses as L
    t = np.zeros(50_000, np.int64)
    t[[7, 31_000]] = [9, 12]
    for par_min in (1 << 62, 0):
        L.PAR_MIN_ELEMENTS, old = par_min, L.PAR_MIN_ELEMENTS
        try:
            with pytest.raises(IndexError, match=r"label 9 is out of bounds for 8 classes"):
                K.log_softmax_nll(np.zeros((50_000, 8), np.float32), t)
            # ignore_index may lie outside the classes
            loss, _ = K.log_softmax_nll(np.zeros((3, 8), np.float32), np.array([1, -100, 2]))
            np.testing.assert_allclose(loss, [np.log(8), 0, np.log(8)], rtol=1e-6)
        finally:
            L.PAR_MIN_ELEMENTS = old
    with pytest.raises(ValueError, match="target shape"):
        K.log_softmax_nll(np.zeros((2, 5)), np.array([0, 1, 2]))
    with pytest.raises(TypeError, match="integer"):
        K.log_softmax_nll(np.zeros((2, 5)), np.array([0.0, 1.0]))
    with pytest.raises(ValueError, match="2-D"):
        K.log_softmax_nll(np.zeros(5), np.array([0]))


def test_nll_against_torch():
    torch = pytest.importorskip("torch", reason="PyTorch not installed: comparison with PyTorch skipped")
    F = torch.nn.functional
    rng = np.random.default_rng(2)
    for dtype in DTYPES:
        x = (rng.standard_normal((64, 10)) * 4).astype(dtype)
        t = rng.integers(0, 10, 64)
        t[::5] = -100
        g = rng.standard_normal(64).astype(dtype)
        tx = torch.from_numpy(x.copy()).requires_grad_()
        tl = F.cross_entropy(tx, torch.from_numpy(t), reduction="none")
        (tg,) = torch.autograd.grad(tl, tx, torch.from_numpy(g))
        loss, saved = K.log_softmax_nll(x, t)
        np.testing.assert_allclose(loss, tl.detach().numpy(), **_tol(dtype))
        np.testing.assert_allclose(K.log_softmax_nll_backward(g, saved, t), tg.numpy(), **_tol(dtype))


def _act_ref(v, act):
    return {"none": lambda a: a, "relu": lambda a: np.maximum(a, 0), "tanh": np.tanh,
            "sigmoid": lambda a: 1 / (1 + np.exp(-a))}[act](v)


@pytest.mark.parametrize("act", E.ACTIVATIONS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(0, 3), (1, 1), (7, 33), (200, 300)])
def test_bias_act(act, dtype, shape):
    rng = np.random.default_rng(0)
    z = (rng.standard_normal(shape) * 3).astype(dtype)
    b = rng.standard_normal(shape[1]).astype(dtype)
    expect = _act_ref(z.astype(np.float64) + b, act)
    r = K.bias_act(z, b, act)
    assert r is z
    np.testing.assert_allclose(z, expect, **_tol(dtype))


@pytest.mark.parametrize("twin", ["serial", "parallel"])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(0, 3), (7, 33), (200, 300)])
def test_bias_act_unchecked_and_act_backward(twin, dtype, shape, monkeypatch):
    """The fused Linear ops' unchecked pair: `bias_act_` agrees with `bias_act`, and
    `act_backward_` with the activations' own backward kernels (from the output), with
    either twin taken above the parallel threshold."""
    from numbagrad.autograd.kernels._jit import faster_twin
    monkeypatch.setattr(faster_twin, "force", twin)
    rng = np.random.default_rng(1)
    z0 = (rng.standard_normal(shape) * 3).astype(dtype)
    b = rng.standard_normal(shape[1]).astype(dtype)
    g = rng.standard_normal(shape).astype(dtype)
    backward = {"relu": K.relu_backward, "tanh": K.tanh_backward, "sigmoid": K.sigmoid_backward}
    for code, act in enumerate(E.ACTIVATIONS):
        y = z0.copy()
        assert E.bias_act_(y, b, code) is y
        np.testing.assert_array_equal(y, K.bias_act(z0.copy(), b, act))
        if act != "none":
            out = np.empty_like(y)
            assert E.act_backward_(g, y, out, code) is out
            np.testing.assert_array_equal(out, backward[act](g, y))


def test_bias_act_errors():
    with pytest.raises(ValueError, match="act must be"):
        K.bias_act(np.zeros((2, 3)), np.zeros(3), "gelu")
    with pytest.raises(ValueError, match="C-contiguous"):
        K.bias_act(np.zeros((3, 2)).T, np.zeros(3), "relu")
    with pytest.raises(ValueError, match="bias shape"):
        K.bias_act(np.zeros((2, 3)), np.zeros(2), "relu")


def test_set_parallel_toggles_thresholds():
    from numbagrad.autograd.kernels import activations as A

    before = (A.PAR_CHEAP, S.PAR_MIN_ELEMENTS, L.PAR_MIN_ELEMENTS)
    try:
        K.set_parallel(False)
        assert A.PAR_CHEAP > 1 << 60 and S.PAR_MIN_ELEMENTS > 1 << 60 and L.PAR_MIN_ELEMENTS > 1 << 60
        assert np.allclose(K.sigmoid(np.zeros(50_000, np.float32)), 0.5)
    finally:
        K.set_parallel(True)
    assert (A.PAR_CHEAP, S.PAR_MIN_ELEMENTS, L.PAR_MIN_ELEMENTS) == before
