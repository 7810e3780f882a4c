"""Gradient-flow telemetry: numbers against hand computation, dead/saturated units, NaN
detection, hook removal, table and plots."""
import math
import sys

import numpy as np
import pytest

import numbagrad.autograd as ag
from numbagrad import nn, optim
from numbagrad.nn import telemetry


def tiny():
    model = nn.Sequential(nn.Linear(2, 2)).double()
    with ag.no_grad():
        model[0].weight.copy_(ag.tensor([[1.0, -2.0], [0.5, 3.0]], dtype=ag.float64))
        model[0].bias.copy_(ag.tensor([0.1, -0.2], dtype=ag.float64))
    return model


def test_numbers_match_hand_computation():
    model = tiny()
    W0 = model[0].weight.detach().numpy().copy()
    b0 = model[0].bias.detach().numpy().copy()
    x = np.array([[1.0, 2.0], [-1.0, 0.5], [0.0, 1.0]])
    opt = optim.SGD(model.parameters(), lr=0.1)
    with telemetry.record(model, optimizer=opt) as rec:
        opt.zero_grad()
        out = model(ag.tensor(x, dtype=ag.float64))
        (out * out).sum().backward()
        opt.step()
    o = x @ W0.T + b0
    dW, db = 2 * o.T @ x, 2 * o.sum(0)
    g = np.concatenate([dW.ravel(), db])
    W1, b1 = W0 - 0.1 * dW, b0 - 0.1 * db
    w_before = np.concatenate([W0.ravel(), b0])
    w_after = np.concatenate([W1.ravel(), b1])
    rows = [r for r in rec.records if r["layer"] == "0"]
    assert len(rows) == 1
    r = rows[0]
    assert r["step"] == 0 and r["type"] == "Linear"
    assert r["grad_norm"] == pytest.approx(np.linalg.norm(g), rel=1e-10)
    assert r["grad_mean"] == pytest.approx(g.mean(), rel=1e-9, abs=1e-12)
    assert r["grad_std"] == pytest.approx(g.std(), rel=1e-9)
    assert r["grad_max"] == pytest.approx(np.abs(g).max(), rel=1e-12)
    assert r["weight_norm"] == pytest.approx(np.linalg.norm(w_after), rel=1e-10)
    assert r["update_ratio"] == pytest.approx(
        np.linalg.norm(w_after - w_before) / np.linalg.norm(w_before), rel=1e-9)
    assert r["act_mean"] == pytest.approx(o.mean(), rel=1e-10)
    assert r["act_std"] == pytest.approx(o.std(), rel=1e-9)
    assert r["dead_frac"] is None and r["saturated_frac"] is None
    assert r["nonfinite"] is False
    assert rec.first_nonfinite is None


def test_dead_relu_and_saturation_fractions():
    model = nn.Sequential(nn.Identity(), nn.ReLU(), nn.Tanh(), nn.Sigmoid())
    x = ag.tensor([[-1.0, 0.0, 2.0, 3.0], [-5.0, -0.1, 0.2, 10.0]], requires_grad=True)
    with telemetry.GradientRecorder(model) as rec:
        model(x).sum().backward()
        rec.step()
    by = {r["layer"]: r for r in rec.records}
    assert by["1"]["dead_frac"] == pytest.approx(4 / 8)       # -1, 0, -5, -0.1
    # tanh of relu output [0,0,2,3,0,0,.2,10]: |tanh| > 0.99 for 3 and 10
    assert by["2"]["saturated_frac"] == pytest.approx(2 / 8)
    # sigmoid of tanh (all in [0, 1)): none below 0.01 or above 0.99
    assert by["3"]["saturated_frac"] == 0.0
    sig = nn.Sigmoid()
    with telemetry.record(sig) as rec2:
        sig(ag.tensor([-10.0, 0.0, 10.0, 4.0]))
    assert rec2.records[0]["saturated_frac"] == pytest.approx(2 / 4)  # closed on exit
    assert rec2.records[0]["layer"] == "Sigmoid"


def test_first_nan_names_layer_and_step():
    ag.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2), nn.Tanh())
    opt = optim.SGD(model.parameters(), lr=0.01)
    x = ag.randn(5, 3)
    with telemetry.record(model, optimizer=opt) as rec:
        for step in range(4):
            if step == 2:
                with ag.no_grad():
                    model[2].weight[0, 0] = float("nan")
            opt.zero_grad()
            model(x).sum().backward()
            opt.step()
    assert rec.first_nonfinite == {"step": 2, "layer": "2", "where": "activation"}
    bad = {(r["step"], r["layer"]) for r in rec.records if r["nonfinite"]}
    assert (2, "2") in bad and not any(step < 2 for step, _ in bad)
    assert (2, "0") in bad  # the NaN flows back into the first layer's gradient
    # a NaN born in backward is found there
    model2 = nn.Sequential(nn.Linear(2, 2))
    x2 = ag.tensor([[1.0, 2.0]])
    with telemetry.record(model2) as rec2:
        out = model2(x2)
        (out * ag.tensor([float("inf"), 0.0])).sum().backward()
        rec2.step()
    assert rec2.first_nonfinite["where"] in ("gradient", "activation")
    assert rec2.first_nonfinite["layer"] == "0"


def test_hooks_removed_and_optimizer_unwrapped():
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    opt = optim.Adam(model.parameters())
    with telemetry.record(model, optimizer=opt) as rec:
        assert model[0]._forward_hooks
        for _ in range(3):
            opt.zero_grad()
            model(ag.randn(2, 3)).sum().backward()
            opt.step()
    for m in model.modules():
        assert not m._forward_hooks and not m._forward_pre_hooks
    for p in model.parameters():
        assert not p._hooks
    assert "step" not in opt.__dict__
    n = len(rec.records)
    assert n == 3 * 3
    opt.zero_grad()
    model(ag.randn(2, 3)).sum().backward()
    opt.step()
    assert len(rec.records) == n  # nothing recorded after removal


def test_every_and_layers_and_errors():
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    opt = optim.SGD(model.parameters(), lr=0.1)
    with telemetry.record(model, optimizer=opt, layers=["0", "2"], every=2) as rec:
        for _ in range(5):
            opt.zero_grad()
            model(ag.randn(2, 3)).sum().backward()
            opt.step()
    assert sorted({r["step"] for r in rec.records}) == [0, 2, 4]
    assert {r["layer"] for r in rec.records} == {"0", "2"}
    with pytest.raises(KeyError, match="no module named"):
        telemetry.GradientRecorder(model, layers=["5"])


def test_table_and_plots(monkeypatch):
    pytest.importorskip("matplotlib")
    import matplotlib
    matplotlib.use("Agg")
    from matplotlib.figure import Figure
    model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2))
    opt = optim.SGD(model.parameters(), lr=0.1)
    with telemetry.record(model, optimizer=opt, histograms=True) as rec:
        for _ in range(3):
            opt.zero_grad()
            model(ag.randn(8, 3)).pow(2).mean().backward()
            opt.step()
    assert isinstance(rec.plot_grad_norms(), Figure)
    assert isinstance(rec.plot_heatmap("update_ratio"), Figure)
    assert isinstance(rec.plot_histograms(1), Figure)
    assert isinstance(rec.plot_histograms(-1, kind="grad"), Figure)
    with pytest.raises(ValueError):
        rec.plot_heatmap("nope")
    steps, vals = rec.series("grad_norm", "0")
    assert list(steps) == [0, 1, 2] and np.all(vals > 0)
    monkeypatch.setitem(sys.modules, "pandas", None)
    with pytest.raises(ImportError, match="pip install pandas"):
        rec.to_dataframe()


def test_dataframe():
    pd = pytest.importorskip("pandas")
    model = nn.Sequential(nn.Linear(3, 2))
    with telemetry.record(model) as rec:
        model(ag.randn(2, 3)).sum().backward()
    df = rec.to_dataframe()
    assert isinstance(df, pd.DataFrame) and len(df) == 1
    assert math.isfinite(df.loc[0, "grad_norm"])
