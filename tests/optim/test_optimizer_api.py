"""Optimizer base behaviour: errors, param groups, zero_grad, closures, state dicts, resume, descent."""
import numpy as np
import pytest

import numbagrad.autograd as ag
from numbagrad import optim

ALL = ["SGD", "Adam", "AdamW", "Adagrad", "RMSprop", "Adadelta", "Adamax", "NAdam"]


def _params():
    return [ag.randn(3, requires_grad=True), ag.randn(2, 2, requires_grad=True)]


BAD = [
    ("SGD", dict(lr=-1), "Invalid learning rate: -1"),
    ("SGD", dict(lr=0.1, momentum=-0.5), "Invalid momentum value: -0.5"),
    ("SGD", dict(lr=0.1, weight_decay=-1), "Invalid weight_decay value: -1"),
    ("SGD", dict(lr=0.1, nesterov=True), "Nesterov momentum requires a momentum and zero dampening"),
    ("SGD", dict(lr=0.1, momentum=0.9, dampening=0.1, nesterov=True), "Nesterov momentum requires"),
    ("Adam", dict(lr=-1), "Invalid learning rate: -1"),
    ("Adam", dict(eps=-1e-8), "Invalid epsilon value: -1e-08"),
    ("Adam", dict(betas=(1.0, 0.999)), "Invalid beta parameter at index 0: 1.0"),
    ("Adam", dict(betas=(0.9, -0.1)), "Invalid beta parameter at index 1: -0.1"),
    ("Adam", dict(weight_decay=-0.1), "Invalid weight_decay value: -0.1"),
    ("AdamW", dict(betas=(0.9, 1.5)), "Invalid beta parameter at index 1: 1.5"),
    ("Adagrad", dict(lr_decay=-1), "Invalid lr_decay value: -1"),
    ("Adagrad", dict(initial_accumulator_value=-1), "Invalid initial_accumulator_value value: -1"),
    ("Adagrad", dict(eps=-1), "Invalid epsilon value: -1"),
    ("RMSprop", dict(alpha=-0.1), "Invalid alpha value: -0.1"),
    ("RMSprop", dict(momentum=-0.1), "Invalid momentum value: -0.1"),
    ("Adadelta", dict(rho=1.5), "Invalid rho value: 1.5"),
    ("Adamax", dict(eps=-1), "Invalid epsilon value: -1"),
    ("NAdam", dict(momentum_decay=-1), "Invalid momentum_decay value: -1"),
]


@pytest.mark.parametrize("name,kw,msg", BAD, ids=[f"{n}-{m[:20]}" for n, _, m in BAD])
def test_bad_hyperparameters_raise_like_torch(name, kw, msg):
    with pytest.raises(ValueError) as ours:
        getattr(optim, name)(_params(), **kw)
    assert msg in str(ours.value)
    torch = pytest.importorskip("torch")
    with pytest.raises(ValueError) as theirs:
        getattr(torch.optim, name)([torch.zeros(2, requires_grad=True)], **kw)
    assert str(theirs.value) == str(ours.value)


def test_param_list_errors():
    with pytest.raises(ValueError, match="empty parameter list"):
        optim.SGD([], lr=0.1)
    with pytest.raises(TypeError, match="iterable of Tensors"):
        optim.SGD(ag.randn(2, requires_grad=True), lr=0.1)
    with pytest.raises(TypeError, match="can only optimize Tensors"):
        optim.SGD([np.zeros(2)], lr=0.1)
    x = ag.randn(2, requires_grad=True)
    with pytest.raises(ValueError, match="non-leaf"):
        optim.SGD([x * 2], lr=0.1)
    with pytest.raises(TypeError, match="ordered collections"):
        optim.SGD({x}, lr=0.1)


def test_add_param_group_defaults_and_duplicates():
    a, b, c = _params() + [ag.randn(4, requires_grad=True)]
    opt = optim.Adam([a], lr=0.1)
    opt.add_param_group({"params": [b], "lr": 0.5, "amsgrad": True})
    assert opt.param_groups[1]["lr"] == 0.5 and opt.param_groups[1]["betas"] == (0.9, 0.999)
    assert opt.param_groups[1]["amsgrad"] is True and opt.param_groups[0]["amsgrad"] is False
    with pytest.raises(ValueError, match="more than one parameter group"):
        opt.add_param_group({"params": [c, a]})
    assert len(opt.param_groups) == 2
    opt.add_param_group({"params": c})
    assert opt.param_groups[2]["params"] == [c]


def test_required_lr_in_groups():
    class Custom(optim.Optimizer):
        def __init__(self, params):
            super().__init__(params, {"lr": optim.optimizer.required})

    with pytest.raises(ValueError, match="didn't specify a value of required optimization "
                                         "parameter lr"):
        Custom(_params())
    Custom([{"params": _params(), "lr": 1.0}])


def test_zero_grad():
    ps = _params()
    opt = optim.SGD(ps, lr=0.1)
    for p in ps:
        p.grad = ag.ones_like(p)
    opt.zero_grad(set_to_none=False)
    assert all(p.grad is not None and float(p.grad.abs().sum()) == 0 for p in ps)
    opt.zero_grad()
    assert all(p.grad is None for p in ps)


def test_named_parameters_are_accepted():
    ps = _params()
    opt = optim.SGD([("a", ps[0]), ("b", ps[1])], lr=0.1)
    assert opt.param_groups[0]["params"] == ps
    assert opt.param_groups[0]["param_names"] == ["a", "b"]


def test_step_with_closure_returns_loss_and_records_graph():
    x = ag.tensor([1.0, -2.0], requires_grad=True)
    opt = optim.SGD([x], lr=0.1)
    calls = []

    def closure():
        opt.zero_grad()
        loss = (x * x).sum()
        loss.backward()
        calls.append(float(loss))
        return loss

    with ag.no_grad():  # the closure runs with grad enabled regardless
        loss = opt.step(closure)
    assert float(loss) == 5.0 and calls == [5.0]
    np.testing.assert_allclose(x.detach().numpy(), [0.8, -1.6], rtol=1e-6)


def test_parameter_without_grad_is_skipped_and_has_no_state():
    a, b = _params()
    before = b.detach().numpy().copy()
    for name in ALL:
        opt = getattr(optim, name)([a, b])
        a.grad = ag.ones_like(a)
        b.grad = None
        opt.step()
        np.testing.assert_array_equal(b.detach().numpy(), before)
        if name != "Adagrad":  # Adagrad creates its state eagerly, like PyTorch
            assert b not in opt.state


def test_load_state_dict_errors():
    ps = _params()
    opt = optim.Adam(ps)
    sd = opt.state_dict()
    with pytest.raises(ValueError, match="different number of parameter groups"):
        optim.Adam([{"params": ps[:1]}, {"params": ps[1:]}]).load_state_dict(sd)
    with pytest.raises(ValueError, match="doesn't match the size"):
        optim.Adam(ps[:1]).load_state_dict(sd)
    with pytest.raises(ValueError, match="'state' and 'param_groups'"):
        opt.load_state_dict({"foo": 1})


def test_load_state_dict_copies_and_casts():
    ps = [ag.randn(3, dtype=ag.float64, requires_grad=True)]
    opt = optim.Adam(ps, lr=0.1)
    ps[0].grad = ag.ones_like(ps[0])
    opt.step()
    sd = opt.state_dict()
    sd["state"][0]["exp_avg"] = ag.tensor([1.0, 2.0, 3.0], dtype=ag.float32)
    sd["param_groups"][0]["betas"] = [0.5, 0.6]
    opt2 = optim.Adam(ps, lr=1.0)
    opt2.load_state_dict(sd)
    st = opt2.state[ps[0]]
    assert st["exp_avg"].dtype == ag.float64 and st["step"].dtype == ag.float32
    assert opt2.param_groups[0]["lr"] == 0.1 and opt2.param_groups[0]["betas"] == (0.5, 0.6)
    assert st["exp_avg_sq"] is not opt.state[ps[0]]["exp_avg_sq"]
    sd["state"][0]["step"] = 1  # a plain number (older checkpoints) becomes a step tensor
    opt2.load_state_dict(sd)
    assert isinstance(opt2.state[ps[0]]["step"], ag.Tensor)
    ps[0].grad = ag.ones_like(ps[0])
    opt2.step()
    assert float(opt2.state[ps[0]]["step"]) == 2.0
    with pytest.raises(ValueError, match="shape"):
        sd["state"][0]["exp_avg"] = ag.zeros(4)
        opt2.load_state_dict(sd)


def _train(opt_factory, steps, params=None, opt=None):
    ag.manual_seed(0)
    rng = np.random.default_rng(0)
    X = ag.tensor(rng.standard_normal((32, 5)))
    Y = ag.tensor(rng.standard_normal((32, 2)))
    if params is None:
        params = [ag.tensor(rng.standard_normal((5, 8)) * 0.3, requires_grad=True),
                  ag.zeros(8, requires_grad=True),
                  ag.tensor(rng.standard_normal((8, 2)) * 0.3, requires_grad=True)]
    if opt is None:
        opt = opt_factory(params)
    for _ in range(steps):
        opt.zero_grad()
        h = (X @ params[0] + params[1]).tanh()
        loss = ((h @ params[2] - Y) ** 2).mean()
        loss.backward()
        opt.step()
    return params, opt, float(loss)


@pytest.mark.parametrize("factory", [
    lambda ps: optim.Adam(ps, lr=0.01, amsgrad=True),
    lambda ps: optim.AdamW(ps, lr=0.01, foreach=False),
    lambda ps: optim.SGD(ps, lr=0.05, momentum=0.9, nesterov=True),
    lambda ps: optim.SGD(ps, lr=0.05, momentum=0.9, dampening=0.5, foreach=False),
    lambda ps: optim.RMSprop(ps, lr=0.01, momentum=0.5, centered=True),
    lambda ps: optim.NAdam(ps, lr=0.01),
], ids=["adam", "adamw-ref", "sgd-nesterov", "sgd-damp-ref", "rmsprop", "nadam"])
def test_resume_from_checkpoint_is_bit_identical(tmp_path, factory):
    full, _, loss_full = _train(factory, 20)
    params, opt, _ = _train(factory, 10)
    path = tmp_path / "ckpt.npz"
    ag.save({"params": [p.detach() for p in params], "optimizer": opt.state_dict(),
             "epoch": 10}, path)
    del params, opt
    ck = ag.load(path)
    fresh = [ag.tensor(t.numpy(), requires_grad=True) for t in ck["params"]]
    opt2 = factory(fresh)
    opt2.load_state_dict(ck["optimizer"])
    resumed, _, loss_resumed = _train(None, 10, params=fresh, opt=opt2)
    for a, b in zip(full, resumed):
        np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())
    assert loss_full == loss_resumed


def test_training_reduces_loss_for_every_optimizer():
    lrs = {"SGD": 0.1, "Adam": 0.01, "AdamW": 0.01, "Adagrad": 0.1, "RMSprop": 0.01,
           "Adadelta": 1.0, "Adamax": 0.02, "NAdam": 0.01}
    for name, lr in lrs.items():
        _, _, first = _train(lambda ps: getattr(optim, name)(ps, lr=lr), 1)
        _, _, last = _train(lambda ps: getattr(optim, name)(ps, lr=lr), 150)
        assert last < 0.7 * first, (name, first, last)


ROSEN = {"SGD": dict(lr=1e-3, momentum=0.9), "Adam": dict(lr=0.1), "AdamW": dict(lr=0.05),
         "Adagrad": dict(lr=2.0), "RMSprop": dict(lr=0.01), "Adadelta": dict(lr=5.0),
         "Adamax": dict(lr=0.05, betas=(0.9, 0.99)), "NAdam": dict(lr=0.05)}


@pytest.mark.parametrize("name", list(ROSEN))
def test_rosenbrock_descent(name):
    xy = ag.tensor([-1.5, 2.0], dtype=ag.float64, requires_grad=True)
    opt = getattr(optim, name)([xy], **ROSEN[name])

    def f():
        x, y = xy[0], xy[1]
        return (1 - x) ** 2 + 100 * (y - x * x) ** 2

    start = float(f())
    for _ in range(500):
        opt.zero_grad()
        loss = f()
        loss.backward()
        opt.step()
    end = float(f())
    assert end < 0.1 * start, (name, start, end)  # from 12.5 to below 1.25
    assert float(((xy.detach() - ag.tensor([1.0, 1.0], dtype=ag.float64)) ** 2).sum()) < \
        float(((ag.tensor([-1.5, 2.0], dtype=ag.float64) - 1.0) ** 2).sum())


def test_fused_true_rejects_ineligible_parameter():
    x = ag.randn(4, 3, requires_grad=True)
    xt = x.detach().t()  # a non-contiguous leaf
    xt.requires_grad_(True)
    xt.grad = ag.ones(3, 4)
    opt = optim.Adam([xt], fused=True)
    with pytest.raises(RuntimeError, match="fused=True"):
        opt.step()
    opt = optim.Adam([xt])  # automatic choice: falls back to the Tensor path
    opt.step()


def test_fused_bumps_version_counters():
    p = ag.randn(5, requires_grad=True)
    p.grad = ag.ones(5)
    opt = optim.Adam([p], fused=True)
    v = p._version
    opt.step()
    assert p._version > v and opt.state[p]["exp_avg"]._version > 0
