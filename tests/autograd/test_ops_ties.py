"""Kinks, ties and boundaries, chosen deliberately, against PyTorch's conventions.

max()/amax split the gradient evenly among tied maxima, max(dim) sends it to the returned
index, maximum/minimum split ties in half, clamp passes the gradient at its bounds, relu,
abs and leaky_relu have gradient 0 (or the slope) at 0, prod with zeros, pow at 0, std
of constant data.
"""
import numpy as np
import pytest

import numbagrad.autograd as ag
from strategies import AG, Namespace, outputs_of, to_numpy

torch = pytest.importorskip("torch", reason="PyTorch is the oracle for these comparisons")
T = Namespace(torch, torch.nn.functional, is_torch=True)

CASES = {
    "max_all_ties": (lambda L, x: L.max(x), [[1.0, 3.0, 3.0, 2.0]]),
    "min_all_ties": (lambda L, x: x.min(), [[1.0, 1.0, 3.0]]),
    "max_all_all_equal": (lambda L, x: L.max(x), [[[2.0, 2.0], [2.0, 2.0]]]),
    "max_dim_ties": (lambda L, x: L.max(x, 0), [[1.0, 3.0, 3.0, 2.0]]),
    "min_dim_ties": (lambda L, x: L.min(x, 1, keepdim=True), [[[1.0, 1.0, 3.0], [0.0, 0.0, 0.0]]]),
    "amax_ties": (lambda L, x: L.amax(x, 0), [[[1.0, 3.0], [3.0, 3.0]]]),
    "amin_ties": (lambda L, x: L.amin(x), [[1.0, 1.0, 3.0]]),
    "maximum_ties": (lambda L, x, y: L.maximum(x, y), [[1.0, 2.0], [1.0, 3.0]]),
    "minimum_ties": (lambda L, x, y: L.minimum(x, y), [[1.0, 2.0], [1.0, 3.0]]),
    "maximum_tie_broadcast": (lambda L, x, y: L.maximum(x, y), [[1.0, 2.0, 1.0], [1.0]]),
    "clamp_at_bounds": (lambda L, x: L.clamp(x, -1.0, 1.0), [[-1.0, 1.0, 0.0, 2.0, -3.0]]),
    "clamp_tensor_bounds_ties": (lambda L, x, lo, hi: L.clamp(x, lo, hi),
                                 [[-1.0, 1.0, 0.0, 2.0], [-1.0, -1.0, 0.0, 0.0],
                                  [1.0, 1.0, 0.0, 2.0]]),
    "clamp_min_tensor_tie": (lambda L, x, lo: L.clamp(x, min=lo), [[0.0, 1.0], [0.0, 0.5]]),
    "relu_at_0": (lambda L, x: L.relu(x), [[0.0, 1.0, -1.0]]),
    "abs_at_0": (lambda L, x: L.abs(x), [[0.0, 1.0, -1.0]]),
    "leaky_relu_at_0": (lambda L, x: L.leaky_relu(x, 0.1), [[0.0, 1.0, -1.0]]),
    "elu_at_0": (lambda L, x: L.elu(x), [[0.0, 1.0, -1.0]]),
    "prod_one_zero": (lambda L, x: L.prod(x), [[0.0, 2.0, 3.0]]),
    "prod_two_zeros": (lambda L, x: L.prod(x), [[0.0, 2.0, 0.0]]),
    "prod_dim_zeros": (lambda L, x: L.prod(x, 1),
                       [[[0.0, 2.0, 3.0], [0.0, 0.0, 1.0], [1.0, 2.0, 3.0]]]),
    "norm2_of_zero": (lambda L, x: L.norm(x), [[0.0, 0.0]]),
    "norm1_at_0": (lambda L, x: L.norm(x, 1), [[0.0, 1.0]]),
    "norm_inf_ties": (lambda L, x: L.norm(x, float("inf")), [[2.0, -2.0, 1.0]]),
    "pow_0_exponent": (lambda L, x: x ** 0, [[0.0, 1.0]]),
    "pow_2_at_0": (lambda L, x: x ** 2, [[0.0, 1.0]]),
    "pow_tensor_at_0": (lambda L, x, y: x ** y, [[0.0, 0.0, 2.0], [2.0, 0.0, 1.0]]),
    "zero_base_pow": (lambda L, x: 0.0 ** x, [[0.0, 1.0, 2.0]]),
    "sort_ties_values": (lambda L, x: L.sort(x)[0], [[1.0, 1.0, 0.0]]),
    "topk_ties_values": (lambda L, x: L.topk(x, 2)[0], [[1.0, 1.0, 0.0]]),
    "std_constant": (lambda L, x: L.std(x), [[1.0, 1.0, 1.0]]),
    "std_dim_partly_constant": (lambda L, x: L.std(x, 1), [[[1.0, 1.0], [1.0, 2.0]]]),
    "sign_grad": (lambda L, x: L.sign(x), [[0.0, 1.0, -1.0]]),
    "floor_grad": (lambda L, x: L.floor(x), [[0.5, 1.0, -1.0]]),
    "round_grad": (lambda L, x: L.round(x), [[0.5, 1.5, -1.0]]),
    "logsumexp_minus_inf": (lambda L, x: L.logsumexp(x, 0), [[-np.inf, 0.0, 1.0]]),
    "softmax_large": (lambda L, x: L.softmax(x, 0), [[1000.0, 0.0, -1000.0]]),
    "log_softmax_large": (lambda L, x: L.log_softmax(x, 0), [[1000.0, 0.0, -1000.0]]),
    "sigmoid_saturated": (lambda L, x: L.sigmoid(x), [[-100.0, 100.0, 0.0]]),
    "softplus_large": (lambda L, x: L.softplus(x), [[-100.0, 100.0, 20.0]]),
}


def _run(L, fn, arrays, dtype):
    xs = [L.tensor(np.array(a, dtype=dtype), requires_grad=True) for a in arrays]
    out = outputs_of(fn(L, *xs))[0]
    g = np.arange(1, int(np.prod(np.shape(to_numpy(out)))) + 1, dtype=dtype).reshape(
        np.shape(to_numpy(out)))
    out.backward(L.tensor(g))
    return to_numpy(out), [to_numpy(x.grad) if x.grad is not None else None for x in xs]


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", sorted(CASES))
def test_tie_and_kink_conventions_match_torch(name, dtype):
    fn, arrays = CASES[name]
    va, ga = _run(AG, fn, arrays, dtype)
    vt, gt = _run(T, fn, arrays, dtype)
    np.testing.assert_allclose(va, vt, rtol=1e-6, atol=1e-6, equal_nan=True)
    for k, (a, t) in enumerate(zip(ga, gt)):
        if t is None:
            assert a is None or not np.any(a)
            continue
        assert a is not None, f"input {k} got no gradient"
        np.testing.assert_allclose(a, t, rtol=1e-6, atol=1e-6, equal_nan=True,
                                   err_msg=f"gradient of input {k}")


def test_max_dim_indices_on_ties_are_a_maximum():
    # PyTorch documents no tie-breaking rule for max(dim) indices; the value at the index
    # must be the maximum, and the gradient goes to that one element
    x = ag.tensor([[1.0, 3.0, 3.0], [2.0, 2.0, 0.0]], requires_grad=True)
    v, i = x.max(1)
    assert np.all(np.take_along_axis(x.detach().numpy(), i.numpy()[:, None], 1)[:, 0]
                  == v.detach().numpy())
    v.sum().backward()
    assert x.grad.numpy().sum(1).tolist() == [1.0, 1.0]


# ----------------------------------------------------------------------------- special values
SPECIAL = np.array([np.inf, -np.inf, 0.0, -0.0, 1e30, -1e30, 88.0, -88.0, 1e-30, 50.0, -50.0])
F = torch.nn.functional
SPECIAL_OPS = {
    "relu": (ag.relu, torch.relu), "sigmoid": (ag.sigmoid, torch.sigmoid),
    "tanh": (ag.tanh, torch.tanh), "elu": (ag.elu, F.elu), "silu": (ag.silu, F.silu),
    "softplus": (ag.softplus, F.softplus), "leaky_relu": (ag.leaky_relu, F.leaky_relu),
    "gelu_tanh": (lambda x: ag.gelu(x[2:], approximate="tanh"),
                  lambda x: F.gelu(x[2:], approximate="tanh")),  # gelu(inf): torch gives nan
    "erf": (ag.erf, torch.erf), "exp": (ag.exp, torch.exp), "expm1": (ag.expm1, torch.expm1),
    "abs": (ag.abs, torch.abs), "sign": (ag.sign, torch.sign),
    "clamp": (lambda x: ag.clamp(x, -1, 1), lambda x: torch.clamp(x, -1, 1)),
    "softmax": (lambda x: ag.softmax(x[2:], 0), lambda x: torch.softmax(x[2:], 0)),
    "log_softmax": (lambda x: ag.log_softmax(x[2:], 0), lambda x: torch.log_softmax(x[2:], 0)),
    "logsumexp": (lambda x: ag.logsumexp(x, 0), lambda x: torch.logsumexp(x, 0)),
    "amax": (ag.amax, torch.amax), "sort": (lambda x: ag.sort(x)[0], lambda x: torch.sort(x)[0]),
    "cumsum": (lambda x: ag.cumsum(x, 0), lambda x: torch.cumsum(x, 0)),
    "maximum": (lambda x: ag.maximum(x, ag.zeros((), dtype=x.dtype)),
                lambda x: torch.maximum(x, torch.zeros((), dtype=x.dtype))),
}


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", sorted(SPECIAL_OPS))
def test_infinities_and_extremes_match_torch(name, dtype):
    fa, ft = SPECIAL_OPS[name]
    xa = ag.tensor(SPECIAL.astype(dtype), requires_grad=True)
    xt = torch.tensor(SPECIAL.astype(dtype), requires_grad=True)
    ya, yt = fa(xa), ft(xt)
    np.testing.assert_allclose(ya.detach().numpy(), yt.detach().numpy(), rtol=1e-5, atol=1e-6)
    g = np.linspace(0.5, 1.5, yt.numel()).reshape(tuple(yt.shape)).astype(dtype)
    ya.backward(ag.tensor(g))
    yt.backward(torch.tensor(g))
    np.testing.assert_allclose(xa.grad.numpy(), xt.grad.numpy(), rtol=1e-5, atol=1e-6)


NAN_CASES = {
    "sign_of_nan_is_0": lambda L, x: L.sign(x),
    "abs_grad_at_nan_is_0": lambda L, x: L.abs(x),
    "max_all_grad_goes_to_nan": lambda L, x: L.max(x),
    "maximum_grad_goes_to_nan": lambda L, x: L.maximum(x, L.zeros(())),
    "maximum_nan_on_the_right": lambda L, x: L.maximum(L.zeros(()), x),
    "minimum_grad_goes_to_nan": lambda L, x: L.minimum(x, L.zeros(())),
    "min_all_nan": lambda L, x: x.min(),
    "max_dim_nan": lambda L, x: L.max(x.reshape(1, 3), 1)[0],
    "sort_nan_last": lambda L, x: L.sort(x)[0],
    "relu_of_nan": lambda L, x: L.relu(x),
}


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("name", sorted(NAN_CASES))
def test_nan_conventions_match_torch(name):
    fn = NAN_CASES[name]
    vals = np.array([np.nan, 1.0, -2.0])
    res = []
    for L in (AG, T):
        x = L.tensor(vals, requires_grad=True)
        y = fn(L, x)
        y.sum().backward()
        res.append((to_numpy(y), to_numpy(x.grad)))
    np.testing.assert_allclose(res[0][0], res[1][0], equal_nan=True)
    np.testing.assert_allclose(res[0][1], res[1][1], equal_nan=True)
