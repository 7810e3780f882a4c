"""The workload registry: name -> module, in the order a full run takes them.

A workload module defines either ``cases(name, settings) -> list[Case]``
(timed by :func:`benchmarks.harness.run_case`) or ``run_results(name,
settings, log) -> list[dict]`` when it measures in its own way (subprocesses,
the kernel helper's module). Modules are imported only when selected.
"""
from __future__ import annotations

import importlib

WORKLOADS = {
    "tiny_mlp": "mlp",
    "mnist_mlp": "mlp",
    "wide_mlp": "mlp",
    "op_overhead": "ops",
    "optim_step": "optim_step",
    "matmul": "matmul",
    "kernels": "kernels",
    "cold_start": "cold_start",
}


def run_workload(name: str, settings, log=None) -> list:
    """Run every case of workload ``name``; returns the list of case results."""
    from ..harness import run_case

    mod = importlib.import_module(f".{WORKLOADS[name]}", __name__)
    if hasattr(mod, "run_results"):
        return mod.run_results(name, settings, log)
    results = []
    for case in mod.cases(name, settings):
        if log:
            log(f"  {name}: {case.name}")
        results.append(run_case(case, settings, log))
    return results
