"""Fused single-pass optimizer updates on flat C-contiguous float32/float64 ndarrays.

Each kernel reads every array once and writes each updated array once (PyTorch's
single-tensor path makes 5-10 passes over memory per step). The arithmetic follows the
operation order of PyTorch's reference (``foreach=False``) implementation, one rounding
per PyTorch op, with no FMA contraction (``fastmath=False``), so float64 trajectories
agree with torch.optim to ~1 ulp per step:

* ``grad.add(param, alpha=wd)``        -> ``g + wd * p``
* ``t.lerp_(end, w)``                  -> ``t + w * (end - t)`` if ``|w| < 0.5`` else
                                          ``end - (end - t) * (1 - w)``
* ``t.mul_(b).addcmul_(x, y, value=c)`` -> ``(t * b) + (c * x) * y``
* ``t.addcdiv_(x, y, value=c)``        -> ``t + (c * x) / y``
* ``torch.maximum``                    -> NaN-propagating maximum

Scalars arrive already cast to the arrays' dtype (the Python wrappers in
``numbagrad.autograd.fused`` do it), so float32 arrays are updated in float32 as
PyTorch does. Every kernel exists twice (``jit_pair``): serial, and a ``prange``
version used above ``PARALLEL_MIN`` elements. No BLAS is called anywhere.
"""
import numba
import numpy as np

from ._jit import jit_pair

__all__ = ["adam", "sgd", "rmsprop", "adagrad", "PARALLEL_MIN"]

#: arrays with at least this many elements use the parallel twin (measured in
#: benchmarks/optim_step.py: below it thread start-up costs more than it saves).
PARALLEL_MIN = 1 << 17

_OPTS = dict(fastmath=False, wide_f32=False)


def _adam_k(p, g, m, v, vmax, w1, w1c, small_w, b2, c2, eps, wd, decay, neg_step, bc2_sqrt,
            amsgrad, maximize, decoupled):
    for i in numba.prange(p.shape[0]):
        gi = g[i]
        if maximize:
            gi = -gi
        pi = p[i]
        if wd != 0:
            if decoupled:
                pi = pi * decay
            else:
                gi = gi + wd * pi
        mi = m[i]
        if small_w:
            mi = mi + w1 * (gi - mi)
        else:
            mi = gi - (gi - mi) * w1c
        vi = v[i] * b2 + (c2 * gi) * gi
        m[i] = mi
        v[i] = vi
        if amsgrad:
            a = vmax[i]
            if vi > a or vi != vi:
                a = vi
            vmax[i] = a
            vi = a
        denom = np.sqrt(vi) / bc2_sqrt + eps
        p[i] = pi + (neg_step * mi) / denom


def _sgd_k(p, g, buf, neg_lr, momentum, damp_c, wd, nesterov, maximize, init, use_buf):
    for i in numba.prange(p.shape[0]):
        gi = g[i]
        if maximize:
            gi = -gi
        pi = p[i]
        if wd != 0:
            gi = gi + wd * pi
        if use_buf:
            if init:
                b = gi
            else:
                b = buf[i] * momentum + damp_c * gi
            buf[i] = b
            if nesterov:
                gi = gi + momentum * b
            else:
                gi = b
        p[i] = pi + neg_lr * gi


def _rmsprop_k(p, g, sq, gavg, buf, neg_lr, alpha, c, alpha_c, small_w, eps, wd, momentum,
               centered, maximize, use_buf):
    for i in numba.prange(p.shape[0]):
        gi = g[i]
        if maximize:
            gi = -gi
        pi = p[i]
        if wd != 0:
            gi = gi + wd * pi
        s = sq[i] * alpha + (c * gi) * gi
        sq[i] = s
        if centered:
            ga = gavg[i]
            if small_w:
                ga = ga + c * (gi - ga)
            else:
                ga = gi - (gi - ga) * alpha_c
            gavg[i] = ga
            avg = np.sqrt(s - ga * ga)  # addcmul(value=-1): s + (-1 * ga) * ga, exact same rounding
        else:
            avg = np.sqrt(s)
        avg = avg + eps
        if use_buf:
            b = buf[i] * momentum + gi / avg
            buf[i] = b
            p[i] = pi + neg_lr * b
        else:
            p[i] = pi + (neg_lr * gi) / avg


def _adagrad_k(p, g, ssum, neg_clr, eps, wd, maximize):
    for i in numba.prange(p.shape[0]):
        gi = g[i]
        if maximize:
            gi = -gi
        pi = p[i]
        if wd != 0:
            gi = gi + wd * pi
        s = ssum[i] + gi * gi
        ssum[i] = s
        std = np.sqrt(s) + eps
        p[i] = pi + (neg_clr * gi) / std


adam = jit_pair(_adam_k, **_OPTS)
sgd = jit_pair(_sgd_k, **_OPTS)
rmsprop = jit_pair(_rmsprop_k, **_OPTS)
adagrad = jit_pair(_adagrad_k, **_OPTS)
