"""Random programs: chains and diamonds of ops on broadcastable leaves, against PyTorch.

Each program reuses intermediate results (so gradients accumulate through the engine),
mixes broadcasting, keepdim reductions and activations, and is differentiated both by
backward() and by grad(create_graph=True).
"""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import numbagrad.autograd as ag
from strategies import AG, Namespace, programs, run_program, to_numpy

torch = pytest.importorskip("torch", reason="PyTorch is the oracle for these comparisons")
T = Namespace(torch, torch.nn.functional, is_torch=True)


@given(prog=programs(), seed=st.integers(0, 1000))
@settings(max_examples=80)
def test_random_programs_match_torch(prog, seed):
    dtype, leaves, steps = prog
    tol = dict(rtol=2e-4, atol=2e-5) if dtype == np.float32 else dict(rtol=1e-9, atol=1e-11)
    xa, la = run_program(AG, leaves, steps, seed)
    xt, lt = run_program(T, leaves, steps, seed)
    np.testing.assert_allclose(to_numpy(la), to_numpy(lt), **tol)
    graph = ag.grad(la, xa, create_graph=True, retain_graph=True, allow_unused=True)
    la.backward()
    lt.backward()
    for a, g, t in zip(xa, graph, xt):
        ref = to_numpy(t.grad) if t.grad is not None else np.zeros(t.shape)
        for got in (a.grad, g):
            got = to_numpy(got) if got is not None else np.zeros(ref.shape)
            assert got.dtype == ref.dtype and got.shape == ref.shape
            np.testing.assert_allclose(got, ref, **tol)
