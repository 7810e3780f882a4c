"""Shared helpers for the nn tests: numbagrad <-> torch conversion, closeness, gradcheck."""
import numpy as np

import numbagrad.autograd as ag

TOL = {np.dtype(np.float32): dict(rtol=2e-4, atol=2e-5),
       np.dtype(np.float64): dict(rtol=1e-7, atol=1e-9)}


def tol(dtype):
    """Comparison tolerances for a numpy dtype."""
    return TOL[np.dtype(dtype)]


def close(ours, theirs, dtype=None, **kw):
    """Assert a numbagrad tensor (or array) matches a torch tensor (or array)."""
    a = ours.detach().numpy() if hasattr(ours, "detach") and not isinstance(ours, np.ndarray) \
        else np.asarray(ours)
    b = theirs.detach().numpy() if hasattr(theirs, "detach") else np.asarray(theirs)
    t = dict(tol(dtype or a.dtype if a.dtype.kind == "f" else np.float64))
    t.update(kw)
    assert a.shape == b.shape, (a.shape, b.shape)
    np.testing.assert_allclose(a, b, **t)


def pair(arr, requires_grad=True):
    """The same values as a numbagrad leaf and a torch leaf."""
    import torch
    arr = np.array(arr)  # (ascontiguousarray would make 0-d arrays 1-d)
    ours = ag.tensor(arr.copy(), requires_grad=requires_grad and arr.dtype.kind == "f")
    theirs = torch.tensor(arr.copy(), requires_grad=requires_grad and arr.dtype.kind == "f")
    return ours, theirs


def gradcheck(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-3):
    """The project's gradcheck (float64 inputs)."""
    return ag.gradcheck(fn, inputs, eps=eps, atol=atol, rtol=rtol)
