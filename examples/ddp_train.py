"""Data-parallel training of an MLP on the digits (or synthetic data) over MPI.

    mpiexec -n 2 -host localhost -iface lo python examples/ddp_train.py   # 2 ranks on this machine
    mpiexec -n 8 -f hosts python examples/ddp_train.py                   # a cluster (host file)
    python examples/ddp_train.py                                         # 1 rank, no mpiexec needed

Every rank builds the same model (rank 0's weights are broadcast when it is wrapped), trains
on its own shard of each epoch (DistributedSampler), and averages the gradients with the
others after each backward, so all ranks hold identical weights. Rank 0 prints the progress
and writes the checkpoint. Options: --epochs N, --batch-size B (per rank), --lr LR,
--synthetic (no scikit-learn needed), --out PATH.
"""
import argparse
import time

import numpy as np

import numbagrad.autograd as ag
import numbagrad.nn.functional as F
from numbagrad import nn, optim
from numbagrad.nn import data
from numbagrad.nn.parallel import (DistributedDataParallel, DistributedSampler, barrier, get_rank,
                                   get_world_size, init_process_group)


def load(synthetic):
    """(x_train, y_train, x_test, y_test) as float32 / int64 arrays, the same on every rank."""
    if not synthetic:
        try:
            x, y = data.datasets.load_digits(flatten=True)
        except ImportError:
            synthetic = True
    if synthetic:
        rng = np.random.default_rng(0)
        centers = 0.3 * rng.normal(size=(10, 64)).astype(np.float32)
        y = rng.integers(0, 10, 1800)
        x = (centers[y] + 1.2 * rng.normal(size=(1800, 64))).astype(np.float32)
    perm = np.random.default_rng(1).permutation(len(x))
    x, y = x[perm], y[perm]
    n_test = len(x) // 5
    return x[n_test:], y[n_test:], x[:n_test], y[:n_test]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--batch-size", type=int, default=32, help="per rank")
    ap.add_argument("--lr", type=float, default=0.1)
    ap.add_argument("--synthetic", action="store_true")
    ap.add_argument("--out", default=None, help="checkpoint written by rank 0 (ag.save)")
    args = ap.parse_args()

    init_process_group()               # MPI.COMM_WORLD; threads per rank = cores // ranks on this host
    rank, world = get_rank(), get_world_size()
    x_tr, y_tr, x_te, y_te = load(args.synthetic)
    train_set = data.TensorDataset(ag.from_numpy(x_tr), ag.from_numpy(y_tr))

    ag.manual_seed(0)
    model = DistributedDataParallel(nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10)))
    opt = optim.SGD(model.parameters(), lr=args.lr, momentum=0.9)
    sampler = DistributedSampler(train_set, shuffle=True, seed=0)
    loader = data.DataLoader(train_set, batch_size=args.batch_size, sampler=sampler)
    if rank == 0:
        print(f"{world} rank(s), {len(train_set)} training samples, {len(sampler)} per rank and epoch, "
              f"global batch {world * args.batch_size}")
    t0 = time.perf_counter()
    for epoch in range(args.epochs):
        sampler.set_epoch(epoch)       # the same new shuffle on every rank
        model.train()
        total, count = 0.0, 0
        for xb, yb in loader:
            opt.zero_grad()
            loss = F.cross_entropy(model(xb), yb)
            loss.backward()            # gradients are averaged over the ranks here
            opt.step()
            total += float(loss.item()) * len(yb)
            count += len(yb)
        # the mean training loss over all ranks (a collective on plain numbers)
        total, count = model.comm.allreduce(np.array([total, count]))   # default op: sum
        if rank == 0:
            model.eval()
            with ag.no_grad():
                acc = float((model(ag.from_numpy(x_te)).argmax(dim=1).numpy() == y_te).mean())
            print(f"epoch {epoch + 1:2d}  train loss {total / count:.4f}  test accuracy {acc:.3f}  "
                  f"({time.perf_counter() - t0:.1f} s)", flush=True)
    barrier()
    if rank == 0 and args.out:
        ag.save(model.module.state_dict(), args.out)
        print(f"saved {args.out}")


if __name__ == "__main__":
    main()
