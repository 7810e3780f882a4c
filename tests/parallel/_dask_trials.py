"""Trial functions for test_dask_trials.py, in a module of their own so Dask worker processes can import them."""
import os

import numpy as np


def fit_trial(config, seed):
    """Train a tiny numbagrad model; fail on purpose when asked; report the worker's pid."""
    if config.get("fail"):
        raise ValueError(f"trial fails on purpose (lr={config['lr']})")
    import numbagrad.autograd as ag
    import numbagrad.nn.functional as F
    from numbagrad import nn, optim

    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 3)).astype(np.float32)
    y = (x.sum(axis=1) > 0).astype(np.int64)
    model = nn.Linear(3, 2)
    opt = optim.SGD(model.parameters(), lr=config["lr"])
    xt, yt = ag.from_numpy(x), ag.from_numpy(y)
    for _ in range(10):
        opt.zero_grad()
        loss = F.cross_entropy(model(xt), yt)
        loss.backward()
        opt.step()
    return {"loss": float(loss.item()), "pid": os.getpid(), "draw": float(np.random.random())}
