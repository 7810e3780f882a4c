"""Every optimizer and option against torch.optim, step for step (float64: 1e-10 relative)."""
import numpy as np
import pytest
from hypothesis import given, strategies as st

from numbagrad import optim

from _optim_helpers import SHAPES, assert_close, make_params, run_ours, run_torch

torch = pytest.importorskip("torch")

CONFIGS = {
    "SGD": [dict(lr=0.05), dict(lr=0.05, momentum=0.9), dict(lr=0.05, momentum=0.9, dampening=0.9),
            dict(lr=0.05, momentum=0.8, nesterov=True), dict(lr=0.03, momentum=0.5, dampening=0.3,
                                                            weight_decay=0.1),
            dict(lr=0.03, momentum=0.9, nesterov=True, weight_decay=0.01, maximize=True),
            dict(lr=0.02, weight_decay=0.2, maximize=True)],
    "Adam": [dict(), dict(lr=0.01), dict(lr=0.01, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1),
             dict(lr=0.01, amsgrad=True), dict(lr=0.01, amsgrad=True, maximize=True, weight_decay=0.05),
             dict(lr=0.01, betas=(0.3, 0.9)), dict(lr=0.01, weight_decay=0.1,
                                                   decoupled_weight_decay=True)],
    "AdamW": [dict(), dict(lr=0.01, weight_decay=0.1), dict(lr=0.01, amsgrad=True, maximize=True),
              dict(lr=0.01, weight_decay=0)],
    "Adagrad": [dict(), dict(lr=0.1, lr_decay=0.01), dict(lr=0.1, weight_decay=0.1,
                                                          initial_accumulator_value=0.5),
                dict(lr=0.1, eps=1e-3, maximize=True)],
    "RMSprop": [dict(), dict(lr=0.01, alpha=0.9, eps=1e-6), dict(lr=0.01, momentum=0.9),
                dict(lr=0.01, centered=True), dict(lr=0.005, centered=True, momentum=0.5,
                                                   weight_decay=0.1),
                dict(lr=0.01, maximize=True, alpha=0.3)],
    "Adadelta": [dict(), dict(lr=0.5, rho=0.8, eps=1e-5, weight_decay=0.1),
                 dict(maximize=True)],
    "Adamax": [dict(), dict(lr=0.01, betas=(0.7, 0.9), weight_decay=0.1), dict(maximize=True)],
    "NAdam": [dict(), dict(lr=0.01, momentum_decay=0.01, weight_decay=0.1),
              dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True), dict(maximize=True)],
}
FUSED = {"SGD", "Adam", "AdamW", "Adagrad", "RMSprop"}
CASES = [(name, i) for name, cfgs in CONFIGS.items() for i in range(len(cfgs))]


def _paths(name):
    return [dict(foreach=False), dict(fused=True)] if name in FUSED else [dict()]


@pytest.mark.parametrize("name,i", CASES, ids=[f"{n}-{i}" for n, i in CASES])
def test_float64_trajectory_100_steps(name, i):
    kw = CONFIGS[name][i]
    arrays = make_params(SHAPES)
    theirs, _ = run_torch(torch, getattr(torch.optim, name), arrays, dict(kw, foreach=False), 100)
    for path in _paths(name):
        ours, _ = run_ours(getattr(optim, name), arrays, dict(kw, **path), 100)
        assert_close(ours, theirs, 1e-10)


@pytest.mark.parametrize("name", list(CONFIGS))
def test_float32_trajectory(name):
    kw = CONFIGS[name][1]
    arrays = make_params([(3, 1000), (17,)], dtype=np.float32)
    theirs, _ = run_torch(torch, getattr(torch.optim, name), arrays, dict(kw, foreach=False), 30)
    for path in _paths(name):
        ours, _ = run_ours(getattr(optim, name), arrays, dict(kw, **path), 30)
        assert_close(ours, theirs, 2e-4)


@pytest.mark.parametrize("name", list(CONFIGS))
def test_large_parameter_parallel_kernel(name, monkeypatch):
    """Above the parallel threshold the prange kernels give the same numbers."""
    from numbagrad.autograd.kernels._jit import faster_twin
    monkeypatch.setattr(faster_twin, "force", "parallel")
    kw = CONFIGS[name][-1]
    arrays = make_params([(300_000,)])
    theirs, _ = run_torch(torch, getattr(torch.optim, name), arrays, dict(kw, foreach=False), 5)
    for path in _paths(name):
        ours, _ = run_ours(getattr(optim, name), arrays, dict(kw, **path), 5)
        assert_close(ours, theirs, 1e-12)


@pytest.mark.parametrize("name", list(CONFIGS))
def test_skipped_parameters_and_state_dict_layout(name):
    """Parameters without a gradient are skipped; state dict keys/values match torch's."""
    kw = CONFIGS[name][-1]
    arrays = make_params(SHAPES)
    skip = lambda k, i: (i == 1 and k % 3 == 0) or (i == 2 and k < 5)  # noqa: E731
    theirs, topt = run_torch(torch, getattr(torch.optim, name), arrays, dict(kw, foreach=False),
                             20, skip=skip)
    ours, oopt = run_ours(getattr(optim, name), arrays, dict(kw), 20, skip=skip)
    assert_close(ours, theirs, 1e-10)
    tsd, osd = topt.state_dict(), oopt.state_dict()
    assert list(tsd["state"]) == list(osd["state"])
    for k in tsd["state"]:
        assert list(tsd["state"][k]) == list(osd["state"][k])
        for key, tv in tsd["state"][k].items():
            ov = osd["state"][k][key]
            if tv is None:
                assert ov is None
                continue
            np.testing.assert_allclose(ov.numpy(), tv.numpy(), rtol=1e-9, atol=1e-12)
            assert str(ov.dtype) == str(tv.dtype).replace("torch.", "")
    assert len(tsd["param_groups"]) == len(osd["param_groups"])
    for tg, og in zip(tsd["param_groups"], osd["param_groups"]):
        assert tg["params"] == og["params"]
        for key in tg:
            if key not in ("foreach", "fused", "params"):
                assert og[key] == tg[key], key


def test_param_groups_with_different_lrs():
    arrays = make_params([(3,), (4,), (5,)])

    def groups(ps):
        return [{"params": ps[:2], "lr": 0.1, "momentum": 0.5}, {"params": ps[2:]}]
    theirs, _ = run_torch(torch, torch.optim.SGD, arrays, dict(lr=0.01, momentum=0.9), 30,
                          opt_kwargs_groups=groups)
    ours, opt = run_ours(optim.SGD, arrays, dict(lr=0.01, momentum=0.9), 30,
                         opt_kwargs_groups=groups)
    assert_close(ours, theirs, 1e-10)
    assert [g["lr"] for g in opt.param_groups] == [0.1, 0.01]
    assert [g["momentum"] for g in opt.param_groups] == [0.5, 0.9]


_floats = st.floats(0.0, 0.99)


@given(lr=st.floats(1e-4, 0.1), b1=_floats, b2=st.floats(0.5, 0.999), wd=st.floats(0, 0.3),
       eps=st.sampled_from([1e-8, 1e-4, 0.1]), amsgrad=st.booleans(), maximize=st.booleans(),
       decoupled=st.booleans(), fused=st.booleans())
def test_hypothesis_adam(lr, b1, b2, wd, eps, amsgrad, maximize, decoupled, fused):
    kw = dict(lr=lr, betas=(b1, b2), weight_decay=wd, eps=eps, amsgrad=amsgrad,
              maximize=maximize, decoupled_weight_decay=decoupled)
    arrays = make_params([(5,), (2, 3)], seed=1)
    theirs, _ = run_torch(torch, torch.optim.Adam, arrays, dict(kw, foreach=False), 20)
    ours, _ = run_ours(optim.Adam, arrays, dict(kw, fused=fused), 20)
    assert_close(ours, theirs, 1e-10)


@given(lr=st.floats(1e-4, 0.1), mom=_floats, damp=_floats, wd=st.floats(0, 0.3),
       nesterov=st.booleans(), maximize=st.booleans(), fused=st.booleans())
def test_hypothesis_sgd(lr, mom, damp, wd, nesterov, maximize, fused):
    if nesterov:
        damp = 0.0
        mom = max(mom, 0.1)
    kw = dict(lr=lr, momentum=mom, dampening=damp, weight_decay=wd, nesterov=nesterov,
              maximize=maximize)
    arrays = make_params([(5,), (2, 3)], seed=2)
    theirs, _ = run_torch(torch, torch.optim.SGD, arrays, dict(kw, foreach=False), 20)
    ours, _ = run_ours(optim.SGD, arrays, dict(kw, fused=fused), 20)
    assert_close(ours, theirs, 1e-10)


@given(lr=st.floats(1e-4, 0.05), alpha=_floats, mom=st.sampled_from([0.0, 0.5, 0.9]),
       wd=st.floats(0, 0.3), centered=st.booleans(), maximize=st.booleans(),
       fused=st.booleans())
def test_hypothesis_rmsprop(lr, alpha, mom, wd, centered, maximize, fused):
    if centered:  # E - gbar**2 cancels to ~0 for small alpha: sqrt of a rounding error
        alpha = 0.5 + alpha / 2
    kw = dict(lr=lr, alpha=alpha, momentum=mom, weight_decay=wd, centered=centered,
              maximize=maximize, eps=1e-3)
    arrays = make_params([(5,), (2, 3)], seed=3)
    theirs, _ = run_torch(torch, torch.optim.RMSprop, arrays, dict(kw, foreach=False), 20)
    ours, _ = run_ours(optim.RMSprop, arrays, dict(kw, fused=fused), 20)
    assert_close(ours, theirs, 1e-9)


@given(name=st.sampled_from(["Adagrad", "Adadelta", "Adamax", "NAdam"]),
       lr=st.floats(1e-3, 0.5), wd=st.floats(0, 0.3), maximize=st.booleans())
def test_hypothesis_others(name, lr, wd, maximize):
    kw = dict(lr=lr, weight_decay=wd, maximize=maximize)
    arrays = make_params([(5,), (2, 3)], seed=4)
    theirs, _ = run_torch(torch, getattr(torch.optim, name), arrays, dict(kw, foreach=False), 20)
    ours, _ = run_ours(getattr(optim, name), arrays, kw, 20)
    assert_close(ours, theirs, 1e-10)
