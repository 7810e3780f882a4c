"""The harness and report on synthetic contenders: no library timing involved."""
import json

import pytest

from benchmarks import report, targets
from benchmarks.harness import Case, Contender, Settings, finish_case, run_case, summarize


def _broken():
    raise ModuleNotFoundError("No module named 'numbagrad.nn'")


def test_summarize_median_and_iqr():
    s = summarize([4.0, 1.0, 3.0, 2.0, 5.0])
    assert s["median_s"] == 3.0 and s["min_s"] == 1.0
    assert s["q1_s"] == 2.0 and s["q3_s"] == 4.0 and s["iqr_s"] == 2.0


def test_failing_contender_is_reported_not_raised():
    calls = []

    def make_ok():
        return lambda: calls.append(1)

    def make_failing_step():
        def step():
            raise RuntimeError("backward of relu: shape mismatch")
        return step

    case = Case("w", "c", [Contender("ours", "numbagrad", _broken, None),
                           Contender("floor", "numpy", make_ok, None),
                           Contender("torch", "torch", make_failing_step, None)])
    res = run_case(case, Settings(warmup=1, rounds=3, round_target_s=1e-4))
    assert res["best"]["ours"] is None and "ModuleNotFoundError" in res["errors"]["ours"]
    assert "RuntimeError" in res["errors"]["torch"]
    assert res["best"]["floor"]["median_s"] > 0 and calls
    assert res["ratios"] == {}
    text = report.table([res])
    assert "n/a (ModuleNotFoundError" in text
    json.dumps(res)  # serialisable as it stands


def test_rounds_interleave_in_contender_order():
    order = []

    def make(tag):
        return lambda: (lambda: order.append(tag))

    case = Case("w", "c", [Contender(r, "numpy", make(r), None) for r in ("ours", "floor", "torch")])
    run_case(case, Settings(warmup=1, rounds=3, round_target_s=0.0))  # one call per round
    # warm-up pass, then 3 rounds; a one-call round starts with an untimed settling call
    assert order == ["ours", "floor", "torch"] + ["ours", "ours", "floor", "floor", "torch", "torch"] * 3


def test_long_rounds_are_not_settled():
    order = []
    case = Case("w", "c", [Contender("ours", "numpy", lambda: (lambda: order.append("ours")), None)])
    run_case(case, Settings(warmup=1, rounds=2, round_target_s=1e3, max_number=5))  # 5 calls a round
    # warm-up call, a round-sized calibration pass, then 2 rounds with no settling call
    assert order == ["ours"] * (1 + 5 + 2 * 5)


def test_a_slow_warm_up_does_not_shorten_the_rounds():
    import time
    calls = []

    def step():
        calls.append(1)
        if len(calls) == 1:
            time.sleep(0.02)  # a slow first call (thread switch, compilation)

    case = Case("w", "c", [Contender("ours", "numpy", lambda: step, None)])
    res = run_case(case, Settings(warmup=1, rounds=1, round_target_s=0.1, max_number=1000))
    # from the first call alone a round would be 5 calls; the calibration pass sees fast ones
    assert res["contenders"][0]["number"] == 1000


def _fake(workload, case, ours, floor, torch_, **extra):
    cs = []
    for role, v in (("ours", ours), ("floor", floor), ("torch", torch_)):
        cs.append({"label": role, "role": role, "median_s": v, "iqr_s": 0.0, "error": None})
    for role, v in extra.items():
        cs.append({"label": role, "role": role, "median_s": v, "iqr_s": 0.0, "error": None})
    extra_r = tuple(("ours", k) for k in extra)
    return finish_case(workload, case, "step", cs, extra_ratios=extra_r)


def test_ratios_and_targets():
    res = [_fake("tiny_mlp", "train step", 1.0, 0.5, 4.0),
           _fake("wide_mlp", "train step", 1.2, 1.1, 1.5, gemm_floor=1.0)]
    assert res[0]["ratios"]["ours/torch"] == pytest.approx(0.25)
    assert res[0]["ratios"]["ours/floor"] == pytest.approx(2.0)
    assert res[1]["ratios"]["ours/gemm_floor"] == pytest.approx(1.2)
    checks = {t["target"]: t for t in targets.check(res)}
    assert checks["tiny_mlp step <= 0.5x PyTorch"]["status"] == "met"
    assert checks["wide_mlp step <= 1.15x GEMM floor"]["status"] == "missed"
    assert not any(t["workload"] == "mnist_mlp" for t in checks.values())  # not run: not listed
    assert "missed" in targets.format_targets(list(checks.values()))


def test_fmt_time():
    assert report.fmt_time(1.5) == "1.5 s"
    assert report.fmt_time(2.5e-3) == "2.5 ms"
    assert report.fmt_time(3.25e-6) == "3.25 us"
    assert report.fmt_time(None) == "-"
