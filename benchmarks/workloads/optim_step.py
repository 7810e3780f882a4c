"""optim_step: one optimizer step on big parameters (memory-bound update kernels).

Parameter sets: one 10M-float32 tensor, and 100 tensors of 100k floats. Each
optimizer's gradients are fixed random arrays set once; a timed call is
``opt.step()`` alone. PyTorch runs with its default implementation, with
``foreach=True`` and with ``fused=True`` (a variant PyTorch refuses on CPU is
reported as n/a); the ratios compare against its fastest. The floor is the
same update in numpy ufuncs with preallocated scratch buffers.
"""
from __future__ import annotations

import numpy as np

from .. import libs
from ..harness import Case, Contender, shared

PARAM_SETS = {"1x10M": (1, 10_000_000), "100x100k": (100, 100_000)}
#: --quick is a smoke test, not a measurement: same code paths, a tenth of the memory traffic
PARAM_SETS_QUICK = {"1x1M": (1, 1_000_000), "100x10k": (100, 10_000)}

#: optimizer -> constructor kwargs (PyTorch names)
OPTIMIZERS = {
    "Adam": dict(lr=1e-3),
    "AdamW": dict(lr=1e-3, weight_decay=1e-2),
    "SGD(momentum=0.9)": dict(lr=1e-2, momentum=0.9),
    "RMSprop": dict(lr=1e-2),
}


def _arrays(count, size, seed):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(size, dtype=np.float32) for _ in range(count)]


def optimizer_step_factory(L, opt_name, count, size, variant_kwargs=None):
    """Parameters with fixed gradients and an optimizer in library ``L``; returns ``opt.step``."""
    T = L.torch
    params = [T.tensor(a, requires_grad=True) for a in _arrays(count, size, 0)]
    for p, g in zip(params, _arrays(count, size, 1)):
        p.grad = T.tensor(g * np.float32(1e-2))
    cls = getattr(L.optim, opt_name.split("(")[0])
    opt = cls(params, **OPTIMIZERS[opt_name], **(variant_kwargs or {}))
    return opt.step


def floor_step_factory(opt_name, count, size):
    """The same update written with in-place numpy ufuncs (one pass per ufunc).

    The returned callable carries the parameter arrays as ``.params``.
    """
    params = _arrays(count, size, 0)
    grads = [g * np.float32(1e-2) for g in _arrays(count, size, 1)]
    kw = OPTIMIZERS[opt_name]
    lr = kw["lr"]
    tmp = [np.empty_like(p) for p in params]
    s1 = [np.zeros_like(p) for p in params]
    s2 = [np.zeros_like(p) for p in params] if opt_name.startswith("Adam") else None
    state = {"t": 0}

    def adam():
        b1, b2, eps = 0.9, 0.999, 1e-8
        state["t"] += 1
        bc1, bc2 = 1 - b1 ** state["t"], 1 - b2 ** state["t"]
        for p, g, m, v, t in zip(params, grads, s1, s2, tmp):
            if opt_name == "AdamW":
                p *= 1 - lr * kw["weight_decay"]
            m *= b1
            np.multiply(g, 1 - b1, out=t)
            m += t
            v *= b2
            np.multiply(g, g, out=t)
            t *= 1 - b2
            v += t
            np.sqrt(v, out=t)
            t *= 1 / np.sqrt(bc2)
            t += eps
            np.divide(m, t, out=t)
            t *= lr / bc1
            p -= t

    def sgd():
        for p, g, buf, t in zip(params, grads, s1, tmp):
            buf *= kw["momentum"]
            buf += g
            np.multiply(buf, lr, out=t)
            p -= t

    def rmsprop():
        alpha, eps = 0.99, 1e-8
        for p, g, v, t in zip(params, grads, s1, tmp):
            v *= alpha
            np.multiply(g, g, out=t)
            t *= 1 - alpha
            v += t
            np.sqrt(v, out=t)
            t += eps
            np.divide(g, t, out=t)
            t *= lr
            p -= t

    step = {"Adam": adam, "AdamW": adam, "RMSprop": rmsprop}.get(opt_name, sgd)
    step.params = params  # for the tests that compare the floor with torch.optim
    return step


def cases(workload: str, settings) -> list:
    """One case per (parameter set, optimizer)."""
    out = []
    for set_name, (count, size) in (PARAM_SETS_QUICK if settings.quick else PARAM_SETS).items():
        for opt_name in OPTIMIZERS:
            ours = shared(lambda o=opt_name, c=count, s=size:
                           optimizer_step_factory(libs.numbagrad(), o, c, s))
            floor = shared(lambda o=opt_name, c=count, s=size: floor_step_factory(o, c, s))
            torch_variants = {
                "default": shared(lambda o=opt_name, c=count, s=size:
                                   optimizer_step_factory(libs.pytorch(), o, c, s)),
                "foreach": shared(lambda o=opt_name, c=count, s=size:
                                   optimizer_step_factory(libs.pytorch(), o, c, s, {"foreach": True})),
                "fused": shared(lambda o=opt_name, c=count, s=size:
                                 optimizer_step_factory(libs.pytorch(), o, c, s, {"fused": True})),
            }
            contenders = [Contender("floor", "numpy", floor, None)]
            for t in settings.threads:
                contenders.append(Contender("ours", "numbagrad", ours, t))
                for v, make in torch_variants.items():
                    contenders.append(Contender("torch", "torch", make, t, variant=v))
            out.append(Case(workload, f"{opt_name} {set_name}", contenders, unit="step",
                            max_rounds=5 if settings.quick else 7))
    return out
