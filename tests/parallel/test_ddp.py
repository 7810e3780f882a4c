"""Data-parallel training over MPI (numbagrad.nn.parallel): 2-rank mpiexec runs on loopback,
and unit tests of DistributedSampler and of the gradient averaging with a stand-in communicator."""
import os
import shutil
import signal
import subprocess
import sys

import numpy as np
import pytest

import numbagrad.autograd as ag
import numbagrad.nn.functional as F
from numbagrad import nn
from numbagrad.nn.parallel import DistributedDataParallel, DistributedSampler

HERE = os.path.dirname(os.path.abspath(__file__))
WORKER = os.path.join(HERE, "_ddp_worker.py")


def _mpiexec():
    """The mpiexec next to this Python (the mpich wheel's), else one on PATH; None when absent."""
    try:
        import mpi4py  # noqa: F401
    except ImportError:
        return None
    cand = os.path.join(os.path.dirname(sys.executable), "mpiexec")
    return cand if os.path.exists(cand) else shutil.which("mpiexec")


MPIEXEC = _mpiexec()
needs_mpi = pytest.mark.skipif(MPIEXEC is None, reason="mpi4py or mpiexec not installed "
                               "(optional: pip install mpi4py mpich, or the 'mpi' extra)")


def _run_bounded(cmd, timeout, cwd):
    """Run cmd in its own process group; on timeout kill the whole group (mpiexec and its ranks) and fail."""
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=str(cwd),
                            env=dict(os.environ, PYTHONUNBUFFERED="1"), start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        pytest.fail(f"{' '.join(cmd)} hung for {timeout} s:\n{out}\n{err}")
    return subprocess.CompletedProcess(cmd, proc.returncode, out, err)


def _launch(outdir, mode, timeout=90):
    cmd = [MPIEXEC, "-n", "2", "-host", "localhost", "-iface", "lo", sys.executable, WORKER, str(outdir), mode]
    return _run_bounded(cmd, timeout, outdir)


def _reference(outdir, mode):
    subprocess.run([sys.executable, WORKER, str(outdir), mode, "--reference"], check=True, timeout=90,
                   capture_output=True, text=True)


def _arrays(path):
    return {k: np.asarray(v.numpy() if isinstance(v, ag.Tensor) else v) for k, v in ag.load(path).items()}


@needs_mpi
@pytest.mark.parametrize("mode", ["train", "nosync"])
def test_two_ranks_stay_identical_and_match_one_process(tmp_path, mode):
    proc = _launch(tmp_path, mode)
    assert proc.returncode == 0, f"mpiexec failed:\n{proc.stdout}\n{proc.stderr}"
    _reference(tmp_path, mode)
    r0, r1, ref = (_arrays(tmp_path / f) for f in ("rank0.npz", "rank1.npz", "reference.npz"))
    assert set(r0) == set(r1) == set(ref) | {"sync_count"}
    for k in r0:   # bit-identical on every rank (rank 1 started from another initialisation)
        assert np.array_equal(r0[k], r1[k]), k
    for k in ref:  # the same as one process on the concatenated batches
        np.testing.assert_allclose(r0[k], ref[k], rtol=1e-5, atol=1e-6, err_msg=k)
    assert int(r0["sync_count"]) == 6  # one allreduce per optimizer step (no_sync: none for micro-batch 1)


@needs_mpi
def test_a_failing_rank_aborts_the_job(tmp_path):
    proc = _launch(tmp_path, "fail", timeout=60)   # a hang fails the test after 60 s
    assert proc.returncode != 0
    assert "rank 1 raised an uncaught exception" in proc.stderr
    assert "rank 1 fails on purpose" in proc.stderr


# ------------------------------------------------------------------ without MPI
class _FakeComm:
    """Stands for a 2-rank communicator whose other rank computes exactly what this one does."""

    def __init__(self, size=2):
        self.size = size
        self.allreduces = 0

    def Get_size(self):
        return self.size

    def Get_rank(self):
        return 0

    def allgather(self, obj):
        return [obj] * self.size

    def Bcast(self, buf, root=0):
        pass

    def Allreduce(self, sendbuf, recvbuf, op=None):
        self.allreduces += 1
        recvbuf[...] = sendbuf * self.size


def _model():
    ag.manual_seed(3)
    return nn.Sequential(nn.Linear(4, 5), nn.ReLU(), nn.Linear(5, 2))


def _grads(model):
    return [p.grad.numpy().copy() for p in model.parameters()]


def test_no_sync_accumulates_without_communicating():
    x = ag.from_numpy(np.random.default_rng(0).normal(size=(6, 4)).astype(np.float32))
    y = ag.from_numpy(np.array([0, 1, 1, 0, 1, 0]))
    plain = _model()
    for _ in range(2):
        F.cross_entropy(plain(x), y).backward()
    comm = _FakeComm()
    ddp = DistributedDataParallel(_model(), comm=comm)
    with ddp.no_sync():
        F.cross_entropy(ddp(x), y).backward()
    assert comm.allreduces == 0 and ddp.sync_count == 0
    F.cross_entropy(ddp(x), y).backward()     # averages the accumulated sum: one allreduce
    assert comm.allreduces == 1
    for a, b in zip(_grads(plain), _grads(ddp.module)):
        np.testing.assert_allclose(a, b, rtol=1e-6)
    ddp.sync_gradients()                       # already averaged: a no-op
    assert comm.allreduces == 1


def test_parameter_used_outside_forward_is_an_error():
    ddp = DistributedDataParallel(_model(), comm=_FakeComm())
    x = ag.randn(3, 4)
    w = ddp.module[0].weight
    loss = ddp(x).sum() + (w * w).sum()
    with pytest.raises(RuntimeError, match="received more gradient"):
        loss.backward()
    # the documented way out: backward under no_sync, then sync_gradients()
    ddp.zero_grad()
    with ddp.no_sync():
        loss = ddp(x).sum() + (w * w).sum()
        loss.backward()
    ddp.sync_gradients()
    assert ddp.comm.allreduces == 1


def test_unused_forward_output_is_reported_at_the_next_forward():
    class TwoHeads(nn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.b = nn.Linear(4, 2), nn.Linear(4, 2)

        def forward(self, x):
            return self.a(x), self.b(x)

    ddp = DistributedDataParallel(TwoHeads(), comm=_FakeComm())
    x = ag.randn(3, 4)
    ddp(x)[0].sum().backward()               # head b never gets its gradient: no averaging
    assert ddp.comm.allreduces == 0
    with pytest.raises(RuntimeError, match=r"missing: b\.weight"):
        ddp(x)
    ddp.zero_grad()
    with ddp.no_sync():
        ddp(x)[0].sum().backward()
    ddp.sync_gradients()                     # the way out: average by hand
    assert ddp.comm.allreduces == 1 and ddp.module.b.weight.grad is None


def test_different_models_on_ranks_are_refused():
    class Mismatch(_FakeComm):
        def allgather(self, obj):
            return [obj, obj[:-1]]
    with pytest.raises(RuntimeError, match="rank 1 built a different model"):
        DistributedDataParallel(_model(), comm=Mismatch())


@pytest.mark.parametrize("n,replicas,drop_last", [(10, 3, False), (10, 3, True), (12, 4, False), (2, 3, False)])
def test_distributed_sampler_shards(n, replicas, drop_last):
    data = list(range(n))
    shards = [DistributedSampler(data, num_replicas=replicas, rank=r, seed=7, drop_last=drop_last)
              for r in range(replicas)]
    idx = [s.index_array() for s in shards]
    assert len({len(i) for i in idx}) == 1 and all(len(s) == len(i) for s, i in zip(shards, idx))
    allidx = np.concatenate(idx)
    if drop_last:   # disjoint, n // replicas each
        assert len(allidx) == len(set(allidx.tolist())) == (n // replicas) * replicas
    else:           # covering, padded by repeats to equal shards
        assert set(allidx.tolist()) == set(data) and len(idx[0]) == -(-n // replicas)
        if n % replicas == 0:
            assert len(allidx) == len(set(allidx.tolist()))
    # the same seed and epoch give the same shards on every rank; set_epoch reshuffles
    again = [DistributedSampler(data, num_replicas=replicas, rank=r, seed=7, drop_last=drop_last).index_array()
             for r in range(replicas)]
    assert all(np.array_equal(a, b) for a, b in zip(idx, again))
    if n >= 10:
        shards[0].set_epoch(1)
        assert not np.array_equal(shards[0].index_array(), idx[0])
        assert list(shards[0]) == shards[0].index_array().tolist()


def test_distributed_sampler_in_a_dataloader():
    from numbagrad.nn import data
    ds = data.TensorDataset(ag.arange(10))
    seen = []
    for r in range(2):
        s = DistributedSampler(ds, num_replicas=2, rank=r, shuffle=False)
        seen += [int(v) for (b,) in data.DataLoader(ds, batch_size=2, sampler=s) for v in b.numpy()]
    assert sorted(seen) == list(range(10))
    with pytest.raises(ValueError, match="rank"):
        DistributedSampler(ds, num_replicas=2, rank=2)


@needs_mpi
def test_example_script_runs_on_two_ranks(tmp_path):
    script = os.path.join(HERE, "..", "..", "examples", "ddp_train.py")
    out = tmp_path / "model.npz"
    cmd = [MPIEXEC, "-n", "2", "-host", "localhost", "-iface", "lo", sys.executable, script,
           "--epochs", "2", "--synthetic", "--out", str(out)]
    proc = _run_bounded(cmd, 90, tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "2 rank(s)" in proc.stdout and "epoch  2" in proc.stdout
    assert set(ag.load(out)) == {"0.weight", "0.bias", "2.weight", "2.bias"}
