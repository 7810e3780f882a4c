"""A small testing kit for your own ops, `Function`s and optimizers.

    from numbagrad.autograd import testing
    testing.gradcheck(MyFn.apply, (x,))                      # finite differences, float64
    testing.assert_matches_torch(lambda a: MyFn.apply(a),    # values and gradients
                                 lambda a: my_torch_version(a), np.random.randn(3, 4))
    testing.compare_optimizers(optim.Adam, torch.optim.Adam, steps=20, lr=0.1)

    from hypothesis import given
    @given(testing.tensors(shape=testing.shapes(), requires_grad=True))
    def test_my_op(x): assert testing.gradcheck(my_op, (x,))

Contents:
- `gradcheck`, `gradgradcheck`, `GradcheckError` (the same functions as
  `numbagrad.autograd.gradcheck`).
- hypothesis strategies (hypothesis must be installed): `shapes`, `broadcastable_shapes`,
  `arrays`, `tensors`.
- PyTorch parity (PyTorch must be installed): `assert_matches_torch`,
  `compare_optimizers`. Without PyTorch they skip the calling test when run under pytest
  and raise ImportError otherwise.
"""
import sys

import numpy as np

from .engine import grad as _grad
from .factories import tensor as _tensor
from .gradcheck import GradcheckError, gradcheck, gradgradcheck
from .tensor import Tensor

__all__ = ["gradcheck", "gradgradcheck", "GradcheckError", "shapes", "broadcastable_shapes",
           "arrays", "tensors", "assert_matches_torch", "compare_optimizers", "require_torch"]


# ----------------------------------------------------------------------------- hypothesis
def _hyp():
    try:
        import hypothesis.extra.numpy as hnp
        import hypothesis.strategies as st
    except ImportError:
        raise ImportError("numbagrad.autograd.testing strategies need hypothesis: "
                          "`pip install hypothesis`") from None
    return st, hnp


def shapes(min_dims=0, max_dims=3, min_side=1, max_side=4):
    """Strategy for array shapes (tuples), small by default so checks stay fast."""
    _, hnp = _hyp()
    return hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=min_side,
                            max_side=max_side)


def broadcastable_shapes(n=2, min_dims=0, max_dims=3, min_side=1, max_side=4):
    """Strategy for a tuple of `n` shapes that broadcast together (numpy/PyTorch rules)."""
    _, hnp = _hyp()
    return hnp.mutually_broadcastable_shapes(
        num_shapes=n, min_dims=min_dims, max_dims=max_dims, min_side=min_side,
        max_side=max_side).map(lambda r: r.input_shapes)


def _default_elements(dtype, lo=-3.0, hi=3.0):
    st, _ = _hyp()
    dt = np.dtype(dtype)
    if dt.kind == "f":
        return st.floats(lo, hi, allow_nan=False, allow_infinity=False,
                         width=min(dt.itemsize * 8, 64))
    if dt.kind in "iu":
        return st.integers(int(max(lo, np.iinfo(dt).min)), int(min(hi, np.iinfo(dt).max)))
    if dt.kind == "b":
        return st.booleans()
    raise ValueError(f"arrays: no default elements for dtype {dt}; pass elements=")


def arrays(dtype="float64", shape=None, elements=None):
    """Strategy for numpy arrays.

    `shape`: a tuple, a strategy of tuples, or None (`shapes()`); `elements`: a
    strategy for the values (default: finite floats in [-3, 3], or integers in [-3, 3]).
    """
    _, hnp = _hyp()
    return hnp.arrays(np.dtype(dtype), shapes() if shape is None else shape,
                      elements=_default_elements(dtype) if elements is None else elements)


def tensors(dtype="float64", shape=None, elements=None, requires_grad=False):
    """Strategy for numbagrad Tensors (built on `arrays`); float64 suits gradcheck."""
    return arrays(dtype, shape, elements).map(
        lambda a: _tensor(a, requires_grad=requires_grad and a.dtype.kind == "f"))


# ----------------------------------------------------------------------------- torch
def require_torch():
    """Import and return torch; skip the calling pytest test (or raise ImportError) if absent."""
    try:
        import torch
    except ImportError:
        msg = ("PyTorch is not installed, so the comparison against it cannot run "
               "(`pip install torch`)")
        if "pytest" in sys.modules:
            import pytest
            pytest.skip(msg)
        raise ImportError(msg) from None
    return torch


def _as_array(x):
    if isinstance(x, Tensor):
        return x.detach().numpy()
    return np.asarray(x)


def _outs(res):
    return list(res) if isinstance(res, (tuple, list)) else [res]


def _close_or_raise(ours, theirs, atol, rtol, what):
    ours = np.asarray(ours, dtype=np.float64) if np.asarray(ours).dtype.kind in "fc" else \
        np.asarray(ours)
    theirs = np.asarray(theirs, dtype=ours.dtype)
    if ours.shape != theirs.shape:
        raise AssertionError(f"{what}: shape {ours.shape} (numbagrad) != {theirs.shape} "
                             f"(PyTorch)")
    if ours.dtype.kind in "fc":
        ok = np.allclose(ours, theirs, atol=atol, rtol=rtol, equal_nan=True)
    else:
        ok = np.array_equal(ours, theirs)
    if not ok:
        diff = np.abs(ours.astype(np.float64) - theirs.astype(np.float64))
        worst = np.unravel_index(np.nanargmax(diff), diff.shape) if diff.size else ()
        raise AssertionError(
            f"{what} differs from PyTorch: max abs diff {np.nanmax(diff):.3g} at index "
            f"{tuple(int(i) for i in worst)} (numbagrad {ours[worst]!r}, PyTorch "
            f"{theirs[worst]!r}); atol={atol}, rtol={rtol}, shape {ours.shape}")


def assert_matches_torch(fn_ours, fn_torch, *inputs, atol=1e-6, rtol=1e-5, check_grad=True,
                         seed=0):
    """Run `fn_ours` on numbagrad tensors and `fn_torch` on torch tensors made from the same
    `inputs` (numpy arrays, Tensors, lists or scalars; non-tensor values such as Python
    numbers are passed as they are), then compare every output's values and, with
    `check_grad`, the gradients of the float inputs (for a random, seeded output
    gradient). Raises AssertionError naming the output or input and the worst element.
    Float inputs keep their dtype (use float64 for tight tolerances). Without PyTorch it
    skips the calling test under pytest, else raises ImportError.
    """
    torch = require_torch()
    ours_in, torch_in, diff = [], [], []
    for x in inputs:
        if isinstance(x, (Tensor, np.ndarray, list)):
            a = _as_array(x)
            need = check_grad and a.dtype.kind == "f"
            ours_in.append(_tensor(a.copy(), requires_grad=need))
            torch_in.append(torch.tensor(a.copy(), requires_grad=need))
            if need:
                diff.append(len(ours_in) - 1)
        else:
            ours_in.append(x)
            torch_in.append(x)
    res_o = _outs(fn_ours(*ours_in))
    res_t = _outs(fn_torch(*torch_in))
    if len(res_o) != len(res_t):
        raise AssertionError(f"numbagrad returned {len(res_o)} outputs, PyTorch {len(res_t)}")
    for i, (o, t) in enumerate(zip(res_o, res_t)):
        _close_or_raise(_as_array(o), t.detach().cpu().numpy() if hasattr(t, "detach") else t,
                        atol, rtol, f"output {i}")
    if not (check_grad and diff):
        return
    rng = np.random.default_rng(seed)
    pairs = [(o, t) for o, t in zip(res_o, res_t)
             if isinstance(o, Tensor) and o.requires_grad and o.dtype.kind == "f"]
    if not pairs:
        raise AssertionError("check_grad: no numbagrad output requires grad (is the function "
                             "differentiable in its float inputs?)")
    gouts = [rng.standard_normal(o.shape).astype(o.dtype) for o, _ in pairs]
    g_o = _grad([o for o, _ in pairs], [ours_in[k] for k in diff],
                [_tensor(g) for g in gouts], allow_unused=True)
    t_outs = [t for _, t in pairs]
    if any(not t.requires_grad for t in t_outs):
        raise AssertionError("check_grad: a PyTorch output does not require grad while "
                             "numbagrad's does")
    g_t = torch.autograd.grad(t_outs, [torch_in[k] for k in diff],
                              [torch.tensor(g) for g in gouts], allow_unused=True)
    for k, a, b in zip(diff, g_o, g_t):
        shape = ours_in[k].shape
        a = np.zeros(shape) if a is None else _as_array(a)
        b = np.zeros(shape) if b is None else b.detach().cpu().numpy()
        _close_or_raise(a, b, atol, rtol, f"gradient of input {k}")


def _quartic_loss(params, consts):
    """A smooth, non-quadratic test loss written with methods both libraries share."""
    total = 0.0
    for p, (c, s) in zip(params, consts):
        d = p - c
        total = total + (d * d * s).sum() + 0.1 * (p * p * p * p).sum()
    return total


def compare_optimizers(ours_cls, torch_cls, steps=20, *, shapes=((3, 4), (4,)), seed=0,
                       atol=1e-6, rtol=1e-5, dtype="float64", loss=None, **hyper):
    """Run `ours_cls` and `torch_cls` (optimizer classes) with the same hyperparameters
    (`**hyper`, e.g. lr=0.1, momentum=0.9) from the same starting parameters for `steps`
    steps on the same loss, and check the parameters agree after every step.

    `loss(params)` may be given (it must use only operations both libraries have, e.g.
    arithmetic and `.sum()`); the default is a smooth quartic with a different scale per
    coordinate. Returns the largest absolute difference seen. Raises AssertionError
    naming the first step and parameter that disagree. Needs PyTorch (see
    `require_torch`).
    """
    torch = require_torch()
    rng = np.random.default_rng(seed)
    starts = [rng.standard_normal(s).astype(dtype) for s in shapes]
    consts = [(rng.standard_normal(s).astype(dtype), rng.uniform(0.5, 3.0, s).astype(dtype))
              for s in shapes]
    ours = [_tensor(a.copy(), requires_grad=True) for a in starts]
    theirs = [torch.tensor(a.copy(), requires_grad=True) for a in starts]
    c_o = [(_tensor(c), _tensor(s)) for c, s in consts]
    c_t = [(torch.tensor(c), torch.tensor(s)) for c, s in consts]
    f_o = (lambda ps: loss(ps)) if loss is not None else (lambda ps: _quartic_loss(ps, c_o))
    f_t = (lambda ps: loss(ps)) if loss is not None else (lambda ps: _quartic_loss(ps, c_t))
    opt_o = ours_cls(ours, **hyper)
    opt_t = torch_cls(theirs, **hyper)
    worst = 0.0
    for step in range(steps):
        opt_o.zero_grad()
        opt_t.zero_grad()
        f_o(ours).backward()
        f_t(theirs).backward()
        opt_o.step()
        opt_t.step()
        for i, (a, b) in enumerate(zip(ours, theirs)):
            x, y = _as_array(a), b.detach().numpy()
            worst = max(worst, float(np.max(np.abs(x - y))) if x.size else 0.0)
            _close_or_raise(x, y, atol, rtol,
                            f"{ours_cls.__name__} vs {torch_cls.__name__}: parameter {i} "
                            f"after step {step + 1}")
    return worst

