"""Trial functions for tests/nn/test_tuning.py, in their own module so spawned workers can import them."""
import os

import numpy as np


def tiny_trial(config, seed):
    """Fit a logistic regression on two blobs with numbagrad for a few steps; fail on purpose when asked."""
    if config.get("fail"):
        raise ValueError(f"boom (lr={config['lr']})")
    import numbagrad.autograd as ag
    from numbagrad import nn, optim
    import numbagrad.nn.functional as F

    rng = np.random.default_rng(0)                      # the same data in every trial
    x = np.concatenate([rng.normal(-1, 1, (64, 2)), rng.normal(1, 1, (64, 2))]).astype(np.float32)
    y = np.repeat(np.arange(2), 64)
    model = nn.Linear(2, 2)                             # initialised from the trial's seed
    opt = optim.SGD(model.parameters(), lr=config["lr"])
    xt, yt = ag.from_numpy(x), ag.from_numpy(y)
    for _ in range(config.get("steps", 20)):
        opt.zero_grad()
        loss = F.cross_entropy(model(xt), yt)
        loss.backward()
        opt.step()
    with ag.no_grad():
        acc = float((model(xt).argmax(dim=1).numpy() == y).mean())
    return {"val_loss": float(loss.item()), "accuracy": acc, "draw": float(np.random.random()),
            "pid": os.getpid(), "seed_seen": seed}


def plain_trial(config):
    """Return a number computed from the config only (no seed parameter)."""
    return -(config["x"] - 3) ** 2 + config.get("y", 0)


def bad_trial(config):
    """Return something that is not a usable score, by kind."""
    return {"none": None, "dict": {"other": 1.0}, "nan": {"acc": float("nan")}}[config["kind"]]
