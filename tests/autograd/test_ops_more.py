"""More ops (inverse trig/hyperbolic, cumprod, median, roll, diagonals, einsum, distances...):
values and gradients against PyTorch, float32 and float64, broadcasting; then edge cases."""
import warnings

import numpy as np
import pytest
from hypothesis import given, strategies as st

import numbagrad.autograd as ag
import numbagrad.nn.functional as F
from strategies import OPS, compare_with_torch

torch = pytest.importorskip("torch", reason="PyTorch is the oracle for these comparisons")

SPECS = [s for s in OPS if s.cat == "more"]


@pytest.mark.parametrize("spec", SPECS, ids=repr)
@given(data=st.data())
def test_matches_torch(spec, data):
    compare_with_torch(spec, data, torch)


# ----------------------------------------------------------------------------- helpers
def _pair(a, dtype=None):
    """The same values as a numbagrad and a torch leaf."""
    a = np.asarray(a, dtype=dtype)
    return ag.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)


def _close(x, t, **kw):
    xv = x.detach().numpy() if hasattr(x, "detach") else np.asarray(x)
    np.testing.assert_allclose(xv, t.detach().numpy(force=True), equal_nan=True, **kw)


# ----------------------------------------------------------------------------- cumprod with zeros
CUMPROD_ZEROS = [
    [2.0, 0.0, 3.0, 4.0],            # one zero inside
    [0.0, 2.0, 3.0],                 # zero first
    [2.0, 3.0, 0.0],                 # zero last
    [1.5, 0.0, 2.0, 0.0, 3.0],       # two zeros
    [0.0, 0.0, 0.0],                 # only zeros
    [[2.0, 0.0, 3.0], [0.0, 1.5, 2.0], [1.0, 2.0, 3.0]],
]


@pytest.mark.parametrize("values", CUMPROD_ZEROS, ids=str)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_cumprod_gradient_with_zeros_matches_torch(values, dtype):
    a = np.asarray(values, dtype=dtype)
    rng = np.random.default_rng(0)
    for dim in range(a.ndim):
        g = rng.standard_normal(a.shape).astype(dtype)
        x, t = _pair(a)
        ag.cumprod(x, dim).backward(ag.tensor(g))  # array fast path
        torch.cumprod(t, dim).backward(torch.tensor(g))
        _close(x.grad, t.grad, rtol=1e-5, atol=1e-6)
        # the recorded (create_graph) path, and its own gradient (second order)
        x, t = _pair(a)
        (gx,) = ag.grad(ag.cumprod(x, dim), [x], [ag.tensor(g)], create_graph=True)
        (gt,) = torch.autograd.grad(torch.cumprod(t, dim), [t], [torch.tensor(g)],
                                    create_graph=True)
        _close(gx, gt, rtol=1e-5, atol=1e-6)
        w = rng.standard_normal(a.shape).astype(dtype)
        (ggx,) = ag.grad((gx * ag.tensor(w)).sum(), [x])
        (ggt,) = torch.autograd.grad((gt * torch.tensor(w)).sum(), [t])
        _close(ggx, ggt, rtol=1e-5, atol=1e-6)


def test_cumprod_with_zeros_passes_gradcheck_and_gradgradcheck():
    x = ag.tensor([[1.5, 0.0, 2.0, 0.0], [0.0, -1.0, 0.5, 2.0]], dtype=ag.float64,
                  requires_grad=True)
    for dim in (0, 1):
        assert ag.gradcheck(lambda z: ag.cumprod(z, dim), (x,))
        assert ag.gradgradcheck(lambda z: ag.cumprod(z, dim), (x,))


def test_cumprod_integer_and_dtype():
    assert ag.cumprod(ag.tensor([1, 2, 3]), 0).tolist() == [1, 2, 6]
    assert ag.cumprod(ag.tensor([1, 2, 3]), 0).dtype == ag.int64
    assert ag.cumprod(ag.tensor([1.0, 2.0]), 0, dtype=ag.float64).dtype == ag.float64


# ----------------------------------------------------------------------------- median
MEDIAN_CASES = [
    [1.0, 2.0, 3.0, 4.0],                 # even length: the lower middle value
    [4.0, 1.0, 3.0, 2.0, 5.0, 0.5],
    [1.0, 2.0, 2.0, 2.0, 4.0],            # ties at the median
    [3.0, 1.0, 1.0, 2.0, 1.0],
    [2.0, 2.0],
    [[3.0, 1.0, 1.0, 2.0], [2.0, 2.0, 5.0, 2.0], [0.0, 1.0, 0.0, 1.0]],
    [[1.0, np.nan, 3.0], [2.0, 1.0, 0.0]],  # a NaN is the median
    [7.0],
]


@pytest.mark.parametrize("values", MEDIAN_CASES, ids=str)
def test_median_ties_even_lengths_nan_match_torch(values):
    a = np.asarray(values, dtype=np.float32)
    rng = np.random.default_rng(1)
    x, t = _pair(a)
    ag.median(x).backward()
    torch.median(t).backward()
    _close(ag.median(x), torch.median(t))
    _close(x.grad, t.grad)  # ties share the gradient of the full reduction evenly
    for dim in range(-a.ndim, a.ndim):
        for keepdim in (False, True):
            x, t = _pair(a)
            va, ia = ag.median(x, dim, keepdim)
            vt, it = torch.median(t, dim, keepdim)
            _close(va, vt)
            np.testing.assert_array_equal(ia.numpy(), it.numpy())  # the same element picked
            g = rng.standard_normal(vt.shape).astype(np.float32)
            va.backward(ag.tensor(g))
            vt.backward(torch.tensor(g))
            _close(x.grad, t.grad)  # the whole gradient goes to the selected element
    res = ag.median(ag.tensor(a), -1)
    assert type(res).__name__ == "median" and res.values is res[0] and res.indices is res[1]


def test_median_integer_zero_dim_and_empty():
    assert ag.median(ag.tensor([3, 1, 4, 2])).item() == 2
    assert ag.median(ag.tensor([3, 1, 4, 2])).dtype == ag.int64
    v, i = ag.median(ag.tensor(3.0), 0)
    assert v.item() == 3.0 and i.item() == 0
    assert np.isnan(ag.median(ag.zeros(0)).item())  # as torch: NaN
    with pytest.raises(IndexError, match="median"):
        ag.median(ag.zeros(0, 3), 0)
    assert ag.median(ag.zeros(0, 3), 1).values.shape == (0,)


# ----------------------------------------------------------------------------- domains, dtypes
DOMAIN = [-2.0, -1.0, -0.5, 0.0, 0.5, 1.0, 2.0, np.inf, -np.inf, np.nan]


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("name", ["asin", "acos", "atan", "sinh", "cosh", "asinh", "acosh",
                                  "atanh", "exp2", "erfc", "frac", "sgn"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_domain_edges_match_torch(name, dtype):
    # outside the domain (acosh(0.5), atanh(2), asin(2)) NaN; atanh(+-1) = +-inf; gradients at
    # the edges (inf, nan) as torch's
    x, t = _pair(DOMAIN, dtype)
    ya, yt = getattr(ag, name)(x), getattr(torch, name)(t)
    assert str(yt.dtype).endswith(np.dtype(dtype).name) and ya.dtype == dtype
    _close(ya, yt, rtol=1e-6)
    ya.sum().backward()
    yt.sum().backward()
    _close(x.grad, t.grad, rtol=1e-6)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_nan_to_num_defaults_match_torch(dtype):
    a = np.array([np.nan, np.inf, -np.inf, 1.5, -0.0], dtype=dtype)
    for kw in ({}, {"nan": 2.0}, {"posinf": 1e3}, {"neginf": -7.0}, {"nan": -1.0, "posinf": 5.0,
                                                                        "neginf": -5.0}):
        x, t = _pair(a)
        ya, yt = ag.nan_to_num(x, **kw), torch.nan_to_num(t, **kw)
        np.testing.assert_array_equal(ya.detach().numpy(), yt.detach().numpy())
        assert ya.dtype == dtype
        ya.sum().backward()
        yt.sum().backward()
        np.testing.assert_array_equal(x.grad.numpy(), t.grad.numpy())  # 0 where not finite
    assert ag.nan_to_num(ag.tensor([1, 2])).tolist() == [1, 2]
    assert ag.tensor(a).nan_to_num().numpy()[1] == np.finfo(dtype).max


def test_dtype_rules_match_torch():
    cases = [
        lambda L: L.atan2(L.tensor([1, 2]), L.tensor([3, 4])),
        lambda L: L.atan2(L.tensor([1.0], dtype=L.float64), L.tensor(2.0)),
        lambda L: L.atan2(L.tensor([1.0]), L.tensor(2.0, dtype=L.float64)),
        lambda L: L.xlogy(L.tensor([0, 2]), L.tensor([0, 3])),
        lambda L: L.xlogy(L.tensor([0.0, 2.0]), 2.0),
        lambda L: L.xlogy(2.0, L.tensor([0.0, 2.0])),
        lambda L: L.xlogy(L.tensor([0.0, 0.0, 1.0]), L.tensor([np.nan, 0.0, 0.0])),
        lambda L: L.exp2(L.tensor([1, 2])), lambda L: L.erfc(L.tensor([1, 2])),
        lambda L: L.asin(L.tensor([0, 1])), lambda L: L.sgn(L.tensor([1, -2, 0])),
        lambda L: L.logaddexp(L.tensor([1.0], dtype=L.float64), L.tensor([2.0])),
        lambda L: L.hypot(L.tensor([3.0]), L.tensor([4.0], dtype=L.float64)),
    ]
    for f in cases:
        a, t = f(ag), f(torch)
        assert str(a.dtype).split(".")[-1] == str(t.dtype).split(".")[-1], (a, t)
        np.testing.assert_allclose(a.numpy(), t.numpy(), rtol=1e-6, equal_nan=True)


def test_erfc_is_accurate_in_the_tail():
    a = np.array([3.0, 6.0, 10.0, 20.0, -5.0])
    np.testing.assert_allclose(ag.erfc(ag.tensor(a)).numpy(), torch.erfc(torch.tensor(a)).numpy(),
                               rtol=1e-12)


def test_errors_match_torch():
    x = ag.tensor([1.0, 2.0])
    with pytest.raises(TypeError, match="hypot"):
        ag.hypot(x, 2.0)
    with pytest.raises(TypeError, match="atan2"):
        ag.atan2(x, 2.0)
    with pytest.raises(TypeError, match="logaddexp"):
        ag.logaddexp(x, 2.0)
    with pytest.raises(NotImplementedError, match="hypot"):
        ag.hypot(ag.tensor([1, 2]), ag.tensor([3, 4]))
    with pytest.raises(NotImplementedError, match="frac"):
        ag.frac(ag.tensor([1, 2]))
    with pytest.raises(RuntimeError, match="shifts and dimensions must align"):
        ag.roll(ag.ones(2, 2), (1, 1), 0)
    with pytest.raises(RuntimeError, match="Supports 1D or 2D"):
        ag.diag(ag.tensor(1.0))
    with pytest.raises(RuntimeError, match="diagonal dimensions cannot be identical"):
        ag.diagonal(ag.ones(2, 3, 4), 0, 1, 1)
    with pytest.raises(RuntimeError, match="trace: expected a matrix"):
        ag.trace(x)
    with pytest.raises(RuntimeError, match="contracted dimensions need to match"):
        ag.tensordot(ag.ones(2, 3), ag.ones(4, 2), dims=1)
    with pytest.raises(RuntimeError, match="must have length 3"):
        ag.cross(ag.ones(2, 4), ag.ones(2, 4), dim=1)
    with pytest.raises(RuntimeError, match="same number of dimensions"):
        ag.cross(ag.ones(2, 3), ag.ones(4, 1, 3), dim=-1)
    with pytest.raises(RuntimeError, match="repeats must have the same size"):
        ag.repeat_interleave(ag.ones(2, 2), ag.tensor([1, 2]))
    with pytest.raises(RuntimeError, match="same dtype"):
        ag.meshgrid(ag.tensor([1, 2]), ag.tensor([1.0]), indexing="ij")
    with pytest.raises(RuntimeError, match="at least 2D"):
        ag.cdist(ag.ones(3), ag.ones(3))
    with pytest.raises(RuntimeError, match="same number of columns"):
        ag.cdist(ag.ones(2, 3), ag.ones(2, 4))


def test_deprecation_warnings_as_torch():
    with pytest.warns(UserWarning, match="indexing argument"):
        ag.meshgrid(ag.tensor([1, 2]), ag.tensor([3, 4, 5]))
    with pytest.warns(UserWarning, match="without specifying the dim"):
        out = ag.cross(ag.ones(2, 3), ag.tensor([[1.0, 0.0, 0.0]] * 2))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = torch.cross(torch.ones(2, 3), torch.tensor([[1.0, 0.0, 0.0]] * 2))
    _close(out, ref)


def test_repeat_interleave_counts_and_int_repeats():
    assert ag.repeat_interleave(ag.tensor([1, 3])).tolist() == [0, 1, 1, 1]
    x = ag.tensor([[1, 2], [3, 4]])
    assert ag.repeat_interleave(x, 2).tolist() == [1, 1, 2, 2, 3, 3, 4, 4]
    assert x.repeat_interleave(ag.tensor([2]), dim=0).tolist() == [[1, 2], [1, 2], [3, 4],
                                                                    [3, 4]]


def test_tensor_methods_exist_like_torch():
    names = ["arcsin", "arccos", "arctan", "arcsinh", "arccosh", "arctanh", "arctan2", "asin",
             "acos", "atan", "sinh", "cosh", "asinh", "acosh", "atanh", "atan2", "hypot",
             "logaddexp", "xlogy", "exp2", "erfc", "sgn", "frac", "nan_to_num", "cumprod",
             "roll", "diag", "diagonal", "trace", "tile", "repeat_interleave", "kron", "cross",
             "median"]
    for n in names:
        assert hasattr(torch.Tensor, n) and hasattr(ag.Tensor, n), n


# ----------------------------------------------------------------------------- einsum
@pytest.mark.parametrize("eq, shapes, message", [
    ("ij,jk", [(2, 3)], "fewer operands"),
    ("ij", [(2, 3), (3,)], "more operands"),
    ("ij", [(2,)], "number of subscripts"),
    ("i1->i", [(2, 3)], "invalid subscript"),
    ("ij->i->j", [(2, 3)], "more than one '->'"),
    ("i..j", [(2, 3)], "not part of any ellipsis"),
    ("...i...", [(2, 3)], "more than one ellipsis"),
    ("ij->jj", [(2, 3)], "appears more than once in the output"),
    ("ij->k", [(2, 3)], "does not appear in the equation"),
    ("ii->i", [(2, 3)], "repeated for operand 0 but the sizes don't match"),
    ("ij,jk->ik", [(2, 3), (4, 5)], "does not broadcast"),
    ("", [(2, 3)], "number of subscripts"),
])
def test_einsum_malformed_equations_raise_clear_errors(eq, shapes, message):
    ops = [ag.ones(*s) for s in shapes]
    with pytest.raises(RuntimeError, match="einsum\\(\\): .*" + message):
        ag.einsum(eq, *ops)
    with pytest.raises(RuntimeError):  # torch rejects each of them too
        torch.einsum(eq, *[torch.ones(*s) for s in shapes])


def test_einsum_mixed_dtypes_raise():
    with pytest.raises(RuntimeError, match="same dtype"):
        ag.einsum("i,i", ag.ones(2), ag.ones(2, dtype=ag.float64))


@pytest.mark.parametrize("eq, shapes", [
    ("ij,jk->ik", [(3, 4), (4, 2)]), ("bn,anm,bm->ba", [(2, 3), (4, 3, 5), (2, 5)]),
    ("...ij,...jk", [(2, 1, 3, 4), (3, 4, 2)]), ("iij,j->i", [(3, 3, 2), (2,)]),
    ("i,i", [(1,), (4,)]), ("ab,ba->", [(3, 3), (3, 3)]),
])
def test_einsum_second_order_matches_torch(eq, shapes):
    rng = np.random.default_rng(2)
    arrs = [rng.standard_normal(s) for s in shapes]
    xs = [ag.tensor(a, requires_grad=True) for a in arrs]
    ts = [torch.tensor(a, requires_grad=True) for a in arrs]
    ya, yt = ag.einsum(eq, *xs), torch.einsum(eq, *ts)
    _close(ya, yt, rtol=1e-10)
    g = rng.standard_normal(tuple(yt.shape))
    ga = ag.grad(ya, xs, ag.tensor(g), create_graph=True)
    gt = torch.autograd.grad(yt, ts, torch.tensor(g), create_graph=True)
    for a, t in zip(ga, gt):
        _close(a, t, rtol=1e-10)
    la = sum((a * a).sum() for a in ga)
    lt = sum((t * t).sum() for t in gt)
    for a, t in zip(ag.grad(la, xs), torch.autograd.grad(lt, ts)):
        _close(a, t, rtol=1e-9)


# ----------------------------------------------------------------------------- distances
def test_cosine_similarity_zero_vector_and_eps_as_torch():
    a = np.array([[0.0, 0.0, 0.0], [1.0, 2.0, 3.0], [1e-9, 0.0, 0.0]])
    b = np.array([[1.0, 1.0, 1.0], [0.0, 0.0, 0.0], [2.0, -1.0, 0.5]])
    for dtype in (np.float32, np.float64):
        x1, t1 = _pair(a, dtype)
        x2, t2 = _pair(b, dtype)
        ya = F.cosine_similarity(x1, x2)
        yt = torch.nn.functional.cosine_similarity(t1, t2)
        _close(ya, yt, rtol=1e-5, atol=1e-7)
        ya.sum().backward()
        yt.sum().backward()
        _close(x1.grad, t1.grad, rtol=1e-4, atol=1e-6)
        _close(x2.grad, t2.grad, rtol=1e-4, atol=1e-6)
    with pytest.raises(RuntimeError, match="floating point"):
        F.cosine_similarity(ag.tensor([1, 2]), ag.tensor([1, 3]), dim=0)


def test_cdist_larger_inputs_and_pairwise_defaults_match_torch():
    rng = np.random.default_rng(3)
    a, b = rng.standard_normal((30, 5)), rng.standard_normal((2, 27, 5))
    for p in (2.0, 1.0, float("inf"), 0.5):
        x1, t1 = _pair(a)
        x2, t2 = _pair(b)
        ya, yt = ag.cdist(x1, x2, p=p), torch.cdist(t1, t2, p=p)
        _close(ya, yt, rtol=1e-6)  # torch uses a matrix product here for p = 2: close, not equal
        ya.sum().backward()
        yt.sum().backward()
        _close(x1.grad, t1.grad, rtol=1e-5, atol=1e-8)
        _close(x2.grad, t2.grad, rtol=1e-5, atol=1e-8)
    x, t = ag.ones(2, 3), torch.ones(2, 3)
    _close(F.pairwise_distance(x, ag.zeros(3)), torch.nn.functional.pairwise_distance(
        t, torch.zeros(3)))
    _close(F.pairwise_distance(ag.tensor(1.0), ag.tensor(3.0)),
           torch.nn.functional.pairwise_distance(torch.tensor(1.0), torch.tensor(3.0)))
