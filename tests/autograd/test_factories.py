"""Factories and dtypes: inference rules, default dtype, requires_grad, seeded randomness.

Dtype rules are PyTorch's; where torch is installed the tests also compare with it.
"""
import numpy as np
import pytest
from hypothesis import given, strategies as st

import numbagrad.autograd as ag
from strategies import dtype_name, shapes

try:
    import torch
except ImportError:  # the torch comparisons skip
    torch = None

needs_torch = pytest.mark.skipif(torch is None, reason="PyTorch is the oracle for this test")


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int32, np.int64, np.bool_,
                                   np.uint8, np.int16])
def test_tensor_keeps_ndarray_dtype(dtype):
    a = np.arange(6).reshape(2, 3).astype(dtype)
    t = ag.tensor(a)
    assert t.dtype == np.dtype(dtype) and t.shape == (2, 3)
    np.testing.assert_array_equal(t.numpy(), a)
    a[0, 0] = 1  # tensor() copies
    assert t.numpy()[0, 0] == 0


@pytest.mark.parametrize("data,expected", [
    (1.5, "float32"), ([1.0, 2.0], "float32"), ([[1, 2.5]], "float32"), (3, "int64"),
    ([1, 2], "int64"), (True, "bool"), ([True, False], "bool"), ([[1], [2]], "int64"),
    (np.float64(1.0), "float64"), (np.float32(1.0), "float32"), (np.int32(1), "int32"),
])
def test_tensor_infers_dtype_like_torch(data, expected):
    t = ag.tensor(data)
    assert dtype_name(t) == expected
    assert t.shape == np.shape(data)
    if torch is not None:
        assert dtype_name(torch.tensor(data)) == expected


def test_tensor_of_tensor_list_and_explicit_dtype():
    assert ag.tensor([1, 2], dtype=ag.float64).dtype == ag.float64
    assert ag.tensor(np.array([1.0]), dtype=ag.float32).dtype == ag.float32
    t = ag.tensor([ag.tensor(1.0), ag.tensor(2.0)])
    assert t.tolist() == [1.0, 2.0] and t.dtype == ag.float32


def test_default_dtype_float64_and_restore():
    assert ag.get_default_dtype() == ag.float32
    try:
        ag.set_default_dtype(ag.float64)
        assert ag.get_default_dtype() == ag.float64
        assert ag.tensor(1.5).dtype == ag.float64
        assert ag.tensor([1, 2]).dtype == ag.int64  # ints are unaffected
        assert ag.zeros(2).dtype == ag.float64 and ag.ones(1).dtype == ag.float64
        assert ag.rand(2).dtype == ag.float64 and ag.randn(2).dtype == ag.float64
        assert ag.arange(0.0, 1.0).dtype == ag.float64
        assert ag.linspace(0, 1, 3).dtype == ag.float64
        assert ag.full((2,), 1.5).dtype == ag.float64
        assert (ag.tensor([1, 2]) * 0.5).dtype == ag.float64
    finally:
        ag.set_default_dtype(ag.float32)
    assert ag.tensor(1.5).dtype == ag.float32


def test_set_default_dtype_rejects_non_float():
    with pytest.raises((TypeError, RuntimeError, ValueError)):
        ag.set_default_dtype(ag.int64)
    assert ag.get_default_dtype() == ag.float32


@pytest.mark.parametrize("make", [
    lambda: ag.tensor([1, 2], requires_grad=True),
    lambda: ag.zeros(2, dtype=ag.int64, requires_grad=True),
    lambda: ag.ones(2, dtype=ag.int32, requires_grad=True),
    lambda: ag.arange(3, requires_grad=True),
    lambda: ag.tensor([True], requires_grad=True),
    lambda: ag.tensor([1, 2]).requires_grad_(),
    lambda: ag.full((2,), 3, requires_grad=True),
])
def test_requires_grad_on_non_float_raises(make):
    with pytest.raises(RuntimeError, match="(?i)floating point"):
        make()


def test_requires_grad_on_float_factories():
    for t in (ag.zeros(2, requires_grad=True), ag.ones(2, 3, requires_grad=True),
              ag.full((2,), 1.0, requires_grad=True), ag.randn(2, requires_grad=True),
              ag.tensor([1.0], requires_grad=True), ag.eye(2, requires_grad=True),
              ag.linspace(0, 1, 3, requires_grad=True), ag.empty(2, requires_grad=True)):
        assert t.requires_grad and t.is_leaf and t.grad is None


@needs_torch
@pytest.mark.parametrize("args,kw", [
    ((5,), {}), ((2, 7), {}), ((1, 2, 0.25), {}), ((0, 1, 0.1), {}), ((5.0,), {}),
    ((-3, 3, 2), {}), ((3, 0, -1), {}), ((0, 1, 0.3), {"dtype": "float64"}),
    ((4,), {"dtype": "float32"}), ((0.5, 3), {}), ((1, 10, 3), {"dtype": "int32"}),
])
def test_arange_matches_torch(args, kw):
    a = ag.arange(*args, **{k: getattr(ag, v) for k, v in kw.items()})
    t = torch.arange(*args, **{k: getattr(torch, v) for k, v in kw.items()})
    assert dtype_name(a) == dtype_name(t)
    np.testing.assert_allclose(a.numpy(), t.numpy(), rtol=1e-6)


@needs_torch
@given(start=st.floats(-5, 5), end=st.floats(-5, 5), steps=st.integers(0, 7))
def test_linspace_matches_torch(start, end, steps):
    a, t = ag.linspace(start, end, steps), torch.linspace(start, end, steps)
    assert dtype_name(a) == dtype_name(t) == "float32"
    np.testing.assert_allclose(a.numpy(), t.numpy(), rtol=1e-5, atol=1e-5)
    a64 = ag.linspace(start, end, steps, dtype=ag.float64)
    np.testing.assert_allclose(a64.numpy(), torch.linspace(start, end, steps,
                                                           dtype=torch.float64).numpy())


@needs_torch
@pytest.mark.parametrize("name,args,kw", [
    ("zeros", (2, 3), {}), ("zeros", ((2, 3),), {}), ("ones", (4,), {"dtype": "int64"}),
    ("empty", (0, 2), {}), ("full", ((2, 2), 7), {}), ("full", ((2,), 1.5), {}),
    ("full", ((1,), True), {}), ("eye", (3,), {}), ("eye", (2, 4), {"dtype": "float64"}),
    ("zeros", ((),), {}), ("ones", ([2, 1],), {}),
])
def test_constant_factories_match_torch(name, args, kw):
    a = getattr(ag, name)(*args, **{k: getattr(ag, v) for k, v in kw.items()})
    t = getattr(torch, name)(*args, **{k: getattr(torch, v) for k, v in kw.items()})
    assert dtype_name(a) == dtype_name(t) and tuple(a.shape) == tuple(t.shape)
    if name != "empty":
        np.testing.assert_array_equal(a.numpy(), t.numpy())


@given(shp=shapes(), dtype=st.sampled_from([np.float32, np.float64, np.int64]))
def test_like_factories_keep_shape_and_dtype(shp, dtype):
    x = ag.tensor(np.zeros(shp, dtype=dtype))
    for f in (ag.zeros_like, ag.ones_like, ag.empty_like):
        y = f(x)
        assert y.shape == x.shape and y.dtype == x.dtype
    assert ag.full_like(x, 3).dtype == x.dtype
    assert (ag.full_like(x, 3).numpy() == 3).all()
    if dtype != np.int64:
        for f in (ag.rand_like, ag.randn_like):
            y = f(x)
            assert y.shape == x.shape and y.dtype == x.dtype
    assert ag.zeros_like(x, dtype=ag.float64).dtype == ag.float64


def test_from_numpy_shares_memory_and_as_tensor():
    a = np.zeros(3)
    t = ag.from_numpy(a)
    a[1] = 5.0
    assert t.tolist() == [0.0, 5.0, 0.0] and t.dtype == ag.float64
    assert ag.as_tensor(t) is t
    assert ag.as_tensor([1.0, 2.0]).dtype == ag.float32
    assert ag.as_tensor(a, dtype=ag.float32).dtype == ag.float32


RANDOM = {
    "rand": lambda: ag.rand(3, 4), "randn": lambda: ag.randn(2, 3, dtype=ag.float64),
    "randint": lambda: ag.randint(0, 10, (5,)), "randint_high": lambda: ag.randint(7, (2, 3)),
    "randperm": lambda: ag.randperm(10), "normal": lambda: ag.normal(0.0, 1.0, (4,)),
    "rand_like": lambda: ag.rand_like(ag.zeros(3)),
    "randn_like": lambda: ag.randn_like(ag.zeros(2, 2)),
    "bernoulli": lambda: ag.bernoulli(ag.full((6,), 0.5)),
    "multinomial": lambda: ag.multinomial(ag.tensor([0.2, 0.3, 0.5]), 2),
}


@pytest.mark.parametrize("name", sorted(RANDOM))
def test_manual_seed_reproduces_random_factories(name):
    make = RANDOM[name]
    ag.manual_seed(1234)
    a = make().numpy()
    b = make().numpy()
    ag.manual_seed(1234)
    c = make().numpy()
    np.testing.assert_array_equal(a, c)
    if name not in ("bernoulli", "multinomial"):
        assert not np.array_equal(a, b), "consecutive draws differ"


def test_random_factory_dtypes_and_ranges():
    ag.manual_seed(0)
    r = ag.rand(1000)
    assert r.dtype == ag.float32 and 0 <= r.numpy().min() and r.numpy().max() < 1
    assert ag.randn(3).dtype == ag.float32
    i = ag.randint(-3, 4, (1000,))
    assert i.dtype == ag.int64 and i.numpy().min() == -3 and i.numpy().max() == 3
    p = ag.randperm(20)
    assert p.dtype == ag.int64 and sorted(p.tolist()) == list(range(20))
    assert ag.randint(0, 5, (2,), dtype=ag.int32).dtype == ag.int32
    n = ag.randn(20000, dtype=ag.float64).numpy()
    assert abs(n.mean()) < 0.05 and abs(n.std() - 1) < 0.05


def test_rng_state_roundtrip():
    ag.manual_seed(7)
    state = ag.get_rng_state()
    a = ag.randn(5).numpy()
    ag.set_rng_state(state)
    np.testing.assert_array_equal(a, ag.randn(5).numpy())


def test_generator_argument_is_independent_of_global_seed():
    g1, g2 = ag.Generator().manual_seed(3), ag.Generator().manual_seed(3)
    ag.manual_seed(0)
    a = ag.rand(4, generator=g1).numpy()
    ag.rand(10)
    np.testing.assert_array_equal(a, ag.rand(4, generator=g2).numpy())


@pytest.mark.parametrize("conv,expected", [("float", "float32"), ("double", "float64"),
                                           ("long", "int64"), ("int", "int32"),
                                           ("bool", "bool")])
def test_dtype_conversion_methods(conv, expected):
    x = ag.tensor([0.0, 1.5, -2.0])
    y = getattr(x, conv)()
    assert dtype_name(y) == expected
    if torch is not None:
        t = getattr(torch.tensor([0.0, 1.5, -2.0]), conv)()
        np.testing.assert_array_equal(y.numpy(), t.numpy())


def test_to_same_dtype_returns_self_and_copy_flag():
    x = ag.tensor([1.0])
    assert x.to(ag.float32) is x and x.to("cpu") is x
    assert x.to(ag.float32, copy=True) is not x
    assert x.to(ag.tensor([1.0], dtype=ag.float64)).dtype == ag.float64
    assert x.type_as(ag.tensor([1], dtype=ag.int64)).dtype == ag.int64
