"""numpy's OpenBLAS running its parallel jobs on numba's threads (kernels/blas_threads.py).

The products must be exactly OpenBLAS's own (same job split, same kernels), and no
thread configuration may deadlock: the jobs of one level-3 call wait on each other, so
a callback that ran them one after another would hang. Configurations that could hang
run in a child process with a timeout.
"""
import os
import subprocess
import sys
import textwrap
import threading

import numba
import numpy as np
import pytest
from threadpoolctl import threadpool_info, threadpool_limits

from numbagrad.autograd.kernels import blas_threads

# (m, k, n): the MNIST and wide MLP products, odd sizes, a matrix-vector product, tiny
SHAPES = [(128, 784, 256), (256, 128, 784), (512, 1024, 4096), (77, 1000, 333), (1, 3000, 2000),
          (3000, 2000, 1), (3, 5, 7)]


def _expected_installed():
    numpy_openblas = [i for i in threadpool_info()
                      if i.get("internal_api") == "openblas" and "numpy" in i.get("filepath", "")]
    if not numpy_openblas or numba.config.NUMBA_NUM_THREADS < 2:
        return False
    version = tuple(int(v) for v in numpy_openblas[0]["version"].split(".")[:3])
    return numba.threading_layer() == "omp" and version >= (0, 3, 27)


def test_installed_where_openblas_and_openmp_allow_it():
    # this machine and CI: numpy's OpenBLAS 0.3.31 and numba's omp layer -> installed
    assert blas_threads.installed() == _expected_installed()


def _products(rng_seed=0):
    rng = np.random.default_rng(rng_seed)
    out = []
    for m, k, n in SHAPES:
        for dtype in (np.float32, np.float64):
            a = rng.standard_normal((m, k)).astype(dtype)
            b = rng.standard_normal((k, n)).astype(dtype)
            out.append((a, b, a @ b, a.T.copy().T @ b[:, : max(1, n // 2)]))
    return out


def test_openblas_calls_our_callback():
    # the variable numpy's OpenBLAS reads before it queues jobs holds our callback's address
    if not blas_threads.installed():
        pytest.fail("blas_threads is not installed on a machine where it should be"
                    if _expected_installed() else "OpenBLAS/numba here do not allow the callback")
    import ctypes
    from numbagrad.autograd.kernels import blas
    lib = next(blas.openblas_libraries())
    slot = ctypes.c_void_p.in_dll(lib, "openblas_threads_callback_")
    assert slot.value == blas_threads._installed[1].address
    assert type(blas_threads._installed[1]._cache).__name__ != "NullCache"  # cached on disk
    blas_threads.uninstall()
    try:
        assert not slot.value
    finally:
        blas_threads.install()
    assert slot.value == blas_threads._installed[1].address


def test_products_equal_openblas_own_threads_bitwise():
    if not blas_threads.installed():
        pytest.fail("blas_threads is not installed on a machine where it should be"
                    if _expected_installed() else "OpenBLAS/numba here do not allow the callback")
    with threadpool_limits(2, user_api="blas"):
        ours = _products()
        blas_threads.uninstall()
        try:
            theirs = _products()
        finally:
            assert blas_threads.install()
    for (a, b, r1, r2), (_, _, s1, s2) in zip(ours, theirs):
        np.testing.assert_array_equal(r1, s1)
        np.testing.assert_array_equal(r2, s2)
        exact = a.astype(np.float64) @ b.astype(np.float64)
        tol = 1e-4 if a.dtype == np.float32 else 1e-12
        assert np.abs(r1 - exact).max() <= tol * max(1.0, np.abs(exact).max()) * np.sqrt(a.shape[1])


def test_uninstall_and_install_switch_back_and_forth():
    if not _expected_installed():
        pytest.fail("OpenBLAS/numba here do not allow the callback")
    blas_threads.uninstall()
    assert not blas_threads.installed()
    assert blas_threads.install() and blas_threads.installed()
    assert blas_threads.install()  # idempotent


def test_products_from_several_python_threads_at_once():
    rng = np.random.default_rng(3)
    a = rng.standard_normal((300, 700)).astype(np.float32)
    b = rng.standard_normal((700, 500)).astype(np.float32)
    want = a @ b
    errors = []

    def work():
        for _ in range(20):
            if not np.array_equal(a @ b, want):
                errors.append("mismatch")

    threads = [threading.Thread(target=work) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a product hung"
    assert errors == []


def _run_child(code, env_extra=None, timeout=180):
    env = dict(os.environ, **(env_extra or {}))
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                          text=True, timeout=timeout, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


CHECK = """
    import numpy as np
    def check():
        rng = np.random.default_rng(0)
        for m, k, n in [(512, 1024, 1024), (128, 784, 256), (1, 3000, 2000)]:
            a = rng.standard_normal((m, k)).astype(np.float32)
            b = rng.standard_normal((k, n)).astype(np.float32)
            exact = a.astype(np.float64) @ b.astype(np.float64)
            assert np.abs(a @ b - exact).max() < 1e-3 * np.sqrt(k), (m, k, n)
"""


def test_more_jobs_than_numba_threads_do_not_deadlock():
    # numba lowered to 1 thread, and OpenBLAS raised above numba's pool of 2: every job
    # still gets a thread of its own
    out = _run_child(CHECK + """
    import numba
    from threadpoolctl import threadpool_limits
    from numbagrad.autograd.kernels import blas_threads
    assert blas_threads.installed() == (numba.threading_layer() == "omp")
    numba.set_num_threads(1)
    check()
    numba.set_num_threads(2)
    with threadpool_limits(4, user_api="blas"):
        check()
        numba.set_num_threads(1)
        check()
    assert numba.get_num_threads() == 1  # the caller's setting is restored after each call
    print("done", blas_threads.installed())
    """, env_extra={"NUMBA_NUM_THREADS": "2"})
    assert "done" in out


def test_forked_child_gets_openblas_threads_back():
    if not hasattr(os, "fork"):
        pytest.fail("no fork on this platform")
    out = _run_child(CHECK + """
    import os
    from numbagrad.autograd.kernels import blas_threads
    was = blas_threads.installed()
    check()
    pid = os.fork()
    if pid == 0:
        try:
            assert not blas_threads.installed()
            check()  # on OpenBLAS's own threads: OpenMP's pool does not survive fork
        except BaseException:
            os._exit(1)
        os._exit(0)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert blas_threads.installed() == was
    print("done", was)
    """)
    assert "done" in out


def test_environment_variable_keeps_openblas_threads():
    out = _run_child("""
    from numbagrad.autograd.kernels import blas_threads
    print("installed", blas_threads.installed())
    """, env_extra={"NUMBAGRAD_SHARED_BLAS_POOL": "0"})
    assert "installed False" in out


def test_not_installed_with_a_threading_layer_that_may_run_jobs_in_turn():
    # numba's workqueue layer: one job after another would deadlock a level-3 call, so
    # OpenBLAS keeps its own threads and products still work
    out = _run_child(CHECK + """
    import numba
    from numbagrad.autograd.kernels import blas_threads
    check()
    print("installed", blas_threads.installed(), numba.threading_layer())
    """, env_extra={"NUMBA_THREADING_LAYER": "workqueue"})
    assert "installed False workqueue" in out
