"""Activation kernels against float64 numpy references (and PyTorch where installed)."""
import math

import numpy as np
import pytest
from hypothesis import given, strategies as st
from hypothesis.extra import numpy as hnp

import numbagrad.autograd.kernels as K
from numbagrad.autograd.kernels import activations as A

# numba's pedantic SSA check warns when one vmath overload is inlined twice into a kernel (gelu);
# the kernel is correct (tested here). pytest resets the module-level filter, so repeat it.
pytestmark = pytest.mark.filterwarnings("ignore::numba.core.errors.NumbaIRAssumptionWarning")

DTYPES = [np.float32, np.float64]
_erf = np.vectorize(math.erf, otypes=[np.float64])
_erfc64 = np.vectorize(math.erfc, otypes=[np.float64])


def _sig(x):
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(-x))


def _gelu_tanh_parts(x):
    inner = 0.7978845608028654 * (x + 0.044715 * x ** 3)
    return inner, np.tanh(inner)


def _softplus(x, beta, thr):
    with np.errstate(over="ignore"):
        return np.where(x * beta > thr, x, np.log1p(np.exp(x * beta)) / beta)


def _softplus_grad(x, beta, thr):
    with np.errstate(over="ignore", invalid="ignore"):
        z = np.exp(x * beta)
        return np.where(x * beta > thr, 1.0, z / (z + 1))


# name -> (forward(x), backward(g, x_or_y), ref forward(x64), ref derivative(x64), backward takes output?)
CASES = {
    "relu": (K.relu, K.relu_backward, lambda x: np.maximum(x, 0), lambda x: (x > 0) * 1.0, False),
    "leaky_relu": (lambda x: K.leaky_relu(x, 0.2), lambda g, x: K.leaky_relu_backward(g, x, 0.2),
                   lambda x: np.where(x > 0, x, 0.2 * x), lambda x: np.where(x > 0, 1.0, 0.2), False),
    "sigmoid": (K.sigmoid, K.sigmoid_backward, _sig, lambda x: _sig(x) * (1 - _sig(x)), True),
    "tanh": (K.tanh, K.tanh_backward, np.tanh, lambda x: 1 - np.tanh(x) ** 2, True),
    "gelu": (K.gelu, K.gelu_backward, lambda x: 0.5 * x * (1 + _erf(x / math.sqrt(2))),
             lambda x: 0.5 * (1 + _erf(x / math.sqrt(2))) + x * np.exp(-0.5 * x * x) / math.sqrt(2 * math.pi), False),
    "gelu_tanh": (lambda x: K.gelu(x, "tanh"), lambda g, x: K.gelu_backward(g, x, "tanh"),
                  lambda x: 0.5 * x * (1 + _gelu_tanh_parts(x)[1]),
                  lambda x: 0.5 * (1 + _gelu_tanh_parts(x)[1]) + 0.5 * x * (1 - _gelu_tanh_parts(x)[1] ** 2)
                  * 0.7978845608028654 * (1 + 3 * 0.044715 * x * x), False),
    "elu": (lambda x: K.elu(x, 1.5), lambda g, x: K.elu_backward(g, x, 1.5),
            lambda x: np.where(x > 0, x, 1.5 * np.expm1(np.minimum(x, 0))), lambda x: np.where(x > 0, 1.0, 1.5 * np.exp(np.minimum(x, 0))), False),
    "silu": (K.silu, K.silu_backward, lambda x: x * _sig(x), lambda x: _sig(x) * (1 + x * (1 - _sig(x))), False),
    "softplus": (lambda x: K.softplus(x, 1.0, 20.0), lambda g, x: K.softplus_backward(g, x, 1.0, 20.0),
                 lambda x: _softplus(x, 1.0, 20.0), lambda x: _softplus_grad(x, 1.0, 20.0), False),
    # beta/threshold chosen so no test point sits on the threshold (x*beta rounds differently in float32)
    "softplus_beta": (lambda x: K.softplus(x, 2.3, 4.0), lambda g, x: K.softplus_backward(g, x, 2.3, 4.0),
                      lambda x: _softplus(x, 2.3, 4.0), lambda x: _softplus_grad(x, 2.3, 4.0), False),
}


def _tol(dtype):
    return dict(rtol=2e-6, atol=2e-6) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-13)


def _check(name, x, g):
    fwd, bwd, ref, dref, from_y = CASES[name]
    dtype = x.dtype
    y = fwd(x)
    assert y.dtype == dtype and y.shape == x.shape and y.flags.c_contiguous
    x64 = x.astype(np.float64)
    np.testing.assert_allclose(y, ref(x64), **_tol(dtype))
    gx = bwd(g, y if from_y else x)
    assert gx.dtype == dtype and gx.shape == x.shape
    if from_y:  # derivative expressed through the (rounded) output, as the kernel does
        y64 = y.astype(np.float64)
        d = y64 * (1 - y64) if name == "sigmoid" else 1 - y64 * y64
        np.testing.assert_allclose(gx, g.astype(np.float64) * d, **_tol(dtype))
    else:
        np.testing.assert_allclose(gx, g.astype(np.float64) * dref(x64), **_tol(dtype))


arrays = st.sampled_from(DTYPES).flatmap(
    lambda dt: hnp.arrays(dt, hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=6),
                          elements=st.floats(-12, 12, width=32)))


@pytest.mark.parametrize("name", sorted(CASES))
@given(x=arrays)
def test_matches_reference(name, x):
    g = np.linspace(-2, 2, x.size).reshape(x.shape).astype(x.dtype)
    _check(name, x, g)


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("dtype", DTYPES)
def test_dense_range_and_layouts(name, dtype):
    """Dense sweep over [-30, 30]; non-contiguous (transposed, strided) inputs; the parallel kernels."""
    x = np.linspace(-30, 30, 6001).astype(dtype)
    g = np.cos(np.arange(x.size)).astype(dtype)
    _check(name, x, g)
    x3 = x[:6000].reshape(10, 20, 30)
    g3 = g[:6000].reshape(10, 20, 30)
    _check(name, x3.transpose(2, 0, 1), g3.transpose(2, 0, 1))
    _check(name, x3[:, ::2, ::3], g3[:, ::2, ::3])


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("dtype", DTYPES)
def test_one_element_and_empty(name, dtype):
    for shape in [(), (1,), (1, 1, 1), (0,), (3, 0)]:
        x = np.full(shape, 0.75, dtype)
        _check(name, x, np.full(shape, -1.5, dtype))


@pytest.fixture(params=["numpy_tanh", "kernel_tanh"])
def tanh_path(request, monkeypatch):
    """Run a test both through numpy's tanh (small sizes) and through our tanh kernel."""
    if request.param == "kernel_tanh":
        monkeypatch.setattr(A, "TANH_NUMPY_BELOW", 0)
    return request.param


@pytest.mark.parametrize("dtype", DTYPES)
def test_tanh_kernel_and_numpy_paths(dtype, tanh_path):
    x = np.concatenate([np.linspace(-30, 30, 6001), [0.0, -0.0, 1e-30, -1e-30]]).astype(dtype)
    _check("tanh", x, np.cos(np.arange(x.size)).astype(dtype))
    t = K.tanh(np.array([np.inf, -np.inf, np.nan, -0.0, 1e-30], dtype))
    assert t[0] == 1 and t[1] == -1 and np.isnan(t[2]) and t[3] == 0 and np.signbit(t[3]) and t[4] == dtype(1e-30)


@pytest.mark.parametrize("name", ["relu", "sigmoid", "tanh", "gelu", "softplus"])
def test_parallel_path(name, monkeypatch):
    monkeypatch.setattr(A, "PAR_CHEAP", 0)
    monkeypatch.setattr(A, "PAR_EXP", 0)
    monkeypatch.setattr(A, "TANH_NUMPY_BELOW", 0)
    x = np.linspace(-20, 20, 4099).astype(np.float32)
    _check(name, x, np.sin(x))


@pytest.mark.parametrize("dtype", DTYPES)
def test_special_values(dtype):
    x = np.array([np.inf, -np.inf, np.nan, 0.0, -0.0, 1e30, -1e30], dtype)
    with np.errstate(all="ignore"):
        r = K.relu(x)
        assert np.array_equal(r, np.array([np.inf, 0, np.nan, 0, 0, 1e30, 0], dtype), equal_nan=True)
        assert np.signbit(r[4]) and not np.signbit(r[3])  # -0 -> -0 as torch.relu
        s = K.sigmoid(x)
        assert s[0] == 1 and s[1] == 0 and np.isnan(s[2]) and s[3] == 0.5 and s[5] == 1 and s[6] == 0
        t = K.tanh(x)
        assert t[0] == 1 and t[1] == -1 and np.isnan(t[2]) and t[3] == 0 and np.signbit(t[4])
        assert t[5] == 1 and t[6] == -1
        e = K.elu(x)
        assert e[0] == np.inf and e[1] == -1 and np.isnan(e[2]) and e[6] == -1
        sp = K.softplus(x)
        assert sp[0] == np.inf and sp[1] == 0 and np.isnan(sp[2]) and np.isclose(sp[3], math.log(2))
        gl = K.gelu(x)
        # as PyTorch's float64 gelu: inf -> inf, -inf -> NaN (-inf * 0), huge negative -> -0
        assert gl[0] == np.inf and np.isnan(gl[1]) and np.isnan(gl[2]) and gl[5] == x[5] and gl[6] == 0
        assert np.isnan(K.relu_backward(x, np.array([np.nan] * 7, dtype))).sum() == 1  # g=NaN at index 2


def test_dtypes_and_out():
    x = np.arange(-3, 3, dtype=np.int64)
    assert K.relu(x).dtype == np.float64
    assert K.sigmoid(x.astype(np.float16)).dtype == np.float32
    x32 = np.linspace(-1, 1, 12, dtype=np.float32).reshape(3, 4)
    out = np.empty((4, 3), np.float32).T  # non-contiguous out
    r = K.tanh(x32, out=out)
    assert r is out and np.allclose(out, np.tanh(x32), atol=1e-6)
    out2 = np.empty((3, 4), np.float32)
    assert K.sigmoid(x32, out=out2) is out2
    with pytest.raises(ValueError, match="out must be"):
        K.relu(x32, out=np.empty((3, 4), np.float64))
    with pytest.raises(ValueError, match="grad shape"):
        K.relu_backward(np.ones(3), np.ones(4))
    with pytest.raises(ValueError, match="approximate"):
        K.gelu(x32, approximate="fast")


@pytest.mark.parametrize("name", ["relu", "leaky_relu", "sigmoid", "tanh", "gelu", "gelu_tanh", "elu", "silu", "softplus"])
@pytest.mark.parametrize("dtype", DTYPES)
def test_against_torch(name, dtype):
    torch = pytest.importorskip("torch", reason="PyTorch not installed: comparison with PyTorch skipped")
    F = torch.nn.functional
    tf = {"relu": F.relu, "leaky_relu": lambda t: F.leaky_relu(t, 0.2), "sigmoid": torch.sigmoid,
          "tanh": torch.tanh, "gelu": F.gelu, "gelu_tanh": lambda t: F.gelu(t, approximate="tanh"),
          "elu": lambda t: F.elu(t, 1.5), "silu": F.silu, "softplus": F.softplus}[name]
    fwd, bwd, _, _, from_y = CASES[name]
    x = np.concatenate([np.linspace(-25, 25, 2001), [0.0, -0.0]]).astype(dtype)
    g = np.cos(np.arange(x.size)).astype(dtype)
    tx = torch.from_numpy(x.copy()).requires_grad_()
    ty = tf(tx)
    (tg,) = torch.autograd.grad(ty, tx, torch.from_numpy(g))
    y = fwd(x)
    gx = bwd(g, y if from_y else x)
    # atol: float32 gelu_tanh backward cancels near x = -5 (1 - tanh^2 of ~-9); both sides are ~1e-6 off
    tol = dict(rtol=1e-5, atol=3e-6) if dtype == np.float32 else dict(rtol=1e-11, atol=1e-13)
    np.testing.assert_allclose(y, ty.detach().numpy(), **tol)
    np.testing.assert_allclose(gx, tg.numpy(), **tol)


def _ulp32(got, ref):
    return np.abs(got.astype(np.float64) - ref) / np.spacing(np.abs(ref).astype(np.float32)).astype(np.float64)


def test_tanh_float32_ulp(monkeypatch):
    """The float32 tanh kernel: <= 2.25 ulp (measured 2.21 at x = -0.204) against long double."""
    monkeypatch.setattr(A, "TANH_NUMPY_BELOW", 0)
    x = np.concatenate([np.linspace(-12, 12, 1_200_001), np.linspace(-1e-3, 1e-3, 100_001),
                        [1e-30, -1e-30, 1e-45, 9.5, -9.5, 9.50001, 20.0, 1e30]]).astype(np.float32)
    got = K.tanh(x)
    ref = np.asarray(np.tanh(x.astype(np.longdouble)), np.float64)
    ok = ref != 0
    assert _ulp32(got[ok], ref[ok]).max() <= 2.25


def test_gelu_float32_accuracy():
    """float32 gelu and its derivative against float64 (x * Phi(x), Phi + x * phi), by region.

    Measured (x = linspace(-12, 12) + a dense patch at 0), max ulp; the erf-based kernel before it:
    gelu  x >= -1: 2.46 (erf form 3.75); [-5.6, -1): 41 (erf form 1.2e7: 1 + erf cancels);
    gelu' x >= -0.1: 1.63 (1.99); [-5.6, -1): 10.7 (5.2e5); max abs error 1.2e-7 (1.6e-7)."""
    x = np.concatenate([np.linspace(-12, 12, 1_200_001), np.linspace(-0.01, 0.01, 20_001)]).astype(np.float32)
    x64 = x.astype(np.float64)
    cdf = 0.5 * _erfc64(-x64 / math.sqrt(2))
    y = K.gelu(x)
    d = K.gelu_backward(np.ones_like(x), x)
    ref_y, ref_d = x64 * cdf, cdf + x64 * np.exp(-0.5 * x64 * x64) / math.sqrt(2 * math.pi)
    hi, mid, lo = x >= -1, (x >= -5.6) & (x < -1), x < -5.6
    assert _ulp32(y[hi], ref_y[hi]).max() <= 2.5
    assert _ulp32(y[mid], ref_y[mid]).max() <= 45
    assert np.abs(y[lo] - ref_y[lo]).max() <= 7e-8
    assert _ulp32(d[x >= -0.1], ref_d[x >= -0.1]).max() <= 1.75
    assert _ulp32(d[mid], ref_d[mid]).max() <= 12
    assert np.abs(d - ref_d).max() <= 1.3e-7


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(0,), (1,), (10,), (3, 7), (300, 200)])  # 60k: parallel path
def test_unchecked_relu_into_matches_relu(dtype, shape):
    rng = np.random.default_rng(len(shape))
    x = rng.standard_normal(shape).astype(dtype)
    x.flat[::7] = 0.0  # relu'(0) = 0
    if x.size > 2:
        x.flat[1], x.flat[2] = -0.0, np.nan
    g = rng.standard_normal(shape).astype(dtype)
    out = np.full(shape, 5.0, dtype)
    assert K.relu_into_(x, out) is out
    np.testing.assert_array_equal(out, K.relu(x))
    assert np.array_equal(np.signbit(out), np.signbit(K.relu(x)))  # -0 stays -0
    gout = np.full(shape, 5.0, dtype)
    assert K.relu_backward_into_(g, x, gout) is gout
    np.testing.assert_array_equal(gout, K.relu_backward(g, x))


def test_gelu_tanh_tail_keeps_its_small_values():
    # tanh(u) rounds to -1 in float32 below x ~ -5: x/2 (1 + tanh u) gave exactly 0 for the
    # value and the gradient (PyTorch: ~1e-6); the kernels use x * sigmoid(2u) instead
    x = np.array([-5.0625, -6.0, -7.5], np.float32)
    x64 = x.astype(np.float64)
    u = np.sqrt(2 / np.pi) * (x64 + 0.044715 * x64 ** 3)
    s = 1 / (1 + np.exp(-2 * u))  # = (1 + tanh u) / 2 without its cancellation, in float64
    ref, dref = x64 * s, s + 2 * x64 * s * (1 - s) * np.sqrt(2 / np.pi) * (1 + 3 * 0.044715 * x64 ** 2)
    y = K.gelu(x, approximate="tanh")
    gx = K.gelu_backward(np.ones_like(x), x, approximate="tanh")
    assert np.all(y < 0) and np.all(gx < 0)
    np.testing.assert_allclose(y, ref, rtol=1e-5)
    np.testing.assert_allclose(gx, dref, rtol=1e-5)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_gelu_parallel_twin_with_interleave_equals_serial(dtype):
    # the parallel gelu kernels are compiled with 4 vectors per iteration: same arithmetic
    x = np.random.default_rng(3).standard_normal(100_003).astype(dtype) * 4
    g = np.random.default_rng(4).standard_normal(x.size).astype(dtype)
    a, b = np.empty_like(x), np.empty_like(x)
    A._gelu(x, a, 0.0, 0.0)
    A._gelu_p(x, b, 0.0, 0.0)
    np.testing.assert_array_equal(a, b)
    A._gelu_bw(g, x, a, 0.0, 0.0)
    A._gelu_bw_p(g, x, b, 0.0, 0.0)
    np.testing.assert_array_equal(a, b)
