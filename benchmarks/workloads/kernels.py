"""kernels: the kernel helper's throughput table (``benchmarks.kernel_throughput``) as a group.

That module does its own interleaved timing; here its rows are turned into case
results (ours, numpy floor, torch best) so they share the table, the JSON and
the plot. If the module is absent or fails to import, the group is skipped with
a message instead of failing the run.
"""
from __future__ import annotations

import importlib

from ..harness import error_text, finish_case


def _contender(role, lib, seconds):
    return {"label": role, "role": role, "lib": lib, "threads": None, "variant": "",
            "error": None if seconds else "not measured", "times_s": [],
            "median_s": seconds, "iqr_s": None}


def run_results(workload: str, settings, log=None) -> list:
    """Run ``kernel_throughput.run(quick)`` and convert each row to a case result."""
    try:
        mod = importlib.import_module("benchmarks.kernel_throughput")
    except Exception as exc:
        msg = f"skipped: benchmarks.kernel_throughput unavailable ({error_text(exc)})"
        if log:
            log("    " + msg)
        return [{"workload": workload, "case": "(skipped)", "unit": "", "note": msg, "contenders": [],
                 "best": {}, "ratios": {}, "errors": {"ours": msg}, "skipped": True}]
    rows = mod.run(quick=settings.quick)
    out = []
    for r in rows:
        contenders = [_contender("ours", "numbagrad", r.get("ours_s")),
                      _contender("floor", "numpy", r.get("numpy_s")),
                      _contender("torch", "torch", r.get("torch_s"))]
        contenders = [c for c in contenders if c["median_s"]]
        note = f"{r['ours_gbps']:.1f} GB/s = {100 * r['bw_fraction']:.0f}% of copy bandwidth"
        res = finish_case(workload, f"{r['name']} {r['kernel']} n={r['n']:.0e}", "call", contenders, note)
        res["kernel_row"] = r
        out.append(res)
    return out
