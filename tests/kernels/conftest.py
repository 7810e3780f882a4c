"""Kernel tests: start each test with the parallel guard's estimates cleared and its choice
free, so a choice learnt in one test (or a stall on a busy machine) does not carry over."""
import pytest

from numbagrad.autograd.kernels._jit import parallel_guard


@pytest.fixture(autouse=True)
def _reset_parallel_guard():
    parallel_guard.reset()
    yield
    parallel_guard.reset()
