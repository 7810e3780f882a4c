"""Reduction ops: values and gradients against PyTorch, float32 and float64, broadcasting."""
import pytest
from hypothesis import given, strategies as st

from strategies import OPS, compare_with_torch

torch = pytest.importorskip("torch", reason="PyTorch is the oracle for these comparisons")

SPECS = [s for s in OPS if s.cat == "reduction"]


@pytest.mark.parametrize("spec", SPECS, ids=repr)
@given(data=st.data())
def test_matches_torch(spec, data):
    compare_with_torch(spec, data, torch)


@pytest.mark.parametrize("name", ["sum", "mean", "var", "std", "norm", "amax", "amin",
                                  "sum_list"])
@pytest.mark.parametrize("keepdim", [False, True])
def test_empty_dim_tuple_reduces_everything_like_torch(name, keepdim):
    import numpy as np

    from strategies import AG, Namespace, to_numpy
    T = Namespace(torch, torch.nn.functional, is_torch=True)
    a = np.arange(6.0).reshape(2, 3)
    res = []
    for L in (AG, T):
        x = L.tensor(a, requires_grad=True)
        if name == "sum_list":
            y = x.sum([], keepdim=keepdim)
        elif name == "norm":
            y = L.norm(x, dim=(), keepdim=keepdim)
        else:
            y = getattr(L, name)(x, (), keepdim=keepdim)
        y.sum().backward()
        res.append((to_numpy(y), to_numpy(x.grad)))
    np.testing.assert_allclose(res[0][0], res[1][0])
    if name in ("var", "std"):  # torch 2.13's backward for dim=() is inf: check by hand
        d = a - a.mean()
        g = 2 * d / 5 if name == "var" else d / (5 * res[0][0].item())
        np.testing.assert_allclose(res[0][1], g)
    else:
        np.testing.assert_allclose(res[0][1], res[1][1])
