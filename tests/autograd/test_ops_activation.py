"""Activation ops: values and gradients against PyTorch, float32 and float64, broadcasting."""
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from strategies import OPS, compare_with_torch

torch = pytest.importorskip("torch", reason="PyTorch is the oracle for these comparisons")

SPECS = [s for s in OPS if s.cat == "activation"]


@pytest.mark.parametrize("spec", SPECS, ids=repr)
@given(data=st.data())
def test_matches_torch(spec, data):
    compare_with_torch(spec, data, torch)


@pytest.fixture
def parallel_kernels_everywhere(monkeypatch):
    """Make every size take the kernels' parallel (prange) variants."""
    from numbagrad.autograd import kernels
    from numbagrad.autograd.kernels import activations, epilogue, losses, softmax_family
    for mod, names in ((activations, ("PAR_CHEAP", "PAR_EXP")), (epilogue, ("PAR_MIN_ELEMENTS",)),
                       (losses, ("PAR_MIN_ELEMENTS",)), (softmax_family, ("PAR_MIN_ELEMENTS",))):
        for n in names:
            if hasattr(mod, n):
                monkeypatch.setattr(mod, n, 1)
    if hasattr(kernels.set_parallel, "_defaults"):
        monkeypatch.delattr(kernels.set_parallel, "_defaults")
    yield


@pytest.mark.parametrize("spec", [s for s in SPECS if s.name in (
    "relu", "sigmoid", "gelu", "gelu_tanh", "elu", "silu", "softplus", "softmax", "log_softmax",
    "cross_entropy", "linear")], ids=repr)
@given(data=st.data())
@settings(max_examples=1, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_parallel_kernel_variants_match_torch(spec, data, parallel_kernels_everywhere):
    compare_with_torch(spec, data, torch)
