"""Fused in-place optimizer updates on Tensors (one numba pass over memory per step).

These functions are what `numbagrad.optim` uses when ``fused`` is not False: each
updates a parameter and its optimizer buffers in place in a single pass (reading every
array once, writing each updated array once), bumping the version counters of the
tensors it writes. They follow PyTorch's reference update order (see
``numbagrad.autograd.kernels.optim_updates``), so results agree with
``torch.optim.<X>(foreach=False)`` to about one rounding per step.

All tensors must be C-contiguous, of one dtype (float32 or float64) and of the
parameter's shape (the gradient may be non-contiguous: it is then copied first).
`eligible` tells whether a parameter qualifies. Scalars are Python numbers; they are
combined in double precision (as PyTorch does in Python) and then cast to the arrays'
dtype. Use them directly to write your own optimizer loop::

    from numbagrad.autograd import fused
    with ag.no_grad():
        fused.adam_(p, p.grad, m, v, None, step=t, lr=1e-3, beta1=0.9, beta2=0.999,
                    eps=1e-8, weight_decay=0.0, amsgrad=False, maximize=False,
                    decoupled=False)
"""
import numpy as np

from .ops.inplace import _bump
from .tensor import Tensor

__all__ = ["eligible", "adam_", "sgd_", "rmsprop_", "adagrad_"]

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))
_K = None


def _kernels():
    global _K
    if _K is None:  # import numba lazily: `import numbagrad.autograd` stays light
        from .kernels import optim_updates
        _K = optim_updates
    return _K


def eligible(param, grad):
    """True if `param` (with gradient `grad`) can be updated by the fused kernels.

    That is: both are Tensors of the same shape and dtype, float32 or float64, and the
    parameter's memory is C-contiguous and writable.
    """
    if not isinstance(param, Tensor) or not isinstance(grad, Tensor):
        return False
    d, g = param._data, grad._data
    return (d.dtype in _FLOATS and g.dtype == d.dtype and g.shape == d.shape
            and d.flags.c_contiguous and d.flags.writeable)


def _flat(t, name, ref):
    """t's memory as a flat view; ref is the parameter's (un-flattened) array."""
    if t is None:
        return None
    d = t._data
    if d.dtype != ref.dtype or d.shape != ref.shape or not d.flags.c_contiguous:
        raise ValueError(
            f"fused update: {name} must be a C-contiguous {ref.dtype} tensor of shape "
            f"{tuple(ref.shape)} like the parameter; got dtype {d.dtype}, shape "
            f"{tuple(d.shape)}, contiguous={d.flags.c_contiguous}")
    return d.reshape(-1)


def _check(param, grad):
    if not eligible(param, grad):
        d = param._data
        g = getattr(grad, "_data", None)
        raise ValueError(
            "fused update: the parameter must be a C-contiguous writable float32/float64 tensor "
            "and the gradient a tensor of the same shape and dtype; got parameter "
            f"{d.dtype}{tuple(d.shape)} (contiguous={d.flags.c_contiguous}) and gradient "
            + (f"{g.dtype}{tuple(g.shape)}" if g is not None else type(grad).__name__))
    g = grad._data
    if not g.flags.c_contiguous:
        g = np.ascontiguousarray(g)
    return param._data, g.reshape(-1)


def _pick(kernel_pair, n):
    return kernel_pair[1] if n >= _kernels().PARALLEL_MIN else kernel_pair[0]


def adam_(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, step, lr, beta1, beta2, eps,
          weight_decay, amsgrad, maximize, decoupled):
    """One Adam/AdamW update in place (PyTorch's Adam algorithm, step count `step` >= 1).

    ``decoupled=True`` is AdamW (``param *= 1 - lr * weight_decay``); otherwise weight
    decay is added to the gradient (L2). ``max_exp_avg_sq`` is required when
    ``amsgrad`` (else it may be None). Updates param, exp_avg, exp_avg_sq (and
    max_exp_avg_sq).
    """
    ref, g = _check(param, grad)
    p = ref.reshape(-1)
    dt = p.dtype.type
    m = _flat(exp_avg, "exp_avg", ref)
    v = _flat(exp_avg_sq, "exp_avg_sq", ref)
    vmax = _flat(max_exp_avg_sq, "max_exp_avg_sq", ref) if amsgrad else v
    bc1 = 1 - beta1 ** step
    bc2 = 1 - beta2 ** step
    w1 = dt(1 - beta1)
    _pick(_kernels().adam, p.size)(
        p, g, m, v, vmax, w1, dt(1) - w1, bool(abs(w1) < 0.5), dt(beta2), dt(1 - beta2),
        dt(eps), dt(weight_decay), dt(1 - lr * weight_decay), dt(-(lr / bc1)), dt(bc2 ** 0.5),
        bool(amsgrad), bool(maximize), bool(decoupled))
    for t in (param, exp_avg, exp_avg_sq):
        _bump(t)
    if amsgrad:
        _bump(max_exp_avg_sq)
    return param


def sgd_(param, grad, momentum_buffer, lr, momentum=0.0, dampening=0.0, weight_decay=0.0,
         nesterov=False, maximize=False, first_step=False):
    """One SGD update in place (PyTorch's SGD algorithm).

    With ``momentum != 0`` a ``momentum_buffer`` tensor is required; ``first_step=True``
    initialises it to the (weight-decayed) gradient, as PyTorch does on the first step,
    instead of ``momentum * buf + (1 - dampening) * g``.
    """
    ref, g = _check(param, grad)
    p = ref.reshape(-1)
    dt = p.dtype.type
    use_buf = momentum != 0
    buf = _flat(momentum_buffer, "momentum_buffer", ref) if use_buf else p
    _pick(_kernels().sgd, p.size)(
        p, g, buf, dt(-lr), dt(momentum), dt(1 - dampening), dt(weight_decay), bool(nesterov),
        bool(maximize), bool(first_step), bool(use_buf))
    _bump(param)
    if use_buf:
        _bump(momentum_buffer)
    return param


def rmsprop_(param, grad, square_avg, grad_avg, momentum_buffer, lr, alpha, eps, weight_decay,
             momentum, centered, maximize):
    """One RMSprop update in place (PyTorch's RMSprop algorithm).

    ``grad_avg`` is required when ``centered``, ``momentum_buffer`` when ``momentum > 0``
    (either may be None otherwise).
    """
    ref, g = _check(param, grad)
    p = ref.reshape(-1)
    dt = p.dtype.type
    sq = _flat(square_avg, "square_avg", ref)
    ga = _flat(grad_avg, "grad_avg", ref) if centered else sq
    use_buf = momentum > 0
    buf = _flat(momentum_buffer, "momentum_buffer", ref) if use_buf else sq
    c = dt(1 - alpha)
    _pick(_kernels().rmsprop, p.size)(
        p, g, sq, ga, buf, dt(-lr), dt(alpha), c, dt(1) - c, bool(abs(c) < 0.5), dt(eps),
        dt(weight_decay), dt(momentum), bool(centered), bool(maximize), bool(use_buf))
    _bump(param)
    _bump(square_avg)
    if centered:
        _bump(grad_avg)
    if use_buf:
        _bump(momentum_buffer)
    return param


def adagrad_(param, grad, state_sum, step, lr, lr_decay, weight_decay, eps, maximize):
    """One Adagrad update in place (PyTorch's Adagrad algorithm, step count `step` >= 1)."""
    ref, g = _check(param, grad)
    p = ref.reshape(-1)
    dt = p.dtype.type
    s = _flat(state_sum, "state_sum", ref)
    clr = lr / (1 + (step - 1) * lr_decay)
    _pick(_kernels().adagrad, p.size)(p, g, s, dt(-clr), dt(eps), dt(weight_decay),
                                      bool(maximize))
    _bump(param)
    _bump(state_sum)
    return param
