"""Shared helpers for the optimizer tests: run the same gradient sequence through ours and torch."""
import numpy as np

import numbagrad.autograd as ag

SHAPES = [(), (7,), (4, 5), (2, 3, 4)]


def make_params(shapes, dtype=np.float64, seed=0):
    """Arrays of the given shapes with reproducible values."""
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(s).astype(dtype) for s in shapes]


def grad_fn(p, k, i):
    """A smooth, mildly nonlinear gradient of parameter i at step k (numpy, from its values)."""
    w = 1.0 + 0.25 * (i + 1)
    return np.asarray(w * p - 0.5 + 0.1 * p ** 3 + 0.05 * np.cos(p + k), dtype=p.dtype)


def run_ours(cls, arrays, kwargs, steps, skip=None, opt_kwargs_groups=None):
    """Run `steps` steps of our optimizer; returns (list of param trajectories' last values, opt)."""
    params = [ag.tensor(a.copy(), requires_grad=True) for a in arrays]
    opt = cls(params if opt_kwargs_groups is None else opt_kwargs_groups(params), **kwargs)
    for k in range(steps):
        for i, p in enumerate(params):
            if skip is not None and skip(k, i):
                p.grad = None
            else:
                p.grad = ag.from_numpy(grad_fn(p.detach().numpy().copy(), k, i))
        opt.step()
    return [p.detach().numpy().copy() for p in params], opt


def run_torch(torch, cls, arrays, kwargs, steps, skip=None, opt_kwargs_groups=None):
    """The same with torch.optim."""
    params = [torch.tensor(a.copy(), requires_grad=True) for a in arrays]
    opt = cls(params if opt_kwargs_groups is None else opt_kwargs_groups(params), **kwargs)
    for k in range(steps):
        for i, p in enumerate(params):
            if skip is not None and skip(k, i):
                p.grad = None
            else:
                p.grad = torch.from_numpy(grad_fn(p.detach().numpy().copy(), k, i))
        opt.step()
    return [p.detach().numpy().copy() for p in params], opt


def assert_close(ours, theirs, rtol):
    """Elementwise relative closeness (atol scaled by rtol for values near zero)."""
    for a, b in zip(ours, theirs):
        assert a.dtype == b.dtype
        np.testing.assert_allclose(a, b, rtol=rtol, atol=rtol * 1e-2)
