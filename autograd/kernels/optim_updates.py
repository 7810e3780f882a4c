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
from numba import types
from numba.extending import intrinsic

from ._jit import faster_twin, jit, jit_pair

__all__ = ["adam", "adam_multi", "sgd", "sgd_multi", "MULTI_ADAM", "MULTI_SGD", "rmsprop",
           "adagrad", "PARALLEL_MIN", "faster_twin", "address_table"]

#: arrays with at least this many elements use the parallel twin. Measured on 100
#: tensors of 100k float32 (benchmarks/optim_step.py, 2 cores): with 1 << 17 they ran
#: serially, Adam 13.2 ms / SGD-momentum 7.7 ms a step against torch fused 7.4 / 4.4 ms;
#: with 1 << 16: 7.0 / 4.7 ms (1 << 15 and 1 << 14 gave no further gain).
PARALLEL_MIN = 1 << 16

_OPTS = dict(fastmath=False, wide_f32=False)

#: most elements in a chunk of the Adam and SGD kernels' outer (prange) loop
CHUNK = 1 << 14


#: chunk counts above one are multiples of this: numba's static schedule gives each
#: thread an equal run of chunks, so 1, 2, 3, 4, 6 or 12 threads get equal shares (100k
#: elements in 7 chunks split 4:3 over 2 threads: 7% slower than an even split). Not
#: numba.get_num_threads(): a kernel calling it cannot be cached.
CHUNK_MULTIPLE = 12


@jit
def _chunk_count(n):
    """How many chunks of at most CHUNK elements the kernels cut n elements into."""
    if n <= CHUNK:
        return 1
    per = (n + CHUNK * CHUNK_MULTIPLE - 1) // (CHUNK * CHUNK_MULTIPLE)
    return per * CHUNK_MULTIPLE


@intrinsic
def _pointer(typingctx, address, like):
    """The integer ``address`` as a pointer to ``like``'s dtype (an LLVM ``inttoptr``)."""
    sig = types.CPointer(like.dtype)(types.int64, like)

    def codegen(context, builder, signature, args):
        return builder.inttoptr(args[0], context.get_value_type(signature.return_type))

    return sig, codegen


@jit
def _view(address, n, like):
    """A 1-D array of n elements of ``like``'s dtype at ``address`` (no copy, no check)."""
    return numba.carray(_pointer(address, like), n)


@jit
def _set_addresses(table, i, a0, a1, a2, a3, a4):
    """table[:, i] = the data addresses of five arrays."""
    table[0, i] = a0.ctypes.data
    table[1, i] = a1.ctypes.data
    table[2, i] = a2.ctypes.data
    table[3, i] = a3.ctypes.data
    table[4, i] = a4.ctypes.data


# Flag bits of the ``mode`` argument.
AMSGRAD, MAXIMIZE, DECOUPLED, SMALL_W, NESTEROV, INIT, USE_BUF, CENTERED = (
    1, 2, 4, 8, 16, 32, 64, 128)


@jit(**_OPTS)
def _adam_span(p, g, m, v, vmax, sc, mode, lo, hi):
    """Adam/AdamW on elements lo..hi-1 (the loop both Adam kernels run)."""
    # slices, then indices from 0: an index numba cannot prove non-negative gets a
    # wraparound check that stops LLVM vectorising the loop (5x slower)
    p, g, m, v, vmax = p[lo:hi], g[lo:hi], m[lo:hi], v[lo:hi], vmax[lo:hi]
    w1, w1c, b2, c2, eps, wd, decay, neg_step, bc2_sqrt = (
        sc[0], sc[1], sc[2], sc[3], sc[4], sc[5], sc[6], sc[7], sc[8])
    amsgrad = (mode & 1) != 0
    maximize = (mode & 2) != 0
    decoupled = (mode & 4) != 0
    small_w = (mode & 8) != 0
    for i in range(p.shape[0]):
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


def _adam_k(p, g, m, v, vmax, sc, mode):
    """Adam/AdamW. sc = [w1, 1 - w1, beta2, 1 - beta2, eps, wd, 1 - lr*wd, -lr/bc1, sqrt(bc2)]."""
    n = p.shape[0]
    chunks = _chunk_count(n)
    for c in numba.prange(chunks):
        _adam_span(p, g, m, v, vmax, sc, mode, n * c // chunks, n * (c + 1) // chunks)


@jit(**_OPTS)
def _sgd_span(p, g, buf, sc, mode, lo, hi):
    """SGD on elements lo..hi-1 (the loop both SGD kernels run)."""
    p, g, buf = p[lo:hi], g[lo:hi], buf[lo:hi]  # indices from 0: see _adam_span
    neg_lr, momentum, damp_c, wd = sc[0], sc[1], sc[2], sc[3]
    maximize = (mode & 2) != 0
    nesterov = (mode & 16) != 0
    init = (mode & 32) != 0
    use_buf = (mode & 64) != 0
    for i in range(p.shape[0]):
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


def _sgd_k(p, g, buf, sc, mode):
    """SGD. sc = [-lr, momentum, 1 - dampening, wd]."""
    n = p.shape[0]
    chunks = _chunk_count(n)
    for c in numba.prange(chunks):
        _sgd_span(p, g, buf, sc, mode, n * c // chunks, n * (c + 1) // chunks)


#: which update a ``*_multi`` kernel runs (its ``kind`` argument)
MULTI_ADAM, MULTI_SGD = 0, 1


def _multi_k(table, offsets, sc, mode, kind):
    """Adam/AdamW (``kind`` MULTI_ADAM) or SGD (MULTI_SGD) over many tensors of sc's dtype in
    one call: one parallel region instead of one per tensor.

    ``table`` (5, T) holds the addresses of each tensor's flat arrays (``address_table``;
    Adam: p, g, m, v, vmax; SGD: p, g, buf and two unused rows), ``offsets`` (T + 1,) the
    running sum of their sizes; the concatenated index space is cut into equal chunks,
    each walking the tensors it spans.
    """
    total = offsets[offsets.shape[0] - 1]
    chunks = _chunk_count(total)
    for c in numba.prange(chunks):
        lo = total * c // chunks
        hi = total * (c + 1) // chunks
        t = np.searchsorted(offsets, lo, side="right") - 1
        while lo < hi:
            start, stop = offsets[t], offsets[t + 1]
            end = min(hi, stop)
            if end > lo:
                n = stop - start
                p, g, a = _view(table[0, t], n, sc), _view(table[1, t], n, sc), \
                    _view(table[2, t], n, sc)
                if kind == MULTI_ADAM:
                    _adam_span(p, g, a, _view(table[3, t], n, sc), _view(table[4, t], n, sc),
                               sc, mode, lo - start, end - start)
                else:
                    _sgd_span(p, g, a, sc, mode, lo - start, end - start)
            lo = end
            t += 1


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
# one source, two dispatcher pairs: each keeps its own serial/parallel timings (faster_twin)
adam_multi = jit_pair(_multi_k, "_adam", **_OPTS)
sgd = jit_pair(_sgd_k, **_OPTS)
sgd_multi = jit_pair(_multi_k, "_sgd", **_OPTS)
rmsprop = jit_pair(_rmsprop_k, **_OPTS)
adagrad = jit_pair(_adagrad_k, **_OPTS)


def address_table(columns):
    """``(table, offsets)`` for the ``*_multi`` kernels, from T tuples of five C-contiguous
    1-D arrays of one dtype, each tuple's arrays of one size: ``table`` (5, T) int64 holds
    their data addresses, ``offsets`` (T + 1,) int64 the running sum of the sizes. The
    caller keeps the arrays alive while a kernel runs."""
    table = np.empty((5, len(columns)), np.int64)
    offsets = np.empty(len(columns) + 1, np.int64)
    total = 0
    offsets[0] = 0
    for i, arrays in enumerate(columns):
        _set_addresses(table, i, *arrays)
        total += arrays[0].shape[0]
        offsets[i + 1] = total
    return table, offsets
