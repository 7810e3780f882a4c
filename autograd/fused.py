"""Fused in-place optimizer updates on Tensors (one numba pass over memory per step).

These functions are what `numbagrad.optim` uses unless ``fused=False``/``foreach=False``:
each updates parameters and their optimizer buffers in place in a single pass (reading
every array once, writing each updated array once), bumping the version counters of the
tensors it writes. They follow PyTorch's reference update order (see
``numbagrad.autograd.kernels.optim_updates``), so results agree with
``torch.optim.<X>(foreach=False)`` to about one rounding per step.

Two forms per optimizer:

* ``adam_(param, grad, exp_avg, ..., step, lr, ...)``: one parameter, ``step`` the
  (already incremented) step count as a number;
* ``adam_group_(params, grads, exp_avgs, ..., steps, lr, ...)``: lists of tensors (the
  multi-tensor path, like PyTorch's ``_fused_adam_``), ``steps`` the 0-d step-count
  tensors, incremented here. The per-tensor overhead is about 2-3 us, so a model with
  hundreds of small parameters does not pay a Python-level price per op.

All tensors must be C-contiguous, of one dtype (float32 or float64) and of the
parameter's shape (a non-contiguous gradient is copied first); `eligible` tells whether a
parameter qualifies. Hyperparameters are Python numbers, combined in double precision
(as PyTorch does in Python) and then cast to the arrays' dtype. Parameters of at least
``optim_updates.PARALLEL_MIN`` elements may use the ``prange`` kernels (``faster_twin``
times both); plain SGD (no momentum, weight decay or maximize) on parameters of at least
``AXPY_MIN`` elements is numpy's OpenBLAS ``axpy`` when it is found (``kernels.blas``),
which may round float32 with a fused multiply-add. Example::

    from numbagrad.autograd import fused
    with ag.no_grad():
        fused.adam_(p, p.grad, m, v, None, step=t, lr=1e-3, beta1=0.9, beta2=0.999,
                    eps=1e-8, weight_decay=0.0, amsgrad=False, maximize=False,
                    decoupled=False)
"""
import numpy as np

from .ops.inplace import _bump
from .tensor import Tensor

__all__ = ["eligible", "adam_", "sgd_", "rmsprop_", "adagrad_", "adam_group_", "sgd_group_",
           "rmsprop_group_", "adagrad_group_"]

_F32, _F64 = np.dtype(np.float32), np.dtype(np.float64)
_K = _axpy_ = None


#: plain SGD updates of at least this many elements go through BLAS axpy when numpy's
#: OpenBLAS is found. Measured right after a GEMM (float32, 2 cores, us): 256k elements
#: axpy 56 / numba 60-69, 1M 151 / 273-283, 16M 3259 / 6985-7028; 64k 49 / 21-32.
AXPY_MIN = 1 << 19


def _kernels():
    global _K, _axpy_
    if _K is None:  # import numba lazily: `import numbagrad.autograd` stays light
        from .kernels import blas, optim_updates
        _K = optim_updates
        _axpy_ = blas.axpy_
    return _K


def eligible(param, grad):
    """True if `param` (with gradient `grad`) can be updated by the fused kernels.

    That is: both are Tensors of the same shape and dtype, float32 or float64, and the
    parameter's memory is C-contiguous and writable.
    """
    if not isinstance(param, Tensor) or not isinstance(grad, Tensor):
        return False
    d, g = param._data, grad._data
    dt = d.dtype
    if not (dt == _F32 or dt == _F64) or g.dtype != dt or g.shape != d.shape:
        return False
    flags = d.flags
    return flags.c_contiguous and flags.writeable


def _flat(t, name, ref):
    """t's memory as a 1-D view, after checking it against the parameter's array ``ref``."""
    d = t._data
    if d.dtype != ref.dtype or d.shape != ref.shape or not d.flags.c_contiguous:
        raise ValueError(
            f"fused update: {name} must be a C-contiguous {ref.dtype} tensor of shape "
            f"{tuple(ref.shape)} like the parameter; got dtype {d.dtype}, shape "
            f"{tuple(d.shape)}, contiguous={d.flags.c_contiguous}")
    return d if d.ndim == 1 else d.reshape(-1)


def _param_grad(param, grad, checked=False):
    """(param array, its flat view, flat contiguous grad); ``checked``: `eligible` already held."""
    if not checked and not eligible(param, grad):
        d = param._data
        g = getattr(grad, "_data", None)
        raise ValueError(
            "fused update: the parameter must be a C-contiguous writable float32/float64 tensor "
            "and the gradient a tensor of the same shape and dtype; got parameter "
            f"{d.dtype}{tuple(d.shape)} (contiguous={d.flags.c_contiguous}) and gradient "
            + (f"{g.dtype}{tuple(g.shape)}" if g is not None else type(grad).__name__))
    d, g = param._data, grad._data
    if not g.flags.c_contiguous:
        g = np.ascontiguousarray(g)
    if d.ndim != 1:
        return d, d.reshape(-1), g.reshape(-1)
    return d, d, g


def _run(pair, n, *args):
    """Run a (serial, parallel) kernel pair: parallel (guarded) from PARALLEL_MIN elements."""
    if n >= _K.PARALLEL_MIN:
        return _K.faster_twin(pair[0], pair[1], n, *args)
    return pair[0](*args)


#: parameters below this size are updated at once, one serial kernel call each (batching
#: costs more than it saves there: tiny-MLP SGD step 9.7 us this way, 14.3 us batched)
BATCH_MIN = 4096


def _run_batch(pair, multi_pair, kind, columns, arity, sc, mode):
    """Update a batch of tensors (``columns``: tuples of flat arrays, the first ``arity`` of
    them the kernel's arguments): one ``multi_pair`` call (update ``kind``) when together
    they reach the parallel size (one parallel region instead of one per tensor), else one
    ``pair`` call each."""
    total = 0
    for c in columns:
        total += c[0].size
    if len(columns) == 1 or total < _K.PARALLEL_MIN:
        for c in columns:
            _run(pair, c[0].size, *c[:arity], sc, mode)
    else:
        table, offsets = _K.address_table(columns)
        _run(multi_pair, total, table, offsets, sc, mode, kind)


def _step_of(t):
    """Increment a 0-d step tensor in place; return the new count as a float."""
    a = t._data
    a[()] = float(a) + 1.0  # one rounding to a's dtype, like torch's `step_t += 1`
    _bump(t)
    return float(a)


# ---------------------------------------------------------------------- Adam / AdamW
def _adam_scalars(dtype, step, lr, beta1, beta2, eps, weight_decay, amsgrad, maximize,
                  decoupled):
    bc1 = 1 - beta1 ** step
    bc2 = 1 - beta2 ** step
    w1 = dtype.type(1 - beta1)
    sc = np.array([w1, dtype.type(1) - w1, beta2, 1 - beta2, eps, weight_decay,
                   1 - lr * weight_decay, -(lr / bc1), bc2 ** 0.5], dtype=dtype)
    K = _K
    mode = ((K.AMSGRAD if amsgrad else 0) | (K.MAXIMIZE if maximize else 0)
            | (K.DECOUPLED if decoupled else 0) | (K.SMALL_W if abs(w1) < 0.5 else 0))
    return sc, mode


def adam_(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, step, lr, beta1, beta2, eps,
          weight_decay, amsgrad, maximize, decoupled):
    """One Adam/AdamW update in place (PyTorch's Adam algorithm, step count `step` >= 1).

    ``decoupled=True`` is AdamW (``param *= 1 - lr * weight_decay``); otherwise weight
    decay is added to the gradient (L2). ``max_exp_avg_sq`` is required when
    ``amsgrad`` (else it may be None). Updates param, exp_avg, exp_avg_sq (and
    max_exp_avg_sq).
    """
    K = _kernels()
    ref, p, g = _param_grad(param, grad)
    m = _flat(exp_avg, "exp_avg", ref)
    v = _flat(exp_avg_sq, "exp_avg_sq", ref)
    vmax = _flat(max_exp_avg_sq, "max_exp_avg_sq", ref) if amsgrad else v
    sc, mode = _adam_scalars(p.dtype, step, lr, beta1, beta2, eps, weight_decay, amsgrad,
                             maximize, decoupled)
    _run(K.adam, p.size, p, g, m, v, vmax, sc, mode)
    _bump(param)
    _bump(exp_avg)
    _bump(exp_avg_sq)
    if amsgrad:
        _bump(max_exp_avg_sq)
    return param


def adam_group_(params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs, steps, lr, beta1, beta2,
                eps, weight_decay, amsgrad, maximize, decoupled, checked=False):
    """`adam_` over lists of tensors; ``steps`` are 0-d step tensors, incremented here.

    Tensors of one dtype and step count are updated by one kernel call (``adam_multi``:
    one parallel region instead of one per tensor; 100 tensors of 100k float32 on 2
    threads: 7.5 -> 6.1 ms).

    ``max_exp_avg_sqs`` may be None unless ``amsgrad``. Parameters may differ in shape and
    dtype (float32/float64); each must satisfy `eligible` (``checked=True``: the caller
    has verified that already, as the optimizers do, and the check is skipped; the
    buffers are still checked).
    """
    K = _kernels()
    batches = {}  # (step, dtype) -> ((scalars, mode), [(p, g, m, v, vmax) flat arrays])
    for i, param in enumerate(params):
        ref, p, g = _param_grad(param, grads[i], checked)
        fm, fv = _flat(exp_avgs[i], "exp_avg", ref), _flat(exp_avg_sqs[i], "exp_avg_sq", ref)
        fvmax = _flat(max_exp_avg_sqs[i], "max_exp_avg_sq", ref) if amsgrad else fv
        step = _step_of(steps[i])
        key = (step, p.dtype)
        batch = batches.get(key)
        if batch is None:
            batch = batches[key] = (_adam_scalars(p.dtype, step, lr, beta1, beta2, eps,
                                                  weight_decay, amsgrad, maximize, decoupled), [])
        if p.size < BATCH_MIN:  # small: at once, the serial kernel
            K.adam[0](p, g, fm, fv, fvmax, *batch[0])
        else:
            batch[1].append((p, g, fm, fv, fvmax))
    # one kernel call per batch (a parameter listed twice ticks its step twice, so its
    # second update lands in a later batch, after the first)
    for (sc, mode), columns in batches.values():
        _run_batch(K.adam, K.adam_multi, K.MULTI_ADAM, columns, 5, sc, mode)
    for i, param in enumerate(params):
        _bump(param)
        _bump(exp_avgs[i])
        _bump(exp_avg_sqs[i])
        if amsgrad:
            _bump(max_exp_avg_sqs[i])


# ---------------------------------------------------------------------- SGD
def _sgd_scalars(dtype, lr, momentum, dampening, weight_decay, nesterov, maximize):
    K = _K
    sc = np.array([-lr, momentum, 1 - dampening, weight_decay], dtype=dtype)
    mode = ((K.NESTEROV if nesterov else 0) | (K.MAXIMIZE if maximize else 0)
            | (K.USE_BUF if momentum != 0 else 0))
    return sc, mode


def sgd_(param, grad, momentum_buffer, lr, momentum=0.0, dampening=0.0, weight_decay=0.0,
         nesterov=False, maximize=False, first_step=False):
    """One SGD update in place (PyTorch's SGD algorithm).

    With ``momentum != 0`` a ``momentum_buffer`` tensor is required; ``first_step=True``
    initialises it to the (weight-decayed) gradient, as PyTorch does on the first step,
    instead of ``momentum * buf + (1 - dampening) * g``.
    """
    sgd_group_([param], [grad], [momentum_buffer], [first_step], lr, momentum, dampening,
               weight_decay, nesterov, maximize)
    return param


def sgd_group_(params, grads, momentum_buffers, first_steps, lr, momentum=0.0, dampening=0.0,
               weight_decay=0.0, nesterov=False, maximize=False, checked=False):
    """`sgd_` over lists of tensors (``momentum_buffers``/``first_steps`` one per parameter).

    ``checked``: as in `adam_group_`.
    """
    K = _kernels()
    use_buf = momentum != 0
    plain = not use_buf and weight_decay == 0 and not maximize  # p += (-lr) * g: BLAS axpy
    batched = None  # decided at the first large parameter
    batches = {}  # (dtype, mode) -> (scalars, [(p, g, buf, buf, buf) flat arrays])
    scalars = {}  # dtype -> (scalars, mode)
    for i in range(len(params)):
        ref, p, g = _param_grad(params[i], grads[i], checked)
        sm = scalars.get(p.dtype)
        if sm is None:  # scalars in the parameter's dtype (one or two per group)
            sm = scalars[p.dtype] = _sgd_scalars(p.dtype, lr, momentum, dampening, weight_decay,
                                                 nesterov, maximize)
        sc, mode = sm
        if use_buf:
            buf = _flat(momentum_buffers[i], "momentum_buffer", ref)
            if first_steps[i]:
                mode |= K.INIT
        else:
            buf = p
        # large plain updates: OpenBLAS's axpy (kernels/blas.py)
        if plain and p.size >= AXPY_MIN and _axpy_(sc[0], g, p):
            continue
        if p.size < BATCH_MIN:  # small: at once, the serial kernel
            K.sgd[0](p, g, buf, sc, mode)
            continue
        if batched is None:  # a parameter listed twice is updated twice, in turn: no batches
            batched = len({id(q) for q in params}) == len(params)
        if batched:
            batches.setdefault((p.dtype, mode), (sc, []))[1].append((p, g, buf, buf, buf))
        else:
            _run(K.sgd, p.size, p, g, buf, sc, mode)
    for (_, mode), (sc, columns) in batches.items():
        _run_batch(K.sgd, K.sgd_multi, K.MULTI_SGD, columns, 3, sc, mode)
    for i in range(len(params)):
        _bump(params[i])
        if use_buf:
            _bump(momentum_buffers[i])


# ---------------------------------------------------------------------- RMSprop
def _rmsprop_scalars(dtype, lr, alpha, eps, weight_decay, momentum, centered, maximize):
    K = _K
    c = dtype.type(1 - alpha)
    sc = np.array([-lr, alpha, c, dtype.type(1) - c, eps, weight_decay, momentum], dtype=dtype)
    mode = ((K.CENTERED if centered else 0) | (K.MAXIMIZE if maximize else 0)
            | (K.USE_BUF if momentum > 0 else 0) | (K.SMALL_W if abs(c) < 0.5 else 0))
    return sc, mode


def rmsprop_(param, grad, square_avg, grad_avg, momentum_buffer, lr, alpha, eps, weight_decay,
             momentum, centered, maximize):
    """One RMSprop update in place (PyTorch's RMSprop algorithm).

    ``grad_avg`` is required when ``centered``, ``momentum_buffer`` when ``momentum > 0``
    (either may be None otherwise).
    """
    rmsprop_group_([param], [grad], [square_avg], [grad_avg], [momentum_buffer], None, lr,
                   alpha, eps, weight_decay, momentum, centered, maximize)
    return param


def rmsprop_group_(params, grads, square_avgs, grad_avgs, momentum_buffers, steps, lr, alpha,
                   eps, weight_decay, momentum, centered, maximize, checked=False):
    """`rmsprop_` over lists; ``steps`` (0-d step tensors, incremented here) may be None.

    ``checked``: as in `adam_group_`.
    """
    K = _kernels()
    use_buf = momentum > 0
    cache = {}
    for i, param in enumerate(params):
        ref, p, g = _param_grad(param, grads[i], checked)
        if steps is not None:
            _step_of(steps[i])
        sm = cache.get(p.dtype)
        if sm is None:
            sm = cache[p.dtype] = _rmsprop_scalars(p.dtype, lr, alpha, eps, weight_decay,
                                                   momentum, centered, maximize)
        sq = _flat(square_avgs[i], "square_avg", ref)
        ga = _flat(grad_avgs[i], "grad_avg", ref) if centered else sq
        buf = _flat(momentum_buffers[i], "momentum_buffer", ref) if use_buf else sq
        _run(K.rmsprop, p.size, p, g, sq, ga, buf, sm[0], sm[1])
        _bump(param)
        _bump(square_avgs[i])
        if centered:
            _bump(grad_avgs[i])
        if use_buf:
            _bump(momentum_buffers[i])


# ---------------------------------------------------------------------- Adagrad
def _adagrad_scalars(dtype, step, lr, lr_decay, weight_decay, eps, maximize):
    clr = lr / (1 + (step - 1) * lr_decay)
    return (np.array([-clr, eps, weight_decay], dtype=dtype), _K.MAXIMIZE if maximize else 0)


def adagrad_(param, grad, state_sum, step, lr, lr_decay, weight_decay, eps, maximize):
    """One Adagrad update in place (PyTorch's Adagrad algorithm, step count `step` >= 1)."""
    K = _kernels()
    ref, p, g = _param_grad(param, grad)
    s = _flat(state_sum, "state_sum", ref)
    sc, mode = _adagrad_scalars(p.dtype, step, lr, lr_decay, weight_decay, eps, maximize)
    _run(K.adagrad, p.size, p, g, s, sc, mode)
    _bump(param)
    _bump(state_sum)
    return param


def adagrad_group_(params, grads, state_sums, steps, lr, lr_decay, weight_decay, eps, maximize,
                   checked=False):
    """`adagrad_` over lists; ``steps`` are 0-d step tensors, incremented here.

    ``checked``: as in `adam_group_`.
    """
    K = _kernels()
    cache = {}
    for i, param in enumerate(params):
        ref, p, g = _param_grad(param, grads[i], checked)
        step = _step_of(steps[i])
        key = (step, p.dtype)
        sm = cache.get(key)
        if sm is None:
            sm = cache[key] = _adagrad_scalars(p.dtype, step, lr, lr_decay, weight_decay, eps,
                                               maximize)
        s = _flat(state_sums[i], "state_sum", ref)
        _run(K.adagrad, p.size, p, g, s, sm[0], sm[1])
        _bump(param)
        _bump(state_sums[i])
