"""Training helpers: early stopping, a small ``fit``/``evaluate`` loop, callbacks and history.

Everything here is optional: a hand-written PyTorch-style loop stays the normal
way to train, and :class:`EarlyStopping` works inside one::

    stopper = EarlyStopping(patience=5, min_delta=1e-4, mode="min")
    for epoch in range(100):
        train_one_epoch(model, loader, optimizer)
        val_loss = evaluate(model, val_loader, loss_fn)["loss"]
        if stopper.step(val_loss, model):
            break
    stopper.restore(model)            # back to the weights of the best epoch, bit for bit

For the common loop, :func:`fit` does the epochs, the batches, a tqdm progress
bar, the validation pass, a :class:`History` of losses and metrics, and calls
:class:`Callback` objects (:class:`EarlyStopping`, :class:`ModelCheckpoint`,
:class:`LRSchedulerCallback`, or your own)::

    history = fit(model, train_loader, optimizer, F.cross_entropy, epochs=20,
                  val_loader=val_loader, metrics=["accuracy"],
                  callbacks=[EarlyStopping(monitor="val_loss", patience=3),
                             ModelCheckpoint("best.npz", monitor="val_accuracy", mode="max")])

A ``KeyboardInterrupt`` (Ctrl-C) during :func:`fit` stops training cleanly:
checkpoints are only ever written whole (``numbagrad.autograd.save`` writes a
temporary file and renames it), the callbacks' ``on_fit_end`` still runs (so
``EarlyStopping(restore_best_weights=True)`` puts the best weights back), and
the history so far is returned with ``history.interrupted = True`` (or the
interrupt is raised again with ``on_interrupt="raise"``).
"""
import math
import sys
import time

import numpy as np

from numbagrad import autograd as ag

__all__ = [
    "Callback", "EarlyStopping", "ModelCheckpoint", "LRSchedulerCallback", "LambdaCallback",
    "History", "FitState", "fit", "evaluate", "load_checkpoint", "copy_state_dict",
]


# ---------------------------------------------------------------------- small utilities
def _to_numpy(x):
    if hasattr(x, "detach") and hasattr(x, "numpy"):
        return x.detach().numpy()
    return np.asarray(x)


def _scalar(x):
    """A Python float from a 0-d tensor, array or number."""
    if hasattr(x, "item"):
        return float(x.item())
    return float(x)


def copy_state_dict(model):
    """A deep copy of ``model.state_dict()``: each tensor detached and cloned, safe from later updates.

    ``model.load_state_dict(copy)`` later puts these exact values back (bit for bit).
    """
    out = {}
    for k, v in model.state_dict().items():
        out[k] = v.detach().clone() if hasattr(v, "detach") else v
    return out


def _better(value, best, mode, min_delta):
    """Is ``value`` an improvement on ``best`` by more than ``min_delta`` (NaN never is)?"""
    if value is None or math.isnan(value):
        return False
    if best is None:
        return True
    if mode == "min":
        return value < best - min_delta
    return value > best + min_delta


def _check_mode(mode, who):
    if mode not in ("min", "max"):
        raise ValueError(f"{who}: mode must be 'min' or 'max', got {mode!r}")


# ---------------------------------------------------------------------- callbacks
class Callback:
    """Base class of :func:`fit` callbacks: override the hooks you need (each does nothing by default).

    Every hook receives the :class:`FitState` of the running fit: ``state.model``,
    ``state.optimizer``, ``state.epoch`` (0-based), ``state.logs`` (this epoch's
    numbers, e.g. ``{'loss': .., 'val_loss': .., 'val_accuracy': ..}`` in
    ``on_epoch_end``), ``state.history``; setting ``state.stop_training = True``
    ends the fit after the current epoch.
    """

    def on_fit_begin(self, state):
        """Called once before the first epoch."""

    def on_epoch_begin(self, state):
        """Called at the start of each epoch."""

    def on_batch_end(self, state, batch_index, loss):
        """Called after each training step with the batch's index and its loss (a float)."""

    def on_epoch_end(self, state):
        """Called after each epoch's training and validation, with ``state.logs`` filled in (already in the history)."""

    def on_fit_end(self, state):
        """Called once at the end, also after an early stop or a KeyboardInterrupt (``state.interrupted``)."""


class LambdaCallback(Callback):
    """A callback from plain functions: ``LambdaCallback(on_epoch_end=lambda state: print(state.logs))``.

    Accepts ``on_fit_begin``, ``on_epoch_begin``, ``on_batch_end``, ``on_epoch_end``
    and ``on_fit_end``, each called with the same arguments as the :class:`Callback` hook.
    """

    _HOOKS = ("on_fit_begin", "on_epoch_begin", "on_batch_end", "on_epoch_end", "on_fit_end")

    def __init__(self, **hooks):
        for name, fn in hooks.items():
            if name not in self._HOOKS:
                raise TypeError(f"LambdaCallback: unknown hook {name!r}; expected one of {', '.join(self._HOOKS)}")
            setattr(self, name, fn)


class EarlyStopping(Callback):
    """Stop training when a monitored quantity has stopped improving; optionally restore the best weights.

    Args:
        monitor: key of ``state.logs`` watched when used as a :func:`fit` callback
            (``'val_loss'``, ``'val_accuracy'``, ``'loss'``, ...); ignored in a hand-written loop.
        patience: number of epochs without improvement after which training stops.
        min_delta: an improvement must beat the best value by more than this
            (``value < best - min_delta`` in ``'min'`` mode, ``value > best + min_delta`` in ``'max'``).
        mode: ``'min'`` (losses) or ``'max'`` (accuracies).
        restore_best_weights: keep a copy of the weights at the best epoch, put back by
            :meth:`restore` (and by :func:`fit` at the end of training).
        baseline: a value the monitored quantity must beat before anything counts as an improvement.

    In a hand-written loop call :meth:`step` once per epoch; it returns True when it is
    time to stop. NaN is never an improvement. Attributes: ``best`` (best value so far),
    ``best_epoch`` (0-based index of the call that gave it), ``wait`` (epochs since),
    ``stopped_epoch`` and ``should_stop``.
    """

    def __init__(self, monitor="val_loss", patience=5, min_delta=0.0, mode="min",
                 restore_best_weights=True, baseline=None, verbose=False):
        _check_mode(mode, "EarlyStopping")
        if not isinstance(patience, int) or patience < 0:
            raise ValueError(f"EarlyStopping: patience must be a non-negative int, got {patience!r}")
        if not min_delta >= 0:
            raise ValueError(f"EarlyStopping: min_delta must be >= 0, got {min_delta!r}")
        self.monitor = monitor
        self.patience = patience
        self.min_delta = float(min_delta)
        self.mode = mode
        self.restore_best_weights = restore_best_weights
        self.baseline = baseline
        self.verbose = verbose
        self.reset()

    def reset(self):
        """Forget everything seen so far (called by :func:`fit` at the start of training)."""
        self.best = None if self.baseline is None else float(self.baseline)
        self.best_epoch = None
        self.best_state = None
        self.wait = 0
        self.epoch = -1
        self.stopped_epoch = None
        self.should_stop = False

    def step(self, value, model=None):
        """Record this epoch's ``value``; return True when training should stop.

        When ``model`` is given and ``restore_best_weights`` is set, a copy of its
        weights is kept whenever ``value`` improves.
        """
        self.epoch += 1
        value = _scalar(value)
        if _better(value, self.best, self.mode, self.min_delta):
            self.best = value
            self.best_epoch = self.epoch
            self.wait = 0
            if model is not None and self.restore_best_weights:
                self.best_state = copy_state_dict(model)
        else:
            self.wait += 1
            if self.wait > self.patience:
                self.should_stop = True
                self.stopped_epoch = self.epoch
        return self.should_stop

    __call__ = step

    def restore(self, model):
        """Load the weights kept at the best epoch into ``model``; return True if there were any."""
        if self.best_state is None:
            return False
        model.load_state_dict(self.best_state)
        return True

    # fit() hooks
    def on_fit_begin(self, state):
        """Start afresh: :meth:`reset`."""
        self.reset()

    def on_epoch_end(self, state):
        """:meth:`step` with ``state.logs[monitor]``; ask the fit to stop when patience runs out."""
        if self.monitor not in state.logs:
            raise KeyError(f"EarlyStopping: monitor {self.monitor!r} is not among this epoch's values "
                           f"{sorted(state.logs)}; pass val_loader for 'val_*' keys")
        if self.step(state.logs[self.monitor], state.model):
            state.stop_training = True
            if self.verbose:
                best = "" if self.best_epoch is None else f" (best {self.best:.6g} at epoch {self.best_epoch + 1})"
                state.write(f"early stopping at epoch {state.epoch + 1}: {self.monitor} has not improved "
                            f"for {self.wait} epochs{best}")

    def on_fit_end(self, state):
        """Put the best epoch's weights back into the model (with ``restore_best_weights``)."""
        if self.restore_best_weights and self.restore(state.model) and self.verbose:
            state.write(f"restored the weights of epoch {self.best_epoch + 1} ({self.monitor}={self.best:.6g})")


class ModelCheckpoint(Callback):
    """Save the model (and optimizer) state with ``numbagrad.autograd.save`` after an epoch.

    Args:
        path: file to write (a ``.npz``); may contain ``{epoch}`` and any log key, e.g.
            ``'ckpt-{epoch:03d}-{val_loss:.3f}.npz'``.
        monitor, mode: the quantity that decides what "best" is (ignored when ``save_best_only=False``).
        save_best_only: write only when ``monitor`` improves (otherwise after every epoch).
        save_optimizer: include ``optimizer.state_dict()`` so training can resume.

    The file holds ``{'model': state_dict, 'optimizer': state_dict, 'epoch': int,
    'logs': {...}}`` (see :func:`load_checkpoint`). Writes are atomic (a temporary file
    renamed over the old one), so an interrupt or a crash leaves the previous best
    checkpoint intact. ``best``, ``best_epoch`` and ``last_path`` tell what was saved.
    """

    def __init__(self, path, monitor="val_loss", mode="min", save_best_only=True, save_optimizer=True,
                 verbose=False):
        _check_mode(mode, "ModelCheckpoint")
        self.path = str(path)
        self.monitor = monitor
        self.mode = mode
        self.save_best_only = save_best_only
        self.save_optimizer = save_optimizer
        self.verbose = verbose
        self.best = None
        self.best_epoch = None
        self.last_path = None

    def on_fit_begin(self, state):
        """Forget the best value of any previous fit."""
        self.best = None
        self.best_epoch = None

    def on_epoch_end(self, state):
        """Write the checkpoint when the monitored value improved (or always, without ``save_best_only``)."""
        logs = state.logs
        if self.save_best_only:
            if self.monitor not in logs:
                raise KeyError(f"ModelCheckpoint: monitor {self.monitor!r} is not among this epoch's values "
                               f"{sorted(logs)}; pass val_loader for 'val_*' keys")
            value = _scalar(logs[self.monitor])
            if not _better(value, self.best, self.mode, 0.0):
                return
            self.best, self.best_epoch = value, state.epoch
        path = self.path.format(**{**logs, "epoch": state.epoch + 1})
        payload = {"model": state.model.state_dict(), "epoch": state.epoch + 1,
                   "logs": {k: float(v) for k, v in logs.items()}}
        if self.save_optimizer and state.optimizer is not None:
            payload["optimizer"] = state.optimizer.state_dict()
        ag.save(payload, path)
        self.last_path = path
        if self.verbose:
            state.write(f"saved checkpoint {path}")


def load_checkpoint(path, model=None, optimizer=None):
    """Read a checkpoint written by :class:`ModelCheckpoint`; load it into ``model``/``optimizer`` if given.

    Returns the whole checkpoint dict (``'model'``, ``'epoch'``, ``'logs'``, maybe
    ``'optimizer'``). Loading is safe: ``numbagrad.autograd.load`` never unpickles.
    """
    ckpt = ag.load(path)
    if model is not None:
        model.load_state_dict(ckpt["model"])
    if optimizer is not None:
        if "optimizer" not in ckpt:
            raise KeyError(f"load_checkpoint: {path} holds no optimizer state (saved with save_optimizer=False)")
        optimizer.load_state_dict(ckpt["optimizer"])
    return ckpt


class LRSchedulerCallback(Callback):
    """Step an ``optim.lr_scheduler`` scheduler from :func:`fit`.

    ``interval='epoch'`` (default) calls ``scheduler.step()`` after each epoch,
    ``'batch'`` after each training step (for ``OneCycleLR``, ``CyclicLR``).
    With ``monitor`` set (needed for ``ReduceLROnPlateau``) the epoch's value of that
    key is passed: ``scheduler.step(logs[monitor])``; a scheduler named
    ``ReduceLROnPlateau`` monitors ``'val_loss'`` unless told otherwise.
    """

    def __init__(self, scheduler, interval="epoch", monitor=None):
        if interval not in ("epoch", "batch"):
            raise ValueError(f"LRSchedulerCallback: interval must be 'epoch' or 'batch', got {interval!r}")
        if monitor is None and type(scheduler).__name__ == "ReduceLROnPlateau":
            monitor = "val_loss"
        if monitor is not None and interval == "batch":
            raise ValueError("LRSchedulerCallback: a monitored scheduler steps once per epoch (interval='epoch')")
        self.scheduler = scheduler
        self.interval = interval
        self.monitor = monitor

    def on_batch_end(self, state, batch_index, loss):
        """Step the scheduler after each training step when ``interval='batch'``."""
        if self.interval == "batch":
            self.scheduler.step()

    def on_epoch_end(self, state):
        """Step the scheduler after each epoch (with the monitored value when ``monitor`` is set)."""
        if self.interval != "epoch":
            return
        if self.monitor is None:
            self.scheduler.step()
        else:
            if self.monitor not in state.logs:
                raise KeyError(f"LRSchedulerCallback: monitor {self.monitor!r} is not among this epoch's values "
                               f"{sorted(state.logs)}")
            self.scheduler.step(state.logs[self.monitor])


# ---------------------------------------------------------------------- history and state
class History:
    """What :func:`fit` returns: per-epoch lists of every logged number.

    ``history['loss']``, ``history['val_accuracy']``, ... are lists with one entry
    per finished epoch (``history.history`` is the dict itself); ``'epoch'`` (1-based),
    ``'lr'`` (the first param group's learning rate during the epoch) and ``'time'``
    (seconds) are always recorded. ``interrupted`` is True when a KeyboardInterrupt
    ended the fit, ``stopped_early`` when a callback did.
    """

    def __init__(self):
        self.history = {}
        self.interrupted = False
        self.stopped_early = False

    def append(self, logs):
        """Add one epoch's numbers (a dict of floats)."""
        n = len(self)
        for k, v in logs.items():
            self.history.setdefault(k, [float("nan")] * n).append(float(v))
        for k, col in self.history.items():
            if len(col) == n:
                col.append(float("nan"))

    def __len__(self):
        return len(next(iter(self.history.values()))) if self.history else 0

    def __getitem__(self, key):
        return self.history[key]

    def __contains__(self, key):
        return key in self.history

    def keys(self):
        """The recorded keys."""
        return self.history.keys()

    @property
    def epochs(self):
        """Number of finished epochs."""
        return len(self)

    def best(self, key, mode="min"):
        """``(epoch, value)`` of the best entry of ``key`` (epoch 1-based), NaNs skipped."""
        _check_mode(mode, "History.best")
        col = np.asarray(self.history[key], dtype=np.float64)
        if np.all(np.isnan(col)):
            raise ValueError(f"History.best: no finite value recorded for {key!r}")
        i = int(np.nanargmin(col) if mode == "min" else np.nanargmax(col))
        return i + 1, float(col[i])

    def __repr__(self):
        return f"History(epochs={len(self)}, keys={list(self.history)})"


class FitState:
    """The running state that :func:`fit` hands to every callback hook.

    Attributes: ``model``, ``optimizer``, ``loss_fn``, ``epochs`` (planned),
    ``epoch`` (0-based, current), ``logs`` (this epoch's numbers), ``history``
    (:class:`History`), ``stop_training`` (set True to stop after this epoch),
    ``interrupted`` (a KeyboardInterrupt arrived). ``write(msg)`` prints without
    breaking the progress bars.
    """

    def __init__(self, model, optimizer, loss_fn, epochs, history, write):
        self.model = model
        self.optimizer = optimizer
        self.loss_fn = loss_fn
        self.epochs = epochs
        self.epoch = 0
        self.logs = {}
        self.history = history
        self.stop_training = False
        self.interrupted = False
        self.write = write


# ---------------------------------------------------------------------- metrics
def _class_predictions(outputs):
    out = np.asarray(outputs)
    if out.ndim >= 2 and out.shape[-1] > 1:
        return out.argmax(axis=-1)
    return (out.reshape(len(out)) > 0).astype(np.int64)


def _named_metric(name):
    from . import metrics as M   # numpy-only module of this package

    classification = {
        "accuracy": lambda t, o: M.accuracy(t, _class_predictions(o)),
        "precision_macro": lambda t, o: M.precision(t, _class_predictions(o), average="macro"),
        "recall_macro": lambda t, o: M.recall(t, _class_predictions(o), average="macro"),
        "f1_macro": lambda t, o: M.f1_score(t, _class_predictions(o), average="macro"),
        "f1_weighted": lambda t, o: M.f1_score(t, _class_predictions(o), average="weighted"),
    }
    regression = {
        "mae": M.mean_absolute_error, "mse": M.mean_squared_error,
        "rmse": M.root_mean_squared_error, "r2": M.r2_score,
    }
    if name in classification:
        return classification[name]
    if name in regression:
        return regression[name]
    raise ValueError(f"unknown metric {name!r}; use a callable(y_true, outputs) or one of "
                     f"{', '.join(list(classification) + list(regression))}")


def _resolve_metrics(metrics):
    """``None`` / list of names or callables / dict name -> callable  ->  dict name -> callable."""
    if metrics is None:
        return {}
    if isinstance(metrics, dict):
        items = metrics.items()
    else:
        if isinstance(metrics, str) or callable(metrics):
            metrics = [metrics]
        items = [(m if isinstance(m, str) else getattr(m, "__name__", f"metric{i}"), m) for i, m in enumerate(metrics)]
    out = {}
    for name, fn in items:
        out[name] = _named_metric(fn) if isinstance(fn, str) else fn
        if not callable(out[name]):
            raise TypeError(f"metric {name!r}: expected a callable(y_true, outputs) or a name, got {type(fn).__name__}")
    return out


# ---------------------------------------------------------------------- the loop
def _split_batch(batch):
    """``(inputs_tuple, target)`` from a loader batch ``(x, y)`` or ``(x1, x2, ..., y)``."""
    if isinstance(batch, (tuple, list)) and len(batch) >= 2:
        return tuple(batch[:-1]), batch[-1]
    raise ValueError(f"fit/evaluate: expected batches (inputs, targets) or (in1, in2, ..., targets), "
                     f"got {type(batch).__name__}" + (f" of length {len(batch)}" if hasattr(batch, '__len__') else ""))


def _batch_size(t):
    shape = getattr(t, "shape", None)
    return int(shape[0]) if shape is not None and len(shape) > 0 else 1


def _tqdm():
    """tqdm's bar class (the notebook widget when ipywidgets is there), or None without tqdm."""
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    try:
        import ipywidgets  # noqa: F401 - tqdm.auto needs it for its notebook bars
        from tqdm.auto import tqdm
    except ImportError:
        pass
    return tqdm


def _safe_len(loader):
    try:
        return len(loader)
    except TypeError:
        return None


def evaluate(model, loader, loss_fn=None, metrics=None, progress=False, prefix=""):
    """Run ``model`` over ``loader`` in eval mode without recording a graph; return a dict of numbers.

    ``loss_fn(outputs, targets)`` gives ``'loss'`` (averaged over samples, assuming a
    mean-reduced loss); ``metrics`` (names such as ``'accuracy'``, ``'f1_macro'``,
    ``'mae'``, ``'r2'``, or callables ``fn(y_true, outputs)`` on numpy arrays, or a
    dict name -> either) are computed on all outputs at once. ``prefix`` is put in
    front of every key (``fit`` uses ``'val_'``). The model's train/eval mode is
    restored afterwards.
    """
    metric_fns = _resolve_metrics(metrics)
    was_training = getattr(model, "training", False)
    model.eval()
    total, n = 0.0, 0
    outs, targets = [], []
    tqdm = _tqdm() if progress else None
    it = loader if tqdm is None else tqdm(loader, total=_safe_len(loader), desc="eval", leave=False,
                                          file=sys.stdout, dynamic_ncols=True)
    try:
        with ag.no_grad():
            for batch in it:
                inputs, y = _split_batch(batch)
                out = model(*inputs)
                b = _batch_size(y)
                if loss_fn is not None:
                    total += _scalar(loss_fn(out, y)) * b
                n += b
                if metric_fns:
                    outs.append(_to_numpy(out))
                    targets.append(_to_numpy(y))
    finally:
        if tqdm is not None:
            it.close()
        if was_training:
            model.train()
    if n == 0:
        raise ValueError("evaluate: the loader gave no batches")
    logs = {}
    if loss_fn is not None:
        logs[prefix + "loss"] = total / n
    if metric_fns:
        o, t = np.concatenate(outs), np.concatenate(targets)
        for name, fn in metric_fns.items():
            logs[prefix + name] = float(fn(t, o))
    return logs


def fit(model, train_loader, optimizer, loss_fn, epochs=1, *, val_loader=None, metrics=None, callbacks=None,
        val_loss_fn=None, scheduler=None, grad_clip=None, progress=True, verbose=True, on_interrupt="return", file=None):
    """Train ``model`` for ``epochs`` passes over ``train_loader``; return a :class:`History`.

    Each training step is the usual ``optimizer.zero_grad(); loss_fn(model(x), y).backward();
    optimizer.step()`` with the model in train mode. After each epoch, when
    ``val_loader`` is given, :func:`evaluate` adds ``'val_loss'`` and ``'val_<metric>'``
    for each of ``metrics``; ``'loss'`` is the epoch's sample-weighted mean training loss.

    Args:
        val_loss_fn: the loss reported as ``'val_loss'`` (default ``loss_fn``), e.g. plain
            cross-entropy when training uses label smoothing.
        callbacks: :class:`Callback` objects (:class:`EarlyStopping`, :class:`ModelCheckpoint`,
            :class:`LRSchedulerCallback`, ...), called in order.
        scheduler: shortcut for ``LRSchedulerCallback(scheduler)`` appended to the callbacks.
        grad_clip: when set, ``nn.utils.clip_grad_norm_(model.parameters(), grad_clip)``
            runs between ``backward()`` and ``optimizer.step()``.
        progress: tqdm progress bars, one over epochs and one (transient) over the batches
            of each epoch; ``'epoch'`` keeps only the first; False for none. Without tqdm
            installed there are no bars.
        verbose: print one line per epoch with its numbers.
        on_interrupt: what a KeyboardInterrupt does: ``'return'`` stops training,
            runs the callbacks' ``on_fit_end`` and returns the history so far with
            ``history.interrupted = True``; ``'raise'`` does the same clean-up, then re-raises.
        file: stream for the bars and lines (default ``sys.stdout``).
    """
    if not isinstance(epochs, int) or epochs < 0:
        raise ValueError(f"fit: epochs must be a non-negative int, got {epochs!r}")
    if on_interrupt not in ("return", "raise"):
        raise ValueError(f"fit: on_interrupt must be 'return' or 'raise', got {on_interrupt!r}")
    if progress not in (True, False, "epoch", "batch"):
        raise ValueError(f"fit: progress must be True, False, 'epoch' or 'batch', got {progress!r}")
    if grad_clip is not None:
        from .utils import clip_grad_norm_
    callbacks = list(callbacks or [])
    if scheduler is not None:
        callbacks.append(LRSchedulerCallback(scheduler))
    stream = sys.stdout if file is None else file
    tqdm = _tqdm() if progress else None

    def write(msg):
        if tqdm is not None:
            tqdm.write(msg, file=stream)
        else:
            print(msg, file=stream, flush=True)

    history = History()
    state = FitState(model, optimizer, loss_fn, epochs, history, write)
    epoch_bar = None
    batch_bar = None
    try:
        for cb in callbacks:
            cb.on_fit_begin(state)
        if tqdm is not None:
            epoch_bar = tqdm(total=epochs, desc="epochs", unit="epoch", file=stream, dynamic_ncols=True)
        for epoch in range(epochs):
            state.epoch = epoch
            state.logs = {}
            for cb in callbacks:
                cb.on_epoch_begin(state)
            groups = getattr(optimizer, "param_groups", None)
            lr = float(groups[0]["lr"]) if groups else float("nan")
            model.train()
            t0 = time.perf_counter()
            total, n = 0.0, 0
            if tqdm is not None and progress in (True, "batch"):
                batch_bar = tqdm(total=_safe_len(train_loader), desc=f"epoch {epoch + 1}/{epochs}", unit="batch",
                                 leave=False, file=stream, dynamic_ncols=True)
            for i, batch in enumerate(train_loader):
                inputs, y = _split_batch(batch)
                optimizer.zero_grad()
                loss = loss_fn(model(*inputs), y)
                loss.backward()
                if grad_clip is not None:
                    clip_grad_norm_(model.parameters(), grad_clip)
                optimizer.step()
                value = _scalar(loss)
                b = _batch_size(y)
                total += value * b
                n += b
                if batch_bar is not None:
                    batch_bar.update(1)
                    if i % 10 == 0:
                        batch_bar.set_postfix(loss=f"{value:.4f}", refresh=False)
                for cb in callbacks:
                    cb.on_batch_end(state, i, value)
            if batch_bar is not None:
                batch_bar.close()
                batch_bar = None
            if n == 0:
                raise ValueError("fit: the training loader gave no batches")
            seconds = time.perf_counter() - t0
            logs = {"epoch": epoch + 1, "loss": total / n}
            if val_loader is not None:
                logs.update(evaluate(model, val_loader, loss_fn if val_loss_fn is None else val_loss_fn, metrics,
                                     prefix="val_"))
            logs["lr"] = lr
            logs["time"] = time.perf_counter() - t0
            logs["samples_per_s"] = n / seconds if seconds > 0 else float("inf")
            state.logs = logs
            history.append(logs)
            for cb in callbacks:
                cb.on_epoch_end(state)
            if epoch_bar is not None:
                epoch_bar.update(1)
                epoch_bar.set_postfix({k: f"{v:.4g}" for k, v in logs.items()
                                       if k in ("loss", "val_loss") or k.startswith("val_")}, refresh=True)
            if verbose:
                write(_format_logs(logs, epochs))
            if state.stop_training:
                history.stopped_early = True
                break
    except KeyboardInterrupt:
        state.interrupted = True
        history.interrupted = True
        if batch_bar is not None:
            batch_bar.close()
        write(f"KeyboardInterrupt: training stopped during epoch {state.epoch + 1}; "
              f"{len(history)} finished epoch(s) kept")
        _fit_end(callbacks, state, epoch_bar)
        if on_interrupt == "raise":
            raise
        return history
    except BaseException:
        if batch_bar is not None:
            batch_bar.close()
        if epoch_bar is not None:
            epoch_bar.close()
        raise
    _fit_end(callbacks, state, epoch_bar)
    return history


def _fit_end(callbacks, state, epoch_bar):
    if epoch_bar is not None:
        epoch_bar.close()
    for cb in callbacks:
        cb.on_fit_end(state)


def _format_logs(logs, epochs):
    width = len(str(epochs))
    parts = [f"epoch {int(logs['epoch']):>{width}}/{epochs}"]
    for k, v in logs.items():
        if k in ("epoch", "samples_per_s"):
            continue
        if k == "time":
            parts.append(f"{v:.2f}s")
        elif k == "lr":
            parts.append(f"lr {v:.3g}")
        else:
            parts.append(f"{k} {v:.4f}")
    return "  ".join(parts)
