"""numpy's OpenBLAS axpy through ctypes (kernels/blas.py) and the plain-SGD path that uses it."""
import numpy as np
import pytest

from numbagrad.autograd.kernels import blas


def _numpy_uses_openblas():
    from threadpoolctl import threadpool_info
    return any(i.get("internal_api") == "openblas" for i in threadpool_info())


def test_found_where_numpy_uses_openblas():
    # numpy's wheels bundle OpenBLAS: on such a machine (this one, CI) the lookup must succeed
    assert blas.available() == _numpy_uses_openblas()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n", [1, 17, 100_003, 1 << 20])
def test_axpy_is_y_plus_alpha_x_rounded_once(dtype, n):
    if not blas.available():
        pytest.fail("no BLAS axpy found although numpy uses OpenBLAS" if _numpy_uses_openblas()
                    else "numpy does not use OpenBLAS here")
    rng = np.random.default_rng(n)
    x = rng.standard_normal(n).astype(dtype)
    y = rng.standard_normal(n).astype(dtype)
    alpha = dtype(-0.0123)
    exact = y.astype(np.longdouble) + np.longdouble(alpha) * x.astype(np.longdouble)
    out = y.copy()
    assert blas.axpy_(alpha, x, out) is True
    # with or without a fused multiply-add: within one rounding of each step of the exact value
    err = np.abs(out.astype(np.longdouble) - exact)
    bound = 2 * np.spacing(np.maximum(np.abs(y), np.abs(alpha * x)).astype(dtype)).astype(np.longdouble)
    assert np.all(err <= bound)
    np.testing.assert_allclose(out, y + alpha * x, rtol=0, atol=float(np.max(bound)))


def test_axpy_rejects_mismatched_arrays():
    if not blas.available():
        pytest.fail("no BLAS axpy found")
    y = np.zeros(4, np.float32)
    for x, yy in [(np.zeros(5, np.float32), y), (np.zeros(4, np.float64), y),
                  (np.zeros(8, np.float32)[::2], y), (np.zeros(4, np.float32), np.zeros((2, 2), np.float32))]:
        with pytest.raises(ValueError, match="axpy_"):
            blas.axpy_(1.0, x, yy)
    ro = np.zeros(4, np.float32)
    ro.flags.writeable = False
    with pytest.raises(ValueError, match="writeable"):
        blas.axpy_(1.0, np.ones(4, np.float32), ro)


def test_unavailable_means_false_and_untouched(monkeypatch):
    monkeypatch.setattr(blas, "_funcs", {})
    y = np.ones(3, np.float32)
    assert blas.axpy_(2.0, np.ones(3, np.float32), y) is False
    assert np.all(y == 1)


@pytest.mark.parametrize("found", [True, False])
def test_large_plain_sgd_through_axpy_matches_torch(found, monkeypatch):
    torch = pytest.importorskip("torch")
    import numbagrad.autograd as ag
    from numbagrad import optim
    from numbagrad.autograd import fused

    fused._kernels()
    calls = []
    real = fused._axpy_

    def spy(a, x, y):
        calls.append(x.size)
        return real(a, x, y) if found else False

    monkeypatch.setattr(fused, "_axpy_", spy)
    rng = np.random.default_rng(0)
    for dtype, tol in ((np.float64, 1e-13), (np.float32, 2e-6)):
        w0 = rng.standard_normal((700, 1000)).astype(dtype)  # 700k elements >= AXPY_MIN
        b0 = rng.standard_normal(1000).astype(dtype)  # small: the numba kernel
        p, b = ag.tensor(w0.copy(), requires_grad=True), ag.tensor(b0.copy(), requires_grad=True)
        tp, tb = torch.tensor(w0.copy(), requires_grad=True), torch.tensor(b0.copy(), requires_grad=True)
        opt, topt = optim.SGD([p, b], lr=0.05), torch.optim.SGD([tp, tb], lr=0.05)
        calls.clear()
        for k in range(5):
            g, gb = np.cos(w0 * (k + 1)).astype(dtype), np.sin(b0 * (k + 1)).astype(dtype)
            p.grad, b.grad = ag.tensor(g), ag.tensor(gb)
            tp.grad, tb.grad = torch.tensor(g), torch.tensor(gb)
            opt.step()
            topt.step()
        assert calls == [w0.size] * 5
        np.testing.assert_allclose(p.detach().numpy(), tp.detach().numpy(), rtol=tol, atol=tol)
        np.testing.assert_allclose(b.detach().numpy(), tb.detach().numpy(), rtol=tol, atol=tol)
    # momentum, weight decay and maximize keep the one-pass numba kernel
    calls.clear()
    q = ag.tensor(np.ones((800, 800)), requires_grad=True)
    q.grad = ag.tensor(np.ones((800, 800)))
    for kw in (dict(momentum=0.9), dict(weight_decay=0.1), dict(maximize=True)):
        optim.SGD([q], lr=0.1, **kw).step()
    assert calls == []
