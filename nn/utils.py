"""nn.utils: gradient clipping, parameter <-> vector, L1/L2 penalties.

Regularisation as in the course notes: add `lam * l1_penalty(model.parameters())`
(L1, the sum of |w|) or `lam / 2 * l2_penalty(model.parameters())` (L2, the sum of w^2)
to the loss. The L2 form with lam / 2 gives the same gradient, lam * w, as
`weight_decay=lam` in the optimizers.
"""
import math

import numbagrad.autograd as ag
from numbagrad.autograd import Tensor


def _params(parameters):
    if isinstance(parameters, Tensor):
        return [parameters]
    if hasattr(parameters, "parameters") and callable(parameters.parameters):
        return list(parameters.parameters())
    return list(parameters)


def _grads(parameters):
    return [p.grad for p in _params(parameters) if p.grad is not None]


def clip_grad_norm_(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False,
                    foreach=None):
    """Scale all gradients together so that their total norm is at most max_norm.

    The total norm is the norm of the concatenated gradients; returns it (a 0-d tensor).
    """
    grads = _grads(parameters)
    if not grads:
        return ag.tensor(0.0)
    norm_type = float(norm_type)
    with ag.no_grad():
        if norm_type == math.inf:
            norms = ag.stack([g.abs().max() for g in grads])
            total = norms.max()
        else:
            norms = ag.stack([g.norm(norm_type) for g in grads])
            total = norms.norm(norm_type)
        t = total.item()
        if error_if_nonfinite and not math.isfinite(t):
            raise RuntimeError(f"The total norm of order {norm_type} for gradients from "
                               "`parameters` is non-finite, so it cannot be clipped. To disable "
                               "this error and scale the gradients by the non-finite norm "
                               "anyway, set `error_if_nonfinite=False`")
        coef = max_norm / (t + 1e-6)
        if coef < 1:
            for g in grads:
                g.mul_(coef)
    return total


def clip_grad_value_(parameters, clip_value, foreach=None):
    """Clamp every gradient element into [-clip_value, clip_value], in place."""
    clip_value = float(clip_value)
    with ag.no_grad():
        for g in _grads(parameters):
            g.clamp_(-clip_value, clip_value)


def parameters_to_vector(parameters):
    """Concatenate the parameters, flattened, into one 1-D tensor (differentiable)."""
    return ag.cat([p.reshape(-1) for p in _params(parameters)])


def vector_to_parameters(vec, parameters):
    """Copy consecutive slices of the 1-D vec into the parameters, in place."""
    if not isinstance(vec, Tensor) or vec.ndim != 1:
        raise TypeError(f"expected vec to be a 1-D Tensor, but got "
                        f"{type(vec).__name__ if not isinstance(vec, Tensor) else vec.shape}")
    params = _params(parameters)
    total = sum(p.numel() for p in params)
    if vec.numel() != total:
        raise RuntimeError(f"vector_to_parameters: vec has {vec.numel()} elements but the "
                           f"parameters have {total}")
    i = 0
    with ag.no_grad():
        for p in params:
            n = p.numel()
            p.copy_(vec[i:i + n].reshape(*p.shape))
            i += n


def l1_penalty(parameters):
    """sum |w| over the parameters (differentiable): the course's L1 regulariser."""
    params = _params(parameters)
    if not params:
        return ag.tensor(0.0)
    total = params[0].abs().sum()
    for p in params[1:]:
        total = total + p.abs().sum()
    return total


def l2_penalty(parameters):
    """sum w^2 over the parameters (differentiable): the course's L2 regulariser.
    `lam / 2 * l2_penalty(params)` matches the optimizers' weight_decay=lam."""
    params = _params(parameters)
    if not params:
        return ag.tensor(0.0)
    total = (params[0] * params[0]).sum()
    for p in params[1:]:
        total = total + (p * p).sum()
    return total


__all__ = ["clip_grad_norm_", "clip_grad_value_", "parameters_to_vector",
           "vector_to_parameters", "l1_penalty", "l2_penalty"]
