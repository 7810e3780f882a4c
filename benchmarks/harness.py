"""Timing core: contenders, thread control, interleaved rounds and robust statistics.

A *case* is one thing being measured (say "one mnist_mlp training step"). It has
several *contenders*: numbagrad ("ours"), the hand-written numpy floor
("floor") and PyTorch ("torch"), each possibly at several thread counts or in
several variants (torch's ``foreach``/``fused`` optimizers). ``run_case`` builds
every contender first, warms each up, then runs rounds in turn
(ours, floor, torch, ours, floor, torch, ...) so a noisy neighbour on this
shared machine slows all of them alike; it reports the median of the rounds and
their inter-quartile range.
"""
from __future__ import annotations

import math
import statistics
import time
import traceback
from dataclasses import dataclass, field
from typing import Callable

#: rounds of at most this many calls start with one untimed call (see run_case)
SETTLE_BELOW = 2
#: roles every case may have; extra floors (e.g. "gemm_floor") are allowed too
ROLES = ("ours", "floor", "torch")


@dataclass
class Settings:
    """How hard to measure: warm-up calls, timed rounds, seconds per round."""

    warmup: int = 2
    rounds: int = 11
    round_target_s: float = 0.05
    max_number: int = 100_000
    threads: tuple = (1, 2)
    quick: bool = False

    @classmethod
    def for_mode(cls, quick: bool, threads=(1, 2)) -> "Settings":
        """Defaults for a full run, or the few short rounds of ``--quick``."""
        if quick:
            return cls(warmup=1, rounds=3, round_target_s=0.004, threads=tuple(threads), quick=True)
        return cls(threads=tuple(threads))


@dataclass
class Contender:
    """One column entry of a case: a ``make()`` that builds state and returns a step callable.

    ``lib`` is "numbagrad", "numpy" or "torch" (decides how thread limits are
    applied); ``threads`` None leaves the process's default thread settings.
    """

    role: str
    lib: str
    make: Callable[[], Callable[[], object]]
    threads: int | None = None
    variant: str = ""

    @property
    def label(self) -> str:
        """Readable name such as ``torch fused @2t``."""
        parts = [self.role]
        if self.variant:
            parts.append(self.variant)
        if self.threads is not None:
            parts.append(f"@{self.threads}t")
        return " ".join(parts)


@dataclass
class Case:
    """A measured quantity with its contenders; ``unit`` says what one call does."""

    workload: str
    name: str
    contenders: list
    unit: str = "call"
    note: str = ""
    max_rounds: int | None = None
    #: ratios reported besides ours/torch and ours/floor, as (numerator role, denominator role)
    extra_ratios: tuple = ()
    #: seconds before each timed round in which only the main thread runs (a busy wait: an
    #: idle core would come back slower), so that the previous contender's still-spinning
    #: threads (OpenBLAS's workers spin ~0.1 s after a GEMM) have gone to sleep
    pause_s: float = 0.0


def error_text(exc: BaseException) -> str:
    """One-line ``Type: message`` for a failure, short enough for a table cell."""
    msg = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    text = f"{type(exc).__name__}: {msg}" if msg else type(exc).__name__
    return text[:160]


# ---------------------------------------------------------------- thread control


class ThreadControl:
    """Applies and restores per-library thread limits around one timed round.

    torch: ``torch.set_num_threads``. numbagrad and numpy: threadpoolctl's limit
    on every BLAS/OpenMP pool loaded in the process, plus ``numba.set_num_threads``
    for numba's parallel kernels.
    """

    def __init__(self):
        self._controller = None
        self._refresh()

    def _refresh(self):
        try:
            from threadpoolctl import ThreadpoolController

            self._controller = ThreadpoolController()
        except Exception:  # threadpoolctl missing: limits become no-ops
            self._controller = None

    def apply(self, lib: str, threads: int | None):
        """Set the limits for one contender; returns a callable that undoes them."""
        if threads is None:
            return lambda: None
        if lib == "torch":
            import torch

            old = torch.get_num_threads()
            torch.set_num_threads(threads)
            return lambda: torch.set_num_threads(old)
        undo = []
        if self._controller is not None:
            limiter = self._controller.limit(limits=threads)
            undo.append(limiter.restore_original_limits)
        try:
            # numbagrad's kernels first: importing them picks numba's OpenMP threading
            # layer, which numba fixes for good when its threads start (set_num_threads)
            import numbagrad.autograd.kernels  # noqa: F401
            import numba

            old_nb = numba.get_num_threads()
            numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
            undo.append(lambda: numba.set_num_threads(old_nb))
        except Exception:
            pass

        def restore():
            for fn in reversed(undo):
                fn()

        return restore


# ---------------------------------------------------------------- statistics


def summarize(times: list) -> dict:
    """Median, quartiles, IQR and minimum of per-call times (seconds)."""
    if not times:
        return {}
    ts = sorted(times)
    if len(ts) >= 2:
        q1, _, q3 = statistics.quantiles(ts, n=4, method="inclusive")
    else:
        q1 = q3 = ts[0]
    return {
        "median_s": statistics.median(ts),
        "q1_s": q1,
        "q3_s": q3,
        "iqr_s": q3 - q1,
        "min_s": ts[0],
    }


def _calls_per_round(call_s: float, settings: Settings) -> int:
    """Calls that make one round of about ``settings.round_target_s`` at ``call_s`` per call."""
    return max(1, min(settings.max_number, math.ceil(settings.round_target_s / max(call_s, 1e-9))))


def _busy_wait(seconds: float) -> None:
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


def _time_calls(step, number: int) -> float:
    t0 = time.perf_counter()
    for _ in range(number):
        step()
    return (time.perf_counter() - t0) / number


# ---------------------------------------------------------------- the runner


def run_case(case: Case, settings: Settings, log=None) -> dict:
    """Build, warm up and time every contender of ``case`` in interleaved rounds.

    A contender whose ``make()`` or step raises is kept in the result with its
    ``error`` text and dropped from further rounds; the others go on.
    """
    entries = []
    for c in case.contenders:
        entry = {
            "label": c.label, "role": c.role, "lib": c.lib, "threads": c.threads,
            "variant": c.variant, "error": None, "times_s": [], "number": None,
            "step": None, "contender": c,
        }
        try:
            entry["step"] = c.make()
        except Exception as exc:  # library missing or op not implemented yet
            entry["error"] = error_text(exc)
            if log:
                log(f"    {c.label}: n/a ({entry['error']})")
        entries.append(entry)

    control = ThreadControl()  # after make(): sees every library those imports loaded

    def timed(entry, number, settle=False):
        c = entry["contender"]
        undo = control.apply(c.lib, c.threads)
        try:
            if settle:
                entry["step"]()
            return _time_calls(entry["step"], number)
        finally:
            undo()

    live = [e for e in entries if e["step"] is not None]
    # warm-up, which also calibrates how many calls make one round
    for e in list(live):
        try:
            t = timed(e, 1)
            for _ in range(max(settings.warmup - 1, 0)):
                t = min(t, timed(e, 1))
            e["number"] = _calls_per_round(t, settings)
            if e["number"] > 1:
                # the first calls after a thread-count switch or compilation can be several
                # times slower than the rest (seen: a 2-thread MNIST step 4.5 ms, then 1.2):
                # one round-sized pass re-estimates, so every contender's rounds last about
                # round_target_s and a round's slow first call weighs the same for all
                e["number"] = _calls_per_round(min(t, timed(e, e["number"])), settings)
        except Exception as exc:
            e["error"] = error_text(exc)
            e["traceback"] = traceback.format_exc(limit=-3)
            live.remove(e)
            if log:
                log(f"    {e['label']}: failed ({e['error']})")

    rounds = settings.rounds if case.max_rounds is None else min(settings.rounds, case.max_rounds)
    for _ in range(rounds):
        for e in list(live):
            try:
                # A round of one or two long calls gets one untimed call first: the first
                # call after another contender shares the cores with that library's still
                # spinning threads (OpenMP, BLAS) and follows a thread-limit switch, which
                # would otherwise land on whoever runs next (for every contender alike).
                if case.pause_s:
                    _busy_wait(case.pause_s)
                e["times_s"].append(timed(e, e["number"], settle=e["number"] <= SETTLE_BELOW))
            except Exception as exc:
                e["error"] = error_text(exc)
                live.remove(e)

    out = []
    for e in entries:
        e.pop("contender")
        e.pop("step")
        e.update(summarize(e["times_s"]))
        out.append(e)
    return finish_case(case.workload, case.name, case.unit, out, case.note, case.extra_ratios)


def best_of(contenders: list, role: str) -> dict | None:
    """The contender of ``role`` with the lowest median (its best thread count/variant)."""
    ok = [c for c in contenders if c["role"] == role and c.get("median_s") is not None]
    return min(ok, key=lambda c: c["median_s"]) if ok else None


def finish_case(workload, name, unit, contenders, note="", extra_ratios=()) -> dict:
    """Assemble a case result: contenders, each role's best, and the ratios between bests."""
    roles = []
    for c in contenders:
        if c["role"] not in roles:
            roles.append(c["role"])
    best = {}
    for role in roles:
        b = best_of(contenders, role)
        best[role] = None if b is None else {"label": b["label"], "median_s": b["median_s"], "iqr_s": b.get("iqr_s")}
    ratios = {}
    for num, den in (("ours", "torch"), ("ours", "floor"), ("torch", "floor")) + tuple(extra_ratios):
        if best.get(num) and best.get(den):
            ratios[f"{num}/{den}"] = best[num]["median_s"] / best[den]["median_s"]
    errors = {}
    for c in contenders:
        if c.get("error") and c["role"] not in errors:
            errors[c["role"]] = c["error"]
    return {
        "workload": workload, "case": name, "unit": unit, "note": note,
        "contenders": contenders, "best": best, "ratios": ratios, "errors": errors,
    }


def shared(factory):
    """Memoise a contender factory, so contenders differing only in thread count share one state.

    Halves the memory and set-up time of big workloads; a step that mutates its
    state (a training step) is still the same computation whichever thread count runs it.
    """
    cache = {}

    def make():
        if "step" not in cache:
            cache["step"] = factory()
        return cache["step"]

    return make


def trio(make_ours, make_floor, make_torch, threads, *, ours_threaded=True, floor_threaded=True) -> list:
    """The usual contenders: numbagrad, numpy floor and torch, torch at every thread count.

    Ordered by thread count, then ours, floor, torch, which is the order of the
    interleaved rounds. ``*_threaded`` False runs that contender once with the
    default thread settings (limits mean nothing for it: no BLAS, no parallel kernels).
    Each library's state is built once and shared by its thread counts (:func:`shared`).
    """
    make_ours = shared(make_ours)
    make_floor = None if make_floor is None else shared(make_floor)
    make_torch = None if make_torch is None else shared(make_torch)
    out = []
    if not ours_threaded:
        out.append(Contender("ours", "numbagrad", make_ours, None))
    if make_floor is not None and not floor_threaded:
        out.append(Contender("floor", "numpy", make_floor, None))
    for t in threads:
        if ours_threaded:
            out.append(Contender("ours", "numbagrad", make_ours, t))
        if make_floor is not None and floor_threaded:
            out.append(Contender("floor", "numpy", make_floor, t))
        if make_torch is not None:
            out.append(Contender("torch", "torch", make_torch, t))
    return out
