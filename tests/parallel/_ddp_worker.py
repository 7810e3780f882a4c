"""Run by tests/parallel/test_ddp.py under mpiexec (or alone, as the one-process reference).

    python _ddp_worker.py OUTDIR MODE [--reference]

MODE: "train" (plain steps), "nosync" (two micro-batches per step, the first under
no_sync), "fail" (rank 1 raises after the first step).
"""
import os
import sys

import numpy as np

import numbagrad.autograd as ag
import numbagrad.nn.functional as F
from numbagrad import nn, optim

STEPS, BATCH, MICRO = 6, 16, 2  # per step the global batch is BATCH rows, split over 2 ranks


def data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(STEPS * BATCH, 8)).astype(np.float32)
    y = (x[:, 0] + x[:, 1] > 0).astype(np.int64) + (x[:, 2] > 1)
    return x, y


def build():
    ag.manual_seed(0)
    return nn.Sequential(nn.Linear(8, 16), nn.Tanh(), nn.Linear(16, 3))


def rows(step, part, n_parts):
    """Rows of one step's global batch that part `part` of `n_parts` takes."""
    size = BATCH // n_parts
    start = step * BATCH + part * size
    return slice(start, start + size)


def micro_rows(step, m, part, n_parts):
    """Micro-batch m of part `part` (for the nosync mode)."""
    r = rows(step, part, n_parts)
    size = (r.stop - r.start) // MICRO
    return slice(r.start + m * size, r.start + (m + 1) * size)


def main(outdir, mode, reference):
    x, y = data()
    if reference:
        model = build()
        run, rank, world = model, 0, 1
    else:
        from numbagrad.nn.parallel import DistributedDataParallel, get_rank, get_world_size, init_process_group
        init_process_group()
        rank, world = get_rank(), get_world_size()
        if rank == 1:
            ag.manual_seed(1)  # a different initialisation: the broadcast must fix it
            model = nn.Sequential(nn.Linear(8, 16), nn.Tanh(), nn.Linear(16, 3))
        else:
            model = build()
        run = DistributedDataParallel(model)
    opt = optim.SGD(model.parameters(), lr=0.2, momentum=0.9)
    for step in range(STEPS):
        opt.zero_grad()
        if mode == "nosync":
            for m in range(MICRO):
                if reference:   # one process: the concatenation of both ranks' micro-batch m
                    sl = [micro_rows(step, m, p, 2) for p in range(2)]
                    xb = np.concatenate([x[s] for s in sl]); yb = np.concatenate([y[s] for s in sl])
                    F.cross_entropy(run(ag.from_numpy(xb)), ag.from_numpy(yb)).backward()
                else:
                    s = micro_rows(step, m, rank, world)
                    ctx = run.no_sync() if m < MICRO - 1 else _null()
                    with ctx:
                        F.cross_entropy(run(ag.from_numpy(x[s])), ag.from_numpy(y[s])).backward()
        else:
            s = rows(step, rank, world)
            F.cross_entropy(run(ag.from_numpy(x[s])), ag.from_numpy(y[s])).backward()
        opt.step()
        if mode == "fail" and rank == 1:
            raise ValueError("rank 1 fails on purpose")
    state = dict(model.state_dict())
    if not reference:
        state["sync_count"] = np.array(run.sync_count)
    ag.save(state, os.path.join(outdir, "reference.npz" if reference else f"rank{rank}.npz"))


class _null:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], "--reference" in sys.argv)
