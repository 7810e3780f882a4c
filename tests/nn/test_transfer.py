"""Transfer learning the PyTorch way: freeze, slice a Sequential, replace its head,
fine-tune with per-group learning rates."""
import numpy as np

import numbagrad.autograd as ag
import numbagrad.nn as nn
import numbagrad.nn.functional as F
from numbagrad import optim


def _pretrained():
    ag.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 8), nn.Tanh(),
                         nn.Linear(8, 3))


def _data(n=32, classes=2):
    r = np.random.default_rng(0)
    x = ag.tensor(r.standard_normal((n, 4)).astype(np.float32))
    y = ag.tensor(r.integers(0, classes, n))
    return x, y


def test_frozen_parameters_are_bit_identical_after_training():
    model = _pretrained()
    for p in model[:4].parameters():
        p.requires_grad_(False)
    model[4] = nn.Linear(8, 2)  # new head for a 2-class task
    frozen = {k: v.numpy().copy() for k, v in model.state_dict().items() if not k.startswith("4.")}
    head_before = model[4].weight.detach().numpy().copy()
    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-2)
    x, y = _data()
    for _ in range(5):
        opt.zero_grad()
        F.cross_entropy(model(x), y).backward()
        opt.step()
    for k, v in model.state_dict().items():
        if k in frozen:
            assert v.numpy().tobytes() == frozen[k].tobytes(), k
            assert model.get_parameter(k).grad is None
    assert not np.array_equal(model[4].weight.detach().numpy(), head_before)


def test_feature_extraction_by_slicing():
    model = _pretrained()
    features = model[:-1]  # shares the modules
    assert features[0] is model[0]
    x, _ = _data(5)
    with ag.no_grad():
        f = features(x)
    assert f.shape == (5, 8) and not f.requires_grad
    np.testing.assert_allclose(model[-1](f).detach().numpy(), model(x).detach().numpy(), rtol=1e-6)
    new = nn.Sequential(*features, nn.Linear(8, 2))
    assert new(x).shape == (5, 2)


def test_fine_tuning_with_per_group_learning_rates():
    model = _pretrained()
    body, head = model[:-1], model[-1]
    opt = optim.SGD([{"params": body.parameters(), "lr": 1e-3},
                     {"params": head.parameters()}], lr=0.1)
    assert [g["lr"] for g in opt.param_groups] == [1e-3, 0.1]
    x, y = _data(classes=3)
    before = {k: v.numpy().copy() for k, v in model.state_dict().items()}
    F.cross_entropy(model(x), y).backward()
    grads = {k: p.grad.numpy().copy() for k, p in model.named_parameters()}
    opt.step()
    for k, v in model.state_dict().items():
        lr = 0.1 if k.startswith("4.") else 1e-3
        np.testing.assert_allclose(v.numpy(), before[k] - lr * grads[k], rtol=1e-5, atol=1e-7)


def test_requires_grad_false_on_module_freezes_and_unfreezes():
    model = _pretrained()
    model.requires_grad_(False)
    assert not any(p.requires_grad for p in model.parameters())
    x, _ = _data(3)
    assert not model(x).requires_grad
    model[4].requires_grad_(True)
    assert [n for n, p in model.named_parameters() if p.requires_grad] == ["4.weight", "4.bias"]
