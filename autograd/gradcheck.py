"""Finite-difference checks of analytical gradients (float64), as torch.autograd.gradcheck."""
import numpy as np

from . import grad_mode
from .engine import grad as _grad
from .tensor import Tensor, _wrap


class GradcheckError(RuntimeError):
    """Raised by gradcheck when analytical and numerical gradients disagree."""


def _as_tuple(x):
    return x if isinstance(x, tuple) else (x,)


def _diff_inputs(inputs):
    return [i for i, t in enumerate(inputs) if isinstance(t, Tensor) and t.requires_grad]


def _outputs(fn, inputs):
    out = _as_tuple(fn(*inputs))
    return [o for o in out if isinstance(o, Tensor) and o.dtype.kind == "f"]


def _numerical_jacobian(fn, inputs, idx, eps):
    """J[k][o]: d out_o / d input_k as (numel_in, numel_out) arrays, central differences."""
    with grad_mode.no_grad():
        base = _outputs(fn, inputs)
        jac = []
        for k in idx:
            x = inputs[k]._data
            flat = x.reshape(-1) if x.flags.c_contiguous else None
            if flat is None:
                raise ValueError("gradcheck needs contiguous inputs")
            cols = [np.zeros((x.size, o._data.size)) for o in base]
            for j in range(x.size):
                orig = flat[j]
                flat[j] = orig + eps
                plus = [o._data.astype(np.float64).reshape(-1).copy() for o in _outputs(fn, inputs)]
                flat[j] = orig - eps
                minus = [o._data.astype(np.float64).reshape(-1).copy() for o in _outputs(fn, inputs)]
                flat[j] = orig
                for c, p, m in zip(cols, plus, minus):
                    c[j] = (p - m) / (2 * eps)
            jac.append(cols)
    return jac


def _analytical_jacobian(fn, inputs, idx):
    """Same layout, from reverse mode: one backward pass per output element."""
    outs = _outputs(fn, inputs)
    jac = [[np.zeros((inputs[k]._data.size, o._data.size)) for o in outs] for k in idx]
    for oi, o in enumerate(outs):
        if not o.requires_grad:
            continue
        for j in range(o._data.size):
            seed = np.zeros(o._data.size, dtype=o._data.dtype)
            seed[j] = 1
            gs = _grad(o, [inputs[k] for k in idx],
                       grad_outputs=_wrap(seed.reshape(o._data.shape), False, None, 0, None),
                       retain_graph=True, allow_unused=True)
            for kk, g in enumerate(gs):
                if g is not None:
                    jac[kk][oi][:, j] = g._data.astype(np.float64).reshape(-1)
    return jac


def gradcheck(func, inputs, *, eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=True,
              nondet_tol=0.0, check_undefined_grad=True, fast_mode=False):
    """Compare reverse-mode gradients of `func` with central finite differences.

    Inputs that require grad should be float64. Returns True, or raises GradcheckError
    (returns False when raise_exception=False) naming the input, output and worst entry.
    """
    inputs = _as_tuple(inputs)
    idx = _diff_inputs(inputs)
    if not idx:
        raise ValueError("gradcheck expects at least one input tensor with requires_grad=True")
    for k in idx:
        if inputs[k].dtype != np.float64:
            import warnings
            warnings.warn(f"gradcheck: input {k} is {inputs[k].dtype}, not float64; finite "
                          "differences will be inaccurate", stacklevel=2)
    num = _numerical_jacobian(func, inputs, idx, eps)
    ana = _analytical_jacobian(func, inputs, idx)
    for kk, k in enumerate(idx):
        if len(ana[kk]) != len(num[kk]):
            raise GradcheckError(f"gradcheck: the function gave {len(num[kk])} differentiable "
                                 f"outputs when evaluated for finite differences but "
                                 f"{len(ana[kk])} with gradients recorded")
        for oi, (a, n) in enumerate(zip(ana[kk], num[kk])):
            if not np.allclose(a, n, rtol=rtol, atol=atol):
                pos = np.unravel_index(np.argmax(np.abs(a - n)), a.shape)
                msg = (f"Jacobian mismatch for output {oi} with respect to input {k}:\n"
                       f"numerical: {n}\nanalytical: {a}\n"
                       f"worst entry at (input element, output element) {tuple(map(int, pos))}: "
                       f"numerical {n[pos]:.6g} vs analytical {a[pos]:.6g}")
                if raise_exception:
                    raise GradcheckError(msg)
                return False
    return True


def gradgradcheck(func, inputs, grad_outputs=None, *, eps=1e-6, atol=1e-5, rtol=1e-3,
                  gen_non_contig_grad_outputs=False, raise_exception=True):
    """gradcheck of the gradient itself: checks second derivatives (create_graph=True)."""
    inputs = _as_tuple(inputs)
    idx = _diff_inputs(inputs)
    with grad_mode.no_grad():
        outs = _outputs(func, inputs)
    rng = np.random.default_rng(0)
    if grad_outputs is None:
        grad_outputs = tuple(
            _wrap(rng.standard_normal(o._data.shape).astype(o._data.dtype), True, None, 0, None)
            for o in outs)
    else:
        grad_outputs = _as_tuple(grad_outputs)
    n_in = len(inputs)

    def first_grad(*args):
        ins, gos = args[:n_in], args[n_in:]
        with grad_mode.enable_grad():  # also when finite differences evaluate us under no_grad
            return _first_grad(ins, gos)

    def _first_grad(ins, gos):
        outs = _outputs(func, ins)
        diff = [ins[k] for k in idx]
        pairs = [(o, g) for o, g in zip(outs, gos) if o.requires_grad]
        if not pairs:
            return tuple()
        gs = _grad([p[0] for p in pairs], diff, grad_outputs=[p[1] for p in pairs],
                   create_graph=True, allow_unused=True)
        return tuple(g for g in gs if g is not None)

    return gradcheck(first_grad, tuple(inputs) + tuple(grad_outputs), eps=eps, atol=atol,
                     rtol=rtol, raise_exception=raise_exception)
