"""matmul: (512x1024) @ (1024x4096) float32, forward only, at each thread count.

numbagrad's ``a @ b`` on tensors (no grad), numpy's BLAS ``a @ b`` as the
floor, and ``torch.matmul``. Both numbagrad and the floor allocate their output
per call, as ``@`` does. The note gives the floor's GFLOP/s.
"""
from __future__ import annotations

import numpy as np

from .. import libs
from ..harness import Case, trio

M, K, N = 512, 1024, 4096


def _arrays():
    rng = np.random.default_rng(0)
    return rng.standard_normal((M, K), dtype=np.float32), rng.standard_normal((K, N), dtype=np.float32)


def tensor_step_factory(L):
    """``a @ b`` with library ``L``'s tensors."""
    a, b = (L.torch.tensor(x) for x in _arrays())
    return lambda: a @ b


def floor_step_factory():
    """numpy's ``a @ b``."""
    a, b = _arrays()
    return lambda: a @ b


def cases(workload: str, settings) -> list:
    """The one matmul case."""
    flops = 2.0 * M * K * N
    return [Case(workload, f"({M}x{K})@({K}x{N})", trio(
        lambda: tensor_step_factory(libs.numbagrad()), floor_step_factory,
        lambda: tensor_step_factory(libs.pytorch()), settings.threads),
        unit="matmul", note=f"{flops / 1e9:.1f} GFLOP per call", max_rounds=5 if settings.quick else 15)]
