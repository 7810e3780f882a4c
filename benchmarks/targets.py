"""Issue 5's performance targets, checked against a run's results.

Each target reads one ratio (or time) of one or more cases and says met /
missed / not measured. This is a report, never a pass/fail gate: on a shared
machine one noisy run proves little, which is why the table shows the IQR.
"""
from __future__ import annotations

#: activation kernels issue 5 names (no slower than PyTorch at >= 1e6 elements)
ACTIVATION_KERNELS = ("relu", "sigmoid", "tanh", "gelu", "softmax", "log_softmax", "logsumexp")
#: these must also reach 80% of the memory bandwidth
BANDWIDTH_KERNELS = ("relu", "sigmoid", "tanh")
OPTIMIZERS_10M = ("Adam 1x10M", "AdamW 1x10M", "SGD(momentum=0.9) 1x10M", "RMSprop 1x10M")


def _find(results, workload, case=None) -> list:
    """Results of ``workload`` (and of one ``case`` of it if given)."""
    return [r for r in results if r["workload"] == workload and (case is None or r["case"] == case)]


def _result(workload, label, limit, value, ok, **extra):
    status = "not measured" if value is None else ("met" if ok else "missed")
    return {"workload": workload, "target": label, "status": status,
            "value": None if value is None else round(value, 4), "limit": limit, **extra}


def _worst(workload, rows, pick, limit, label, higher_is_better=False):
    """The worst of ``pick(row)`` over rows against ``limit`` (a ratio cap, or a floor)."""
    vals = {r["case"]: pick(r) for r in rows if pick(r) is not None}
    if not vals:
        return _result(workload, label, limit, None, False)
    bad = (lambda x: x < limit) if higher_is_better else (lambda x: x > limit)
    worst = (min if higher_is_better else max)(vals, key=vals.get)
    return _result(workload, label, limit, vals[worst], not bad(vals[worst]), worst=worst, cases=len(vals),
                   missed_cases=sorted(c for c, x in vals.items() if bad(x)))


def _ratio(key):
    return lambda r: r["ratios"].get(key)


def _ours_time(r):
    best = r["best"].get("ours")
    return best["median_s"] if best else None


def check(results: list) -> list:
    """Evaluate every issue-5 target whose workload is in ``results``."""
    ops = _find(results, "op_overhead")
    opt10m = [r for r in _find(results, "optim_step") if r["case"] in OPTIMIZERS_10M]
    kernels = [r for r in _find(results, "kernels") if "kernel_row" in r and r["kernel_row"]["n"] >= 10**6]
    act = [r for r in kernels if r["kernel_row"]["name"] in ACTIVATION_KERNELS]
    # bandwidth from the rows that write into a preallocated output (as the copy reference does)
    bw = [r for r in kernels if r["kernel_row"]["name"] in BANDWIDTH_KERNELS
          and r["kernel_row"]["kernel"].endswith("out=")]
    out = [
        _worst("tiny_mlp", _find(results, "tiny_mlp"), _ratio("ours/torch"), 0.5, "tiny_mlp step <= 0.5x PyTorch"),
        _worst("mnist_mlp", _find(results, "mnist_mlp"), _ratio("ours/torch"), 0.7, "mnist_mlp step <= 0.7x PyTorch"),
        _worst("mnist_mlp", _find(results, "mnist_mlp"), _ratio("ours/floor"), 1.3,
               "mnist_mlp step <= 1.3x numpy floor"),
        _worst("wide_mlp", _find(results, "wide_mlp"), _ratio("ours/gemm_floor"), 1.15,
               "wide_mlp step <= 1.15x GEMM floor"),
        _worst("op_overhead", ops, _ratio("ours/torch"), 0.6, "op fwd+bwd overhead <= 0.6x PyTorch (worst op)"),
        _worst("optim_step", opt10m, _ratio("ours/torch"), 1.0, "optimizer steps on 1x10M <= PyTorch's fastest"),
        _worst("kernels", act, _ratio("ours/torch"), 1.0, "activation/softmax kernels at >= 1e6 <= PyTorch"),
        _worst("kernels", bw, lambda r: r["kernel_row"].get("bw_fraction"), 0.8,
               "relu/sigmoid/tanh at >= 1e6: >= 80% of copy bandwidth", higher_is_better=True),
        _worst("cold_start", _find(results, "cold_start", "import"), _ours_time, 0.5, "import < 0.5 s"),
        _worst("cold_start", _find(results, "cold_start", "first mnist step, warm numba cache"), _ours_time, 1.0,
               "first step, warm cache < 1 s"),
        _worst("cold_start", _find(results, "cold_start", "first mnist step, empty numba cache"), _ours_time, 15.0,
               "first step, empty cache < 15 s"),
    ]
    ran = {r["workload"] for r in results}
    return [t for t in out if t["workload"] in ran]


def format_targets(checks: list) -> str:
    """Text block: one line per target with its status, value and limit."""
    if not checks:
        return ""
    lines = ["issue 5 targets (this run; one noisy run proves little):"]
    for t in checks:
        val = "-" if t["value"] is None else f"{t['value']:g}"
        extra = ""
        missed = t.get("missed_cases", [])
        if t["status"] == "missed" and t.get("cases", 1) > 1:
            extra = f"  missed by {len(missed)}/{t['cases']}: {', '.join(missed[:6])}"
            extra += f", +{len(missed) - 6} more" if len(missed) > 6 else ""
        lines.append(f"  [{t['status']:>12s}] {t['target']}: {val} (limit {t['limit']:g}){extra}")
    return "\n".join(lines)
