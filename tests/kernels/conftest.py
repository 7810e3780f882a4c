"""Kernel tests: start each test with the parallel stall guard cleared, so tests that force the
parallel kernels really run them even if an earlier test hit a stall on a busy machine."""
import pytest

from numbagrad.autograd.kernels._jit import parallel_guard


@pytest.fixture(autouse=True)
def _reset_parallel_guard():
    parallel_guard.off_until = 0.0
    parallel_guard.backoff = parallel_guard.BACKOFF_S
    yield
