"""Data-parallel training over MPI, as ``torch.distributed`` + ``torch.nn.parallel``.

Every rank (an MPI process) holds a full copy of the model, trains on its own shard of
the data, and averages the gradients with the other ranks after ``backward()``, so every
rank's optimizer takes the same step and the copies stay bit-identical::

    import numbagrad.autograd as ag
    from numbagrad import nn, optim
    import numbagrad.nn.functional as F
    from numbagrad.nn import data
    from numbagrad.nn.parallel import (DistributedDataParallel, DistributedSampler,
                                       init_process_group, get_rank)

    init_process_group()                        # MPI.COMM_WORLD; limits threads per rank
    ag.manual_seed(0)
    model = DistributedDataParallel(nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10)))
    opt = optim.SGD(model.parameters(), lr=0.1)
    sampler = DistributedSampler(train_set, shuffle=True, seed=0)
    loader = data.DataLoader(train_set, batch_size=64, sampler=sampler)
    for epoch in range(10):
        sampler.set_epoch(epoch)                # a new shuffle, the same on every rank
        for x, y in loader:
            opt.zero_grad()
            F.cross_entropy(model(x), y).backward()   # gradients averaged across ranks here
            opt.step()

Launch with ``mpiexec -n 2 python train.py`` (one machine: add ``-host localhost -iface
lo``). Without ``mpiexec`` the same script runs as a single rank.

How gradients are averaged: ``DistributedDataParallel.forward`` walks the graph it just
recorded and counts, per parameter, how many gradient contributions the backward pass
will deliver; a hook on every parameter counts the arrivals. When the last one arrives,
all gradients are copied into one flat contiguous buffer (plus one flag per parameter
saying whether it got a gradient on this rank), averaged with a single ``Allreduce``,
and written back as the parameters' ``.grad``. ``backward()`` therefore returns with
averaged gradients and ``opt.step()`` needs nothing special. Under :meth:`no_sync`
gradients only accumulate locally; the first synchronised backward after it averages
the accumulated sums. :meth:`DistributedDataParallel.sync_gradients` does the same
averaging by hand (a no-op when this backward already averaged).

Rules that follow from the design (as in PyTorch): call the wrapper, not the inner
module, for the forward pass; every rank runs the same number of forward/backward
steps; parameters used outside the wrapped forward (for example an L2 penalty added to
the loss) raise a clear error instead of silently missing the average (compute such
terms inside the module, or call ``backward`` under ``no_sync()`` and then
``sync_gradients()``). ``create_graph=True`` is not supported (averaged gradients are
plain tensors).

mpi4py is imported only when a function here needs it; ``pip install mpi4py mpich``
(or the ``mpi`` extra) provides it and ``mpiexec``.
"""
import contextlib
import math
import os
import sys
import traceback

import numpy as np

import numbagrad.autograd as ag

from .data.sampler import Sampler
from .module import Module

__all__ = [
    "init_process_group", "is_initialized", "get_rank", "get_world_size", "barrier",
    "destroy_process_group", "DistributedDataParallel", "DistributedSampler",
]

_state = {"comm": None, "prev_excepthook": None}


def _mpi():
    try:
        from mpi4py import MPI
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError(
            "numbagrad.nn.parallel needs mpi4py and an MPI library: pip install mpi4py mpich "
            "(or pip install 'numbagrad[mpi]')") from e
    return MPI


def init_process_group(backend="mpi", comm=None, set_threads=True, abort_on_exception=True):
    """Join the process group: every process started by ``mpiexec`` (``MPI.COMM_WORLD``).

    ``backend`` must be ``"mpi"`` (accepted for PyTorch compatibility). ``comm`` may be
    another mpi4py communicator. With ``set_threads`` each rank limits numba and BLAS to
    ``max(1, os.cpu_count() // local_ranks)`` threads (``local_ranks``: the ranks on this
    machine), so ranks sharing a machine do not fight over its cores. With
    ``abort_on_exception`` an uncaught exception on any rank prints its traceback (tagged
    with the rank) and calls ``MPI.COMM_WORLD.Abort(1)``, so the whole job exits non-zero
    instead of the other ranks waiting forever in a collective. Calling it again is a
    no-op. Returns the communicator.
    """
    if backend != "mpi":
        raise ValueError(f"init_process_group: only backend='mpi' is supported, got {backend!r}")
    if _state["comm"] is not None:
        return _state["comm"]
    MPI = _mpi()
    comm = MPI.COMM_WORLD if comm is None else comm
    _state["comm"] = comm
    if abort_on_exception:
        _state["prev_excepthook"] = sys.excepthook
        sys.excepthook = _abort_excepthook
    if set_threads:
        local = comm.Split_type(MPI.COMM_TYPE_SHARED)
        n_local = local.Get_size()
        local.Free()
        ag.set_num_threads(max(1, (os.cpu_count() or 1) // n_local))
    return comm


def _abort_excepthook(exc_type, exc, tb):
    comm = _state["comm"]
    rank = comm.Get_rank() if comm is not None else "?"
    msg = "".join(traceback.format_exception(exc_type, exc, tb))
    sys.stderr.write(f"[numbagrad.nn.parallel] rank {rank} raised an uncaught exception; "
                     f"aborting the whole MPI job:\n{msg}")
    sys.stderr.flush()
    if comm is not None:
        _mpi().COMM_WORLD.Abort(1)


def destroy_process_group():
    """Leave the process group (restores ``sys.excepthook``); MPI itself stays initialised."""
    if _state["prev_excepthook"] is not None:
        sys.excepthook = _state["prev_excepthook"]
        _state["prev_excepthook"] = None
    _state["comm"] = None


def is_initialized():
    """True after :func:`init_process_group`."""
    return _state["comm"] is not None


def _comm():
    if _state["comm"] is None:
        raise RuntimeError("numbagrad.nn.parallel: the process group is not initialised; "
                           "call init_process_group() first")
    return _state["comm"]


def get_rank():
    """This process's rank, ``0 .. get_world_size() - 1``."""
    return _comm().Get_rank()


def get_world_size():
    """How many ranks take part."""
    return _comm().Get_size()


def barrier():
    """Wait until every rank has reached this call."""
    _comm().Barrier()


class DistributedDataParallel(Module):
    """Wrap ``module`` for data-parallel training: gradients are averaged across ranks.

    At wrap time rank 0's parameters and buffers are broadcast to every rank (after a
    check that all ranks built the same parameter names, shapes and dtypes). Then each
    ``backward()`` through an output of this wrapper averages the gradients of all
    parameters with one ``Allreduce`` on a flat buffer (see the module docstring), so
    ``loss.backward(); opt.step()`` works unchanged. ``broadcast_buffers`` (default True)
    re-broadcasts rank 0's buffers (BatchNorm's running statistics) before every forward,
    as PyTorch does. ``module`` is the wrapped model (save ``ddp.module.state_dict()``);
    the forward pass delegates to it. ``comm`` defaults to the process group's.
    """

    def __init__(self, module, broadcast_buffers=True, comm=None):
        super().__init__()
        if not isinstance(module, Module):
            raise TypeError(f"DistributedDataParallel: expected an nn.Module, got {type(module).__name__}")
        self.module = module
        self.comm = comm if comm is not None else _comm()
        self.broadcast_buffers = broadcast_buffers
        self.require_backward_grad_sync = True
        self.sync_count = 0  # how many times gradients were averaged (for tests and telemetry)
        self._params = [(n, p) for n, p in module.named_parameters() if p.requires_grad]
        self._check_same_model()
        self._broadcast([p for _, p in module.named_parameters()] + list(module.buffers()))
        self._index = {id(p): i for i, (_, p) in enumerate(self._params)}
        self._expected = None   # per parameter, the gradient contributions of this round
        self._arrived = None
        self._pending = 0       # parameters still waiting for contributions
        self._round_sync = False
        self._synced = False
        self._handles = [p.register_hook(self._make_hook(i)) for i, (_, p) in enumerate(self._params)]

    # ------------------------------------------------------------------ set-up
    def _check_same_model(self):
        sig = [(n, tuple(p.shape), str(p.dtype)) for n, p in self.module.named_parameters()]
        sigs = self.comm.allgather(sig)
        for r, s in enumerate(sigs):
            if s != sigs[0]:
                diff = next(((a, b) for a, b in zip(sigs[0], s) if a != b), (len(sigs[0]), len(s)))
                raise RuntimeError(
                    f"DistributedDataParallel: rank {r} built a different model than rank 0 "
                    f"(first difference: rank 0 has {diff[0]}, rank {r} has {diff[1]})")

    def _broadcast(self, tensors):
        for t in tensors:
            arr = t.data.numpy()
            if not arr.flags.c_contiguous:  # pragma: no cover - parameters are contiguous
                arr = np.ascontiguousarray(arr)
                self.comm.Bcast(arr, root=0)
                t.data.numpy()[...] = arr
            else:
                self.comm.Bcast(arr, root=0)

    # ------------------------------------------------------------------ forward
    def forward(self, *args, **kwargs):
        """Run the wrapped module and prepare this round's gradient averaging."""
        if self.broadcast_buffers and self.comm.Get_size() > 1:
            bufs = list(self.module.buffers())
            if bufs:
                self._broadcast(bufs)
        out = self.module(*args, **kwargs)
        self._prepare(out)
        return out

    def _prepare(self, out):
        if self._expected is not None and any(self._arrived):
            missing = [self._params[i][0] for i, (a, e) in enumerate(zip(self._arrived, self._expected)) if a < e]
            self._expected = None
            raise RuntimeError(
                "DistributedDataParallel: the previous backward ended before every parameter's gradient "
                f"arrived, so the gradients were not averaged (missing: {', '.join(missing[:5])}). Does the "
                "loss use every output of the forward? If some outputs are left out on purpose, run "
                "backward() under no_sync() and call sync_gradients() before opt.step().")
        self._round_sync = self.require_backward_grad_sync and ag.is_grad_enabled()
        self._synced = False
        if not self._round_sync:
            self._expected = None
            return
        expected = [0] * len(self._params)
        index = self._index
        seen = set()
        stack = [t._fn for t in _tensors_in(out) if t._fn is not None]
        while stack:
            node = stack.pop()
            if id(node) in seen:
                continue
            seen.add(id(node))
            for e in node._edges:
                if e is None:
                    continue
                if e[1] < 0:
                    i = index.get(id(e[0]))
                    if i is not None:
                        expected[i] += 1
                elif id(e[0]) not in seen:
                    stack.append(e[0])
        self._expected = expected
        self._arrived = [0] * len(expected)
        self._pending = sum(1 for c in expected if c > 0)
        if self._pending == 0:  # nothing of ours in the graph: averaging needs an explicit call
            self._expected = None

    def _make_hook(self, i):
        def hook(grad):
            expected = self._expected
            if expected is None:
                if self._synced and self._round_sync:
                    name = self._params[i][0]
                    raise RuntimeError(
                        f"DistributedDataParallel: parameter '{name}' received a gradient after the "
                        "gradients of this step were averaged across ranks (was it used outside the "
                        "wrapped module's forward, or is backward() run twice?). Compute such terms "
                        "inside the module, or run backward() under no_sync() and call "
                        "sync_gradients() afterwards.")
                return None
            self._arrived[i] += 1
            if self._arrived[i] == expected[i]:
                self._pending -= 1
                if self._pending == 0:
                    return self._sync(last=i, last_grad=grad)
            elif self._arrived[i] > expected[i]:
                name = self._params[i][0]
                self._expected = None  # this round is lost; the next forward starts afresh
                raise RuntimeError(
                    f"DistributedDataParallel: parameter '{name}' received more gradient contributions "
                    f"({self._arrived[i]}) than the wrapped forward recorded ({expected[i]}); see "
                    "sync_gradients() for parameters used outside the module's forward")
            return None
        return hook

    # ------------------------------------------------------------------ averaging
    @contextlib.contextmanager
    def no_sync(self):
        """Inside this context, forward/backward only accumulate gradients locally (no communication).

        The first backward of a forward run outside the context averages the accumulated
        gradients, as in PyTorch::

            with ddp.no_sync():
                for x, y in micro_batches[:-1]:
                    loss_fn(ddp(x), y).backward()
            loss_fn(ddp(x_last), y_last).backward()   # averages the sum of all micro-batches
        """
        old = self.require_backward_grad_sync
        self.require_backward_grad_sync = False
        try:
            yield
        finally:
            self.require_backward_grad_sync = old

    def sync_gradients(self):
        """Average the parameters' ``.grad`` across ranks now (one Allreduce); every rank must call it.

        A no-op when the last backward already averaged. Needed only when the automatic
        averaging cannot run (gradients from outside the wrapped forward, manual
        ``backward`` of a graph not made through this wrapper).
        """
        if self._synced:
            return
        self._sync()

    def _sync(self, last=None, last_grad=None):
        """Average all gradients with one Allreduce; returns the gradient to deliver for `last`."""
        params = [p for _, p in self._params]
        grads = [p.grad for p in params]
        if last is not None:
            g = last_grad.detach().numpy()
            old = grads[last]
            grads[last] = g if old is None else old.numpy() + g
            params[last].grad = None  # the engine stores the averaged gradient we return
        grads = [g.numpy() if isinstance(g, ag.Tensor) else g for g in grads]
        arrays = [p.data.numpy() for p in params]
        dtype = np.result_type(*[a.dtype for a in arrays]) if params else np.float32
        sizes = [a.size for a in arrays]
        total = sum(sizes)
        flat = np.empty(total + len(params), dtype=dtype)
        off = 0
        for k, (g, n) in enumerate(zip(grads, sizes)):
            if g is None:
                flat[off:off + n] = 0
                flat[total + k] = 0
            else:
                flat[off:off + n] = g.reshape(-1)
                flat[total + k] = 1
            off += n
        world = self.comm.Get_size()
        if world > 1:
            summed = np.empty_like(flat)
            self.comm.Allreduce(flat, summed)   # mpi4py's default op is SUM
            flat = summed
            flat[:total] /= world
        self.sync_count += 1
        result = None
        off = 0
        for k, (p, n) in enumerate(zip(params, sizes)):
            view = flat[off:off + n].reshape(arrays[k].shape)
            off += n
            if flat[total + k] == 0:          # no rank produced a gradient: leave it None
                avg = None
            else:
                dt = arrays[k].dtype
                avg = ag.from_numpy(view if view.dtype == dt else view.astype(dt))
            if k == last:
                result = avg
            else:
                p.grad = avg
        self._expected = None
        self._synced = True
        return result

    def extra_repr(self):
        """Shows the world size."""
        return f"world_size={self.comm.Get_size()}"


def _tensors_in(obj):
    if isinstance(obj, ag.Tensor):
        yield obj
    elif isinstance(obj, (list, tuple)):
        for o in obj:
            yield from _tensors_in(o)
    elif isinstance(obj, dict):
        for o in obj.values():
            yield from _tensors_in(o)


class DistributedSampler(Sampler):
    """Gives each rank its own shard of ``dataset``, as ``torch.utils.data.distributed.DistributedSampler``.

    Every epoch the indices are (with ``shuffle``) permuted by a generator seeded with
    ``seed + epoch`` -- the same permutation on every rank, so call :meth:`set_epoch`
    with the same epoch everywhere -- then rank ``r`` takes every ``num_replicas``-th
    index starting at ``r``. Without ``drop_last`` the list is padded by repeating its
    first indices so all shards have ``ceil(len / num_replicas)`` samples; with
    ``drop_last`` the tail is dropped instead so shards have ``floor(len / num_replicas)``.
    ``num_replicas`` and ``rank`` default to the process group's world size and rank.
    Pass it as the DataLoader's ``sampler`` (not together with ``shuffle=True``).
    """

    def __init__(self, dataset, num_replicas=None, rank=None, shuffle=True, seed=0, drop_last=False):
        if num_replicas is None:
            num_replicas = get_world_size()
        if rank is None:
            rank = get_rank()
        if isinstance(num_replicas, bool) or int(num_replicas) != num_replicas or num_replicas < 1:
            raise ValueError(f"DistributedSampler: num_replicas should be a positive integer, got {num_replicas!r}")
        if isinstance(rank, bool) or int(rank) != rank or not 0 <= rank < num_replicas:
            raise ValueError(f"DistributedSampler: invalid rank {rank!r}, rank should be in the interval "
                             f"[0, {num_replicas - 1}]")
        self.dataset = dataset
        self.num_replicas = int(num_replicas)
        self.rank = int(rank)
        self.shuffle = bool(shuffle)
        self.seed = int(seed)
        self.drop_last = bool(drop_last)
        self.epoch = 0
        n = len(dataset)
        if self.drop_last and n % self.num_replicas:
            self.num_samples = math.ceil((n - self.num_replicas) / self.num_replicas)
        else:
            self.num_samples = math.ceil(n / self.num_replicas)
        self.total_size = self.num_samples * self.num_replicas

    def set_epoch(self, epoch):
        """Set the epoch: with ``shuffle`` each epoch has its own order (call it before each epoch)."""
        self.epoch = int(epoch)

    def index_array(self):
        """This rank's indices for the current epoch as one int64 array."""
        n = len(self.dataset)
        if self.shuffle:
            idx = np.random.default_rng(self.seed + self.epoch).permutation(n).astype(np.int64)
        else:
            idx = np.arange(n, dtype=np.int64)
        if self.total_size > n:             # pad by repeating (several times if needed)
            idx = np.resize(idx, self.total_size) if n else idx
        else:
            idx = idx[:self.total_size]
        return idx[self.rank:self.total_size:self.num_replicas]

    def __iter__(self):
        return iter(self.index_array().tolist())

    def __len__(self):
        return self.num_samples
