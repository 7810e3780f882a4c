"""Command line: ``python -m benchmarks [--quick] [--threads 1,2] [--json PATH] [--plot PATH] [NAME ...]``.

Runs the selected workloads (all by default) for numbagrad, the numpy floor and
PyTorch in one process with interleaved rounds, prints the table to stdout
(progress goes to stderr) and saves the JSON with the machine facts.
"""
from __future__ import annotations

import argparse
import datetime
import os
import sys
import time
from pathlib import Path

from . import machine, report, targets
from .harness import Settings
from .workloads import WORKLOADS

RESULTS = Path(__file__).resolve().parent / "results"
#: full runs of every workload update the committed latest.json (README's table and the notebooks
#: read it); --quick (a smoke test) writes quick.json and runs of some workloads partial.json
#: (both git-ignored), so a partial run never replaces the committed results
DEFAULT_JSON = RESULTS / "latest.json"
DEFAULT_JSON_QUICK = RESULTS / "quick.json"
DEFAULT_JSON_PARTIAL = RESULTS / "partial.json"


def default_json_path(args: argparse.Namespace) -> Path:
    """Where results go without ``--json``: latest.json only for a full run of every workload."""
    if args.quick:
        return DEFAULT_JSON_QUICK
    if args.names and set(args.names) != set(WORKLOADS):
        return DEFAULT_JSON_PARTIAL
    return DEFAULT_JSON


def parse_args(argv=None) -> argparse.Namespace:
    """The command-line options (see ``--help``)."""
    p = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="numbagrad vs the numpy floor vs PyTorch: interleaved rounds, medians, ratios.")
    p.add_argument("names", nargs="*", metavar="NAME",
                   help=f"workloads to run (default: all): {', '.join(WORKLOADS)}")
    p.add_argument("--quick", action="store_true",
                   help="few short rounds at 1 thread: a smoke test (about a minute), not a measurement")
    p.add_argument("--threads", default=None,
                   help="thread counts for PyTorch and, where meaningful, numbagrad/numpy "
                        "(default 1,2; with --quick only 1)")
    p.add_argument("--json", default=None, metavar="PATH",
                   help="where to save results (default benchmarks/results/latest.json for a full run, "
                        "quick.json with --quick, partial.json for some workloads); '' to skip")
    p.add_argument("--plot", metavar="PATH", help="draw the ratios with matplotlib into PATH (.png/.svg)")
    p.add_argument("--detail", action="store_true", help="also print every contender of every case")
    p.add_argument("--markdown", action="store_true", help="also print the table as markdown")
    p.add_argument("--unset-openblas-env", action="store_true",
                   help="re-run this command without OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE (recorded in the JSON)")
    p.add_argument("--list", action="store_true", help="list the workloads and exit")
    args = p.parse_args(argv)
    unknown = [n for n in args.names if n not in WORKLOADS]
    if unknown:
        p.error(f"unknown workload(s) {', '.join(unknown)}; choose from {', '.join(WORKLOADS)}")
    if args.json is None:
        args.json = str(default_json_path(args))
    if args.threads is None:
        args.threads = "1" if args.quick else "1,2"
    try:
        args.threads = tuple(int(t) for t in args.threads.split(",") if t.strip())
        if not args.threads or min(args.threads) < 1:
            raise ValueError
    except ValueError:
        p.error(f"--threads wants positive integers separated by commas, got {args.threads!r}")
    return args


def reexec_without_openblas_env() -> None:
    """Replace this process by the same command minus the OpenBLAS variables (once)."""
    if machine.REEXEC_MARKER in os.environ:
        return
    env = dict(os.environ)
    removed = {k: env.pop(k) for k in machine.OPENBLAS_VARS if k in env}
    env[machine.REEXEC_MARKER] = ";".join(f"{k}={v}" for k, v in removed.items())
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(sys.executable, [sys.executable, "-m", "benchmarks", *sys.argv[1:]], env)


def log(msg: str) -> None:
    """Progress line on stderr."""
    print(msg, file=sys.stderr, flush=True)


def main(argv=None) -> int:
    """Run the suite; returns the process exit code."""
    args = parse_args(argv)
    if args.list:
        for name in WORKLOADS:
            print(name)
        return 0
    if args.unset_openblas_env:
        reexec_without_openblas_env()
    names = args.names or list(WORKLOADS)
    settings = Settings.for_mode(args.quick, args.threads)
    started = datetime.datetime.now(datetime.timezone.utc)
    t0 = time.perf_counter()
    load_before = machine.load_average()
    log(f"benchmarks: {', '.join(names)} ({'quick' if args.quick else 'full'}; threads {args.threads}; "
        f"load {load_before}; OpenBLAS env {machine.openblas_env()['values']})")
    results, failures = [], {}
    for name in names:
        log(f"[{name}]")
        load = machine.load_average()
        w0 = time.perf_counter()
        try:
            from .workloads import run_workload

            res = run_workload(name, settings, log)
        except Exception as exc:  # a broken workload must not lose the others' results
            import traceback

            failures[name] = traceback.format_exc()
            log(f"  {name} failed: {type(exc).__name__}: {exc}")
            continue
        for r in res:
            r["load_average_at_start"] = load
        results.extend(res)
        log(f"  ({time.perf_counter() - w0:.1f} s)")
    load_after = machine.load_average()
    doc = {
        "schema": report.SCHEMA,
        "command": [os.path.basename(sys.executable), "-m", "benchmarks", *(sys.argv[1:] if argv is None else argv)],
        "started_utc": started.isoformat(timespec="seconds"),
        "duration_s": round(time.perf_counter() - t0, 2),
        "settings": {"quick": settings.quick, "warmup": settings.warmup, "rounds": settings.rounds,
                     "round_target_s": settings.round_target_s, "threads": list(settings.threads),
                     "gc": "enabled (as in real training)", "statistic": "median of rounds; iqr = q3 - q1"},
        "workloads": names,
        "machine": machine.facts(),
        "blas": machine.blas_info(),  # after the runs: every BLAS/OpenMP pool they loaded
        "load_average_before": load_before,
        "load_average_after": load_after,
        "results": results,
        "targets": targets.check(results),
        "failures": failures,
    }
    print(report.table(results))
    cpu = doc["machine"]["cpu"]
    blas = machine.numpy_blas(doc["blas"])
    gemm = doc["machine"].get("threads", {}).get("numbagrad_gemm", "?")
    print(f"\nmachine: {cpu['model']}, {cpu['usable_cores']} cores; numpy BLAS: {blas}; "
          f"numbagrad's GEMMs: {gemm}; "
          f"load {load_before} -> {load_after}; OpenBLAS env {doc['machine']['openblas_env']['values']}"
          + (" (unset by --unset-openblas-env)" if doc["machine"]["openblas_env"]["unset_by_flag"] else ""))
    print("cells: median ±half the IQR as % (best thread count/variant); ratios < 1 mean numbagrad is faster")
    if doc["targets"]:
        print("\n" + targets.format_targets(doc["targets"]))
    if args.detail:
        print("\n" + report.detail(results))
    if args.markdown:
        print("\n" + report.markdown(results))
    if args.json:
        path = report.write_json(doc, args.json)
        log(f"results saved to {path}")
    if args.plot:
        title = f"{cpu['model']}, {cpu['usable_cores']} cores, {started:%Y-%m-%d %H:%M} UTC, load {load_before}"
        log(report.plot(results, args.plot, title))
    if failures:
        log(f"workloads that failed: {', '.join(failures)}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
