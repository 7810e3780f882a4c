"""Kernel tests: start each test with the parallel stall guard and the optimizer kernels'
twin chooser cleared, so a stall or a choice from an earlier test does not carry over."""
import pytest

from numbagrad.autograd.kernels._jit import faster_twin, parallel_guard


@pytest.fixture(autouse=True)
def _reset_parallel_guard():
    parallel_guard.off_until = 0.0
    parallel_guard.backoff = parallel_guard.BACKOFF_S
    faster_twin.reset()
    yield
    faster_twin.reset()
