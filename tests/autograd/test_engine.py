"""The graph engine: ordering, accumulation, hooks, freeing, errors, grad(), custom Functions."""
import gc
import weakref

import numpy as np
import pytest

import numbagrad.autograd as ag


def leaf(*values, dtype=ag.float64):
    return ag.tensor(list(values), dtype=dtype, requires_grad=True)


def test_deep_chain_has_no_recursion_limit():
    x = ag.tensor(1.0, requires_grad=True)
    y = x
    for _ in range(100_000):
        y = y * 1.0
    y.backward()
    assert x.grad.item() == 1.0


def test_diamond_graph_sums_both_paths():
    x = leaf(2.0)
    a = x * 3
    b = x * x
    y = (a + b).sum()  # dy/dx = 3 + 2x
    y.backward()
    assert x.grad.tolist() == [7.0]


def test_leaf_gradients_accumulate_across_backward_calls():
    x = leaf(1.0, 2.0)
    (x * x).sum().backward()
    (x * 3).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [2 + 3, 4 + 3])


def test_same_input_twice_gets_both_contributions():
    x = leaf(3.0)
    (x + x).sum().backward()
    assert x.grad.item() == 2.0
    y = leaf(3.0)
    (y * y).sum().backward()
    assert y.grad.item() == 6.0


def test_leaf_grads_never_alias_each_other():
    x, y = leaf(1.0), leaf(2.0)
    (x + y).sum().backward()
    with ag.no_grad():
        x.grad.mul_(10)
    assert y.grad.item() == 1.0
    assert x.grad.item() == 10.0


def test_user_gradient_is_not_aliased_by_leaf_grad():
    x = leaf(1.0, 2.0)
    g = ag.tensor([1.0, 1.0], dtype=ag.float64)
    (x * 1).backward(g)
    with ag.no_grad():
        x.grad.mul_(5)
    assert g.tolist() == [1.0, 1.0]


def test_second_backward_raises_after_free_and_works_with_retain_graph():
    x = leaf(1.0, 2.0)
    y = (x * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), [4.0, 8.0])
    with pytest.raises(RuntimeError, match="SumBackward0.*second time"):
        y.backward()


def test_inplace_change_of_saved_tensor_raises_at_backward():
    x = leaf(1.0, 2.0)
    h = x * 2
    y = h * h
    with ag.no_grad():
        h.add_(1)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()


def test_inplace_change_of_saved_output_raises():
    x = leaf(0.5, 1.0)
    y = x.exp()
    z = y.sum()
    y.mul_(2)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        z.backward()


def test_inplace_on_leaf_requiring_grad_raises_but_not_under_no_grad():
    x = leaf(1.0)
    with pytest.raises(RuntimeError, match="leaf Variable"):
        x.add_(1)
    with ag.no_grad():
        x.add_(1)
    assert x.item() == 2.0 and x._version == 1


def test_recorded_inplace_on_non_leaf():
    x = leaf(1.0, 2.0)
    y = x * 1
    y.mul_(x)  # y = x * x
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 4.0])
    assert y.grad_fn.name() == "MulBackward0"


def test_setitem_is_recorded():
    x = leaf(1.0, 2.0, 3.0)
    v = leaf(10.0)
    y = x * 2
    y[1] = v * 3
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 0.0, 2.0])
    np.testing.assert_allclose(v.grad.numpy(), [3.0])


def test_no_grad_and_detach_cut_the_graph():
    x = leaf(1.0)
    with ag.no_grad():
        y = x * 2
    assert not y.requires_grad and y.grad_fn is None
    z = x.detach() * 2
    assert not z.requires_grad
    assert ag.is_grad_enabled()

    @ag.no_grad()
    def f(t):
        return t * 2

    assert not f(x).requires_grad
    with ag.set_grad_enabled(False):
        assert not ag.is_grad_enabled()
    assert ag.is_grad_enabled()
    with ag.no_grad():
        with ag.enable_grad():
            assert (x * 2).requires_grad
    with ag.inference_mode():
        assert not (x * 2).requires_grad


def test_detach_shares_memory_and_version_counter():
    x = leaf(1.0, 2.0)
    d = x.detach()
    d.add_(1)
    assert x.tolist() == [2.0, 3.0]
    assert x._version == 1


def test_graph_is_freed_after_backward():
    x = leaf(1.0, 2.0)
    y = x.exp()
    node_ref = weakref.ref(y.grad_fn)
    loss = y.sum()
    loss.backward()
    del y, loss
    gc.collect()
    assert node_ref() is None


def test_training_loop_memory_stays_flat():
    import tracemalloc
    w = ag.randn(64, 64, requires_grad=True)
    x = ag.randn(32, 64)

    def step():
        loss = (x @ w).tanh().sum()
        loss.backward()
        w.grad = None

    for _ in range(50):
        step()
    tracemalloc.start()
    for _ in range(200):
        step()
    first, _ = tracemalloc.get_traced_memory()
    for _ in range(2000):
        step()
    second, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert second - first < 200_000, (first, second)


def test_hooks_run_in_order_and_can_replace_gradients():
    calls = []
    x = leaf(1.0, 2.0)
    y = x * 3
    h1 = y.register_hook(lambda g: calls.append("y1"))
    y.register_hook(lambda g: (calls.append("y2"), g * 2)[1])
    x.register_hook(lambda g: calls.append("x"))
    y.sum().backward()
    assert calls == ["y1", "y2", "x"]
    np.testing.assert_allclose(x.grad.numpy(), [6.0, 6.0])
    h1.remove()
    calls.clear()
    x.grad = None
    y = x * 3
    y.sum().backward()
    assert calls == ["x"]


def test_retain_grad_keeps_non_leaf_gradient():
    x = leaf(1.0, 2.0)
    y = x * x
    y.retain_grad()
    assert y.retains_grad
    y.sum().backward()
    np.testing.assert_allclose(y.grad.numpy(), [1.0, 1.0])
    z = x * 2
    z.sum().backward()
    assert z.grad is None


def test_non_scalar_backward_needs_gradient():
    x = leaf(1.0, 2.0)
    with pytest.raises(RuntimeError, match=r"scalar outputs.*\(2,\)"):
        (x * 2).backward()
    (x * 2).backward(ag.tensor([1.0, 0.5], dtype=ag.float64))
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 1.0])
    with pytest.raises(RuntimeError, match="Mismatch in shape"):
        (x * 2).backward(ag.tensor([1.0, 1.0, 1.0], dtype=ag.float64))


def test_backward_gradient_of_another_dtype_or_a_view_is_taken_as_given():
    # Tensor.backward's inline path takes a gradient of the output's shape and dtype as it
    # is; a float32 gradient of a float64 output, or a strided view, goes the general way
    x = leaf(1.0, 2.0, 3.0)
    (x * 2).backward(ag.tensor(np.array([1.0, 0.5, 0.25], np.float32)))
    assert x.grad.dtype == ag.float64
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 1.0, 0.5])
    x.grad = None
    g = ag.tensor(np.arange(6.0))[::2]  # [0, 2, 4], a view
    y = x * 3
    y.backward(g, retain_graph=True)
    y.backward(g)
    np.testing.assert_allclose(x.grad.numpy(), [0.0, 12.0, 24.0])
    assert g.tolist() == [0.0, 2.0, 4.0]


def test_backward_on_tensor_without_grad_raises():
    with pytest.raises(RuntimeError, match="does not require grad"):
        ag.tensor([1.0]).sum().backward()


def test_int_tensor_cannot_require_grad():
    with pytest.raises(RuntimeError, match="floating point.*int64"):
        ag.tensor([1, 2], requires_grad=True)


def test_grad_function_does_not_touch_dot_grad():
    x = leaf(1.0, 2.0)
    y = leaf(3.0)
    out = (x * y).sum()
    gx, gy = ag.grad(out, [x, y])
    np.testing.assert_allclose(gx.numpy(), [3.0, 3.0])
    np.testing.assert_allclose(gy.numpy(), [3.0])
    assert x.grad is None and y.grad is None


def test_grad_of_intermediate_and_unused():
    x = leaf(1.0, 2.0)
    h = x * 2
    out = (h * h).sum()
    (gh,) = ag.grad(out, h, retain_graph=True)
    np.testing.assert_allclose(gh.numpy(), [4.0, 8.0])
    unused = leaf(5.0)
    with pytest.raises(RuntimeError, match="not have been used"):
        ag.grad(out, [x, unused], retain_graph=True)
    gx, gu = ag.grad(out, [x, unused], allow_unused=True)
    assert gu is None
    np.testing.assert_allclose(gx.numpy(), [8.0, 16.0])


def test_backward_inputs_argument_limits_accumulation():
    x, y = leaf(1.0), leaf(2.0)
    (x * y).sum().backward(inputs=[x])
    assert x.grad.item() == 2.0 and y.grad is None


def test_create_graph_gives_second_derivatives():
    x = leaf(2.0)
    y = (x ** 3).sum()
    (g,) = ag.grad(y, x, create_graph=True)
    assert g.item() == 12.0 and g.requires_grad
    (gg,) = ag.grad(g.sum(), x)
    assert gg.item() == 12.0  # 6x
    x.grad = None
    y = (x.sin()).sum()
    y.backward(create_graph=True)
    first = x.grad
    assert first.requires_grad
    (second,) = ag.grad(first.sum(), x)
    np.testing.assert_allclose(second.item(), -np.sin(2.0))


def test_custom_function():
    class Cube(ag.Function):
        @staticmethod
        def forward(ctx, x, k):
            ctx.save_for_backward(x)
            ctx.k = k
            return x ** 3 * k

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            assert ctx.needs_input_grad == (True, False)
            return g * 3 * x ** 2 * ctx.k, None

    x = leaf(1.0, 2.0)
    y = Cube.apply(x, 2.0)
    assert y.grad_fn.name() == "CubeBackward0"
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [6.0, 24.0])
    assert ag.gradcheck(lambda t: Cube.apply(t, 1.5), (leaf(0.3, -0.7),))
    assert ag.gradgradcheck(lambda t: Cube.apply(t, 1.5), (leaf(0.3, -0.7),))


def test_custom_function_multiple_outputs_and_bad_gradient_shape():
    class Split(ag.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2, x * 3

        @staticmethod
        def backward(ctx, ga, gb):
            return ga * 2 + gb * 3

    x = leaf(1.0, 1.0)
    a, b = Split.apply(x)
    a.sum().backward()  # b unused: its gradient is materialised as zeros
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 2.0])

    class Bad(ag.Function):
        @staticmethod
        def forward(ctx, x):
            return x.clone()

        @staticmethod
        def backward(ctx, g):
            return ag.ones(5, dtype=ag.float64)

    with pytest.raises(RuntimeError, match="invalid gradient at index 0"):
        Bad.apply(leaf(1.0, 2.0)).sum().backward()


def test_anomaly_mode_names_the_op_and_the_line():
    x = leaf(0.0, 1.0)
    with ag.detect_anomaly():
        y = x.sqrt().sum()
        with pytest.raises(RuntimeError, match=r"(?s)SqrtBackward0.*nan.*test_engine.py.*x.sqrt"):
            y.backward()
    y = x.sqrt().sum()
    y.backward()  # outside anomaly mode: no error, inf gradient
    assert np.isinf(x.grad.numpy()[0])


def test_repr_and_properties():
    x = leaf(1.0, 2.0, dtype=ag.float32)
    assert repr(x) == "tensor([1., 2.], requires_grad=True)"
    y = x * 2
    assert "grad_fn=<MulBackward0>" in repr(y)
    assert y.grad_fn.next_functions[0][0].variable is x
    assert x.is_leaf and not y.is_leaf
    assert repr(ag.tensor([1, 2])) == "tensor([1, 2])"
    assert "dtype=numbagrad.float64" in repr(ag.tensor([1.0], dtype=ag.float64))
    assert x.shape == (2,) and x.size(0) == 2 and x.numel() == 2 and len(x) == 2
    assert [t.item() for t in x.detach()] == [1.0, 2.0]


def test_numpy_refuses_grad_tensor():
    x = leaf(1.0)
    with pytest.raises(RuntimeError, match="detach"):
        x.numpy()
    assert x.detach().numpy().tolist() == [1.0]


def test_node_hooks():
    x = leaf(1.0, 2.0)
    y = x * 2
    seen = []
    y.grad_fn.register_prehook(lambda go: seen.append(("pre", go[0].tolist())))
    y.grad_fn.register_hook(lambda gi, go: seen.append(("post", gi[0].tolist())))
    y.sum().backward()
    assert seen == [("pre", [1.0, 1.0]), ("post", [2.0, 2.0])]
