"""Smoke test of the benchmark command: it runs, exits 0 and writes the JSON it promises.

No timing is asserted: these machines are shared and the numbers are noise here.
"""
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_quick_run_writes_json(tmp_path):
    out = tmp_path / "bench.json"
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--quick", "--json", str(out), "op_overhead", "tiny_mlp"],
        cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "ours/torch" in proc.stdout  # the table was printed

    doc = json.loads(out.read_text())
    for key in ("schema", "command", "settings", "workloads", "machine", "blas",
                "load_average_before", "load_average_after", "results", "failures"):
        assert key in doc, key
    assert doc["workloads"] == ["op_overhead", "tiny_mlp"]
    assert doc["settings"]["quick"] is True
    for key in ("cpu", "versions", "openblas_env", "threads", "memory_gb"):
        assert key in doc["machine"], key
    assert doc["machine"]["cpu"]["logical_cores"] >= 1
    assert set(doc["machine"]["openblas_env"]["values"]) == {"OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"}
    for key in ("python", "numpy", "numba", "torch", "numbagrad"):
        assert key in doc["machine"]["versions"], key

    results = doc["results"]
    assert {r["workload"] for r in results} == {"op_overhead", "tiny_mlp"}
    cases = {r["case"] for r in results if r["workload"] == "op_overhead"}
    for op in ("add", "mul", "matmul 4x4", "exp", "tanh", "sigmoid", "relu", "sum", "mean",
               "reshape", "getitem", "softmax", "log_softmax"):
        assert op in cases, op
    for r in results:
        for key in ("case", "unit", "contenders", "best", "ratios", "errors"):
            assert key in r, key
        # the numpy floor needs nothing but numpy: it must always have been measured
        assert r["best"]["floor"]["median_s"] > 0, r["case"]
        for c in r["contenders"]:
            assert c.get("median_s") is not None or c.get("error"), c["label"]


def test_only_a_full_run_replaces_the_committed_results():
    from benchmarks.__main__ import (DEFAULT_JSON, DEFAULT_JSON_PARTIAL, DEFAULT_JSON_QUICK,
                                     parse_args)
    from benchmarks.workloads import WORKLOADS
    assert parse_args([]).json == str(DEFAULT_JSON)
    assert parse_args(list(WORKLOADS)).json == str(DEFAULT_JSON)
    assert parse_args(["mnist_mlp"]).json == str(DEFAULT_JSON_PARTIAL)
    assert parse_args(["--quick"]).json == str(DEFAULT_JSON_QUICK)
    assert parse_args(["--json", "x.json", "mnist_mlp"]).json == "x.json"
