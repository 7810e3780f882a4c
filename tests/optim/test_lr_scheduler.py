"""Learning-rate schedulers against torch.optim.lr_scheduler, step by step."""
import math
import warnings

import pytest

import numbagrad.autograd as ag
from numbagrad import optim
from numbagrad.optim import lr_scheduler as S

torch = pytest.importorskip("torch")
TS = torch.optim.lr_scheduler

CASES = {
    "StepLR": dict(step_size=7, gamma=0.5),
    "MultiStepLR": dict(milestones=[5, 12, 12, 30], gamma=0.3),
    "ExponentialLR": dict(gamma=0.93),
    "CosineAnnealingLR": dict(T_max=15, eta_min=0.001),
    "LinearLR": dict(start_factor=0.2, end_factor=0.9, total_iters=10),
    "LambdaLR": dict(lr_lambda=lambda e: 1.0 / (1 + 0.1 * e)),
    "OneCycleLR": dict(max_lr=[0.5, 1.0], total_steps=60),
    "OneCycleLR-3phase": dict(max_lr=0.8, total_steps=60, three_phase=True,
                              anneal_strategy="linear"),
}


def _pair(opt_name="SGD", **okw):
    ours_p = [ag.zeros(2, requires_grad=True), ag.zeros(3, requires_grad=True)]
    th_p = [torch.zeros(2, requires_grad=True), torch.zeros(3, requires_grad=True)]
    kw = dict(lr=0.1, **okw)
    if opt_name == "SGD":
        kw.setdefault("momentum", 0.9)
    ours = getattr(optim, opt_name)([{"params": ours_p[:1]}, {"params": ours_p[1:], "lr": 0.05}],
                                   **kw)
    theirs = getattr(torch.optim, opt_name)([{"params": th_p[:1]},
                                             {"params": th_p[1:], "lr": 0.05}], **kw)
    return ours, theirs


def _groups_equal(o, t, rel=1e-12):
    for go, gt in zip(o.param_groups, t.param_groups):
        assert go["lr"] == pytest.approx(gt["lr"], rel=rel, abs=1e-15)
        for key in ("momentum", "betas"):
            if key in gt:
                assert go[key] == pytest.approx(gt[key], rel=rel)


@pytest.mark.parametrize("name", list(CASES))
@pytest.mark.parametrize("opt_name", ["SGD", "Adam"])
def test_matches_torch_50_steps(name, opt_name):
    cls = name.split("-")[0]
    o_opt, t_opt = _pair(opt_name)
    o = getattr(S, cls)(o_opt, **CASES[name])
    t = getattr(TS, cls)(t_opt, **CASES[name])
    assert o.get_last_lr() == pytest.approx(t.get_last_lr(), rel=1e-12)
    for _ in range(50 if cls != "OneCycleLR" else 60):
        o_opt.step()
        t_opt.step()
        o.step()
        t.step()
        assert o.get_last_lr() == pytest.approx(t.get_last_lr(), rel=1e-12, abs=1e-15)
        _groups_equal(o_opt, t_opt)


@pytest.mark.parametrize("name", ["StepLR", "MultiStepLR", "ExponentialLR", "CosineAnnealingLR",
                                  "LinearLR"])
def test_closed_form_with_epoch_argument(name):
    o_opt, t_opt = _pair()
    o = getattr(S, name)(o_opt, **CASES[name])
    t = getattr(TS, name)(t_opt, **CASES[name])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for e in [3, 10, 11, 25, 40, 7]:
            o.step(e)
            t.step(e)
            assert o.get_last_lr() == pytest.approx(t.get_last_lr(), rel=1e-12, abs=1e-15)


def test_cosine_closed_form_matches_recursive():
    o_opt, _ = _pair()
    o = S.CosineAnnealingLR(o_opt, T_max=20, eta_min=0.01)
    for e in range(1, 21):
        o.step()
        expect = 0.01 + (0.1 - 0.01) * (1 + math.cos(math.pi * e / 20)) / 2
        assert o.get_last_lr()[0] == pytest.approx(expect, rel=1e-10)


@pytest.mark.parametrize("mode,threshold_mode", [("min", "rel"), ("max", "abs")])
def test_reduce_on_plateau(mode, threshold_mode):
    o_opt, t_opt = _pair()
    kw = dict(mode=mode, factor=0.5, patience=2, threshold=0.01, threshold_mode=threshold_mode,
              cooldown=1, min_lr=[0.01, 0.02])
    o = S.ReduceLROnPlateau(o_opt, **kw)
    t = TS.ReduceLROnPlateau(t_opt, **kw)
    metrics = [1.0, 0.9, 0.9, 0.9, 0.9, 0.95, 0.7, 0.7, 0.7, 0.7, 0.7, 0.7, 0.7, 0.69] * 4
    for m in metrics:
        o.step(ag.tensor(m, dtype=ag.float64))
        t.step(m)
        assert o.get_last_lr() == pytest.approx(t.get_last_lr(), rel=1e-12)
        assert o.num_bad_epochs == t.num_bad_epochs and o.best == t.best


def test_state_dict_round_trip_through_checkpoint(tmp_path):
    for name in ["StepLR", "MultiStepLR", "CosineAnnealingLR", "OneCycleLR", "LambdaLR"]:
        o_opt, _ = _pair()
        sched = getattr(S, name)(o_opt, **CASES[name])
        for _ in range(13):
            o_opt.step()
            sched.step()
        ag.save({"sched": sched.state_dict(), "opt": o_opt.state_dict()}, tmp_path / "s.npz")
        ck = ag.load(tmp_path / "s.npz")
        o_opt2, _ = _pair()
        o_opt2.load_state_dict(ck["opt"])
        sched2 = getattr(S, name)(o_opt2, **CASES[name])
        sched2.load_state_dict(ck["sched"])
        for _ in range(20):
            for s, opt in ((sched, o_opt), (sched2, o_opt2)):
                opt.step()
                s.step()
            assert sched.get_last_lr() == sched2.get_last_lr()


def test_plateau_state_dict_round_trip(tmp_path):
    o_opt, _ = _pair()
    s = S.ReduceLROnPlateau(o_opt, patience=1)
    for m in [1, 1, 1, 1]:
        s.step(m)
    ag.save(s.state_dict(), tmp_path / "p.npz")
    s2 = S.ReduceLROnPlateau(_pair()[0], patience=5)
    s2.load_state_dict(ag.load(tmp_path / "p.npz"))
    assert s2.patience == 1 and s2.best == 1 and s2.mode_worse == math.inf


def test_errors_and_warnings():
    o_opt, _ = _pair()
    with pytest.raises(TypeError, match="is not an Optimizer"):
        S.StepLR("sgd", 3)
    with pytest.raises(ValueError, match="Starting multiplicative factor"):
        S.LinearLR(o_opt, start_factor=0)
    with pytest.raises(ValueError, match="total_steps OR"):
        S.OneCycleLR(o_opt, max_lr=1.0)
    with pytest.raises(ValueError, match="Factor should be < 1.0"):
        S.ReduceLROnPlateau(o_opt, factor=1.0)
    with pytest.raises(ValueError, match="Expected 2 lr_lambdas"):
        S.LambdaLR(o_opt, [lambda e: 1.0])
    with pytest.raises(KeyError, match="initial_lr"):
        S.StepLR(_pair()[0], 3, last_epoch=5)
    s = S.StepLR(o_opt, 3)
    with pytest.warns(UserWarning, match="before `optimizer.step"):
        s.step()
    one = S.OneCycleLR(_pair()[0], max_lr=1.0, total_steps=2)
    one.step()
    one.step()
    with pytest.raises(ValueError, match="Tried to step 3 times"):
        one.step()
