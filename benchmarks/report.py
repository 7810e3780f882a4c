"""Output: the text table, the JSON file and the optional ratio plot."""
from __future__ import annotations

import json
import math
import os
import tempfile
from pathlib import Path

#: JSON layout version; bump when keys change meaning
SCHEMA = 1


def fmt_time(s) -> str:
    """Seconds as a short human string: ns, us, ms or s with three significant digits."""
    if s is None or (isinstance(s, float) and math.isnan(s)):
        return "-"
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("us", 1e-6), ("ns", 1e-9)):
        if s >= scale or unit == "ns":
            v = s / scale
            return f"{v:.3g} {unit}" if v < 1000 else f"{v:.0f} {unit}"
    return f"{s:.3g} s"


def _cell(result, role) -> str:
    best = result["best"].get(role)
    if best is None:
        err = result["errors"].get(role)
        return f"n/a ({err})" if err else "-"
    text = fmt_time(best["median_s"])
    iqr = best.get("iqr_s")
    if iqr and best["median_s"]:
        text += f" ±{100 * iqr / 2 / best['median_s']:.0f}%"
    suffix = best["label"][len(role):].strip()
    return f"{text} ({suffix})" if suffix else text


def _ratio(result, key) -> str:
    v = result["ratios"].get(key)
    return "-" if v is None else f"{v:.2f}"


def table(results: list, max_error_width: int = 48) -> str:
    """Fixed-width table: one row per case, best of each role, ratios ours/torch and ours/floor.

    Cells read "median ±half-IQR% (best configuration)"; "n/a (reason)" when a
    contender could not run. Extra ratios (e.g. ours/gemm_floor) go in the notes.
    """
    head = ["workload", "case", "numbagrad", "numpy floor", "torch (best)", "ours/torch", "ours/floor", "notes"]
    rows = []
    for r in results:
        notes = [f"{k} {v:.2f}" for k, v in r["ratios"].items()
                 if k not in ("ours/torch", "ours/floor", "torch/floor")]
        for role, best in r["best"].items():
            if role not in ("ours", "floor", "torch") and best:
                notes.append(f"{role} {fmt_time(best['median_s'])}")
        if r.get("note"):
            notes.append(r["note"])
        cells = [_cell(r, role) for role in ("ours", "floor", "torch")]
        cells = [c if len(c) <= max_error_width else c[:max_error_width - 2] + "..)" for c in cells]
        rows.append([r["workload"], r["case"], *cells, _ratio(r, "ours/torch"), _ratio(r, "ours/floor"),
                     "; ".join(notes)])
    widths = [max(len(str(x)) for x in col) for col in zip(head, *rows)] if rows else [len(h) for h in head]
    widths[-1] = len(head[-1])  # notes: no padding
    line = lambda cells: "  ".join(str(c).ljust(w) for c, w in zip(cells, widths)).rstrip()  # noqa: E731
    out = [line(head), line(["-" * w for w in widths])]
    last = None
    for row in rows:
        if last is not None and row[0] != last:
            out.append("")
        last = row[0]
        out.append(line(row))
    return "\n".join(out)


def detail(results: list) -> str:
    """Every contender of every case (label, median, IQR, rounds x calls), for ``--detail``."""
    out = []
    for r in results:
        out.append(f"{r['workload']} / {r['case']}")
        for c in r["contenders"]:
            if c.get("median_s") is None:
                out.append(f"    {c['label']:28s} n/a ({c.get('error')})")
            else:
                out.append(f"    {c['label']:28s} {fmt_time(c['median_s']):>10s}  iqr {fmt_time(c.get('iqr_s')):>9s}"
                           f"  {len(c.get('times_s', []))} rounds x {c.get('number')}")
    return "\n".join(out)


def headline(results: list, kernel_sizes=(10**6,)) -> list:
    """Results without the kernels group's rows at sizes other than ``kernel_sizes`` (for README/plots)."""
    return [r for r in results if r["workload"] != "kernels" or "kernel_row" not in r
            or r["kernel_row"]["n"] in kernel_sizes]


def markdown(results: list, kernel_sizes=(10**6,)) -> str:
    """The same table as GitHub markdown (for README); of the kernels group only ``kernel_sizes``."""
    results = headline(results, kernel_sizes)
    lines = ["| workload | case | numbagrad | numpy floor | PyTorch (best) | ours/torch | ours/floor |",
             "|---|---|---|---|---|---|---|"]
    for r in results:
        lines.append(f"| {r['workload']} | {r['case']} | {_cell(r, 'ours')} | {_cell(r, 'floor')} | "
                     f"{_cell(r, 'torch')} | {_ratio(r, 'ours/torch')} | {_ratio(r, 'ours/floor')} |")
    return "\n".join(lines)


def write_json(doc: dict, path) -> Path:
    """Write ``doc`` as indented JSON via a temporary file and rename (never half-written)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as fh:
            json.dump(doc, fh, indent=1, default=_jsonable)
            fh.write("\n")
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    return path


def _jsonable(o):
    try:
        return float(o)
    except Exception:
        return str(o)


def plot(results: list, path, title: str = "") -> str:
    """Horizontal bars of ours/torch and ours/floor per case (log scale, 1.0 marked).

    Kernel rows are limited to 1e6 elements (see :func:`headline`). Returns a
    message; never raises when matplotlib is missing.
    """
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return "plot skipped: matplotlib is not installed (pip install matplotlib)"
    rows = [r for r in headline(results) if r["ratios"].get("ours/torch") or r["ratios"].get("ours/floor")]
    if not rows:
        return "plot skipped: no case has numbagrad ratios yet (numbagrad did not run)"
    labels = [f"{r['workload']}: {r['case']}" for r in rows]
    vt = [r["ratios"].get("ours/torch", float("nan")) for r in rows]
    vf = [r["ratios"].get("ours/floor", float("nan")) for r in rows]
    h = 0.4
    fig, ax = plt.subplots(figsize=(9, 0.32 * len(rows) + 1.5))
    ys = range(len(rows))
    ax.barh([y - h / 2 for y in ys], vt, height=h, label="numbagrad / PyTorch (best)")
    ax.barh([y + h / 2 for y in ys], vf, height=h, label="numbagrad / numpy floor")
    ax.axvline(1.0, color="k", lw=0.8)
    ax.set_xscale("log")
    ax.set_yticks(list(ys))
    ax.set_yticklabels(labels, fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel("time ratio (lower is better for numbagrad)")
    ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=2, fontsize=8, frameon=False)
    if title:
        fig.suptitle(title, fontsize=8, y=0.995)
    fig.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return f"plot written to {path}"
