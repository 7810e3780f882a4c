"""Training helpers: EarlyStopping (hand-written loop and fit), fit/evaluate, history, callbacks, checkpoints, Ctrl-C."""
import io

import numpy as np
import pytest

import numbagrad.autograd as ag
from numbagrad import nn, optim
from numbagrad.nn.training import (Callback, EarlyStopping, History, LambdaCallback, LRSchedulerCallback,
                                   ModelCheckpoint, copy_state_dict, evaluate, fit, load_checkpoint)

HAS_NN = all(hasattr(nn, n) for n in ("Linear", "Sequential", "ReLU")) and hasattr(optim, "SGD")
pytestmark = pytest.mark.skipif(not HAS_NN, reason="numbagrad.nn layers / numbagrad.optim not available yet")

try:
    import numbagrad.nn.functional as F
except ImportError:      # pragma: no cover - only while nn is being written
    F = None

try:
    import tqdm  # noqa: F401
    HAS_TQDM = True
except ImportError:
    HAS_TQDM = False


# ---------------------------------------------------------------------- helpers
def blobs(n=96, seed=0):
    rng = np.random.default_rng(seed)
    x = np.concatenate([rng.normal(-1.5, 1, (n // 2, 2)), rng.normal(1.5, 1, (n - n // 2, 2))]).astype(np.float32)
    y = np.repeat(np.arange(2), [n // 2, n - n // 2]).astype(np.int64)
    return x, y


def loaders(batch_size=16, seed=0):
    from numbagrad.nn.data import DataLoader, TensorDataset
    x, y = blobs(seed=seed)
    xv, yv = blobs(48, seed=seed + 1)
    train = DataLoader(TensorDataset(ag.from_numpy(x), ag.from_numpy(y)), batch_size=batch_size, shuffle=True,
                       generator=ag.Generator().manual_seed(seed))
    val = DataLoader(TensorDataset(ag.from_numpy(xv), ag.from_numpy(yv)), batch_size=64)
    return train, val


def tiny_model(seed=0):
    ag.manual_seed(seed)
    return nn.Sequential(nn.Linear(2, 8), nn.ReLU(), nn.Linear(8, 2))


def weights(model):
    return {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}


def same_weights(a, b):
    return a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) and a[k].dtype == b[k].dtype for k in a)


# ---------------------------------------------------------------------- EarlyStopping in a hand-written loop
def test_early_stopping_patience_min_mode():
    es = EarlyStopping(patience=2, mode="min")
    stops = [es.step(v) for v in [1.0, 0.9, 0.95, 0.91, 0.92]]
    # improvement at 0 and 1; then 3 bad epochs: stop at the third (wait > patience)
    assert stops == [False, False, False, False, True]
    assert es.best == 0.9 and es.best_epoch == 1 and es.stopped_epoch == 4 and es.should_stop


def test_early_stopping_min_delta_and_max_mode():
    es = EarlyStopping(patience=1, min_delta=0.05, mode="max")
    assert not es.step(0.50)
    assert not es.step(0.54)        # +0.04 is not more than min_delta: one bad epoch
    assert es.wait == 1 and es.best == 0.50
    assert not es.step(0.56)        # +0.06 beats 0.50 by more than 0.05: improvement
    assert es.best == 0.56 and es.best_epoch == 2 and es.wait == 0
    assert not es.step(0.60)        # +0.04 again: bad
    assert es.step(0.61)            # +0.05 exactly is not "more than": second bad epoch, stop


def test_early_stopping_nan_is_not_an_improvement_and_baseline():
    es = EarlyStopping(patience=0, mode="min")
    assert not es.step(1.0)
    assert es.step(float("nan"))
    es = EarlyStopping(patience=1, mode="max", baseline=0.8)
    assert not es.step(0.7)
    assert es.step(0.75) and es.best == 0.8 and es.best_epoch is None


def test_early_stopping_accepts_tensors_and_validates_arguments():
    es = EarlyStopping(patience=1)
    es.step(ag.tensor(2.0))
    assert es.best == 2.0
    with pytest.raises(ValueError, match="mode"):
        EarlyStopping(mode="lowest")
    with pytest.raises(ValueError, match="patience"):
        EarlyStopping(patience=-1)
    with pytest.raises(ValueError, match="min_delta"):
        EarlyStopping(min_delta=-0.1)


@pytest.mark.skipif(F is None, reason="numbagrad.nn.functional not available yet")
def test_early_stopping_restores_best_weights_bit_exactly():
    model = tiny_model()
    opt = optim.SGD(model.parameters(), lr=0.5)
    x, y = blobs()
    xt, yt = ag.from_numpy(x), ag.from_numpy(y)
    es = EarlyStopping(patience=2, mode="min")
    # a fake validation curve: best at step 2, then worse, so the weights move on after the best
    curve = [3.0, 2.0, 1.0, 1.5, 1.6, 1.7, 1.8]
    best = None
    for epoch, val in enumerate(curve):
        opt.zero_grad()
        F.cross_entropy(model(xt), yt).backward()
        opt.step()
        if epoch == 2:
            best = weights(model)
        if es.step(val, model):
            break
    assert es.best_epoch == 2 and es.stopped_epoch == 5
    assert not same_weights(weights(model), best)
    assert es.restore(model)
    assert same_weights(weights(model), best)
    # the kept copy is independent of later in-place updates
    with ag.no_grad():
        for p in model.parameters():
            p.mul_(0.0) if hasattr(p, "mul_") else p.__imul__(0.0)
    es.restore(model)
    assert same_weights(weights(model), best)


def test_copy_state_dict_is_a_deep_copy():
    model = tiny_model()
    snap = copy_state_dict(model)
    before = {k: v.detach().numpy().copy() for k, v in snap.items()}
    with ag.no_grad():
        for p in model.parameters():
            p.add_(1.0) if hasattr(p, "add_") else p.__iadd__(1.0)
    assert same_weights({k: v.detach().numpy() for k, v in snap.items()}, before)


# ---------------------------------------------------------------------- fit / evaluate
needs_f = pytest.mark.skipif(F is None, reason="numbagrad.nn.functional not available yet")


@needs_f
def test_fit_history_evaluate_and_callback_order():
    train, val = loaders()
    model = tiny_model()
    opt = optim.SGD(model.parameters(), lr=0.2)
    events = []

    class Recorder(Callback):
        def on_fit_begin(self, state):
            events.append("fit_begin")

        def on_epoch_begin(self, state):
            events.append(f"epoch_begin{state.epoch}")

        def on_batch_end(self, state, batch_index, loss):
            assert isinstance(loss, float)
            events.append("batch")

        def on_epoch_end(self, state):
            assert {"loss", "val_loss", "val_accuracy", "lr", "epoch"} <= set(state.logs)
            events.append(f"epoch_end{state.epoch}")

        def on_fit_end(self, state):
            events.append("fit_end")

    out = io.StringIO()
    hist = fit(model, train, opt, F.cross_entropy, epochs=3, val_loader=val, metrics=["accuracy", "f1_macro"],
               callbacks=[Recorder()], progress=False, verbose=True, file=out)
    assert isinstance(hist, History) and len(hist) == 3 and hist.epochs == 3
    assert hist["epoch"] == [1, 2, 3]
    for key in ("loss", "val_loss", "val_accuracy", "val_f1_macro", "lr", "time", "samples_per_s"):
        assert len(hist[key]) == 3, key
    assert hist["loss"][-1] < hist["loss"][0]
    assert hist["val_accuracy"][-1] > 0.8
    assert hist["lr"] == [0.2, 0.2, 0.2]
    assert not hist.interrupted and not hist.stopped_early
    n_batches = len(train)
    assert events == (["fit_begin"] + sum([[f"epoch_begin{e}"] + ["batch"] * n_batches + [f"epoch_end{e}"]
                                            for e in range(3)], []) + ["fit_end"])
    lines = out.getvalue().splitlines()
    assert len(lines) == 3 and lines[0].startswith("epoch 1/3") and "val_accuracy" in lines[0]
    # evaluate gives the same numbers as the last epoch's validation, and restores train mode
    model.train()
    ev = evaluate(model, val, F.cross_entropy, metrics=["accuracy"])
    assert ev["loss"] == pytest.approx(hist["val_loss"][-1], rel=1e-6)
    assert ev["accuracy"] == hist["val_accuracy"][-1]
    assert model.training
    best_epoch, best_loss = hist.best("val_loss", "min")
    assert best_loss == min(hist["val_loss"]) and hist["val_loss"][best_epoch - 1] == best_loss


@needs_f
def test_evaluate_metric_callables_and_errors():
    _, val = loaders()
    model = tiny_model()
    seen = {}

    def count(y_true, outputs):
        seen["shapes"] = (y_true.shape, outputs.shape)
        return len(y_true)

    ev = evaluate(model, val, metrics={"n": count})
    assert ev == {"n": 48.0} and seen["shapes"] == ((48,), (48, 2))
    with pytest.raises(ValueError, match="unknown metric"):
        evaluate(model, val, metrics=["accuracyy"])


@needs_f
def test_fit_early_stopping_callback_stops_and_restores():
    train, val = loaders()
    model = tiny_model()
    opt = optim.SGD(model.parameters(), lr=0.2)
    snaps = []
    es = EarlyStopping(monitor="val_loss", patience=1, min_delta=10.0)   # nothing after epoch 1 counts
    snap = LambdaCallback(on_epoch_end=lambda s: snaps.append(weights(s.model)))
    hist = fit(model, train, opt, F.cross_entropy, epochs=10, val_loader=val, callbacks=[snap, es],
               progress=False, verbose=False)
    assert len(hist) == 3 and hist.stopped_early
    assert es.best_epoch == 0
    assert same_weights(weights(model), snaps[0])      # restored to epoch 1's weights


@needs_f
def test_fit_monitor_missing_raises_clear_error():
    train, _ = loaders()
    model = tiny_model()
    opt = optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(KeyError, match="val_loss"):
        fit(model, train, opt, F.cross_entropy, epochs=1, callbacks=[EarlyStopping()], progress=False, verbose=False)


@needs_f
def test_model_checkpoint_and_keyboard_interrupt_keep_best_checkpoint(tmp_path):
    train, val = loaders()
    model = tiny_model()
    opt = optim.Adam(model.parameters(), lr=0.05)
    path = tmp_path / "best.npz"
    ckpt = ModelCheckpoint(str(path), monitor="val_loss", mode="min")
    snaps = []

    class Interrupt(Callback):
        def on_epoch_end(self, state):
            snaps.append((state.logs["val_loss"], weights(state.model)))
            if state.epoch == 3:
                raise KeyboardInterrupt

    fit_end = []
    hist = fit(model, train, opt, F.cross_entropy, epochs=10, val_loader=val,
               callbacks=[ckpt, Interrupt(), LambdaCallback(on_fit_end=lambda s: fit_end.append(s.interrupted))],
               progress=False, verbose=False, file=io.StringIO())
    assert hist.interrupted and len(hist) == 4          # epoch 4 finished (it is recorded), then Ctrl-C
    assert fit_end == [True]
    best_i = int(np.argmin([v for v, _ in snaps]))
    assert ckpt.best_epoch == best_i
    fresh = tiny_model(seed=1)
    ck = load_checkpoint(str(path), fresh)
    assert ck["epoch"] == best_i + 1 and ck["logs"]["val_loss"] == pytest.approx(snaps[best_i][0])
    assert same_weights(weights(fresh), snaps[best_i][1])
    assert "optimizer" in ck
    load_checkpoint(str(path), fresh, optim.Adam(fresh.parameters(), lr=0.05))

    # on_interrupt='raise' cleans up the same way, then re-raises
    with pytest.raises(KeyboardInterrupt):
        fit(model, train, opt, F.cross_entropy, epochs=10, val_loader=val, callbacks=[Interrupt()],
            progress=False, verbose=False, on_interrupt="raise", file=io.StringIO())


@needs_f
def test_model_checkpoint_every_epoch_with_formatted_path(tmp_path):
    train, val = loaders()
    model = tiny_model()
    opt = optim.SGD(model.parameters(), lr=0.1)
    ckpt = ModelCheckpoint(str(tmp_path / "ep{epoch:02d}.npz"), save_best_only=False, save_optimizer=False)
    fit(model, train, opt, F.cross_entropy, epochs=2, val_loader=val, callbacks=[ckpt], progress=False, verbose=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ep01.npz", "ep02.npz"]
    ck = load_checkpoint(ckpt.last_path, tiny_model())
    assert "optimizer" not in ck and ck["epoch"] == 2
    with pytest.raises(KeyError, match="optimizer"):
        load_checkpoint(ckpt.last_path, tiny_model(), opt)


@needs_f
def test_lr_scheduler_callback_epoch_batch_and_monitor():
    class FakeScheduler:
        def __init__(self, optimizer):
            self.optimizer, self.calls = optimizer, []

        def step(self, *args):
            self.calls.append(args)
            for g in self.optimizer.param_groups:
                g["lr"] *= 0.5

    train, val = loaders()
    model = tiny_model()
    opt = optim.SGD(model.parameters(), lr=0.4)
    sched = FakeScheduler(opt)
    hist = fit(model, train, opt, F.cross_entropy, epochs=3, scheduler=sched, progress=False, verbose=False)
    assert hist["lr"] == [0.4, 0.2, 0.1] and sched.calls == [(), (), ()]

    sched = FakeScheduler(opt)
    fit(model, train, opt, F.cross_entropy, epochs=1, callbacks=[LRSchedulerCallback(sched, interval="batch")],
        progress=False, verbose=False)
    assert len(sched.calls) == len(train)

    sched = FakeScheduler(opt)
    hist = fit(model, train, opt, F.cross_entropy, epochs=2, val_loader=val,
               callbacks=[LRSchedulerCallback(sched, monitor="val_loss")], progress=False, verbose=False)
    assert [c[0] for c in sched.calls] == hist["val_loss"]


@needs_f
def test_lr_scheduler_callback_with_real_step_lr():
    lr_scheduler = pytest.importorskip("numbagrad.optim.lr_scheduler")
    if not hasattr(lr_scheduler, "StepLR"):
        pytest.skip("optim.lr_scheduler.StepLR not available yet")
    train, _ = loaders()
    model = tiny_model()
    opt = optim.SGD(model.parameters(), lr=1.0)
    hist = fit(model, train, opt, F.cross_entropy, epochs=4, scheduler=lr_scheduler.StepLR(opt, step_size=2, gamma=0.1),
               progress=False, verbose=False)
    assert hist["lr"] == pytest.approx([1.0, 1.0, 0.1, 0.1])


@needs_f
@pytest.mark.skipif(not HAS_TQDM, reason="tqdm not installed (pip install tqdm)")
def test_fit_progress_bars_write_to_the_given_stream():
    train, val = loaders()
    model = tiny_model()
    opt = optim.SGD(model.parameters(), lr=0.1)
    out = io.StringIO()
    fit(model, train, opt, F.cross_entropy, epochs=2, val_loader=val, metrics=["accuracy"], progress=True,
        verbose=True, file=out)
    text = out.getvalue()
    assert "epochs" in text and "2/2" in text and "val_accuracy" in text


@needs_f
def test_fit_grad_clip():
    train, _ = loaders()
    model = tiny_model()
    opt = optim.SGD(model.parameters(), lr=0.0)      # lr 0: the clipped gradients stay to be inspected
    norms = []

    def total_norm(state, i, loss):
        norms.append(float(np.sqrt(sum((p.grad.detach().numpy().astype(np.float64) ** 2).sum()
                                       for p in state.model.parameters()))))

    fit(model, train, opt, lambda out, y: F.cross_entropy(out, y) * 100.0, epochs=1, grad_clip=0.5,
        callbacks=[LambdaCallback(on_batch_end=total_norm)], progress=False, verbose=False)
    assert norms and max(norms) <= 0.5 * (1 + 1e-5)


@needs_f
def test_fit_val_loss_fn():
    train, val = loaders()
    model = tiny_model()
    opt = optim.SGD(model.parameters(), lr=0.1)
    hist = fit(model, train, opt, lambda o, y: F.cross_entropy(o, y, label_smoothing=0.2), epochs=1,
               val_loader=val, val_loss_fn=F.cross_entropy, progress=False, verbose=False)
    assert hist["val_loss"][0] == pytest.approx(evaluate(model, val, F.cross_entropy)["loss"], rel=1e-6)
    assert hist["val_loss"][0] != pytest.approx(
        evaluate(model, val, lambda o, y: F.cross_entropy(o, y, label_smoothing=0.2))["loss"], rel=1e-4)


def test_fit_argument_checks():
    with pytest.raises(ValueError, match="epochs"):
        fit(None, [], None, None, epochs=-1)
    with pytest.raises(ValueError, match="on_interrupt"):
        fit(None, [], None, None, epochs=1, on_interrupt="ignore")
    with pytest.raises(TypeError, match="unknown hook"):
        LambdaCallback(on_epoch_start=print)
