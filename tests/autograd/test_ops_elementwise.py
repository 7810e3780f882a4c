"""Elementwise ops: values and gradients against PyTorch, float32 and float64, broadcasting."""
import pytest
from hypothesis import given, strategies as st

from strategies import OPS, compare_with_torch

torch = pytest.importorskip("torch", reason="PyTorch is the oracle for these comparisons")

SPECS = [s for s in OPS if s.cat == "elementwise"]


@pytest.mark.parametrize("spec", SPECS, ids=repr)
@given(data=st.data())
def test_matches_torch(spec, data):
    compare_with_torch(spec, data, torch)


# ----------------------------------------------------------------------------- mixed dtypes
import numpy as np  # noqa: E402
from hypothesis.extra import numpy as hnp  # noqa: E402

import numbagrad.autograd as ag  # noqa: E402
from strategies import AG, Namespace, dtype_name, make_inputs, to_numpy  # noqa: E402

T = Namespace(torch, torch.nn.functional, is_torch=True)
MIXED = {"+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b,
         "/": lambda a, b: a / b, "maximum": lambda a, b: (AG if isinstance(a, AG.lib.Tensor)
                                                           else T).maximum(a, b),
         "where": lambda a, b: (AG if isinstance(a, AG.lib.Tensor) else T).where(a > 0, a, b)}


def _mixed_case(draw, same_rank_class):
    da, db = (draw(st.sampled_from([np.float32, np.float64, np.int64])) for _ in range(2))
    sa, sb = draw(hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=1, max_dims=3,
                                                    max_side=3)).input_shapes
    if not same_rank_class:
        sa, sb = (), sb
    vals = lambda d, s: draw(hnp.arrays(d, s, elements=st.integers(1, 5) if d == np.int64  # noqa
                                        else st.floats(0.5, 3.0)))
    return vals(da, sa), vals(db, sb)


def _check_mixed(name, a, b):
    fn = MIXED[name]
    outs = []
    for L in (AG, T):
        xa, xb = make_inputs(L, [a, b])
        out = fn(xa, xb)
        assert dtype_name(out) is not None
        grads = None
        if out.requires_grad:
            out.sum().backward()
            grads = [to_numpy(x.grad) if x.requires_grad else None for x in (xa, xb)]
        outs.append((dtype_name(out), to_numpy(out), grads,
                     [dtype_name(x.grad) if x.requires_grad else None for x in (xa, xb)]))
    (da, va, ga, gda), (dt, vt, gt, gdt) = outs
    assert da == dt, f"result dtype {da} vs torch {dt}"
    np.testing.assert_allclose(va, vt, rtol=1e-6)
    assert gda == gdt, "gradient dtypes follow their inputs"
    if gt is not None:
        for x, y in zip(ga, gt):
            if y is not None:
                np.testing.assert_allclose(x, y, rtol=1e-6)


@pytest.mark.parametrize("name", sorted(MIXED))
@given(data=st.data())
def test_mixed_dtype_promotion_between_dimensioned_tensors(name, data):
    a, b = _mixed_case(data.draw, True)
    _check_mixed(name, a, b)


@pytest.mark.parametrize("name", sorted(MIXED))
@pytest.mark.parametrize("swap", [False, True])
def test_mixed_dtype_promotion_with_zero_dim_tensor(name, swap):
    # PyTorch: a 0-d tensor does not widen a dimensioned tensor of the same category
    a, b = np.array([1.0, 2.0], dtype=np.float32), np.array(2.0)
    _check_mixed(name, *((b, a) if swap else (a, b)))


def test_recorded_gradient_takes_its_inputs_dtype():
    t = ag.ones(2, requires_grad=True)
    s = ag.tensor(2.0, dtype=ag.float64, requires_grad=True)
    gt, gs = ag.grad((t * s).sum(), [t, s], create_graph=True)
    assert gt.dtype == ag.float32 and gs.dtype == ag.float64


def test_zero_dim_int_and_float_promotion():
    # a 0-d tensor of a higher category (float vs int) does promote, as in PyTorch
    _check_mixed("*", np.array([1, 2]), np.array(2.5, dtype=np.float64))
    _check_mixed("+", np.array([1, 2]), np.array(2.5, dtype=np.float32))
