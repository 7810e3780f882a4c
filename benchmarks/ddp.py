"""Data-parallel training over MPI: step time on 1 and 2 ranks, the share of it spent averaging
gradients, and the Allreduce bandwidth.

    python -m benchmarks.ddp [--quick]        # launches mpiexec itself (loopback)

Workload: the MNIST MLP 784-256-128-10 (ReLU, cross-entropy, SGD with momentum), batch 128
per rank (synthetic MNIST-shaped data: timing does not depend on the values), wrapped in
``DistributedDataParallel``. Each configuration runs as ``mpiexec -n K -host localhost -iface
lo python benchmarks/ddp.py --worker ...``; rank 0 prints one JSON line. Per step we time
forward + backward (which includes the gradient averaging) + ``opt.step()``, and separately
the averaging itself (``sync``: copying the gradients into the flat buffer, the Allreduce,
writing them back), and within it the time waiting for the slower rank (a Barrier the
benchmark puts before the Allreduce) apart from the bare ``Allreduce``. Medians over the
timed steps.

On one machine the ranks share its cores: ``init_process_group`` gives each rank
``cpu_count // ranks`` threads, so 2 ranks on 2 cores do twice the samples per step with one
thread each -- compare samples per second, not step times. The bandwidth figure is the
algorithm bandwidth (bytes of the buffer / Allreduce time) for float32 buffers of several
sizes, over shared memory between two ranks on this machine.
"""
import json
import os
import shutil
import statistics
import subprocess
import sys
import time

import numpy as np

HIDDEN = (784, 256, 128, 10)
BATCH = 128


def _worker(steps, warmup, threads, bw_sizes):
    import numbagrad.autograd as ag
    import numbagrad.nn.functional as F
    from numbagrad import nn, optim
    from numbagrad.nn.parallel import DistributedDataParallel, get_rank, get_world_size, init_process_group

    comm = init_process_group(set_threads=threads == 0)
    if threads:
        ag.set_num_threads(threads)
    rank, world = get_rank(), get_world_size()

    class TimedComm:
        """Delegates to the communicator and records how long each Allreduce takes."""

        def __init__(self, c):
            self.c, self.times, self.waits = c, [], []

        def Allreduce(self, *a, **k):
            t = time.perf_counter()
            self.c.Barrier()           # waiting for the slower rank, kept apart from the transfer
            t1 = time.perf_counter()
            self.c.Allreduce(*a, **k)
            t2 = time.perf_counter()
            self.waits.append(t1 - t)
            self.times.append(t2 - t1)

        def __getattr__(self, name):
            return getattr(self.c, name)

    ag.manual_seed(0)
    layers = []
    for i in range(len(HIDDEN) - 1):
        layers.append(nn.Linear(HIDDEN[i], HIDDEN[i + 1]))
        if i < len(HIDDEN) - 2:
            layers.append(nn.ReLU())
    timed = TimedComm(comm)
    ddp = DistributedDataParallel(nn.Sequential(*layers), comm=timed)
    sync_times = []
    real_sync = ddp._sync

    def timed_sync(*a, **k):
        t = time.perf_counter()
        out = real_sync(*a, **k)
        sync_times.append(time.perf_counter() - t)
        return out

    ddp._sync = timed_sync
    opt = optim.SGD(ddp.parameters(), lr=0.01, momentum=0.9)
    rng = np.random.default_rng(rank)
    x = ag.from_numpy(rng.random((BATCH, 784), dtype=np.float32))
    y = ag.from_numpy(rng.integers(0, 10, BATCH))
    step_times = []
    for s in range(warmup + steps):
        comm.Barrier()
        t = time.perf_counter()
        opt.zero_grad()
        F.cross_entropy(ddp(x), y).backward()
        opt.step()
        step_times.append(time.perf_counter() - t)
    step_times, sync_times = step_times[warmup:], sync_times[warmup:]
    allreduce, waits = timed.times[warmup:], timed.waits[warmup:]

    bw = []
    for n in bw_sizes:
        buf = np.ones(n, np.float32)
        from mpi4py import MPI
        reps = max(3, min(50, int(2e7 // max(n, 1))))
        ts = []
        for _ in range(reps + 2):
            comm.Barrier()
            t = time.perf_counter()
            comm.Allreduce(MPI.IN_PLACE, buf, op=MPI.SUM)
            ts.append(time.perf_counter() - t)
        med = statistics.median(ts[2:])
        bw.append({"floats": n, "bytes": 4 * n, "median_s": med, "GB_per_s": 4 * n / med / 1e9})

    n_params = sum(p.numel() for p in ddp.parameters())
    res = {
        "ranks": world, "threads_per_rank": ag.get_num_threads(), "batch_per_rank": BATCH,
        "params": int(n_params), "steps": steps,
        "step_ms": 1e3 * statistics.median(step_times),
        "sync_ms": 1e3 * statistics.median(sync_times),
        "allreduce_ms": 1e3 * statistics.median(allreduce) if allreduce else 0.0,
        "wait_ms": 1e3 * statistics.median(waits) if waits else 0.0,
        "samples_per_s": world * BATCH / statistics.median(step_times),
        "bandwidth": bw,
    }
    res["sync_share"] = res["sync_ms"] / res["step_ms"]
    res["allreduce_share"] = res["allreduce_ms"] / res["step_ms"]
    # every rank must end with the same parameters
    flat = np.concatenate([p.detach().numpy().ravel() for p in ddp.parameters()])
    res["ranks_identical"] = bool(all(np.array_equal(flat, f) for f in comm.allgather(flat)))
    if rank == 0:
        print("RESULT " + json.dumps(res), flush=True)


def _mpiexec():
    cand = os.path.join(os.path.dirname(sys.executable), "mpiexec")
    return cand if os.path.exists(cand) else shutil.which("mpiexec")


def run(quick=False):
    """Measure 1 rank (2 threads and 1 thread) and 2 ranks (1 thread each); returns one dict per configuration."""
    mpiexec = _mpiexec()
    if mpiexec is None:
        raise RuntimeError("benchmarks.ddp needs mpiexec and mpi4py: pip install mpi4py mpich")
    steps, warmup = (20, 5) if quick else (200, 20)
    sizes = [1024, 65536, 262144, 1 << 20] if quick else [1024, 16384, 65536, 262144, 1 << 20, 1 << 22]
    rows = []
    for ranks, threads in ((1, 2), (1, 1), (2, 0)):
        cmd = [mpiexec, "-n", str(ranks), "-host", "localhost", "-iface", "lo", sys.executable,
               os.path.abspath(__file__), "--worker", str(steps), str(warmup), str(threads),
               ",".join(map(str, sizes))]
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
        if out.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed:\n{out.stdout}\n{out.stderr}")
        line = next(l for l in out.stdout.splitlines() if l.startswith("RESULT "))
        row = json.loads(line[len("RESULT "):])
        row["load_average"] = list(os.getloadavg())
        rows.append(row)
    return rows


def _print(rows):
    print(f"{'ranks':>5} {'thr/rank':>8} {'step ms':>8} {'sync ms':>8} {'wait ms':>8} {'allred ms':>9} {'sync %':>7} "
          f"{'allred %':>8} {'samples/s':>10} {'identical':>9}")
    for r in rows:
        print(f"{r['ranks']:>5} {r['threads_per_rank']:>8} {r['step_ms']:>8.2f} {r['sync_ms']:>8.3f} {r['wait_ms']:>8.3f} "
              f"{r['allreduce_ms']:>9.3f} {100 * r['sync_share']:>6.1f}% {100 * r['allreduce_share']:>7.1f}% "
              f"{r['samples_per_s']:>10.0f} {str(r['ranks_identical']):>9}")
    two = [r for r in rows if r["ranks"] == 2]
    if two:
        print("\nAllreduce bandwidth, 2 ranks on this machine (float32, algorithm bandwidth):")
        for b in two[0]["bandwidth"]:
            print(f"  {b['bytes'] / 1024:>9.0f} KiB  {1e6 * b['median_s']:>9.1f} us  {b['GB_per_s']:>6.2f} GB/s")
    print(f"load average: {rows[-1]['load_average']}")


if __name__ == "__main__":
    if "--worker" in sys.argv:
        i = sys.argv.index("--worker")
        steps, warmup, threads, sizes = sys.argv[i + 1:i + 5]
        _worker(int(steps), int(warmup), int(threads), [int(s) for s in sizes.split(",")])
    else:
        quick = "--quick" in sys.argv
        rows = run(quick)
        _print(rows)
        if "--json" in sys.argv:
            print(json.dumps(rows, indent=1))
