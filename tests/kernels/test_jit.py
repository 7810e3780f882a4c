"""The jit decorator: cache fallback, options, pair naming, vectorised float32 compile."""
import numpy as np
import pytest

from numbagrad.autograd.kernels import _jit
from numbagrad.autograd.kernels._jit import as_float, jit, jit_pair


def test_falls_back_to_no_cache_without_a_locator():
    ns = {}
    exec("def f(x):\n    return x + 1\n", ns)  # no source file: numba has no cache locator
    g = jit(ns["f"])
    assert g(1.0) == 2.0
    assert type(g._cache).__name__ == "NullCache"


def test_cfunc_callable_from_c_and_falls_back_to_no_cache_without_a_locator():
    import ctypes
    from numba import types
    ns = {}
    exec("def f(x):\n    return 2 * x + 1\n", ns)  # no source file: no cache locator
    cb = _jit.cfunc(types.int64(types.int64))(ns["f"])
    assert ctypes.CFUNCTYPE(ctypes.c_int64, ctypes.c_int64)(cb.address)(20) == 41
    assert type(cb._cache).__name__ == "NullCache"


def test_options_and_lazy_compilation():
    def add(x, out):
        for i in range(x.shape[0]):
            out[i] = x[i] / 0.0 if x[i] == 0 else x[i] + 1

    k = jit(add, cache=False)
    assert k.signatures == []  # nothing compiled at decoration
    x = np.array([0.0, 1.0], np.float32)
    out = np.empty_like(x)
    k(x, out)  # numpy error model: 0/0 -> NaN instead of ZeroDivisionError
    assert np.isnan(out[0]) and out[1] == 2
    assert k.targetoptions["error_model"] == "numpy"


def test_pair_twins_have_distinct_cache_names():
    def body(x):
        return x

    s, p = jit_pair(body)
    s2, p2 = jit_pair(body, "_narrow")
    names = {d.py_func.__qualname__ for d in (s, p, s2, p2)}
    assert len(names) == 4
    assert p.targetoptions.get("parallel") and not s.targetoptions.get("parallel")


def test_vector_width_context_is_reentrant_and_resets():
    with _jit._force_vector_width(16):
        with _jit._force_vector_width(8, 2):
            assert _jit._force_vector_width._stack[-1].width == 8
        assert _jit._force_vector_width._stack[-1].width == 16
    assert _jit._force_vector_width._stack == []


@pytest.mark.parametrize("value,dtype", [(np.arange(3), np.float64), (np.ones(2, np.float16), np.float32),
                                         (np.ones((2, 3), np.float32).T, np.float32), (2.5, np.float64)])
def test_as_float(value, dtype):
    a = as_float(value)
    assert a.dtype == dtype and a.flags.c_contiguous and a.shape == np.shape(value)


def test_parallel_guard_backs_off_after_stalls_in_a_row():
    import time

    from numbagrad.autograd.kernels._jit import ParallelGuard

    calls = []

    def serial(x):
        calls.append("serial")
        return "s"

    def stalling(x):
        calls.append("parallel")
        time.sleep(0.01)
        return "p"

    def quick(x):
        calls.append("parallel")
        return "p"

    N = 10**6  # a stall is over 3.2 ms here: a sleepy VM's wake-up stays below that
    g = ParallelGuard()
    g.BACKOFF_S = 0.05
    g.backoff = 0.05
    assert g(serial, stalling, N, 0) == "p"  # 10 ms for 1e6 elements (limit 3.2 ms): a stall
    assert g.stalls == 1
    assert g(serial, quick, N, 0) == "p"  # one stall alone (a hiccup) does not back off
    assert g(serial, stalling, N, 0) == "p"
    assert g(serial, stalling, N, 0) == "p"  # the second stall in a row does
    assert g.stalls == 3
    assert g(serial, stalling, N, 0) == "s"  # backing off
    time.sleep(0.08)
    assert g(serial, quick, N, 0) == "p"  # retried after the backoff, no stall
    assert g.backoff == g.BACKOFF_S
    assert calls == ["parallel"] * 4 + ["serial", "parallel"]


def _twins(delays):
    """A serial and a parallel stand-in whose sleep (seconds) is read from ``delays`` at each call."""
    import time

    calls = []

    def serial(x):
        calls.append("s")
        time.sleep(delays["s"])
        return "s"

    def parallel(x):
        calls.append("p")
        time.sleep(delays["p"])
        return "p"

    return serial, parallel, calls


def test_faster_twin_runs_the_faster_twin_and_follows_a_change():
    from numbagrad.autograd.kernels._jit import FasterTwin

    delays = {"s": 0.002, "p": 0.0003}
    serial, parallel, calls = _twins(delays)
    g = FasterTwin()
    g.EXPLORE_SERIAL_MAX, g.EXPLORE_CLEAR, g.EXPLORE_FAR = 8, 16, 32  # shorter than the defaults
    N = 10**6
    for _ in range(40):
        g(serial, parallel, N, 0)
    # first call of each twin measures it; then parallel (faster), with rare exploring serial calls
    assert calls[:2] == ["p", "s"]
    assert calls[2:].count("s") <= 4, calls
    import numba
    assert g.stats[(parallel, N.bit_length(), numba.get_num_threads())][3] > g.EXPLORE_MIN  # spaced out
    # a burst of slow parallel calls shorter than half the window does not switch (median)
    delays.update(p=0.01)
    calls.clear()
    for _ in range(g.WINDOW // 2 - 1):
        g(serial, parallel, N, 0)
    delays.update(p=0.0003)
    for _ in range(4):
        g(serial, parallel, N, 0)
    assert calls.count("p") >= g.WINDOW // 2 + 2, calls
    # the parallel twin slow call after call (another process took the second core): serial takes over
    delays.update(p=0.01)
    calls.clear()
    for _ in range(g.WINDOW + 4 * g.EXPLORE_CLEAR):
        g(serial, parallel, N, 0)
    assert calls[0] == "p" and "s" in calls[1:g.WINDOW], calls  # serial within the window
    assert calls[g.WINDOW:].count("p") <= 6 * g.EXPLORE_RUN, calls  # exploring runs only
    assert calls[-16:].count("s") >= 16 - g.EXPLORE_RUN, calls  # at most one exploring run
    # and parallel comes back at its next exploration once it is fast again
    delays.update(p=0.0003)
    calls.clear()
    for _ in range(g.EXPLORE_FAR + 8):
        g(serial, parallel, N, 0)
    assert calls[-8:].count("p") >= 7, calls  # (one exploring serial call at most)


def test_faster_twin_counts_what_a_parallel_call_costs_the_code_after_it():
    """A parallel call that is fast itself but slows what runs before the next call
    (OpenMP workers spinning into the next matrix products) loses to serial: a call's
    time runs up to the next call of the same kernel."""
    import time

    from numbagrad.autograd.kernels._jit import FasterTwin

    delays = {"s": 0.002, "p": 0.001}
    serial, parallel, calls = _twins(delays)
    g = FasterTwin()
    for _ in range(60):
        g(serial, parallel, 10**6, 0)
        time.sleep(0.006 if calls[-1] == "p" else 0.001)  # the loop's other work
    assert calls[:2] == ["p", "s"]
    assert calls[2:].count("p") <= 3 * g.EXPLORE_RUN, "".join(calls)  # exploring runs only
    # without that after-cost parallel (2x faster) wins
    calls.clear()
    g.reset()
    for _ in range(60):
        g(serial, parallel, 10**6, 0)
        time.sleep(0.001)
    assert calls[-20:].count("p") >= 19, "".join(calls)


def test_faster_twin_runs_serial_unless_parallel_is_clearly_faster():
    from numbagrad.autograd.kernels._jit import FasterTwin

    # parallel only 5% faster: not worth the second thread (inside an MLP loop it can stall)
    delays = {"s": 0.0021, "p": 0.002}
    serial, parallel, calls = _twins(delays)
    g = FasterTwin()
    for _ in range(30):
        g(serial, parallel, 10**6, 0)
    assert calls[:2] == ["p", "s"]
    assert calls[2:].count("p") <= 4 * g.EXPLORE_RUN, calls  # exploring runs only
    # parallel 2x faster: it takes over at its next exploration
    delays.update(p=0.001)
    calls.clear()
    for _ in range(g.EXPLORE_PARALLEL_MAX + 2 * g.WINDOW):
        g(serial, parallel, 10**6, 0)
    assert calls[-g.WINDOW:].count("p") >= g.WINDOW - 1, calls


def test_faster_twin_judges_parallel_after_its_threads_woke_up():
    import time

    from numbagrad.autograd.kernels._jit import FasterTwin

    # like numba's pool after serial calls: the first parallel call wakes sleeping
    # threads (slow), the ones right after it are 2x faster than serial
    calls = []

    def serial(x):
        calls.append("s")
        time.sleep(0.002)

    def parallel(x):
        cold = not calls or calls[-1] == "s"
        calls.append("p")
        time.sleep(0.004 if cold else 0.001)

    g = FasterTwin()
    for _ in range(g.EXPLORE_PARALLEL_MAX + 4 * g.WINDOW):
        g(serial, parallel, 10**6, 0)
    assert calls[-g.WINDOW:].count("p") >= g.WINDOW - 1, "".join(calls)


def test_faster_twin_keeps_sizes_apart_and_can_be_forced():
    from numbagrad.autograd.kernels._jit import FasterTwin

    delays = {"s": 0.0, "p": 0.003}
    serial, parallel, calls = _twins(delays)
    g = FasterTwin()
    for _ in range(5):
        g(serial, parallel, 1000, 0)
    assert calls == ["p", "s", "s", "s", "s"]  # small: serial wins (parallel much slower)
    calls.clear()
    assert g(serial, parallel, 10**7, 0) == "p"  # a new size bucket measures parallel first
    g.force = "parallel"
    assert [g(serial, parallel, 1000, 0) for _ in range(3)] == ["p"] * 3
    g.force = "serial"
    assert g(serial, parallel, 10**7, 0) == "s"
    g.reset()
    assert g.force is None and g.stats == {}


def test_faster_twin_keeps_thread_counts_apart():
    import numba

    from numbagrad.autograd.kernels._jit import FasterTwin

    if numba.config.NUMBA_NUM_THREADS < 2:
        pytest.fail("numba runs with one thread here; the test needs two")
    delays = {"s": 0.0, "p": 0.003}
    serial, parallel, calls = _twins(delays)
    g = FasterTwin()
    old = numba.get_num_threads()
    try:
        for t in (1, 2):
            numba.set_num_threads(t)
            g(serial, parallel, 10**6, 0)
        assert calls == ["p", "p"]  # one count's times say nothing about the other's
        assert {k[2] for k in g.stats} == {1, 2}
    finally:
        numba.set_num_threads(old)
