"""Matrix products. The GEMM itself is numpy's (BLAS); 1-D operands are promoted as PyTorch."""
import numpy as np

from ..function import Op
from ..tensor import Tensor
from ._util import reduce_to, sum_to, wrap


class Matmul(Op):
    """a @ b for operands with at least 2 dims (batch dims broadcast)."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return np.matmul(a._data, b._data)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        ga = gb = None
        if ctx._edges[0] is not None:
            ga = reduce_to(Matmul.apply(g, b.mT), a._data.shape)
        if ctx._edges[1] is not None:
            gb = reduce_to(Matmul.apply(a.mT, g), b._data.shape)
        return ga, gb

    @staticmethod
    def fast_backward(ctx, g):
        a, b = ctx.saved_tensors
        e = ctx._edges
        ad, bd = a._data, b._data
        ga = sum_to(np.matmul(g, np.swapaxes(bd, -1, -2)), ad.shape) if e[0] is not None else None
        gb = sum_to(np.matmul(np.swapaxes(ad, -1, -2), g), bd.shape) if e[1] is not None else None
        return ga, gb


def _check(op, a, b):
    sa, sb = a._data.shape, b._data.shape
    if a._data.ndim == 0 or b._data.ndim == 0:
        raise RuntimeError(f"{op}: both arguments need at least 1 dimension, got shapes "
                           f"{tuple(sa)} and {tuple(sb)}")
    ka = sa[-1]
    kb = sb[0] if len(sb) == 1 else sb[-2]
    if ka != kb:
        raise RuntimeError(
            f"{op}: shapes {tuple(sa)} and {tuple(sb)} cannot be multiplied ({ka} != {kb}: the "
            f"last dim of the first must equal the {'only' if len(sb) == 1 else 'second-to-last'}"
            f" dim of the second)")
    if a._data.dtype != b._data.dtype:
        raise RuntimeError(f"{op}: expected both operands to have the same dtype, but got "
                           f"{a._data.dtype} and {b._data.dtype} (shapes {tuple(sa)}, {tuple(sb)})")
    if len(sa) > 2 and len(sb) > 2:
        try:
            np.broadcast_shapes(sa[:-2], sb[:-2])
        except ValueError:
            raise RuntimeError(f"{op}: batch dims of shapes {tuple(sa)} and {tuple(sb)} do not "
                               "broadcast") from None


def matmul(a, b):
    """Matrix product with PyTorch's rules for 1-D, 2-D, batched and broadcast operands."""
    if not isinstance(a, Tensor):
        a = wrap(np.asarray(a))
    if not isinstance(b, Tensor):
        b = wrap(np.asarray(b))
    _check("matmul", a, b)
    a1 = a._data.ndim == 1
    b1 = b._data.ndim == 1
    if not (a1 or b1):
        return Matmul.apply(a, b)
    x = a.unsqueeze(0) if a1 else a
    y = b.unsqueeze(-1) if b1 else b
    out = Matmul.apply(x, y)
    if b1:
        out = out.squeeze(-1)
    if a1:
        out = out.squeeze(-2 if out._data.ndim >= 2 else 0)
    return out


def mm(a, b):
    """2-D matrix product."""
    if a._data.ndim != 2 or b._data.ndim != 2:
        raise RuntimeError(f"mm: expected 2-D tensors, got shapes {tuple(a.shape)} and "
                           f"{tuple(b.shape)}")
    return matmul(a, b)


def bmm(a, b):
    """Batched 3-D matrix product."""
    if a._data.ndim != 3 or b._data.ndim != 3:
        raise RuntimeError(f"bmm: expected 3-D tensors, got shapes {tuple(a.shape)} and "
                           f"{tuple(b.shape)}")
    return matmul(a, b)


def mv(a, v):
    """Matrix-vector product."""
    return matmul(a, v)


def dot(a, b):
    """Dot product of two 1-D tensors."""
    if a._data.ndim != 1 or b._data.ndim != 1:
        raise RuntimeError(f"dot: 1D tensors expected, but got {a._data.ndim}D and "
                           f"{b._data.ndim}D tensors")
    return matmul(a, b)


def outer(a, b):
    """Outer product of two 1-D tensors."""
    return a.unsqueeze(1) * b.unsqueeze(0)


def addmm(input, mat1, mat2, beta=1, alpha=1):
    """beta * input + alpha * (mat1 @ mat2)."""
    prod = mm(mat1, mat2)
    if alpha != 1:
        prod = prod * alpha
    return prod + (input if beta == 1 else input * beta)
