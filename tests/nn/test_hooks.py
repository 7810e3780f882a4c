"""Module hooks: forward pre-hooks, forward hooks, full backward (pre-)hooks, removal."""
import numpy as np

import numbagrad.autograd as ag
import numbagrad.nn as nn


def test_forward_pre_hook_can_replace_input():
    m = nn.Identity()
    h = m.register_forward_pre_hook(lambda mod, args: (args[0] * 2,))
    assert m(ag.tensor([1.0])).item() == 2.0
    h.remove()
    assert m(ag.tensor([1.0])).item() == 1.0
    h.remove()  # a second remove is harmless


def test_forward_hook_sees_args_and_can_replace_output():
    m = nn.Linear(2, 3)
    seen = []

    def hook(mod, args, out):
        seen.append((mod, args[0].shape, out.shape))
        return out * 0

    with m.register_forward_hook(hook):
        y = m(ag.randn(4, 2))
    assert seen == [(m, (4, 2), (4, 3))] and not y.detach().numpy().any()
    assert m(ag.randn(4, 2)).detach().numpy().any()  # removed on leaving the with block


def test_hook_order_and_prepend():
    m = nn.Identity()
    order = []
    m.register_forward_hook(lambda *a: order.append("first"))
    m.register_forward_hook(lambda *a: order.append("second"))
    m.register_forward_hook(lambda *a: order.append("zeroth"), prepend=True)
    m(ag.ones(1))
    assert order == ["zeroth", "first", "second"]


def test_full_backward_hook_gives_input_and_output_grads():
    m = nn.Linear(3, 2)
    got = []
    m.register_full_backward_hook(lambda mod, gi, go: got.append((gi, go)))
    x = ag.randn(5, 3, requires_grad=True)
    y = m(x)
    (y * 3).sum().backward()
    (gi,), (go,) = got[0]
    np.testing.assert_allclose(go.numpy(), 3.0)
    np.testing.assert_allclose(gi.numpy(), x.grad.numpy())
    np.testing.assert_allclose(gi.numpy(), 3.0 * m.weight.detach().numpy().sum(0)[None, :]
                               .repeat(5, 0), rtol=1e-5)


def test_backward_hook_can_replace_grad_input():
    m = nn.Tanh()
    m.register_full_backward_hook(lambda mod, gi, go: (gi[0] * 0 + 7.0,))
    x = ag.randn(3, requires_grad=True)
    m(x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 7.0)


def test_backward_hook_when_input_needs_no_grad():
    """Parameters need grads but the input does not: grad_input is (None,)."""
    m = nn.Linear(3, 2)
    got = []
    m.register_full_backward_hook(lambda mod, gi, go: got.append((gi, go)))
    m(ag.randn(2, 3)).sum().backward()
    assert got[0][0] == (None,) and got[0][1][0].shape == (2, 2)
    assert m.weight.grad is not None


def test_backward_pre_hook_can_scale_grad_output():
    m = nn.Linear(2, 2)
    m.register_full_backward_pre_hook(lambda mod, go: (go[0] * 10,))
    x = ag.randn(3, 2, requires_grad=True)
    m(x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 10 * m.weight.detach().numpy().sum(0)[None, :]
                               .repeat(3, 0), rtol=1e-5)


def test_hooks_for_gradient_statistics_per_layer():
    """The gradient-flow use case: record each layer's output-gradient norm."""
    net = nn.Sequential(nn.Linear(4, 8), nn.Sigmoid(), nn.Linear(8, 8), nn.Sigmoid(),
                        nn.Linear(8, 1))
    norms = {}
    for name, mod in net.named_children():
        mod.register_full_backward_hook(
            lambda m, gi, go, name=name: norms.__setitem__(name, float(go[0].norm().item())))
    net(ag.randn(16, 4)).sum().backward()
    assert sorted(norms) == ["0", "1", "2", "3", "4"] and all(v > 0 for v in norms.values())


class _Two(nn.Module):
    def forward(self, a, b):
        return a * b


def test_backward_hook_grad_input_has_an_entry_per_tensor_input():
    """Checked against torch 2.13: (tensor([3.]), tensor([0.]))."""
    m = _Two()
    got = []
    m.register_full_backward_hook(lambda mod, gi, go: got.append(gi))
    a, b = ag.tensor([2.0], requires_grad=True), ag.tensor([3.0])
    m(a, b).sum().backward()
    (gi,) = got
    assert len(gi) == 2  # as PyTorch: zeros for the input that needs no gradient
    np.testing.assert_allclose(gi[0].numpy(), [3.0])
    np.testing.assert_allclose(gi[1].numpy(), [0.0])
