"""set_num_threads / get_num_threads, and the warm-up command."""
import subprocess
import sys

import numpy as np
import pytest

import numbagrad.autograd as ag


def test_set_num_threads_one_switches_parallel_kernels_off_and_back():
    from numbagrad.autograd.kernels import activations, gemm, optim_updates
    before = ag.get_num_threads()
    try:
        ag.set_num_threads(1)
        assert ag.get_num_threads() == 1
        assert activations.PAR_CHEAP > 10 ** 15 and optim_updates.PARALLEL_MIN > 10 ** 15
        assert gemm.get_num_threads() in (None, 1)  # MKL's products too, when it is loaded
        x = ag.randn(128, 784)
        w = ag.randn(256, 784, requires_grad=True)
        y = x.matmul(w.mT)
        np.testing.assert_allclose(y.detach().numpy(), x.numpy() @ w.detach().numpy().T, rtol=1e-4,
                                   atol=1e-3)
        x = ag.randn(200_000, requires_grad=True)  # above the parallel thresholds
        x.relu().sum().backward()
        assert np.array_equal(x.grad.numpy(), (x.detach().numpy() > 0).astype(np.float32))
        ag.set_num_threads(2)
        assert activations.PAR_CHEAP < 10 ** 15 and optim_updates.PARALLEL_MIN < 10 ** 15
        assert gemm.get_num_threads() in (None, 2)
    finally:
        ag.set_num_threads(max(before, 1))


def test_set_num_threads_rejects_nonsense():
    with pytest.raises(ValueError, match="positive"):
        ag.set_num_threads(0)


def test_warmup_command_runs():
    out = subprocess.run([sys.executable, "-m", "numbagrad.autograd.warmup"],
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    assert "all kernels compiled and cached" in out.stdout
