"""Softmax family against float64 numpy references and PyTorch (where installed)."""
import numpy as np
import pytest
from hypothesis import given, strategies as st
from hypothesis.extra import numpy as hnp

import numbagrad.autograd.kernels as K
from numbagrad.autograd.kernels import softmax_family as S

DTYPES = [np.float32, np.float64]


def ref_log_softmax(x, d):
    x = x.astype(np.float64)
    if x.shape[d] == 0:
        return x
    m = np.max(x, axis=d, keepdims=True)
    return x - m - np.log(np.sum(np.exp(x - m), axis=d, keepdims=True))


def ref_logsumexp(x, d, keepdim=False):
    x = x.astype(np.float64)
    m = np.max(x, axis=d, keepdims=True) if x.shape[d] else np.zeros(x.shape[:d] + (1,) + x.shape[d + 1:])
    m = np.where(np.isinf(m), 0.0, m)
    with np.errstate(divide="ignore"):
        r = np.log(np.sum(np.exp(x - m), axis=d, keepdims=True)) + m
    return r if keepdim else np.squeeze(r, axis=d)


def _tol(dtype):
    return dict(rtol=3e-6, atol=3e-6) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-13)


def _check_all(x, dim, g):
    dtype = x.dtype
    d = dim % max(x.ndim, 1)
    xr = x.reshape(1) if x.ndim == 0 else x
    gr = g.reshape(xr.shape)
    lref = ref_log_softmax(xr, d).reshape(x.shape)
    sref = np.exp(lref)
    y = K.softmax(x, dim)
    ly = K.log_softmax(x, dim)
    assert y.dtype == dtype and y.shape == x.shape and ly.shape == x.shape
    np.testing.assert_allclose(y, sref, **_tol(dtype))
    np.testing.assert_allclose(ly, lref, **_tol(dtype))
    # backward from the kernel's own output, reference in float64 from that output
    y64, ly64, g64 = y.astype(np.float64).reshape(xr.shape), ly.astype(np.float64).reshape(xr.shape), gr.astype(np.float64)
    # the backward sums over the reduced axis in the input dtype: allow eps * sum|g| absolute error
    tol = dict(_tol(dtype))
    if x.size:
        tol["atol"] = max(tol["atol"], 8 * float(np.finfo(dtype).eps) * float(np.abs(g64).sum(axis=d).max(initial=0)))
    gs = K.softmax_backward(g, y, dim)
    np.testing.assert_allclose(gs, (y64 * (g64 - np.sum(g64 * y64, axis=d, keepdims=True))).reshape(x.shape), **tol)
    gl = K.log_softmax_backward(g, ly, dim)
    np.testing.assert_allclose(gl, (g64 - np.exp(ly64) * np.sum(g64, axis=d, keepdims=True)).reshape(x.shape), **tol)
    for keepdim in (False, True):
        lse = K.logsumexp(x, dim, keepdim)
        expect = ref_logsumexp(xr, d, keepdim)
        if x.ndim == 0:
            expect = expect.reshape(())
        assert lse.shape == expect.shape and lse.dtype == dtype
        np.testing.assert_allclose(lse, expect, **_tol(dtype))


@st.composite
def array_and_dim(draw):
    dtype = draw(st.sampled_from(DTYPES))
    shape = draw(hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=7))
    x = draw(hnp.arrays(dtype, shape, elements=st.floats(-40, 40, width=32)))
    nd = max(len(shape), 1)
    dim = draw(st.integers(-nd, nd - 1))
    return x, dim


@given(array_and_dim())
def test_matches_reference(xd):
    x, dim = xd
    g = np.sin(np.arange(x.size)).reshape(x.shape).astype(x.dtype)
    _check_all(x, dim, g)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("dim", [0, 1, 2, -1, -2, -3])
def test_every_dim_3d_and_non_contiguous(dtype, dim):
    rng = np.random.default_rng(abs(dim))
    x = (rng.standard_normal((6, 50, 9)) * 5).astype(dtype)
    g = rng.standard_normal(x.shape).astype(dtype)
    _check_all(x, dim, g)
    _check_all(x.transpose(2, 0, 1), dim, g.transpose(2, 0, 1))
    _check_all(x[::2, ::3], dim, g[::2, ::3])


@pytest.mark.parametrize("shape,dim", [((300, 200), -1), ((300, 200), 0), ((40, 30, 50), 1)])
def test_parallel_kernels(shape, dim, monkeypatch):
    monkeypatch.setattr(S, "PAR_MIN_ELEMENTS", 0)
    rng = np.random.default_rng(3)
    x = (rng.standard_normal(shape) * 4).astype(np.float32)
    _check_all(x, dim, rng.standard_normal(shape).astype(np.float32))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("dim", [1, 0])
def test_infinities_and_nan_like_torch(dtype, dim):
    x = np.array([[-np.inf, -np.inf, -np.inf], [np.inf, 1.0, 2.0], [np.nan, 1.0, 2.0],
                  [0.0, -np.inf, 1.0], [1e30, -1e30, 0.0]], dtype)
    if dim == 0:
        x = np.ascontiguousarray(x.T)
    s = K.softmax(x, dim)
    ls = K.log_softmax(x, dim)
    lse = K.logsumexp(x, dim)
    take = (lambda a, i: a[i]) if dim == 1 else (lambda a, i: a[:, i])
    assert np.isnan(take(s, 0)).all() and np.isnan(take(ls, 0)).all() and lse[0] == -np.inf
    assert np.isnan(take(s, 1)).all() and lse[1] == np.inf
    assert np.isnan(take(s, 2)).all() and np.isnan(lse[2])
    np.testing.assert_allclose(take(s, 3), np.exp([0 - np.log1p(np.e), -np.inf, 1 - np.log1p(np.e)]), rtol=1e-6)
    assert take(ls, 3)[1] == -np.inf
    np.testing.assert_allclose(take(s, 4), [1, 0, 0])
    assert lse[4] == dtype(1e30)


def test_errors_and_empty():
    with pytest.raises(IndexError, match="dim 2 out of range"):
        K.softmax(np.ones((2, 3)), 2)
    with pytest.raises(ValueError, match="grad shape"):
        K.softmax_backward(np.ones((2, 3)), np.ones((3, 2)), 1)
    assert K.logsumexp(np.ones((3, 0)), 1).tolist() == [-np.inf] * 3
    assert K.softmax(np.ones((0, 4), np.float32), 1).shape == (0, 4)
    assert K.softmax(np.float32(3.0), 0) == 1.0


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("dim", [0, 1, 2, -1])
def test_against_torch(dtype, dim):
    torch = pytest.importorskip("torch", reason="PyTorch not installed: comparison with PyTorch skipped")
    rng = np.random.default_rng(7)
    x = (rng.standard_normal((5, 17, 6)) * 6).astype(dtype)
    g = rng.standard_normal(x.shape).astype(dtype)
    tol = _tol(dtype)
    for f, fb, tf in ((K.softmax, K.softmax_backward, torch.softmax), (K.log_softmax, K.log_softmax_backward, torch.log_softmax)):
        tx = torch.from_numpy(x.copy()).requires_grad_()
        ty = tf(tx, dim)
        (tg,) = torch.autograd.grad(ty, tx, torch.from_numpy(g))
        y = f(x, dim)
        np.testing.assert_allclose(y, ty.detach().numpy(), **tol)
        np.testing.assert_allclose(fb(g, y, dim), tg.numpy(), **tol)
    for keepdim in (False, True):
        np.testing.assert_allclose(K.logsumexp(x, dim, keepdim), torch.logsumexp(torch.from_numpy(x), dim, keepdim).numpy(), **tol)
