"""nn.Sequential runs a Linear and the ReLU/Tanh/Sigmoid after it as one fused op: same values
and gradients as calling the modules one by one, and no fusion where a user could tell."""
import numpy as np
import pytest

import numbagrad.autograd as ag
import numbagrad.nn as nn

ACTS = {"relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid}


def _mlp(act, dtype=ag.float64, sizes=(7, 16, 9, 3)):
    ag.manual_seed(0)
    layers = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(a, b, dtype=dtype))
        if i < len(sizes) - 2:
            layers.append(ACTS[act]())
    return nn.Sequential(*layers)


def _one_by_one(model, x):
    for m in model:
        x = m(x)
    return x


def _names(t):
    """grad_fn names of the graph below t, newest first."""
    out, seen, todo = [], set(), [t.grad_fn]
    while todo:
        fn = todo.pop()
        if fn is None or id(fn) in seen:
            continue
        seen.add(id(fn))
        out.append(fn.name())
        todo.extend(f for f, _ in fn.next_functions)
    return out


@pytest.mark.parametrize("act", list(ACTS))
@pytest.mark.parametrize("dtype", [ag.float32, ag.float64])
def test_fused_matches_modules_one_by_one(act, dtype):
    model = _mlp(act, dtype)
    x = ag.tensor(np.random.default_rng(1).standard_normal((33, 7)), dtype=dtype, requires_grad=True)
    fused = model(x)
    assert f"Linear{act.capitalize()}Backward0" in _names(fused)
    (fused * fused).sum().backward()
    grads = [p.grad.numpy().copy() for p in model.parameters()] + [x.grad.numpy().copy()]
    model.zero_grad()
    x.grad = None
    plain = _one_by_one(model, x)
    assert f"Linear{act.capitalize()}Backward0" not in _names(plain)
    (plain * plain).sum().backward()
    tol = 1e-5 if dtype == ag.float32 else 1e-12
    np.testing.assert_allclose(fused.detach().numpy(), plain.detach().numpy(), rtol=tol, atol=tol)
    for g, p in zip(grads, list(model.parameters()) + [x]):
        np.testing.assert_allclose(g, p.grad.numpy(), rtol=tol, atol=tol)


@pytest.mark.parametrize("act", list(ACTS))
def test_fused_mlp_matches_torch(act):
    torch = pytest.importorskip("torch")
    model = _mlp(act)
    tmodel = torch.nn.Sequential(*[
        torch.nn.Linear(m.in_features, m.out_features, dtype=torch.float64) if isinstance(m, nn.Linear)
        else {"relu": torch.nn.ReLU, "tanh": torch.nn.Tanh, "sigmoid": torch.nn.Sigmoid}[act]()
        for m in model])
    tmodel.load_state_dict({k: torch.tensor(v.numpy()) for k, v in model.state_dict().items()})
    xs = np.random.default_rng(2).standard_normal((20, 7))
    out = model(ag.tensor(xs))
    tout = tmodel(torch.tensor(xs))
    out.pow(2).mean().backward()
    tout.pow(2).mean().backward()
    np.testing.assert_allclose(out.detach().numpy(), tout.detach().numpy(), rtol=1e-12, atol=1e-12)
    for (name, p), tp in zip(model.named_parameters(), tmodel.parameters()):
        np.testing.assert_allclose(p.grad.numpy(), tp.grad.numpy(), rtol=1e-10, atol=1e-12, err_msg=name)


def test_second_derivatives_through_the_fused_op():
    model = _mlp("tanh")
    x = ag.tensor(np.random.default_rng(3).standard_normal((4, 7)), requires_grad=True)
    y = model(x).sum()
    (gx,) = ag.grad(y, x, create_graph=True)
    gx.pow(2).sum().backward()
    fused_grads = [None if p.grad is None else p.grad.numpy().copy() for p in model.parameters()]
    model.zero_grad()
    y = _one_by_one(model, x).sum()
    (gx,) = ag.grad(y, x, create_graph=True)
    gx.pow(2).sum().backward()
    assert fused_grads[-1] is None and model[-1].bias.grad is None  # d(sum)/dx does not see it
    for g, p in zip(fused_grads[:-1], list(model.parameters())[:-1]):
        np.testing.assert_allclose(g, p.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_hooks_keep_the_modules_separate():
    model = _mlp("relu")
    x = ag.randn(5, 7, dtype=ag.float64)
    seen = []
    # model: Linear, ReLU, Linear, ReLU, Linear; a hook on either module of a pair unfuses that pair
    handle = model[1].register_forward_hook(lambda m, i, o: seen.append(tuple(o.shape)))
    names = _names(model(x))
    assert seen == [(5, 16)] and names.count("ReluBackward0") == 1
    assert names.count("LinearReluBackward0") == 1 and names.count("LinearBackward0") == 2
    handle.remove()
    h2 = model[2].register_forward_pre_hook(lambda m, i: seen.append("pre"))
    names = _names(model(x))
    assert seen[-1] == "pre" and names.count("LinearReluBackward0") == 1
    assert names.count("LinearBackward0") == 2
    h2.remove()
    assert _names(model(x)).count("LinearReluBackward0") == 2


def test_not_fused_where_it_does_not_apply():
    # no bias, 3-D input, a subclass of Linear, an activation subclass: separate ops, same values
    class MyLinear(nn.Linear):
        pass

    class MyReLU(nn.ReLU):
        pass

    ag.manual_seed(0)
    for model, x in [(nn.Sequential(nn.Linear(3, 4, bias=False), nn.ReLU()), ag.randn(2, 3)),
                     (nn.Sequential(nn.Linear(3, 4), nn.Tanh()), ag.randn(2, 5, 3)),
                     (nn.Sequential(MyLinear(3, 4), nn.ReLU()), ag.randn(2, 3)),
                     (nn.Sequential(nn.Linear(3, 4), MyReLU()), ag.randn(2, 3))]:
        out = model(x)
        assert not any(n.startswith("LinearRelu") or n.startswith("LinearTanh") for n in _names(out))
        np.testing.assert_allclose(out.detach().numpy(), _one_by_one(model, x).detach().numpy())


def test_shape_and_dtype_errors_are_the_unfused_ones():
    model = _mlp("relu")
    with pytest.raises(RuntimeError, match="in_features=7"):
        model(ag.randn(2, 5, dtype=ag.float64))
    with pytest.raises(RuntimeError, match="dtype"):
        model(ag.randn(2, 7, dtype=ag.float32))


def test_no_grad_and_inplace_relu():
    model = nn.Sequential(nn.Linear(3, 4, dtype=ag.float64), nn.ReLU(inplace=True))
    x = ag.randn(6, 3, dtype=ag.float64)
    with ag.no_grad():
        out = model(x)
    assert out.grad_fn is None and not out.requires_grad
    np.testing.assert_allclose(out.numpy(), np.maximum(x.numpy() @ model[0].weight.detach().numpy().T
                                                       + model[0].bias.detach().numpy(), 0))


def test_large_batch_uses_the_parallel_epilogue_and_stays_exact():
    model = _mlp("relu", ag.float32, sizes=(64, 512, 10))
    x = ag.tensor(np.random.default_rng(4).standard_normal((256, 64)).astype(np.float32))
    fused = model(x).detach().numpy()
    np.testing.assert_array_equal(fused, _one_by_one(model, x).detach().numpy())


def test_in_place_change_of_the_fused_output_is_caught():
    model = _mlp("tanh")
    out = model[:2](ag.randn(3, 7, dtype=ag.float64))
    assert out.grad_fn.name() == "LinearTanhBackward0"
    out.add_(1.0)  # backward needs the saved output: PyTorch raises here too
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        out.sum().backward()


@pytest.mark.parametrize("act", list(ACTS))
def test_fused_backward_takes_a_noncontiguous_output_gradient(act):
    """The loss reads the fused output transposed, so its gradient arrives in Fortran order."""
    ag.manual_seed(0)
    model = nn.Sequential(nn.Linear(7, 16, dtype=ag.float64), ACTS[act]())
    x = ag.tensor(np.random.default_rng(1).standard_normal((33, 7)), requires_grad=True)
    c = ag.tensor(np.random.default_rng(2).standard_normal((16, 33)))
    grads = []
    for run in (model, lambda t: _one_by_one(model, t)):
        model.zero_grad()
        x.grad = None
        (run(x).T * c).sum().backward()
        grads.append([p.grad.numpy().copy() for p in model.parameters()] + [x.grad.numpy().copy()])
    for fused, plain in zip(*grads):
        np.testing.assert_allclose(fused, plain, rtol=1e-12, atol=1e-12)
