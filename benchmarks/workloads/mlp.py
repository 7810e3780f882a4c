"""MLP training steps: tiny_mlp, mnist_mlp and wide_mlp (sizes as in issue 5).

Each step is the PyTorch idiom, written once against a :class:`~benchmarks.libs.Libs`
namespace: ``opt.zero_grad(); loss = loss_fn(model(x), y); loss.backward(); opt.step()``.
The floor is :class:`~benchmarks.workloads.floor.NumpyMLP` on the same data.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import libs
from ..harness import Case, Contender, trio
from .floor import NumpyMLP, gemm_floor


@dataclass(frozen=True)
class MLPSpec:
    """Architecture, batch, loss and optimizer of one MLP workload."""

    name: str
    sizes: tuple
    act: str  # "tanh" | "relu"
    batch: int
    loss: str  # "mse" | "ce"
    opt: str  # "sgd" | "adam"
    lr: float
    blas: bool = True  # thread counts matter (GEMMs big enough for BLAS threads)


SPECS = {
    "tiny_mlp": MLPSpec("tiny_mlp", (2, 16, 16, 1), "tanh", 100, "mse", "sgd", 0.1, blas=False),
    "mnist_mlp": MLPSpec("mnist_mlp", (784, 256, 128, 10), "relu", 128, "ce", "adam", 1e-3),
    "wide_mlp": MLPSpec("wide_mlp", (1024, 4096, 4096, 10), "relu", 512, "ce", "sgd", 0.01),
}


def make_data(spec: MLPSpec, seed: int = 0):
    """Inputs and targets as numpy arrays: float32 x, float32 (batch, 1) or int64 labels y."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((spec.batch, spec.sizes[0]), dtype=np.float32)
    if spec.loss == "mse":
        y = rng.standard_normal((spec.batch, spec.sizes[-1]), dtype=np.float32)
    else:
        y = rng.integers(0, spec.sizes[-1], spec.batch).astype(np.int64)
    return x, y


def build_model(L, spec: MLPSpec):
    """``nn.Sequential`` of Linear layers with the activation module between them."""
    act = {"tanh": "Tanh", "relu": "ReLU"}[spec.act]
    layers = []
    pairs = list(zip(spec.sizes[:-1], spec.sizes[1:]))
    for i, (fan_in, fan_out) in enumerate(pairs):
        layers.append(L.nn.Linear(fan_in, fan_out))
        if i < len(pairs) - 1:
            layers.append(getattr(L.nn, act)())
    return L.nn.Sequential(*layers)


def make_optimizer(L, spec: MLPSpec, params):
    """The spec's optimizer from ``L.optim`` with its learning rate."""
    cls = {"sgd": "SGD", "adam": "Adam"}[spec.opt]
    return getattr(L.optim, cls)(params, lr=spec.lr)


def train_step_factory(L, spec: MLPSpec, seed: int = 0):
    """Build model, optimizer and data in library ``L``; return the one-step callable."""
    x_np, y_np = make_data(spec, seed)
    L.torch.manual_seed(seed)
    model = build_model(L, spec)
    opt = make_optimizer(L, spec, model.parameters())
    x, y = L.torch.tensor(x_np), L.torch.tensor(y_np)
    loss_fn = L.F.mse_loss if spec.loss == "mse" else L.F.cross_entropy

    def step():
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()

    return step


def floor_step_factory(spec: MLPSpec, seed: int = 0):
    """The numpy floor's one-step callable on the same data."""
    x, y = make_data(spec, seed)
    net = NumpyMLP.init(spec.sizes, np.random.default_rng(seed + 1), act=spec.act,
                        loss=spec.loss, opt=spec.opt, lr=spec.lr)
    return lambda: net.step(x, y)


def _ours_gemms(spec):
    from numbagrad.autograd import kernels

    return gemm_floor(spec.batch, spec.sizes, np.random.default_rng(2), matmul=kernels.dot)


def cases(workload: str, settings) -> list:
    """One case (one training step) for the named MLP workload; wide_mlp adds the GEMM floor."""
    spec = SPECS[workload]
    threads = settings.threads
    contenders = trio(lambda: train_step_factory(libs.numbagrad(), spec),
                      lambda: floor_step_factory(spec),
                      lambda: train_step_factory(libs.pytorch(), spec),
                      threads, ours_threaded=spec.blas, floor_threaded=spec.blas)
    extra = ()
    note = f"{'-'.join(map(str, spec.sizes))} {spec.act}, batch {spec.batch}, {spec.loss}, {spec.opt}"
    if workload == "wide_mlp":
        for t in threads:
            contenders.append(Contender("gemm_floor", "numpy",
                                        lambda: gemm_floor(spec.batch, spec.sizes, np.random.default_rng(2)),
                                        t, variant="8 GEMMs"))
            # the same products through numbagrad's own GEMM (MKL's with the mkl extra)
            contenders.append(Contender("ours_gemms", "numbagrad", lambda: _ours_gemms(spec), t,
                                        variant="8 GEMMs"))
        extra = (("ours", "gemm_floor"), ("floor", "gemm_floor"), ("ours", "ours_gemms"))
    max_rounds = None
    if workload == "wide_mlp":  # 0.15-0.5 s per step: fewer rounds
        max_rounds = 1 if settings.quick else 9
    # a pause before each round: right after the numpy floor's 2-thread round, OpenBLAS's worker
    # still spins on the second core; PyTorch's 2-thread MNIST step measured 4.6-6.6 ms in that
    # state and 1.8-2.0 ms after the pause
    return [Case(workload, "train step", contenders, unit="step", note=note,
                 max_rounds=max_rounds, extra_ratios=extra, pause_s=0.0 if settings.quick else 0.25)]
