"""End to end with numbagrad.nn: each optimizer trains a small MLP; checkpoint resume is bit-identical."""
import numpy as np
import pytest

import numbagrad.autograd as ag
from numbagrad import optim

nn = pytest.importorskip("numbagrad.nn")
F = pytest.importorskip("numbagrad.nn.functional")

OPTS = {"SGD": dict(lr=0.1, momentum=0.9), "Adam": dict(lr=0.01), "AdamW": dict(lr=0.01),
        "Adagrad": dict(lr=0.1), "RMSprop": dict(lr=0.01), "Adadelta": dict(lr=1.0),
        "Adamax": dict(lr=0.02), "NAdam": dict(lr=0.01)}


def _data():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((128, 4)).astype(np.float32)
    y = (x[:, 0] + x[:, 1] * x[:, 2] > 0).astype(np.int64) + (x[:, 3] > 1)
    return ag.tensor(x), ag.tensor(y)


def _model():
    ag.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 32), nn.Tanh(), nn.Linear(32, 3))


def _steps(model, opt, x, y, n):
    for _ in range(n):
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
    return float(loss)


@pytest.mark.parametrize("name", list(OPTS))
def test_mlp_loss_goes_down(name):
    x, y = _data()
    model = _model()
    opt = getattr(optim, name)(model.parameters(), **OPTS[name])
    first = float(F.cross_entropy(model(x), y))
    last = _steps(model, opt, x, y, 60)
    assert last < 0.75 * first, (first, last)


@pytest.mark.parametrize("name,kw", [("Adam", dict(lr=0.01)),
                                     ("SGD", dict(lr=0.05, momentum=0.9)),
                                     ("SGD", dict(lr=0.05, momentum=0.9, foreach=False))])
def test_resume_model_and_optimizer_bit_identical(tmp_path, name, kw):
    x, y = _data()
    ref = _model()
    ref_opt = getattr(optim, name)(ref.parameters(), **kw)
    ref_sched = optim.lr_scheduler.StepLR(ref_opt, step_size=3, gamma=0.5)
    for _ in range(4):
        _steps(ref, ref_opt, x, y, 3)
        ref_sched.step()

    model = _model()
    opt = getattr(optim, name)(model.parameters(), **kw)
    sched = optim.lr_scheduler.StepLR(opt, step_size=3, gamma=0.5)
    for _ in range(2):
        _steps(model, opt, x, y, 3)
        sched.step()
    path = tmp_path / "ckpt.npz"
    ag.save({"model": model.state_dict(), "optimizer": opt.state_dict(),
             "scheduler": sched.state_dict(), "epoch": 2}, path)

    ck = ag.load(path)
    model2 = nn.Sequential(nn.Linear(4, 32), nn.Tanh(), nn.Linear(32, 3))
    model2.load_state_dict(ck["model"])
    opt2 = getattr(optim, name)(model2.parameters(), **kw)
    opt2.load_state_dict(ck["optimizer"])
    sched2 = optim.lr_scheduler.StepLR(opt2, step_size=3, gamma=0.5)
    sched2.load_state_dict(ck["scheduler"])
    for _ in range(2):
        _steps(model2, opt2, x, y, 3)
        sched2.step()
    for (k, a), (_, b) in zip(ref.state_dict().items(), model2.state_dict().items()):
        np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy(), err_msg=k)
    assert sched2.get_last_lr() == ref_sched.get_last_lr() == [kw["lr"] * 0.5]
