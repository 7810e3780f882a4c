"""Matrix products through MKL's gemm (kernels/gemm.py), and numpy's where MKL is not used.

CI installs the ``mkl`` package (README's test command), so there the products below go
through MKL: `test_backend_is_mkl_where_installed` fails if they silently did not.
"""
import importlib.util
import os
import subprocess
import sys
import textwrap
import threading

import numba
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from threadpoolctl import threadpool_info, threadpool_limits

from numbagrad.autograd.kernels import gemm

MKL_INSTALLED = gemm._mkl_dir() is not None


def _child(code, env=None, timeout=120):
    """Run ``code`` in a fresh interpreter; its stdout's last line."""
    run_env = dict(os.environ, **(env or {}))
    res = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                         text=True, timeout=timeout, env=run_env)
    assert res.returncode == 0, res.stderr
    return res.stdout.strip().splitlines()[-1]


def _reference(a, b):
    return np.dot(a.astype(np.float64), b.astype(np.float64))


def _assert_product(got, a, b):
    """``got`` is a @ b to within float rounding of a k-term sum."""
    ref = _reference(a, b)
    assert got.shape == ref.shape and got.dtype == a.dtype
    eps = np.finfo(a.dtype).eps
    k = a.shape[1]
    bound = 2 * k * eps * _reference(np.abs(a), np.abs(b)) + np.finfo(a.dtype).tiny
    assert np.all(np.abs(got - ref) <= bound)


def test_backend_is_mkl_where_installed():
    expected = MKL_INSTALLED and numba.threading_layer() == "omp" \
        and "NUMBAGRAD_MKL" not in os.environ
    assert gemm.backend() == ("mkl" if expected else "numpy")


def _mapped():
    with open("/proc/self/maps") as f:
        return {os.path.basename(line.split()[-1]) for line in f if "/" in line}


@pytest.mark.skipif(not MKL_INSTALLED, reason="the mkl package is not installed")
def test_mkl_runs_on_the_gnu_openmp_pool():
    # one OpenMP pool for numba and MKL: MKL's GNU threading layer, not Intel's runtime
    gemm.dot(np.ones((64, 600), np.float32), np.ones((600, 64), np.float32))
    mapped = _mapped()
    assert any(n.startswith("libmkl_gnu_thread.so") for n in mapped)
    assert not any(n.startswith(("libmkl_intel_thread", "libiomp5", "libmkl_rt")) for n in mapped)
    assert numba.threading_layer() == "omp"  # even with tbb installed (mkl depends on it)


@pytest.mark.skipif(not MKL_INSTALLED, reason="the mkl package is not installed")
@pytest.mark.skipif(importlib.util.find_spec("torch") is None, reason="PyTorch is not installed")
@pytest.mark.parametrize("torch_first", [False, True])
def test_pytorch_keeps_its_own_mkl(tmp_path, torch_first):
    # PyTorch links MKL into libtorch_cpu and exports its symbols: none of them may bind to
    # our MKL (ld.so's own record of every symbol binding), in either import order
    code = f"""
        import numpy as np
        {"import torch" if torch_first else ""}
        from numbagrad.autograd.kernels import gemm
        a = np.ones((128, 784), np.float32)
        assert gemm.backend() == "mkl" and (gemm.dot(a, a.T) == 784).all()
        import torch
        x = torch.ones(256, 256)
        assert float((x @ x)[0, 0]) == 256 and float(torch.linalg.inv(x + 256 * torch.eye(256))[0, 0]) > 0
        print("ok")
    """
    log = tmp_path / "bindings"
    assert _child(code, {"LD_DEBUG": "bindings", "LD_DEBUG_OUTPUT": str(log)}) == "ok"
    torch_to_ours = mkl_to_mkl = 0
    for path in tmp_path.iterdir():
        with open(path, errors="replace") as f:
            for line in f:
                if "binding file" not in line:
                    continue
                source, _, target = line.partition(" to ")
                if "libmkl_" in target:
                    if "torch" in source:
                        torch_to_ours += 1
                    mkl_to_mkl += 1
    assert mkl_to_mkl > 1000  # the log saw our MKL's own bindings
    assert torch_to_ours == 0


# (m, k, n): the MNIST and wide MLP products, odd sizes, vector-shaped, an outer product
# (k = 1), just above MKL_MIN
SHAPES = [(128, 784, 256), (256, 128, 784), (128, 256, 128), (512, 1024, 4096), (77, 1000, 333),
          (1, 3000, 200), (3000, 20, 1), (300, 1, 200), (32, 32, 32)]


def _layouts(x):
    """x as C-contiguous, Fortran-ordered, and a view into a wider array (ld > cols)."""
    wide = np.zeros((x.shape[0], x.shape[1] + 5), x.dtype)
    wide[:, 2:2 + x.shape[1]] = x
    return {"C": x, "F": np.asfortranarray(x), "view": wide[:, 2:2 + x.shape[1]],
            "Tview": np.ascontiguousarray(wide.T).T[:, 2:2 + x.shape[1]]}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("m,k,n", SHAPES)
def test_products_in_every_layout(m, k, n, dtype):
    rng = np.random.default_rng(m + k + n)
    a = rng.standard_normal((m, k)).astype(dtype)
    b = rng.standard_normal((k, n)).astype(dtype)
    for la, aa in _layouts(a).items():
        for lb, bb in _layouts(b).items():
            _assert_product(gemm.dot(aa, bb), a, b)
            out = np.full((m, n), np.nan, dtype)
            assert gemm.dot(aa, bb, out=out) is out
            _assert_product(out, a, b)
            if gemm.backend() == "mkl":  # these layouts go to MKL, not to the np.dot fallback
                direct = np.full((m, n), np.nan, dtype)
                assert gemm._gemms[np.dtype(dtype)](aa, bb, direct), (la, lb)
                np.testing.assert_array_equal(direct, out)


@settings(max_examples=60, deadline=None)
@given(m=st.integers(1, 70), k=st.integers(0, 70), n=st.integers(1, 70),
       dtype=st.sampled_from([np.float32, np.float64]), ta=st.booleans(), tb=st.booleans(),
       seed=st.integers(0, 2**16))
def test_products_match_float64_reference(m, k, n, dtype, ta, tb, seed):
    rng = np.random.default_rng(seed)
    a = rng.uniform(-2, 2, (m, k)).astype(dtype)
    b = rng.uniform(-2, 2, (k, n)).astype(dtype)
    a_ = np.ascontiguousarray(a.T).T if ta else a
    b_ = np.ascontiguousarray(b.T).T if tb else b
    got = gemm.dot(a_, b_)
    if k == 0:
        assert got.shape == (m, n) and not got.any()
    else:
        _assert_product(got, a, b)


def test_reproducible_whatever_the_alignment():
    # CNR mode AUTO: the same product gives the same bits from arrays at other offsets
    rng = np.random.default_rng(1)
    a = rng.standard_normal((128, 784)).astype(np.float32)
    b = rng.standard_normal((256, 784)).astype(np.float32)
    first = gemm.dot(a, b.T)
    for offset in (1, 2, 3, 5):
        buf = np.empty(a.size + offset, np.float32)[offset:].reshape(a.shape)
        buf[...] = a
        assert buf.ctypes.data % 64 != a.ctypes.data % 64 or offset == 5
        np.testing.assert_array_equal(gemm.dot(buf, b.T), first)


def test_small_products_and_other_operands_are_numpys():
    rng = np.random.default_rng(2)
    small = rng.standard_normal((4, 8)).astype(np.float32)  # 4*8*4 < MKL_MIN
    np.testing.assert_array_equal(gemm.dot(small, small.T), np.dot(small, small.T))
    ints = rng.integers(-5, 5, (60, 70))
    np.testing.assert_array_equal(gemm.dot(ints, ints.T), np.dot(ints, ints.T))
    big = rng.standard_normal((64, 600)).astype(np.float32)
    # mixed dtypes, a non-unit-stride operand, 1-D operands: numpy's semantics
    mixed = gemm.dot(big, big.T.astype(np.float64))
    assert mixed.dtype == np.float64
    np.testing.assert_allclose(mixed, _reference(big, big.T), rtol=1e-5, atol=1e-3)
    strided = big[:, ::2]
    _assert_product(gemm.dot(strided, strided.T), strided, strided.T)
    v = big[0]
    np.testing.assert_allclose(gemm.dot(big, v), big.astype(np.float64) @ v, rtol=1e-4, atol=1e-3)
    # an `out` that is not C-contiguous, or read-only: numpy's rules (it rejects them)
    with pytest.raises(ValueError):
        gemm.dot(big, big.T, out=np.empty((64, 64), np.float32, order="F"))
    frozen = np.zeros((64, 64), np.float32)
    frozen.flags.writeable = False
    with pytest.raises(ValueError):
        gemm.dot(big, big.T, out=frozen)
    assert not frozen.any()
    # an `out` that overlaps an operand: numpy's result (it multiplies a copy)
    square = rng.standard_normal((200, 200)).astype(np.float32)
    expected = np.dot(square, square)
    assert gemm.dot(square, square, out=square) is square
    np.testing.assert_allclose(square, expected, rtol=1e-4, atol=1e-3)


def test_shape_errors_are_numpys():
    a = np.ones((64, 600), np.float32)
    with pytest.raises(ValueError, match="not aligned"):
        gemm.dot(a, a)
    with pytest.raises(ValueError):
        gemm.dot(a, a.T, out=np.empty((64, 65), np.float32))


def test_one_thread_and_python_threads():
    rng = np.random.default_rng(3)
    pairs = [(rng.standard_normal((128, 784)).astype(np.float32),
              rng.standard_normal((784, 256)).astype(np.float32)) for _ in range(3)]
    with threadpool_limits(1):
        for a, b in pairs:
            _assert_product(gemm.dot(a, b), a, b)
    errors = []

    def work(a, b):
        try:
            for _ in range(20):
                _assert_product(gemm.dot(a, b), a, b)
        except AssertionError as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=work, args=p) for p in pairs]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors and not any(t.is_alive() for t in threads)


#: a child process's check: a right product, then the backend that made it
_PRODUCT_AND_BACKEND = """
    import numpy as np
    from numbagrad.autograd.kernels import gemm
    a = np.ones((100, 700), np.float32)
    assert (gemm.dot(a, a.T) == 700).all()
    print(gemm.backend())
"""


def test_environment_opt_out_and_bad_path():
    assert _child(_PRODUCT_AND_BACKEND, {"NUMBAGRAD_MKL": "0"}) == "numpy"
    assert _child(_PRODUCT_AND_BACKEND, {"NUMBAGRAD_MKL": "/nonexistent/mkl/lib"}) == "numpy"


@pytest.mark.skipif(not MKL_INSTALLED, reason="the mkl package is not installed")
def test_workqueue_layer_keeps_numpys_products():
    assert _child(_PRODUCT_AND_BACKEND, {"NUMBA_THREADING_LAYER": "workqueue"}) == "numpy"


@pytest.mark.skipif(not MKL_INSTALLED, reason="the mkl package is not installed")
def test_cached_on_disk_and_forked_child_uses_numpy():
    code = """
        import os
        import numpy as np
        from numbagrad.autograd.kernels import gemm
        a = np.ones((100, 700), np.float32)
        gemm.dot(a, a.T)  # MKL's threads are running now
        hits = sum(gemm._gemm32.stats.cache_hits.values())
        pid = os.fork()
        if pid == 0:
            ok = gemm.backend() == "numpy" and (gemm.dot(a, a.T) == 700).all()
            os._exit(0 if ok else 1)
        _, status = os.waitpid(pid, 0)
        print(gemm.backend(), hits, os.waitstatus_to_exitcode(status))
    """
    _child("from numbagrad.autograd.kernels import gemm; import numpy as np; "
           "a = np.ones((100, 700), np.float32); gemm.dot(a, a.T); print(1)")
    backend, hits, child = _child(code).split()
    assert backend == "mkl" and int(hits) >= 1 and child == "0"


def test_omp_layer_preferred_over_tbb():
    code = """
        import numba
        import numbagrad.autograd.kernels
        print(numba.threading_layer())
    """
    assert _child(code) == "omp"
    # numba's own order (tbb first) when the environment names one; tbb only where it loads
    env_choice = _child(code, {"NUMBA_THREADING_LAYER_PRIORITY": "tbb omp workqueue"})
    probe = subprocess.run(
        [sys.executable, "-c", "import numba, numpy as np\n"
         "numba.njit(parallel=True)(lambda a: a.sum())(np.ones(10))\n"
         "print(numba.threading_layer())"],
        capture_output=True, text=True, timeout=120,
        env=dict(os.environ, NUMBA_THREADING_LAYER="tbb"))
    tbb_loads = probe.returncode == 0 and probe.stdout.strip() == "tbb"
    assert env_choice == ("tbb" if tbb_loads else "omp")


@pytest.mark.skipif(not MKL_INSTALLED, reason="the mkl package is not installed")
def test_warmup_compiles_the_linear_layers_products():
    from numbagrad.autograd.kernels import warmup

    warmup(dtypes=("float32", "float64"), parallel=False)
    for fn in (gemm._gemm32, gemm._gemm64):
        layouts = {(sig[0].layout, sig[1].layout) for sig in fn.signatures}
        assert {("C", "F"), ("F", "C"), ("C", "C")} <= layouts  # x @ W.T, g.T @ x, g @ W
