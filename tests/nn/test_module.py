"""Module system without PyTorch: registration, iteration, state dicts, modes, dtype, containers."""
from collections import OrderedDict

import numpy as np
import pytest

import numbagrad.autograd as ag
import numbagrad.nn as nn
import numbagrad.nn.functional as F


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.ReLU())
        self.head = nn.Linear(4, 2)
        self.scale = nn.Parameter(ag.ones(1))
        self.register_buffer("steps", ag.zeros(1))
        self.register_buffer("cache", ag.zeros(2), persistent=False)

    def forward(self, x):
        return self.head(self.body(x)) * self.scale


def test_parameter_is_a_tensor_sharing_memory():
    t = ag.zeros(2, 3)
    p = nn.Parameter(t)
    assert isinstance(p, ag.Tensor) and p.requires_grad and p.is_leaf
    t._data[0, 0] = 5.0
    assert p[0, 0].item() == 5.0
    assert repr(p).startswith("Parameter containing:\ntensor(")
    assert not nn.Parameter(t, requires_grad=False).requires_grad
    assert type(p * 2) is ag.Tensor and type(p.detach()) is ag.Tensor


def test_registration_and_iteration():
    net = Net()
    names = [n for n, _ in net.named_parameters()]
    assert names == ["scale", "body.0.weight", "body.0.bias", "body.1.weight", "body.1.bias",
                     "head.weight", "head.bias"]
    assert [n for n, _ in net.named_buffers()] == [
        "steps", "cache", "body.1.running_mean", "body.1.running_var",
        "body.1.num_batches_tracked"]
    assert [n for n, _ in net.named_children()] == ["body", "head"]
    assert [n for n, _ in net.named_modules()] == ["", "body", "body.0", "body.1", "body.2",
                                                    "head"]
    assert len(list(net.parameters())) == 7 and len(list(net.children())) == 2
    assert len(list(net.modules())) == 6 and len(list(net.buffers())) == 5
    assert net.get_submodule("body.1") is net.body[1]
    assert net.get_parameter("head.bias") is net.head.bias
    assert [n for n, _ in net.named_parameters(recurse=False)] == ["scale"]


def test_shared_parameters_are_listed_once():
    lin = nn.Linear(2, 2)
    seq = nn.Sequential(lin, nn.Tanh(), lin)
    assert len(list(seq.parameters())) == 2
    assert list(seq.state_dict()) == ["0.weight", "0.bias", "2.weight", "2.bias"]


def test_setattr_rules():
    m = nn.Linear(2, 2)
    with pytest.raises(TypeError, match="nn.Parameter or None"):
        m.weight = ag.zeros(2, 2)
    m.bias = None
    assert m.bias is None and "bias" not in m.state_dict()
    m.extra = nn.Parameter(ag.zeros(1))
    assert "extra" in dict(m.named_parameters())
    del m.extra
    assert "extra" not in dict(m.named_parameters())
    with pytest.raises(KeyError, match="contain"):
        m.register_buffer("a.b", ag.zeros(1))
    with pytest.raises(TypeError):
        m.register_buffer("buf", [1, 2])
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        m.nope


def test_state_dict_order_and_values():
    net = Net()
    sd = net.state_dict()
    assert isinstance(sd, OrderedDict)
    assert list(sd) == ["scale", "steps", "body.0.weight", "body.0.bias", "body.1.weight",
                        "body.1.bias", "body.1.running_mean", "body.1.running_var",
                        "body.1.num_batches_tracked", "head.weight", "head.bias"]
    assert all(v.grad_fn is None and not v.requires_grad for v in sd.values())
    assert np.shares_memory(sd["head.weight"].numpy(), net.head.weight.detach().numpy())
    assert net.state_dict(keep_vars=True)["head.weight"] is net.head.weight
    assert sd["body.1.num_batches_tracked"].dtype == ag.int64


def test_load_state_dict_copies_in_place():
    a, b = Net(), Net()
    w = b.head.weight
    b.load_state_dict(a.state_dict())
    assert b.head.weight is w  # same object: optimizer references stay valid
    for (k, va), vb in zip(a.state_dict().items(), b.state_dict().values()):
        np.testing.assert_array_equal(va.numpy(), vb.numpy(), err_msg=k)
    a.head.weight.data.fill_(3.0)
    assert b.head.weight[0, 0].item() != 3.0  # copied, not aliased


def test_load_state_dict_errors_before_changing_anything():
    a, b = Net(), Net()
    before = {k: v.numpy().copy() for k, v in b.state_dict().items()}
    sd = a.state_dict()
    del sd["head.bias"]
    sd["head.extra"] = ag.zeros(1)
    sd["body.0.weight"] = ag.zeros(5, 3)
    with pytest.raises(RuntimeError) as err:
        b.load_state_dict(sd)
    msg = str(err.value)
    assert 'Missing key(s) in state_dict: "head.bias"' in msg
    assert 'Unexpected key(s) in state_dict: "head.extra"' in msg
    assert "size mismatch for body.0.weight" in msg and "(5, 3)" in msg and "(4, 3)" in msg
    for k, v in b.state_dict().items():
        np.testing.assert_array_equal(v.numpy(), before[k])
    # non-strict: still refuses shape mismatches
    with pytest.raises(RuntimeError, match="size mismatch"):
        b.load_state_dict(sd, strict=False)
    sd["body.0.weight"] = a.body[0].weight.detach()
    res = b.load_state_dict(sd, strict=False)
    assert res.missing_keys == ["head.bias"] and res.unexpected_keys == ["head.extra"]
    assert b.load_state_dict(a.state_dict()) == ([], [])
    np.testing.assert_array_equal(b.body[0].weight.detach().numpy(), a.body[0].weight.detach().numpy())


def test_train_eval_and_dropout():
    net = nn.Sequential(nn.Linear(3, 3), nn.Dropout(0.5))
    assert net.training and net[1].training
    net.eval()
    assert not net.training and not net[1].training
    x = ag.ones(1000)
    drop = nn.Dropout(0.25)
    y = drop(x)
    zeros = (y.numpy() == 0).mean()
    assert 0.18 < zeros < 0.32
    np.testing.assert_allclose(y.numpy()[y.numpy() != 0], 1 / 0.75, rtol=1e-6)
    drop.eval()
    assert drop(x) is x
    with pytest.raises(ValueError, match="between 0 and 1"):
        nn.Dropout(1.5)
    np.testing.assert_array_equal(F.dropout(x, 1.0).numpy(), 0)


def test_dropout_gradient_uses_the_mask():
    x = ag.ones(200, requires_grad=True)
    y = F.dropout(x, 0.5)
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), y.detach().numpy())


def test_dropout_reproducible_with_manual_seed():
    x = ag.ones(50)
    ag.manual_seed(3)
    a = F.dropout(x, 0.3).numpy()
    ag.manual_seed(3)
    np.testing.assert_array_equal(a, F.dropout(x, 0.3).numpy())


def test_zero_grad_and_requires_grad():
    net = Net()
    net(ag.randn(5, 3)).sum().backward()
    assert all(p.grad is not None for p in net.parameters())
    net.zero_grad(set_to_none=False)
    assert all(p.grad is not None and not p.grad.numpy().any() for p in net.parameters())
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())
    net.body.requires_grad_(False)
    assert [n for n, p in net.named_parameters() if p.requires_grad] == [
        "scale", "head.weight", "head.bias"]


def test_apply_visits_children_first():
    net = Net()
    seen = []
    assert net.apply(lambda m: seen.append(type(m).__name__)) is net
    assert seen == ["Linear", "BatchNorm1d", "ReLU", "Sequential", "Linear", "Net"]


def test_to_dtype_in_place():
    net = Net()
    w = net.head.weight
    net(ag.randn(4, 3)).sum().backward()
    assert net.double() is net
    assert net.head.weight is w and w.dtype == ag.float64 and w.grad.dtype == ag.float64
    assert net.body[1].running_mean.dtype == ag.float64
    assert net.body[1].num_batches_tracked.dtype == ag.int64
    out = net(ag.randn(4, 3, dtype=ag.float64))
    assert out.dtype == ag.float64
    net.float()
    assert w.dtype == ag.float32
    net.to(ag.float64)
    assert w.dtype == ag.float64
    with pytest.raises(TypeError, match="floating point"):
        net.to(ag.int64)


def test_linear_errors_name_both_numbers():
    with pytest.raises(RuntimeError, match=r"5.*in_features=4|4.*5"):
        nn.Linear(4, 2)(ag.randn(3, 5))


def test_linear_init_range_and_seed():
    ag.manual_seed(0)
    a = nn.Linear(16, 8)
    ag.manual_seed(0)
    b = nn.Linear(16, 8)
    np.testing.assert_array_equal(a.weight.detach().numpy(), b.weight.detach().numpy())
    np.testing.assert_array_equal(a.bias.detach().numpy(), b.bias.detach().numpy())
    bound = 1 / 4
    assert np.abs(a.weight.detach().numpy()).max() <= bound and np.abs(a.bias.detach().numpy()).max() <= bound
    assert np.abs(a.weight.detach().numpy()).max() > 0.8 * bound
    assert nn.Linear(3, 2, dtype=ag.float64).weight.dtype == ag.float64
    assert nn.Linear(3, 2, bias=False).bias is None


def test_sequential_container():
    seq = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
    assert len(seq) == 3 and isinstance(seq[-1], nn.Linear)
    head = seq[:2]
    assert isinstance(head, nn.Sequential) and len(head) == 2 and head[0] is seq[0]
    assert head(ag.randn(4, 2)).shape == (4, 3)
    seq.append(nn.Sigmoid())
    assert list(seq.state_dict()) == ["0.weight", "0.bias", "2.weight", "2.bias"]
    assert isinstance(seq[3], nn.Sigmoid)
    seq[3] = nn.Tanh()
    assert isinstance(seq[3], nn.Tanh)
    del seq[1]
    assert len(seq) == 3 and [n for n, _ in seq.named_children()] == ["0", "1", "2"]
    seq.insert(1, nn.ReLU())
    assert isinstance(seq[1], nn.ReLU) and len(seq) == 4
    seq.insert(-1, nn.Identity())  # before the last, as torch
    assert [type(m).__name__ for m in seq] == ["Linear", "ReLU", "Linear", "Identity", "Tanh"]
    del seq[3]
    with pytest.raises(IndexError):
        seq[10]
    named = nn.Sequential(OrderedDict(fc=nn.Linear(2, 2), act=nn.ReLU()))
    assert list(named.state_dict()) == ["fc.weight", "fc.bias"] and named.fc is named[0]
    assert [type(m).__name__ for m in seq] == ["Linear", "ReLU", "Linear", "Tanh"]


def test_module_list_and_dict():
    ml = nn.ModuleList([nn.Linear(2, 2) for _ in range(3)])
    assert len(ml) == 3 and len(list(ml.parameters())) == 6
    ml.append(nn.ReLU())
    assert isinstance(ml[-1], nn.ReLU)
    assert list(ml.state_dict())[:2] == ["0.weight", "0.bias"]
    md = nn.ModuleDict({"enc": nn.Linear(2, 3), "dec": nn.Linear(3, 2)})
    assert list(md.keys()) == ["enc", "dec"] and "enc" in md and len(md) == 2
    assert list(md.state_dict()) == ["enc.weight", "enc.bias", "dec.weight", "dec.bias"]
    md["act"] = nn.ReLU()
    assert [k for k, _ in md.items()] == ["enc", "dec", "act"]


def test_repr_nested():
    net = nn.Sequential(nn.Linear(2, 3), nn.Sequential(nn.ReLU(), nn.Dropout(0.1)))
    assert repr(net) == (
        "Sequential(\n"
        "  (0): Linear(in_features=2, out_features=3, bias=True)\n"
        "  (1): Sequential(\n"
        "    (0): ReLU()\n"
        "    (1): Dropout(p=0.1, inplace=False)\n"
        "  )\n"
        ")")


def test_forward_missing():
    with pytest.raises(NotImplementedError, match="forward"):
        nn.Module()(1)


def test_batchnorm_eval_uses_running_stats():
    bn = nn.BatchNorm1d(3)
    x = ag.randn(8, 3) * 3 + 1
    bn(x)
    assert bn.num_batches_tracked.item() == 1
    bn.eval()
    y = bn(x)
    rm, rv = bn.running_mean.numpy(), bn.running_var.numpy()
    np.testing.assert_allclose(y.detach().numpy(), (x.numpy() - rm) / np.sqrt(rv + 1e-5), rtol=1e-5,
                               atol=1e-6)
    assert bn.num_batches_tracked.item() == 1
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        nn.BatchNorm1d(3)(ag.randn(1, 3))
    with pytest.raises(ValueError, match="num_features=3"):
        nn.BatchNorm1d(3)(ag.randn(4, 5))
