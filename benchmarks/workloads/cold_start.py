"""cold_start: import time and the first mnist_mlp training step, each in a fresh process.

numbagrad's first step compiles its numba kernels. With ``NUMBA_CACHE_DIR``
pointing at a new empty directory that is a cold start; a second process with
the same directory loads the compiled kernels from the cache (warm start).
``NUMBA_CACHE_DIR`` is set for every child, so nothing is written next to the
package's sources. numpy (the floor) and PyTorch are timed the same way for
reference. The figures are in-process ``perf_counter`` times; the child's
whole wall time (interpreter start included) is kept in the JSON.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ..harness import finish_case, summarize

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT_S = 600


def run_child(lib: str, cache_dir: str) -> dict:
    """Run ``benchmarks._cold_child`` for ``lib`` with the given numba cache dir."""
    env = dict(os.environ, NUMBA_CACHE_DIR=cache_dir)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    t0 = time.perf_counter()
    try:
        proc = subprocess.run([sys.executable, "-m", "benchmarks._cold_child", lib], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {TIMEOUT_S} s"}
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        lines = [ln for ln in proc.stderr.strip().splitlines() if ln.strip()]
        return {"error": (lines[-1] if lines else f"exit code {proc.returncode}")[:160], "wall_s": wall}
    try:
        res = json.loads(proc.stdout.strip().splitlines()[-1])
    except Exception:
        return {"error": f"unparsable child output: {proc.stdout[-120:]!r}", "wall_s": wall}
    res["wall_s"] = wall
    return res


def _contender(role, lib, samples, key, variant=""):
    errs = [s["error"] for s in samples if "error" in s]
    times = [s[key] for s in samples if key in s]
    c = {"label": f"{role} {variant}".strip(), "role": role, "lib": lib, "threads": None,
         "variant": variant, "error": errs[0] if errs else None, "times_s": times, "samples": samples}
    c.update(summarize(times))
    return c


def run_results(workload: str, settings, log=None) -> list:
    """Interleave cold/warm numbagrad, numpy and torch children; return three case results."""
    repeats = 1 if settings.quick else 3
    samples = {"cold": [], "warm": [], "numpy": [], "torch": []}
    for r in range(repeats):
        cache = tempfile.mkdtemp(prefix="numbagrad-bench-numba-cache-")
        try:
            samples["cold"].append(run_child("numbagrad", cache))
            samples["warm"].append(run_child("numbagrad", cache))
        finally:
            shutil.rmtree(cache, ignore_errors=True)
        with tempfile.TemporaryDirectory(prefix="numbagrad-bench-numba-cache-") as other:
            samples["numpy"].append(run_child("numpy", other))
            samples["torch"].append(run_child("torch", other))
        if log:
            log(f"    repeat {r + 1}/{repeats}: " + ", ".join(
                f"{k} {v[-1].get('first_step_s', float('nan')):.3g}s" if "error" not in v[-1]
                else f"{k} n/a" for k, v in samples.items()))
    out = []
    out.append(finish_case(workload, "import", "import", [
        _contender("ours", "numbagrad", samples["warm"], "import_s"),
        _contender("floor", "numpy", samples["numpy"], "import_s"),
        _contender("torch", "torch", samples["torch"], "import_s")],
        note="import numbagrad.{autograd,nn,optim} / numpy / torch in a fresh interpreter"))
    for key, title in (("cold", "first mnist step, empty numba cache"),
                       ("warm", "first mnist step, warm numba cache")):
        out.append(finish_case(workload, title, "step", [
            _contender("ours", "numbagrad", samples[key], "first_step_s", key),
            _contender("floor", "numpy", samples["numpy"], "first_step_s"),
            _contender("torch", "torch", samples["torch"], "first_step_s")],
            note="first training step alone; import and model build are in the JSON"))
    return out
