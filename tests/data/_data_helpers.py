"""Shared helpers for the data tests: is the Tensor API available yet?"""
import pytest

import numbagrad.autograd as ag

HAS_TENSOR = all(hasattr(ag, n) for n in ("Tensor", "from_numpy", "stack", "manual_seed", "Generator", "default_generator"))
needs_tensor = pytest.mark.skipif(not HAS_TENSOR, reason="numbagrad.autograd Tensor API (Tensor, from_numpy, stack, manual_seed, Generator) not available yet")


def arr(t):
    """ndarray of a Tensor (or array)."""
    return t.detach().numpy() if hasattr(t, "detach") else t
