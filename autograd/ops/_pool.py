"""Reuse of large op outputs whose previous owner is gone.

A fresh array of a few MB costs its page faults every time: the kernel zeroes each new
page (with transparent huge pages, 2 MB at a time), and numpy gives large blocks back
to the operating system when they are freed. For the wide MLP of the benchmarks
(1024-4096-4096-10, batch 512) that was 27 ms of system time per training step, about a
tenth of the step. PyTorch pays the same on the CPU.

`empty(shape, dtype)` returns an uninitialised C-contiguous array like `np.empty`; for
arrays of at least `MIN_BYTES` it first looks for an array of that shape and dtype that
it handed out before and that nothing references any more (CPython's reference count:
no tensor, view, user variable or saved context holds it), and returns that one. Every
caller overwrites the whole array, so the stale contents never show. The pool keeps at
most `MAX_BYTES` alive; `release()` drops what it holds.
"""
import sys
from math import prod as _prod

import numpy as np

MIN_BYTES = 1 << 20
MAX_BYTES = 1 << 30
PER_KEY = 4

_getrefcount = sys.getrefcount
_np_empty = np.empty
_pool = {}  # (shape, dtype) -> arrays handed out before, oldest first
_held = [0]


def empty(shape, dtype):
    """An uninitialised C-contiguous array, recycled when a large one of its kind is free."""
    if not isinstance(dtype, np.dtype):
        dtype = np.dtype(dtype)
    nbytes = _prod(shape) * dtype.itemsize
    if nbytes < MIN_BYTES:
        return _np_empty(shape, dtype)
    key = (tuple(shape), dtype)
    arrays = _pool.get(key)
    if arrays is None:
        arrays = _pool[key] = []
    for a in arrays:
        # references: the pool's list, this loop's variable, getrefcount's argument
        if _getrefcount(a) == 3:
            return a
    out = np.empty(shape, dtype)
    if len(arrays) < PER_KEY:
        while _held[0] + nbytes > MAX_BYTES and _evict_one():
            pass
        if _held[0] + nbytes <= MAX_BYTES:
            arrays.append(out)
            _held[0] += nbytes
    return out


def empty_if_large(shape, dtype):
    """`empty` for arrays of at least `MIN_BYTES` (recycled when free), else None: for an
    ``out=`` argument, so that a kernel allocates small outputs itself without the pool's
    bookkeeping (0.3 us against 0.17 us for a fresh small array)."""
    if _prod(shape) * dtype.itemsize < MIN_BYTES:
        return None
    return empty(shape, dtype)


def _evict_one():
    """Forget one free array (the oldest key first); False when none is free."""
    for key, arrays in list(_pool.items()):
        for i in range(len(arrays)):  # no enumerate: its cached tuple would hold a reference
            a = arrays[i]
            if _getrefcount(a) == 3:  # the list, `a`, the argument
                _held[0] -= a.nbytes
                del arrays[i]
                if not arrays:
                    del _pool[key]
                return True
    return False


def release():
    """Forget every pooled array (the ones still in use stay alive with their users)."""
    _pool.clear()
    _held[0] = 0


def held_bytes():
    """Bytes of the arrays the pool currently keeps (in use or free)."""
    return _held[0]
