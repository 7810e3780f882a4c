"""The recycling of large op outputs (autograd/ops/_pool.py): an array is handed out again
only when nothing references it, so no tensor, gradient, view or user variable ever
shares memory with a later result."""
import numpy as np
import pytest

import numbagrad.autograd as ag
import numbagrad.nn as nn
from numbagrad.autograd.ops import _pool


@pytest.fixture(autouse=True)
def _fresh_pool():
    _pool.release()
    yield
    _pool.release()


def test_a_free_array_is_reused_and_a_referenced_one_is_not():
    shape = (512, 1024)  # 2 MiB of float32
    a = _pool.empty(shape, np.float32)
    b = _pool.empty(shape, np.float32)
    assert a is not b
    a_id = id(a)
    del a
    c = _pool.empty(shape, np.float32)
    assert id(c) == a_id  # recycled
    view = c[3:]
    del c
    d = _pool.empty(shape, np.float32)
    assert id(d) != a_id  # a view still holds it
    assert view.base is not None
    assert _pool.empty(shape, np.float64).dtype == np.float64  # dtypes are kept apart


def test_small_arrays_are_not_pooled_and_the_cap_holds(monkeypatch):
    _pool.empty((10, 10), np.float32)
    assert _pool.held_bytes() == 0
    monkeypatch.setattr(_pool, "MAX_BYTES", 5 << 20)
    keep = [_pool.empty((512, 1024), np.float32) for _ in range(4)]  # 4 x 2 MiB
    assert _pool.held_bytes() <= 5 << 20
    del keep
    _pool.empty((1024, 1024), np.float32)  # 4 MiB: evicts free 2 MiB arrays to fit
    assert _pool.held_bytes() <= 5 << 20


def _train_step(model, x, y):
    model.zero_grad()
    out = model(x)
    loss = ((out - y) ** 2).mean()
    loss.backward()
    return out


def test_held_outputs_and_gradients_are_never_overwritten():
    ag.manual_seed(0)
    model = nn.Sequential(nn.Linear(256, 1024), nn.ReLU(), nn.Linear(1024, 512), nn.ReLU(),
                          nn.Linear(512, 8))
    x = ag.randn(512, 256)
    y = ag.randn(512, 8)
    hidden = {}
    model[1].register_forward_hook(lambda m, a, o: hidden.__setitem__("relu", o))
    out1 = _train_step(model, x, y)
    held = {"out": out1.detach().numpy().copy(), "relu": hidden["relu"].detach().numpy().copy()}
    relu1 = hidden["relu"]
    grads1 = {n: p.grad for n, p in model.named_parameters()}
    grads_copy = {n: g.numpy().copy() for n, g in grads1.items()}
    for _ in range(3):  # later steps allocate outputs of the same shapes
        _train_step(model, x * 0.5, y)
    np.testing.assert_array_equal(relu1.detach().numpy(), held["relu"])
    np.testing.assert_array_equal(out1.detach().numpy(), held["out"])
    for n, g in grads1.items():
        np.testing.assert_array_equal(g.numpy(), grads_copy[n])
    assert _pool.held_bytes() > 0  # the large outputs did go through the pool


def test_results_match_unpooled_computation(monkeypatch):
    ag.manual_seed(1)
    model = nn.Sequential(nn.Linear(128, 2048), nn.ReLU(), nn.Linear(2048, 4))
    x = ag.randn(256, 128)
    y = ag.randn(256, 4)
    runs = []
    for min_bytes in (1 << 20, 1 << 62):
        monkeypatch.setattr(_pool, "MIN_BYTES", min_bytes)
        outs = [_train_step(model, x, y).detach().numpy().copy() for _ in range(2)]
        runs.append((outs, [p.grad.numpy().copy() for p in model.parameters()]))
    for a, b in zip(runs[0][0] + runs[0][1], runs[1][0] + runs[1][1]):
        np.testing.assert_array_equal(a, b)


def test_empty_if_large_leaves_small_outputs_to_the_kernel():
    assert _pool.empty_if_large((10, 10), np.dtype(np.float32)) is None
    big = _pool.empty_if_large((512, 1024), np.dtype(np.float32))
    assert big.shape == (512, 1024) and big.dtype == np.float32 and big.flags.c_contiguous
    assert _pool.held_bytes() == big.nbytes  # pooled like `empty`


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_relu_op_on_any_layout_matches_numpy(dtype):
    # the op's unchecked kernel path takes C-contiguous float input; others go the checked way
    rng = np.random.default_rng(0)
    base = rng.standard_normal((40, 30)).astype(dtype)
    for arr in (base, base.T, base[::2], base.astype(np.float16)):
        x = ag.tensor(arr, requires_grad=True)
        y = x.relu()
        g = rng.standard_normal(arr.shape).astype(y.detach().numpy().dtype)
        y.backward(ag.tensor(np.asfortranarray(g)))  # a non-contiguous gradient too
        np.testing.assert_array_equal(y.detach().numpy(), np.maximum(arr, 0))
        np.testing.assert_array_equal(x.grad.numpy(), np.where(arr > 0, g, 0).astype(x.grad.numpy().dtype))
