"""Throughput of the numba kernels (numbagrad.autograd.kernels) against numpy and PyTorch.

``run(quick)`` returns one dict per (kernel, size): ``name`` ("relu", ...),
``kernel`` ("forward"/"backward"), ``n`` (elements), ``ours_s``, ``numpy_s``,
``torch_s`` (None without PyTorch; best of 1 and 2 threads), ``ours_gbps``
(bytes read + written by the op / our time) and ``bw_fraction`` (ours_gbps /
the copy bandwidth measured with ``np.copyto`` of 1e7 float32 in the same
process). All float32; medians of interleaved rounds (ours with numba at 1
and 2 threads, numpy, torch at 1 and 2 threads, in turn), so a noisy
neighbour hits all contenders alike; ``ours_s`` and ``torch_s`` are each the
better of their two thread counts (the 1- and 2-thread medians of ours are in
``ours_1thread_s``/``ours_2thread_s``; ``loadavg`` is the 1-minute load
average when the row was measured: on a shared 2-core machine a 2-thread
parallel region stalls for milliseconds whenever another process holds a core).

``python -m benchmarks.kernel_throughput [--quick]`` prints the table.

Measured when the kernels were written (2-core Sapphire Rapids VM shared
with other agents, numba 0.68 / numpy 2.4 / torch 2.13 CPU, float32, 1e6
elements; softmax family on (1000, 1000) along dim 1; ms).

One thread each (numbagrad ``set_parallel(False)``, ``torch.set_num_threads(1)``),
25th percentile of 40 runs, best of 3 interleaved passes, load average ~5:

    op             ours   torch   torch/ours
    relu           0.301  0.315   1.05
    relu bw        0.452  0.470   1.04
    sigmoid        0.376  0.478   1.27
    sigmoid bw     0.443  0.476   1.07
    tanh           0.401  0.410   1.02
    tanh bw        0.446  0.478   1.07
    gelu           0.706  0.432   0.61   <- not reached: float32 erf (<= 2.6 ulp) costs 2 polynomials + exp
    gelu bw        0.927  0.775   0.84
    silu           0.378  0.479   1.27
    elu            0.325  1.276   3.92
    softplus       1.344  1.535   1.14
    softmax        0.601  0.620   1.03
    log_softmax    0.595  0.673   1.13
    logsumexp      0.503  0.951   1.89

Two threads, medians, load average ~0.5-2 (before the machine got busy):
relu 0.140 (torch 0.138, numpy 0.255), sigmoid 0.173 (0.187; numpy 1.21),
tanh 0.165 (0.158; numpy 0.309), gelu 0.401 (0.186), silu 0.185 (0.201),
elu 0.143 (0.591), softplus 0.608 (0.709), softmax 0.411 (0.278; numpy 1.58),
log_softmax 0.386 (0.308; numpy 1.60), logsumexp 0.304 (0.373). softmax and
log_softmax were then made faster (serial 0.71 -> 0.60 ms: nested compiles
kept 512-bit vectors, ``vexp_fast``) but could not be re-measured on two
threads at low load. ``bias_act`` epilogue: see autograd/kernels/epilogue.py.

At load average 5-12 (every later run) the 2-thread figures of both
libraries are dominated by stalls (a 1e6 relu: 27 ms in a 2-thread numba
region vs 0.66 ms serial), which ``parallel_guard`` now detects; rows record
``loadavg`` so such runs can be recognised.

Dispatch thresholds in the kernels come from the same machine: a numba call
on two 1-D arrays costs ~0.25 us vs ~0.55 us for one numpy ufunc, so there is
no numpy path for small arrays; ``parallel=True`` pays off above ~3e4
elements for relu-like kernels and ~1e4 for exp-based ones (launch ~1.7 us).
"""
from __future__ import annotations

import math
import os
import time

import numba
import numpy as np

import numbagrad.autograd.kernels as K

try:  # optional
    import torch
    import torch.nn.functional as F
except Exception:  # pragma: no cover - torch absent
    torch = None

try:  # numpy has no erf; scipy's is the best numpy-world equivalent for GELU
    from scipy.special import erf as _sp_erf
except Exception:  # pragma: no cover
    _sp_erf = None

SIZES_FULL = (10**3, 10**4, 10**5, 10**6, 10**7)
SIZES_QUICK = (10**3, 10**6)
ROW = 1000  # row length for the softmax family and cross-entropy


def _timeit(fn, number):
    t0 = time.perf_counter()
    for _ in range(number):
        fn()
    return (time.perf_counter() - t0) / number


def copy_bandwidth(n=10**7, rounds=15):
    """GB/s of ``np.copyto`` on n float32 (read + write bytes), median of rounds."""
    src = np.random.default_rng(0).standard_normal(n).astype(np.float32)
    dst = np.empty_like(src)
    np.copyto(dst, src)
    times = [_timeit(lambda: np.copyto(dst, src), 1) for _ in range(rounds)]
    return 2 * src.nbytes / float(np.median(times)) / 1e9


# ------------------------------------------------------------------ workloads
def _np_sigmoid(x):
    o = np.negative(x)
    np.exp(o, out=o)
    o += 1
    return np.reciprocal(o, out=o)


def _np_softmax(x):
    e = np.exp(x - x.max(axis=1, keepdims=True))
    e /= e.sum(axis=1, keepdims=True)
    return e


def _np_log_softmax(x):
    s = x - x.max(axis=1, keepdims=True)
    return s - np.log(np.exp(s).sum(axis=1, keepdims=True))


def _np_logsumexp(x):
    m = x.max(axis=1, keepdims=True)
    return np.log(np.exp(x - m).sum(axis=1)) + m[:, 0]


def _workloads(n, rng):
    """Yield (name, kernel, bytes, ours, numpy_or_None, torch_or_None) closures for size n."""
    x = (rng.standard_normal(n) * 3).astype(np.float32)
    g = rng.standard_normal(n).astype(np.float32)
    y_sig = K.sigmoid(x)
    y_tanh = K.tanh(x)
    tx = torch.from_numpy(x) if torch else None
    tg = torch.from_numpy(g) if torch else None
    aten = torch.ops.aten if torch else None
    b1, b2, b3 = 8 * n, 12 * n, 4 * n  # f32: read+write, 2 reads + write, one read

    def t(f):
        return f if torch else None

    yield ("relu", "forward", b1, lambda: K.relu(x), lambda: np.maximum(x, 0), t(lambda: torch.relu(tx)))
    yield ("relu", "backward", b2, lambda: K.relu_backward(g, x), lambda: np.where(x > 0, g, 0),
           t(lambda: aten.threshold_backward(tg, tx, 0)))
    yield ("leaky_relu", "forward", b1, lambda: K.leaky_relu(x, 0.01), lambda: np.where(x > 0, x, x * 0.01),
           t(lambda: F.leaky_relu(tx, 0.01)))
    yield ("leaky_relu", "backward", b2, lambda: K.leaky_relu_backward(g, x, 0.01),
           lambda: np.where(x > 0, g, g * 0.01), t(lambda: aten.leaky_relu_backward(tg, tx, 0.01, False)))
    ts, tt = (torch.from_numpy(y_sig), torch.from_numpy(y_tanh)) if torch else (None, None)
    yield ("sigmoid", "forward", b1, lambda: K.sigmoid(x), lambda: _np_sigmoid(x), t(lambda: torch.sigmoid(tx)))
    yield ("sigmoid", "backward", b2, lambda: K.sigmoid_backward(g, y_sig), lambda: g * (1 - y_sig) * y_sig,
           t(lambda: aten.sigmoid_backward(tg, ts)))
    yield ("tanh", "forward", b1, lambda: K.tanh(x), lambda: np.tanh(x), t(lambda: torch.tanh(tx)))
    yield ("tanh", "backward", b2, lambda: K.tanh_backward(g, y_tanh), lambda: g * (1 - y_tanh * y_tanh),
           t(lambda: aten.tanh_backward(tg, tt)))
    np_gelu = (lambda: 0.5 * x * (1 + _sp_erf(x * np.float32(math.sqrt(0.5))))) if _sp_erf else None
    yield ("gelu", "forward", b1, lambda: K.gelu(x), np_gelu, t(lambda: F.gelu(tx)))
    yield ("gelu", "backward", b2, lambda: K.gelu_backward(g, x), None, t(lambda: aten.gelu_backward(tg, tx)))
    yield ("gelu_tanh", "forward", b1, lambda: K.gelu(x, "tanh"),
           lambda: 0.5 * x * (1 + np.tanh(np.float32(0.7978845608) * (x + np.float32(0.044715) * x * x * x))),
           t(lambda: F.gelu(tx, approximate="tanh")))
    yield ("elu", "forward", b1, lambda: K.elu(x), lambda: np.where(x > 0, x, np.expm1(x)), t(lambda: F.elu(tx)))
    yield ("elu", "backward", b2, lambda: K.elu_backward(g, x), lambda: np.where(x > 0, g, g * np.exp(x)),
           t(lambda: aten.elu_backward(tg, 1.0, 1.0, 1.0, False, tx)))
    yield ("silu", "forward", b1, lambda: K.silu(x), lambda: x * _np_sigmoid(x), t(lambda: F.silu(tx)))
    yield ("silu", "backward", b2, lambda: K.silu_backward(g, x),
           lambda: (lambda s: g * s * (1 + x * (1 - s)))(_np_sigmoid(x)), t(lambda: aten.silu_backward(tg, tx)))
    yield ("softplus", "forward", b1, lambda: K.softplus(x),
           lambda: np.where(x > 20, x, np.log1p(np.exp(x))), t(lambda: F.softplus(tx)))
    yield ("softplus", "backward", b2, lambda: K.softplus_backward(g, x),
           lambda: g * _np_sigmoid(x), t(lambda: aten.softplus_backward(tg, tx, 1.0, 20.0)))

    if n >= 10**6:  # memory bandwidth: into preallocated outputs, as the copy reference
        yield from _into_out(x, g, y_sig, y_tanh, b1, b2)

    rows = max(n // ROW, 1)
    x2 = x[: rows * ROW].reshape(rows, ROW)
    g2 = g[: rows * ROW].reshape(rows, ROW)
    n2 = x2.size
    sm = K.softmax(x2, 1)
    lsm = K.log_softmax(x2, 1)
    tx2 = torch.from_numpy(x2) if torch else None
    tg2 = torch.from_numpy(g2) if torch else None
    tsm = torch.from_numpy(sm) if torch else None
    tlsm = torch.from_numpy(lsm) if torch else None
    yield ("softmax", "forward", 8 * n2, lambda: K.softmax(x2, 1), lambda: _np_softmax(x2),
           t(lambda: torch.softmax(tx2, 1)))
    yield ("softmax", "backward", 12 * n2, lambda: K.softmax_backward(g2, sm, 1),
           lambda: sm * (g2 - (g2 * sm).sum(axis=1, keepdims=True)),
           t(lambda: aten._softmax_backward_data(tg2, tsm, 1, torch.float32)))
    yield ("log_softmax", "forward", 8 * n2, lambda: K.log_softmax(x2, 1), lambda: _np_log_softmax(x2),
           t(lambda: torch.log_softmax(tx2, 1)))
    yield ("log_softmax", "backward", 12 * n2, lambda: K.log_softmax_backward(g2, lsm, 1),
           lambda: g2 - np.exp(lsm) * g2.sum(axis=1, keepdims=True),
           t(lambda: aten._log_softmax_backward_data(tg2, tlsm, 1, torch.float32)))
    yield ("logsumexp", "forward", 4 * n2, lambda: K.logsumexp(x2, 1), lambda: _np_logsumexp(x2),
           t(lambda: torch.logsumexp(tx2, 1)))

    target = rng.integers(0, ROW, rows)
    loss, saved = K.log_softmax_nll(x2, target)
    gl = np.ones(rows, np.float32)
    ttarget = torch.from_numpy(target) if torch else None
    yield ("cross_entropy", "forward", 4 * n2, lambda: K.log_softmax_nll(x2, target),
           lambda: -np.take_along_axis(_np_log_softmax(x2), target[:, None], 1)[:, 0],
           t(lambda: F.cross_entropy(tx2, ttarget, reduction="none")))

    def np_ce_backward():
        d = _np_softmax(x2)
        d[np.arange(rows), target] -= 1
        return d

    yield ("cross_entropy", "backward", 8 * n2, lambda: K.log_softmax_nll_backward(gl, saved, target),
           np_ce_backward, t(lambda: aten._log_softmax_backward_data(
               aten.nll_loss_backward(torch.from_numpy(gl), tlsm, ttarget, None, 0, -100, torch.tensor(0.0)),
               tlsm, 1, torch.float32)))

    z = x2.copy()
    bias = g[:ROW].copy()
    tz = torch.from_numpy(z) if torch else None
    tb = torch.from_numpy(bias) if torch else None

    def np_bias_relu():
        z.__iadd__(bias)
        np.maximum(z, 0, out=z)

    yield ("bias_relu", "forward", 8 * n2, lambda: K.bias_act(z, bias, "relu"), np_bias_relu,
           t(lambda: torch.relu_(tz.add_(tb))))


def _into_out(x, g, y_sig, y_tanh, b1, b2):
    """relu/sigmoid/tanh and their backwards writing into a preallocated output.

    A fresh 40 MB output costs its page faults (about 10k of them) on every call, which
    hides the kernel's own speed; the bandwidth target is read from these rows."""
    o = np.empty_like(x)
    to = torch.from_numpy(o) if torch else None
    tx, tg = (torch.from_numpy(x), torch.from_numpy(g)) if torch else (None, None)
    ts, tt = (torch.from_numpy(y_sig), torch.from_numpy(y_tanh)) if torch else (None, None)
    aten = torch.ops.aten if torch else None

    def t(f):
        return f if torch else None

    yield ("relu", "forward out=", b1, lambda: K.relu(x, out=o), lambda: np.maximum(x, 0, out=o),
           t(lambda: torch.clamp_min(tx, 0, out=to)))
    yield ("relu", "backward out=", b2, lambda: K.relu_backward(g, x, out=o),
           lambda: np.multiply(g, x > 0, out=o),
           t(lambda: aten.threshold_backward.grad_input(tg, tx, 0, grad_input=to)))
    yield ("sigmoid", "forward out=", b1, lambda: K.sigmoid(x, out=o), None,
           t(lambda: torch.sigmoid(tx, out=to)))
    yield ("sigmoid", "backward out=", b2, lambda: K.sigmoid_backward(g, y_sig, out=o), None,
           t(lambda: aten.sigmoid_backward.grad_input(tg, ts, grad_input=to)))
    yield ("tanh", "forward out=", b1, lambda: K.tanh(x, out=o), lambda: np.tanh(x, out=o),
           t(lambda: torch.tanh(tx, out=to)))
    yield ("tanh", "backward out=", b2, lambda: K.tanh_backward(g, y_tanh, out=o), None,
           t(lambda: aten.tanh_backward.grad_input(tg, tt, grad_input=to)))


def _epilogue_shapes(rng):
    for shape in ((128, 256), (512, 4096)):
        z = rng.standard_normal(shape).astype(np.float32)
        b = rng.standard_normal(shape[1]).astype(np.float32)
        tz = torch.from_numpy(z) if torch else None
        tb = torch.from_numpy(b) if torch else None

        def np_relu(z=z, b=b):
            z += b
            np.maximum(z, 0, out=z)

        def np_tanh(z=z, b=b):
            z += b
            np.tanh(z, out=z)

        n = z.size
        yield (f"bias_act_relu_{shape[0]}x{shape[1]}", "forward", 8 * n, lambda z=z, b=b: K.bias_act(z, b, "relu"),
               np_relu, (lambda tz=tz, tb=tb: torch.relu_(tz.add_(tb))) if torch else None)
        yield (f"bias_act_tanh_{shape[0]}x{shape[1]}", "forward", 8 * n, lambda z=z, b=b: K.bias_act(z, b, "tanh"),
               np_tanh, (lambda tz=tz, tb=tb: torch.tanh_(tz.add_(tb))) if torch else None)


def _measure(entry, rounds, budget_s):
    name, kind, nbytes, ours, npf, tf = entry
    ours()  # compile / warm up
    if npf:
        npf()
    if tf:
        tf()
    t1 = _timeit(ours, 1)
    number = max(1, min(1000, int(budget_s / rounds / max(t1, 1e-7))))
    res = {"ours1": [], "ours2": [], "numpy": [], "torch1": [], "torch2": []}
    nthreads = numba.config.NUMBA_NUM_THREADS
    for _ in range(rounds):
        for th in (1, min(2, nthreads)):
            numba.set_num_threads(th)
            res[f"ours{th}"].append(_timeit(ours, number))
        numba.set_num_threads(nthreads)
        if npf:
            res["numpy"].append(_timeit(npf, number))
        if tf:
            for th in (1, 2):
                torch.set_num_threads(th)
                res[f"torch{th}"].append(_timeit(tf, number))
    med = {k: (float(np.median(v)) if v else None) for k, v in res.items()}
    torch_s = min(med["torch1"], med["torch2"]) if tf else None
    ours_s = min(v for v in (med["ours1"], med["ours2"]) if v is not None)
    return name, kind, nbytes, ours_s, med["numpy"], torch_s, med["ours1"], med["ours2"]


def run(quick: bool = False) -> list[dict]:
    """Measure every kernel at the sizes (quick: 1e3 and 1e6; full: 1e3 ... 1e7), float32.

    Returns a list of dicts with keys name, kernel, n, ours_s, numpy_s, torch_s,
    ours_gbps, bw_fraction (plus numpy_ratio/torch_ratio = their time / ours, and
    bandwidth_gbps, the copy reference)."""
    rng = np.random.default_rng(0)
    threads0 = torch.get_num_threads() if torch else None
    bw = copy_bandwidth()
    rounds = 5 if quick else 7
    budget = 0.05 if quick else 0.12
    rows = []
    sizes = SIZES_QUICK if quick else SIZES_FULL
    try:
        for n in sizes:
            for entry in _workloads(n, rng):
                name, kind, nbytes, *times = _measure(entry, rounds, budget)
                rows.append(_row(name, kind, n, nbytes, *times, bw))
        for entry in _epilogue_shapes(rng):
            name, kind, nbytes, *times = _measure(entry, rounds, budget)
            rows.append(_row(name, kind, nbytes // 8, nbytes, *times, bw))
    finally:
        if torch:
            torch.set_num_threads(threads0)
    # the copy reference is measured before and after; the better of the two is the
    # machine's figure (a neighbour's burst during one of them only lowers it)
    bw_end = copy_bandwidth()
    if bw_end > bw:
        for r in rows:
            r["bandwidth_gbps"] = bw_end
            r["bw_fraction"] = r["ours_gbps"] / bw_end
    return rows


def _row(name, kind, n, nbytes, ours_s, numpy_s, torch_s, ours_1t, ours_2t, bw):
    gbps = nbytes / ours_s / 1e9
    return {"name": name, "kernel": kind, "n": int(n), "ours_s": ours_s, "numpy_s": numpy_s, "torch_s": torch_s,
            "ours_gbps": gbps, "bw_fraction": gbps / bw, "bandwidth_gbps": bw,
            "ours_1thread_s": ours_1t, "ours_2thread_s": ours_2t, "loadavg": os.getloadavg()[0],
            "numpy_ratio": (numpy_s / ours_s) if numpy_s else None,
            "torch_ratio": (torch_s / ours_s) if torch_s else None}


def format_table(rows) -> str:
    """Render ``run()``'s rows as a fixed-width text table (times in microseconds)."""
    head = (f"{'op':28s} {'kernel':8s} {'n':>9s} {'ours us':>10s} {'numpy us':>10s} {'torch us':>10s} "
            f"{'GB/s':>7s} {'%bw':>5s} {'np/ours':>8s} {'torch/ours':>10s}")
    lines = [head, "-" * len(head)]
    for r in rows:
        def us(v):
            return f"{v * 1e6:10.1f}" if v else f"{'-':>10s}"

        def ratio(v):
            return f"{v:8.2f}" if v else f"{'-':>8s}"
        lines.append(f"{r['name']:28s} {r['kernel']:8s} {r['n']:9d} {us(r['ours_s'])} {us(r['numpy_s'])} "
                     f"{us(r['torch_s'])} {r['ours_gbps']:7.1f} {100 * r['bw_fraction']:5.0f} "
                     f"{ratio(r['numpy_ratio'])} {ratio(r['torch_ratio']):>10s}")
    if rows:
        lines.append(f"copy bandwidth reference (np.copyto, 1e7 float32): {rows[0]['bandwidth_gbps']:.1f} GB/s; "
                     f"load average {rows[0]['loadavg']:.1f} at start, {rows[-1]['loadavg']:.1f} at end")
    return "\n".join(lines)


def main(argv=None):
    """Command line: ``python -m benchmarks.kernel_throughput [--quick]``."""
    import argparse

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="only 1e3 and 1e6 elements")
    args = p.parse_args(argv)
    print(format_table(run(quick=args.quick)))


if __name__ == "__main__":
    main()
