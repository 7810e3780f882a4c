"""The benchmark floors compute what the autograd versions compute.

A floor that skipped work would make every ratio look bad for numbagrad (and a
wrong one would be meaningless), so its hand-written gradients and updates are
checked against PyTorch's autograd and torch.optim on the same weights.
"""
import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="PyTorch is the oracle for the numpy floors; install torch to run")

from benchmarks import libs  # noqa: E402
from benchmarks.workloads import mlp, ops, optim_step  # noqa: E402
from benchmarks.workloads.floor import NumpyMLP  # noqa: E402


def _torch_setup(spec):
    T = libs.pytorch()
    torch.manual_seed(0)
    model = mlp.build_model(T, spec)
    linears = [m for m in model if isinstance(m, torch.nn.Linear)]
    weights = [(m.weight.detach().numpy().copy(), m.bias.detach().numpy().copy()) for m in linears]
    x_np, y_np = mlp.make_data(spec)
    return T, model, linears, weights, torch.tensor(x_np), torch.tensor(y_np), x_np, y_np


@pytest.mark.parametrize("name", ["tiny_mlp", "mnist_mlp"])
def test_mlp_floor_gradients_match_torch(name):
    spec = mlp.SPECS[name]
    T, model, linears, weights, x, y, x_np, y_np = _torch_setup(spec)
    loss_fn = T.F.mse_loss if spec.loss == "mse" else T.F.cross_entropy
    loss = loss_fn(model(x), y)
    loss.backward()

    net = NumpyMLP(weights, act=spec.act, loss=spec.loss, opt=spec.opt, lr=spec.lr)
    floor_loss, d = net.loss_and_grad_out(net.forward(x_np), y_np)
    grads = net.backward(d)
    n = len(linears)
    assert floor_loss == pytest.approx(loss.item(), rel=1e-5)
    for i, m in enumerate(linears):
        np.testing.assert_allclose(grads[i], m.weight.grad.numpy(), rtol=1e-4, atol=1e-6,
                                   err_msg=f"{name}: dW of layer {i}")
        np.testing.assert_allclose(grads[n + i], m.bias.grad.numpy(), rtol=1e-4, atol=1e-6,
                                   err_msg=f"{name}: db of layer {i}")


@pytest.mark.parametrize("name", ["tiny_mlp", "mnist_mlp"])
def test_mlp_floor_steps_match_torch(name):
    """Three full training steps (forward, backward, SGD/Adam update) land on torch's weights."""
    spec = mlp.SPECS[name]
    T, model, linears, weights, x, y, x_np, y_np = _torch_setup(spec)
    opt = mlp.make_optimizer(T, spec, model.parameters())
    loss_fn = T.F.mse_loss if spec.loss == "mse" else T.F.cross_entropy
    net = NumpyMLP(weights, act=spec.act, loss=spec.loss, opt=spec.opt, lr=spec.lr)
    for _ in range(3):
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        floor_loss = net.step(x_np, y_np)
        assert floor_loss == pytest.approx(loss.item(), rel=1e-4)
    # Adam moves every weight by about lr whatever its gradient, and for a gradient near 0
    # the ratio m / sqrt(v) magnifies float32 rounding: allow 10% of one step there
    # (a wrong formula, such as a missing bias correction, is off by several steps)
    atol = 0.1 * spec.lr if spec.opt == "adam" else 1e-6
    for i, m in enumerate(linears):
        np.testing.assert_allclose(net.W[i], m.weight.detach().numpy(), rtol=1e-4, atol=atol)
        np.testing.assert_allclose(net.b[i], m.bias.detach().numpy(), rtol=1e-4, atol=atol)


@pytest.mark.parametrize("name", list(ops.OPS))
def test_op_floor_matches_torch(name):
    shapes, fn, np_fn = ops.OPS[name]
    arrays = ops._inputs(shapes)
    g = ops._out_grad(name)
    leaves = [torch.tensor(a, requires_grad=True) for a in arrays]
    out = fn(*leaves)
    out.backward(torch.tensor(g))
    res = np_fn(*arrays, g if g.shape else np.float32(1.0))
    np.testing.assert_allclose(np.asarray(res[0]), out.detach().numpy(), rtol=1e-5, atol=1e-6)
    # the composite case treats x as data: its floor returns the grads of w and b only
    grad_leaves = leaves[1:] if name == ops.COMPOSITE else leaves
    assert len(res) - 1 == len(grad_leaves)
    for got, t in zip(res[1:], grad_leaves):
        np.testing.assert_allclose(np.broadcast_to(got, t.shape), t.grad.numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("opt_name", list(optim_step.OPTIMIZERS))
def test_optimizer_floor_matches_torch(opt_name):
    count, size = 3, 1000
    floor = optim_step.floor_step_factory(opt_name, count, size)
    step = optim_step.optimizer_step_factory(libs.pytorch(), opt_name, count, size)
    for _ in range(3):
        floor()
        step()
    params = [p for group in step.__self__.param_groups for p in group["params"]]
    for mine, ref in zip(floor.params, params):
        np.testing.assert_allclose(mine, ref.detach().numpy(), rtol=1e-5, atol=1e-6)
