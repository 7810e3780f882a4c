"""Linalg ops: values and gradients against PyTorch, float32 and float64, broadcasting."""
import pytest
from hypothesis import given, strategies as st

from strategies import OPS, compare_with_torch

torch = pytest.importorskip("torch", reason="PyTorch is the oracle for these comparisons")

SPECS = [s for s in OPS if s.cat == "linalg"]


@pytest.mark.parametrize("spec", SPECS, ids=repr)
@given(data=st.data())
def test_matches_torch(spec, data):
    compare_with_torch(spec, data, torch)
