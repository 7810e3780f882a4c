"""Bad input raises a clear error naming the op and the offending shapes or dtypes."""
import numpy as np
import pytest
from hypothesis import given, strategies as st

import numbagrad.autograd as ag
from strategies import shapes


def _raises(exc, fn, *fragments):
    with pytest.raises(exc) as info:
        fn()
    msg = str(info.value)
    for f in fragments:
        assert f in msg, f"{f!r} not in error message {msg!r}"
    return msg


def test_matmul_names_both_shapes():
    _raises(RuntimeError, lambda: ag.randn(2, 3) @ ag.randn(4, 5), "matmul", "(2, 3)", "(4, 5)")
    _raises(RuntimeError, lambda: ag.matmul(ag.randn(2, 3), ag.randn(4)), "(2, 3)", "(4,)")
    _raises(RuntimeError, lambda: ag.randn(3) @ ag.randn(4, 2), "(3,)", "(4, 2)")
    _raises(RuntimeError, lambda: ag.bmm(ag.randn(2, 2, 3), ag.randn(3, 3, 5)),
            "(2, 2, 3)", "(3, 3, 5)")
    _raises(RuntimeError, lambda: ag.mm(ag.randn(2, 3, 1), ag.randn(4, 5)), "mm", "(2, 3, 1)")
    _raises(RuntimeError, lambda: ag.ops.linear(ag.randn(2, 3), ag.randn(4, 5)),
            "linear", "(2, 3)", "(4, 5)")


def test_matmul_of_0d_and_dtype_mismatch():
    with pytest.raises(RuntimeError, match="matmul"):
        ag.tensor(1.0) @ ag.randn(2)
    _raises(RuntimeError, lambda: ag.randn(2, dtype=ag.float64) @ ag.randn(2),
            "float64", "float32")


@pytest.mark.parametrize("shape", [(4, 2), (7,), (2, -1, 4), (-1, -1), (0,), (3, 3)])
def test_reshape_to_impossible_shape(shape):
    x = ag.randn(2, 3)
    with pytest.raises(RuntimeError, match=r"reshape|view") as info:
        x.reshape(*shape)
    assert "6" in str(info.value) or "inferred" in str(info.value)
    with pytest.raises(RuntimeError):
        x.view(shape)


def test_non_scalar_backward_without_gradient():
    y = ag.randn(2, 3, requires_grad=True).exp()
    _raises(RuntimeError, y.backward, "scalar", "(2, 3)")
    with pytest.raises(RuntimeError):
        y.backward(ag.ones(3, 2))  # a gradient of the wrong shape


def test_backward_on_tensor_without_grad():
    with pytest.raises(RuntimeError, match="grad"):
        ag.tensor(1.0).backward()


def test_int_tensor_requires_grad():
    _raises(RuntimeError, lambda: ag.tensor([1, 2], requires_grad=True), "floating", "int64")


def test_cat_and_stack_mismatched_shapes():
    _raises(RuntimeError, lambda: ag.cat([ag.randn(2, 3), ag.randn(2, 4)]), "cat",
            "[2, 3]", "[2, 4]")
    _raises(RuntimeError, lambda: ag.cat([ag.randn(2, 3), ag.randn(3)]), "cat")
    _raises(RuntimeError, lambda: ag.stack([ag.randn(2, 3), ag.randn(2, 4)]), "stack",
            "[2, 3]", "[2, 4]")
    with pytest.raises((RuntimeError, ValueError)):
        ag.cat([])


def test_gather_and_scatter_index_out_of_range():
    _raises(RuntimeError, lambda: ag.gather(ag.randn(2, 3), 1, ag.tensor([[0, 3]])),
            "gather", "3", "size 3")
    _raises(RuntimeError, lambda: ag.gather(ag.randn(2, 3), 1, ag.tensor([[0, -1]])),
            "gather", "index -1")  # PyTorch rejects negative indices here
    _raises(RuntimeError, lambda: ag.scatter_add(ag.zeros(3), 0, ag.tensor([5]), ag.ones(1)),
            "scatter_add", "5")


@pytest.mark.parametrize("key", [2, (0, 5), (0, 0, 0), -3, [0, 2], (slice(None), [3])])
def test_getitem_out_of_range(key):
    with pytest.raises(IndexError) as info:
        ag.randn(2, 3)[key]
    assert "(2, 3)" in str(info.value)


def test_getitem_index_tensor_out_of_range():
    with pytest.raises(IndexError, match=r"\(2, 3\)"):
        ag.randn(2, 3)[ag.tensor([0, 2])]


BINARY = {
    "+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b,
    "/": lambda a, b: a / b, "**": lambda a, b: a.abs() ** b, "add": ag.add, "mul": ag.mul,
    "maximum": ag.maximum, "minimum": ag.minimum, "<": lambda a, b: a < b,
    "eq": ag.eq, "//": lambda a, b: a // b, "%": lambda a, b: a % b,
    "where": lambda a, b: ag.where(a > 0, a, b), "lerp": lambda a, b: ag.lerp(a, b, 0.5),
    "clamp": lambda a, b: ag.clamp(a, min=b),
}


@st.composite
def _incompatible(draw):
    sa = draw(shapes(min_dims=1))
    i = draw(st.integers(0, len(sa) - 1))
    sb = list(sa)
    sb[i] = sa[i] + draw(st.integers(1, 3)) if sa[i] > 1 else sa[i] + 1
    if sa[i] == 1:  # a size-1 dim broadcasts; make the other one the mismatch
        sa = list(sa)
        sa[i] = sb[i] + 1
    return tuple(sa), tuple(sb)


@pytest.mark.parametrize("name", sorted(BINARY))
@given(shp=_incompatible(), rg=st.booleans())
def test_broadcast_mismatch_names_op_and_shapes(name, shp, rg):
    sa, sb = shp
    a = ag.randn(*sa, requires_grad=rg)
    b = ag.randn(*sb)
    with pytest.raises(RuntimeError) as info:
        BINARY[name](a, b)
    msg = str(info.value)
    assert str(sa) in msg and str(sb) in msg, msg


@pytest.mark.parametrize("op", ["add_", "mul_", "copy_", "sub_"])
def test_inplace_shape_mismatch(op):
    x = ag.zeros(2)
    with pytest.raises(RuntimeError, match=r"\(2,\)"):
        getattr(x, op)(ag.ones(2, 3))
    assert x._version == 0 and x.tolist() == [0.0, 0.0]


def test_dim_out_of_range_names_op():
    x = ag.randn(2, 3)
    for f, name in [(lambda: x.sum(2), "sum"), (lambda: x.softmax(-3), "softmax"),
                    (lambda: x.squeeze(3), "squeeze"), (lambda: x.max(5), "max"),
                    (lambda: ag.cumsum(x, 2), "cumsum"),
                    (lambda: x.transpose(0, 2), r"transpose: Dimension out of range .*\[-2, 1\].* 2"),
                    (lambda: x.unsqueeze(4), r"unsqueeze: Dimension out of range .*\[-3, 2\].* 4")]:
        with pytest.raises(IndexError, match=name):
            f()


def test_other_shape_errors():
    x = ag.randn(2, 3)
    with pytest.raises(RuntimeError, match="expand"):
        x.expand(3, 3)
    with pytest.raises(RuntimeError, match="permute"):
        x.permute(0, 0)
    with pytest.raises(RuntimeError, match="split"):
        ag.split(ag.randn(4), [1, 2])
    with pytest.raises(RuntimeError, match="topk"):
        x.topk(5)
    with pytest.raises(RuntimeError, match="one_hot"):
        ag.one_hot(ag.tensor([3]), 2)
    with pytest.raises(RuntimeError, match="one_hot"):
        ag.one_hot(ag.tensor([1.0]))
    with pytest.raises(RuntimeError, match="mean"):
        ag.tensor([1, 2]).mean()
    with pytest.raises(RuntimeError, match="clamp"):
        ag.clamp(x)
    with pytest.raises(RuntimeError, match="gelu"):
        ag.gelu(x, approximate="fast")
    with pytest.raises(RuntimeError, match="mT"):
        ag.randn(3).mT


def test_second_backward_without_retain_graph_names_op():
    x = ag.randn(3, requires_grad=True)
    y = (x.exp() * 2).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="(?i)backward.*second time|freed"):
        y.backward()


def test_numpy_arrays_mix_with_tensors():
    # not an error: ndarrays and Python numbers are constants
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    y = (x * np.array([3.0, 4.0], dtype=np.float32) + 1).sum()
    y.backward()
    assert x.grad.tolist() == [3.0, 4.0]


@pytest.mark.parametrize("target", [[5, 0, 1], [-1, 0, 1]])
def test_cross_entropy_target_out_of_range(target):
    x = ag.randn(3, 4, requires_grad=True)
    with pytest.raises(IndexError, match=f"{target[0]}.*out of bounds.*4 classes"):
        ag.ops.CrossEntropyIndex.apply(x, np.array(target), None, -100, "mean")


def test_cross_entropy_all_ignored_mean_is_nan_with_zero_gradient():
    x = ag.randn(3, 4, requires_grad=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        loss = ag.ops.CrossEntropyIndex.apply(x, np.array([0, 0, 0]), None, 0, "mean")
        loss.backward()
    assert np.isnan(loss.item())  # as PyTorch: 0 / 0
    assert not np.any(x.grad.numpy())


def test_linear_errors_name_shapes_and_dtypes():
    _raises(RuntimeError, lambda: ag.ops.linear(ag.randn(2, 3), ag.randn(4, 3, 1)), "2-D")
    _raises(RuntimeError, lambda: ag.ops.linear(ag.randn(2, 3), ag.randn(4, 3),
                                                ag.randn(5)), "bias", "(5,)")
    _raises(RuntimeError, lambda: ag.ops.linear(ag.randn(2, 3, dtype=ag.float64),
                                                ag.randn(4, 3)), "float64", "float32")
