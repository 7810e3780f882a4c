"""Fused single-pass optimizer updates on flat C-contiguous float32/float64 ndarrays.

Each kernel reads every array once and writes each updated array once (PyTorch's single-
tensor path makes 5-10 passes over memory per step). The arithmetic follows the
operation order of PyTorch's reference (``foreach=False``) implementation, one rounding
per PyTorch op, with no FMA contraction (``fastmath=False``), so float64 trajectories
agree with torch.optim to ~1 ulp per step:

* ``grad.add(param, alpha=wd)``        -> ``g + wd * p``
* ``t.lerp_(end, w)``                  -> ``t + w * (end - t)`` if ``|w| < 0.5`` else
                                          ``end - (end - t) * (1 - w)``
* ``t.mul_(b).addcmul_(x, y, value=c)`` -> ``(t * b) + (c * x) * y``
* ``t.addcdiv_(x, y, value=c)``        -> ``t + (c * x) / y``
* ``torch.maximum``                    -> NaN-propagating maximum

Every kernel takes its arrays, ``sc`` (a small array of the scalar hyperparameters,
already combined in double precision and cast to the arrays' dtype by the wrappers in
``numbagrad.autograd.fused``, so float32 arrays are updated in float32 as PyTorch does)
and ``mode`` (an int of flag bits): few arguments keep numba's per-call dispatch cost
near 1 us, which matters for models with many small parameters. Every kernel exists
twice (``jit_pair``): serial, and a ``prange`` version that may run from ``PARALLEL_MIN``
elements: ``faster_twin`` times both and runs the faster (inside a training loop the
serial one can win: OpenBLAS's worker still spins on the second core after the
backward pass's matrix products). No BLAS is called here (``fused`` routes large plain
SGD updates to BLAS axpy, ``blas.py``).
"""
import numba
import numpy as np

from ._jit import faster_twin, jit_pair

__all__ = ["adam", "sgd", "rmsprop", "adagrad", "PARALLEL_MIN", "faster_twin"]

#: arrays with at least this many elements use the parallel twin. Measured on 100
#: tensors of 100k float32 (benchmarks/optim_step.py, 2 cores): with 1 << 17 they ran
#: serially, Adam 13.2 ms / SGD-momentum 7.7 ms a step against torch fused 7.4 / 4.4 ms;
#: with 1 << 16: 7.0 / 4.7 ms (1 << 15 and 1 << 14 gave no further gain).
PARALLEL_MIN = 1 << 16

_OPTS = dict(fastmath=False, wide_f32=False)


# Flag bits of the ``mode`` argument.
AMSGRAD, MAXIMIZE, DECOUPLED, SMALL_W, NESTEROV, INIT, USE_BUF, CENTERED = (
    1, 2, 4, 8, 16, 32, 64, 128)


def _adam_k(p, g, m, v, vmax, sc, mode):
    """Adam/AdamW. sc = [w1, 1 - w1, beta2, 1 - beta2, eps, wd, 1 - lr*wd, -lr/bc1, sqrt(bc2)]."""
    w1, w1c, b2, c2, eps, wd, decay, neg_step, bc2_sqrt = (
        sc[0], sc[1], sc[2], sc[3], sc[4], sc[5], sc[6], sc[7], sc[8])
    amsgrad = (mode & 1) != 0
    maximize = (mode & 2) != 0
    decoupled = (mode & 4) != 0
    small_w = (mode & 8) != 0
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


def _sgd_k(p, g, buf, sc, mode):
    """SGD. sc = [-lr, momentum, 1 - dampening, wd]."""
    neg_lr, momentum, damp_c, wd = sc[0], sc[1], sc[2], sc[3]
    maximize = (mode & 2) != 0
    nesterov = (mode & 16) != 0
    init = (mode & 32) != 0
    use_buf = (mode & 64) != 0
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


def _rmsprop_k(p, g, sq, gavg, buf, sc, mode):
    """RMSprop. sc = [-lr, alpha, 1 - alpha, alpha (as 1 - (1 - alpha)), eps, wd, momentum]."""
    neg_lr, alpha, c, alpha_c, eps, wd, momentum = sc[0], sc[1], sc[2], sc[3], sc[4], sc[5], sc[6]
    maximize = (mode & 2) != 0
    small_w = (mode & 8) != 0
    use_buf = (mode & 64) != 0
    centered = (mode & 128) != 0
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
            avg = np.sqrt(s - ga * ga)  # addcmul(value=-1): s + (-1 * ga) * ga, same rounding
        else:
            avg = np.sqrt(s)
        avg = avg + eps
        if use_buf:
            b = buf[i] * momentum + gi / avg
            buf[i] = b
            p[i] = pi + neg_lr * b
        else:
            p[i] = pi + (neg_lr * gi) / avg


def _adagrad_k(p, g, ssum, sc, mode):
    """Adagrad. sc = [-clr, eps, wd]."""
    neg_clr, eps, wd = sc[0], sc[1], sc[2]
    maximize = (mode & 2) != 0
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
