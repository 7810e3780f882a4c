"""Matrix products. The GEMM itself is BLAS's: MKL's for 2-D operands when it is installed
(``kernels.dot``), else numpy's; 1-D operands are promoted as PyTorch."""
import numpy as np

from ..function import Op
from ..tensor import Tensor
from ._util import kernels as K
from ._util import reduce_to, sum_to, wrap


def _mm(a, b):
    """a @ b of arrays: 2-D pairs through ``kernels.dot``, batches through np.matmul."""
    return K.dot(a, b) if a.ndim == 2 and b.ndim == 2 else np.matmul(a, b)


class Matmul(Op):
    """a @ b for operands with at least 2 dims (batch dims broadcast)."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return _mm(a._data, b._data)

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
        ga = sum_to(_mm(g, np.swapaxes(bd, -1, -2)), ad.shape) if e[0] is not None else None
        gb = sum_to(_mm(np.swapaxes(ad, -1, -2), g), bd.shape) if e[1] is not None else None
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


# ----------------------------------------------------------------------------- products built on the above
def _as_t(x):
    return x if isinstance(x, Tensor) else wrap(np.asarray(x))


def trace(input):
    """Sum of the main diagonal of a 2-D tensor."""
    from .shape import diagonal
    if input._data.ndim != 2:
        raise RuntimeError(f"trace: expected a matrix, but got tensor with dim "
                           f"{input._data.ndim}")
    return diagonal(input).sum()


def kron(input, other):
    """Kronecker product (operands of different rank get leading size-1 dims)."""
    a, b = _as_t(input), _as_t(other)
    nd = max(a._data.ndim, b._data.ndim)
    sa = (1,) * (nd - a._data.ndim) + a._data.shape
    sb = (1,) * (nd - b._data.ndim) + b._data.shape
    ia, ib = [], []
    for x, y in zip(sa, sb):
        ia += [x, 1]
        ib += [1, y]
    prod = a.reshape(*ia) * b.reshape(*ib)
    return prod.reshape(*[x * y for x, y in zip(sa, sb)])


def tensordot(a, b, dims=2, out=None):
    """Contract the last `dims` dims of a with the first `dims` of b, or the listed dims
    (dims=([dims of a], [dims of b])); through one matrix product."""
    from ._util import norm_dim as _nd
    if out is not None:
        raise RuntimeError("tensordot: out= is not supported")
    na, nb = a._data.ndim, b._data.ndim
    if isinstance(dims, (int, np.integer)):
        if dims < 0:
            raise RuntimeError(f"tensordot expects dims >= 0, but got dims={dims}")
        if dims > min(na, nb):
            raise RuntimeError(f"tensordot expects dims < ndim_a or ndim_b, but got dims={dims}")
        da, db = list(range(na - dims, na)), list(range(dims))
    else:
        if len(dims) != 2 or isinstance(dims[0], (int, np.integer)):
            raise TypeError("tensordot(): dims must be an int or a pair of lists of dims, "
                            f"got {dims!r}")
        da = [_nd(d, na, "tensordot") for d in _listify(dims[0])]
        db = [_nd(d, nb, "tensordot") for d in _listify(dims[1])]
        if len(da) != len(db):
            raise RuntimeError(f"both dimension lists should have same length, got {len(da)} "
                               f"and {len(db)}")
    sa, sb = a._data.shape, b._data.shape
    for i, j in zip(da, db):
        if sa[i] != sb[j]:
            raise RuntimeError(f"contracted dimensions need to match, but first has size {sa[i]} "
                               f"in dim {i} and second has size {sb[j]} in dim {j}")
    fa = [i for i in range(na) if i not in da]
    fb = [j for j in range(nb) if j not in db]
    k = int(np.prod([sa[i] for i in da])) if da else 1
    left = a.permute(*(fa + da)).reshape(-1, k) if na else a.reshape(1, 1)
    right = b.permute(*(db + fb)).reshape(k, -1) if nb else b.reshape(1, 1)
    return matmul(left, right).reshape(*([sa[i] for i in fa] + [sb[j] for j in fb]))


def _listify(d):
    return [int(d)] if isinstance(d, (int, np.integer)) else [int(x) for x in d]


def cross(input, other, dim=None):
    """Cross product of 3-vectors along dim (operands broadcast; same rank required).

    dim=None takes the first dim of size 3 of input, with PyTorch's deprecation warning."""
    from .shape import roll
    from ._util import norm_dim as _nd
    sa, sb = input._data.shape, other._data.shape
    if dim is None:
        import warnings
        warnings.warn("Using torch.cross without specifying the dim arg is deprecated.\nPlease "
                      "either pass the dim explicitly or simply use torch.linalg.cross.\nThe "
                      "default value of dim will change to agree with that of linalg.cross in a "
                      "future release.", UserWarning, stacklevel=2)
        dims3 = [i for i, s in enumerate(sa) if s == 3]
        if not dims3:
            raise RuntimeError(f"no dimension of size 3 in input (shape {tuple(sa)})")
        dim = dims3[0]
    if len(sa) != len(sb):
        raise RuntimeError(f"linalg.cross: inputs must have the same number of dimensions "
                           f"(shapes {tuple(sa)} and {tuple(sb)})")
    d = _nd(dim, len(sa), "cross")
    if sa[d] != 3 or sb[d] != 3:
        raise RuntimeError(f"linalg.cross: inputs dimension {d} must have length 3. Got {sa[d]} "
                           f"and {sb[d]}")
    try:
        np.broadcast_shapes(sa, sb)
    except ValueError:
        raise RuntimeError(f"linalg.cross: shapes {tuple(sa)} and {tuple(sb)} cannot be "
                           "broadcast together") from None
    return roll(input, -1, d) * roll(other, -2, d) - roll(input, -2, d) * roll(other, -1, d)


# ----------------------------------------------------------------------------- einsum
_LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


class Einsum(Op):
    """np.einsum over operands whose subscripts are explicit letters, each letter at most once
    per operand and consistent in size (einsum() arranges that). The gradient of operand k is
    another einsum: the output's gradient with the other operands, into operand k's letters
    (letters found only in operand k are summed in forward, so their gradient is broadcast)."""

    @staticmethod
    def forward(ctx, *operands, terms, out):
        arrays = [o._data for o in operands]
        ctx.terms, ctx.out_term = terms, out
        ctx.save_for_backward(*operands)
        return _np_einsum(terms, out, arrays)

    @staticmethod
    def backward(ctx, g):
        ops = ctx.saved_tensors
        grads = []
        for k, op in enumerate(ops):
            if ctx._edges[k] is None:
                grads.append(None)
                continue
            terms, tgt, shape = _grad_spec(ctx.terms, ctx.out_term, k, op._data.shape)
            others = [o for i, o in enumerate(ops) if i != k]
            gk = Einsum.apply(g, *others, terms=terms, out=tgt)
            if tgt != ctx.terms[k]:  # letters summed inside operand k: broadcast back
                from .shape import Expand, Reshape
                gk = Expand.apply(Reshape.apply(gk, shape=shape[0]), shape=shape[1])
            grads.append(gk)
        return tuple(grads)

    @staticmethod
    def fast_backward(ctx, g):
        ops = ctx.saved_tensors
        grads = []
        for k, op in enumerate(ops):
            if ctx._edges[k] is None:
                grads.append(None)
                continue
            terms, tgt, shape = _grad_spec(ctx.terms, ctx.out_term, k, op._data.shape)
            arrays = [g] + [o._data for i, o in enumerate(ops) if i != k]
            gk = _np_einsum(terms, tgt, arrays)
            if tgt != ctx.terms[k]:
                gk = np.broadcast_to(gk.reshape(shape[0]), shape[1])
            grads.append(gk)
        return tuple(grads)


def _np_einsum(terms, out, arrays):
    big = len(arrays) > 2 or any(a.size > 4096 for a in arrays)
    return np.asarray(np.einsum(",".join(terms) + "->" + out, *arrays, optimize=big))


def _grad_spec(terms, out_term, k, shape):
    """Subscripts of operand k's gradient einsum: (input terms, target term, (kept shape,
    full shape)); the target keeps only letters that occur in the output or other operands."""
    others = [t for i, t in enumerate(terms) if i != k]
    seen = set(out_term).union(*others)
    tgt = "".join(c for c in terms[k] if c in seen)
    kept = tuple(s if c in seen else 1 for c, s in zip(terms[k], shape))
    return [out_term] + others, tgt, (kept, shape)


def _einsum_error(msg):
    return RuntimeError(f"einsum(): {msg}")


def _parse_term(term, i, pos):
    """Split one operand's subscripts into (letters before '...', has ellipsis, letters after)."""
    if term.count("...") > 1:
        raise _einsum_error(f"found more than one ellipsis ('...') for operand {i}")
    if "..." in term:
        head, tail = term.split("...")
    else:
        head, tail = term, None
    for part, offset in ((head, 0), (tail or "", len(head) + 3)):
        for j, c in enumerate(part):
            if c == ".":
                raise _einsum_error(f"found '.' for operand {i} that is not part of any ellipsis")
            if c not in _LETTERS:
                raise _einsum_error(f"invalid subscript given at index {pos + offset + j} in the "
                                    f"equation string, subscripts must be in [a-zA-Z]")
    return head, tail is not None, tail or ""


def einsum(equation, *operands):
    """Einstein summation, as torch.einsum: explicit ('ij,jk->ik') or implicit output
    (letters used once, in alphabetical order), repeated letters in one operand (diagonals,
    traces), '...' for broadcast dims, size-1 dims broadcast, any number of operands."""
    if not isinstance(equation, str):
        raise TypeError(f"einsum(): the equation must be a string, got {type(equation).__name__}")
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    operands = [_as_t(o) for o in operands]
    eq = equation.replace(" ", "")
    if eq.count("->") > 1:
        raise _einsum_error("the equation has more than one '->'")
    lhs, arrow, rhs = eq.partition("->")
    if "-" in lhs or ">" in lhs or "-" in rhs or ">" in rhs:
        bad = eq.index("-") if "-" in lhs else eq.index(">") if ">" in lhs else \
            len(lhs) + 2 + (rhs.index("-") if "-" in rhs else rhs.index(">"))
        raise _einsum_error(f"invalid subscript given at index {bad} in the equation string, "
                            "subscripts must be in [a-zA-Z]")
    raw = lhs.split(",")
    if len(raw) > len(operands):
        raise _einsum_error("fewer operands were provided than specified in the equation")
    if len(raw) < len(operands):
        raise _einsum_error("more operands were provided than specified in the equation")
    if not operands:
        raise _einsum_error("must provide at least one operand")
    dts = {o._data.dtype for o in operands}
    if len(dts) > 1:
        raise _einsum_error(f"expected all operands to have the same dtype, got "
                            f"{[str(o._data.dtype) for o in operands]}")
    parsed, pos = [], 0
    for i, (term, op) in enumerate(zip(raw, operands)):
        head, ell, tail = _parse_term(term, i, pos)
        pos += len(term) + 1
        nd = op._data.ndim
        named = len(head) + len(tail)
        if (not ell and named != nd) or (ell and named > nd):
            raise _einsum_error(
                f"the number of subscripts in the equation ({named}) "
                + (f"does not match the number of dimensions ({nd}) for operand {i} and no "
                   "ellipsis was given" if not ell else
                   f"is more than the number of dimensions ({nd}) for operand {i}"))
        parsed.append((head, ell, tail, nd - named if ell else 0))
    n_ell = max((p[3] for p in parsed), default=0)
    used = set(lhs) | set(rhs)
    spare = [c for c in _LETTERS if c not in used]
    if n_ell > len(spare):
        raise _einsum_error("too many dimensions for the available subscript letters")
    ell_letters = "".join(spare[:n_ell])
    any_ell = any(p[1] for p in parsed)
    # explicit letters for every dim
    terms = [head + (ell_letters[n_ell - k:] if ell else "") + tail
             for head, ell, tail, k in parsed]
    if arrow:
        _parse_term(rhs, "output", len(lhs) + 2)
        out_letters = rhs.replace("...", "")
        for c in out_letters:
            if out_letters.count(c) > 1:
                raise _einsum_error(f"output subscript {c} appears more than once in the output")
            if c not in lhs:
                raise _einsum_error(f"output subscript {c} does not appear in the equation for "
                                    "any input operand")
        if any_ell and "..." not in rhs:
            out = out_letters  # the ellipsis dims are summed
        else:
            out = rhs.replace("...", ell_letters)
    else:
        counts = {}
        for head, _, tail, _ in parsed:
            for c in head + tail:
                counts[c] = counts.get(c, 0) + 1
        out = ell_letters + "".join(sorted(c for c, n in counts.items() if n == 1))
    # sizes: a letter's size must agree across operands (size 1 broadcasts)
    sizes, source = {}, {}
    for i, (t, op) in enumerate(zip(terms, operands)):
        for c, s in zip(t, op._data.shape):
            prev = sizes.get(c)
            if prev is None or prev == 1:
                sizes[c], source[c] = s, i
            elif s != prev and s != 1:
                if c in ell_letters:
                    raise _einsum_error(f"the ellipsis dims of operand {i} (shape "
                                        f"{tuple(op._data.shape)}) do not broadcast with those "
                                        "of the operands before it")
                if source[c] == i:
                    raise _einsum_error(f"subscript {c} is repeated for operand {i} but the "
                                        f"sizes don't match, {s} != {prev}")
                raise _einsum_error(f"subscript {c} has size {s} for operand {i} which does not "
                                    f"broadcast with previously seen size {prev}")
    # prepare each operand: take diagonals of repeated letters, expand size-1 broadcast dims
    from .shape import diagonal, expand
    prepared, final_terms = [], []
    for t, op in zip(terms, operands):
        x = op
        while len(set(t)) != len(t):
            c = next(ch for ch in t if t.count(ch) > 1)
            i1 = t.index(c)
            i2 = t.index(c, i1 + 1)
            if x._data.shape[i1] != x._data.shape[i2]:
                raise _einsum_error(f"subscript {c} is repeated for operand {len(prepared)} but "
                                    f"the sizes don't match, {x._data.shape[i2]} != "
                                    f"{x._data.shape[i1]}")
            x = diagonal(x, 0, i1, i2)
            t = "".join(ch for j, ch in enumerate(t) if j not in (i1, i2)) + c
        full = tuple(sizes[c] for c in t)
        if x._data.shape != full:
            x = expand(x, *full)
        prepared.append(x)
        final_terms.append(t)
    return Einsum.apply(*prepared, terms=final_terms, out=out)


# ----------------------------------------------------------------------------- distances
def cdist(x1, x2, p=2.0, compute_mode="use_mm_for_euclid_dist_if_necessary"):
    """p-norm distance between each row of x1 (..., P, M) and each row of x2 (..., R, M):
    (..., P, R), batch dims broadcast. p = 2 (the default), 1, inf, 0 or any p > 0."""
    from .reduction import norm, sum as _sum
    if x1._data.ndim < 2:
        raise RuntimeError(f"cdist only supports at least 2D tensors, X1 got: {x1._data.ndim}D")
    if x2._data.ndim < 2:
        raise RuntimeError(f"cdist only supports at least 2D tensors, X2 got: {x2._data.ndim}D")
    if x1._data.shape[-1] != x2._data.shape[-1]:
        raise RuntimeError(f"X1 and X2 must have the same number of columns. X1: "
                           f"{x1._data.shape[-1]} X2: {x2._data.shape[-1]}")
    if x1._data.dtype.kind != "f" or x2._data.dtype.kind != "f":
        raise RuntimeError(f"cdist only supports floating-point dtypes, X1 got: "
                           f"{x1._data.dtype}, X2 got: {x2._data.dtype}")
    if p < 0:
        raise RuntimeError(f"cdist only supports non-negative p values, got {p}")
    diff = x1.unsqueeze(-2) - x2.unsqueeze(-3)  # (..., P, R, M)
    if p == 2:
        return norm(diff, 2, dim=-1)
    if p == 1:
        return _sum(diff.abs(), -1)
    if p == float("inf"):
        return _CdistInf.apply(diff)
    return norm(diff, p, dim=-1)


class _CdistInf(Op):
    """max |diff| over the last dim. As PyTorch's cdist backward, every element that attains
    the max gets the full gradient sign(diff) (not a share of it, as amax gives)."""

    @staticmethod
    def forward(ctx, diff):
        d = diff._data
        ad = np.abs(d)
        out = np.max(ad, axis=-1) if d.shape[-1] else np.zeros(d.shape[:-1], d.dtype)
        ctx.weights = (np.sign(d) * (ad == out[..., None])).astype(d.dtype)
        return out

    @staticmethod
    def backward(ctx, g):
        return (g.unsqueeze(-1) * ctx.weights,)

    @staticmethod
    def fast_backward(ctx, g):
        return (np.expand_dims(g, -1) * ctx.weights,)


def pairwise_distance(x1, x2, p=2.0, eps=1e-6, keepdim=False):
    """p-norm of x1 - x2 + eps over the last dim (operands broadcast)."""
    from .reduction import norm
    nd = max(x1._data.ndim if isinstance(x1, Tensor) else 0,
             x2._data.ndim if isinstance(x2, Tensor) else 0)
    d = x1 - x2 + eps
    if nd == 0:
        return norm(d, p)
    return norm(d, p, dim=nd - 1, keepdim=keepdim)


def cosine_similarity(x1, x2, dim=1, eps=1e-8):
    """Cosine of the angle between x1 and x2 along dim (operands broadcast); each norm is
    clamped to at least eps in value only (the gradient is the unclamped norm's, as PyTorch)."""
    from .reduction import norm
    from .shape import broadcast_tensors
    for x in (x1, x2):
        if x._data.dtype.kind not in "f":
            kinds = [str(t._data.dtype) for t in (x1, x2)]
            if all(k.startswith(("int", "uint", "bool")) for k in kinds):
                raise RuntimeError(f"expected common dtype to be floating point, yet common dtype "
                                   f"is {kinds[0]}")
    if x1._data.dtype.kind != "f":
        x1 = x1.to(x2._data.dtype)
    if x2._data.dtype.kind != "f":
        x2 = x2.to(x1._data.dtype)
    try:
        a, b = broadcast_tensors(x1, x2)
    except ValueError:
        raise RuntimeError(f"cosine_similarity: shapes {tuple(x1.shape)} and {tuple(x2.shape)} "
                           "cannot be broadcast together") from None
    na = norm(a, 2, dim=dim, keepdim=True)
    nb = norm(b, 2, dim=dim, keepdim=True)
    na = na + wrap(np.maximum(na._data, eps) - na._data)  # clamp_min(eps) in value only
    nb = nb + wrap(np.maximum(nb._data, eps) - nb._data)
    return ((a / na) * (b / nb)).sum(dim)
