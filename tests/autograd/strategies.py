"""Shared hypothesis strategies and helpers for the op tests.

- shapes: single shapes and mutually broadcastable shape tuples, 0-d and size-1 dims included;
- values: float arrays inside an op's domain, optionally kept `margin` away from kinks
  (`avoid`), or drawn all distinct (ties only where a test asks for them);
- `run_op`: build tensors for a library (numbagrad or torch) from numpy arrays, call an op
  written once as `fn(L, *tensors, **kw)` where `L` is that library's namespace.

No torch import here: the gradcheck tests use this module without PyTorch.
"""
import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import numbagrad.autograd as ag

DTYPES = (np.float32, np.float64)
dtypes = st.sampled_from(DTYPES)

# tolerances for comparing numbagrad with PyTorch, per dtype
TOL = {np.dtype(np.float32): dict(rtol=1e-4, atol=1e-5),
       np.dtype(np.float64): dict(rtol=1e-7, atol=1e-10)}


def shapes(min_dims=0, max_dims=3, min_side=1, max_side=4):
    """A single shape (0-d and size-1 dims included)."""
    return hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=min_side,
                            max_side=max_side)


def broadcast_shapes(n=2, min_dims=0, max_dims=3, max_side=4):
    """n mutually broadcastable shapes."""
    return hnp.mutually_broadcastable_shapes(num_shapes=n, min_dims=min_dims, max_dims=max_dims,
                                             min_side=1, max_side=max_side).map(
        lambda r: r.input_shapes)


def _push_away(a, avoid, margin):
    for p in avoid:
        near = np.abs(a - p) < margin
        if near.any():
            a = np.where(near, np.where(a >= p, p + margin, p - margin), a)
    return a


@st.composite
def arrays(draw, shape, dtype, lo=-3.0, hi=3.0, avoid=(), margin=0.05):
    """A float array in [lo, hi] of `dtype` (values at least `margin` from each point of avoid)."""
    dtype = np.dtype(dtype)
    elems = st.floats(lo, hi, allow_nan=False, allow_infinity=False, allow_subnormal=False)
    a = draw(hnp.arrays(np.float64, shape, elements=elems))
    a = _push_away(np.asarray(a, dtype=np.float64), avoid, margin)
    return a.astype(dtype, order="C")


@st.composite
def distinct_arrays(draw, shape_list, dtype, spacing=0.25, lo=None, positive=False, sign=False):
    """Arrays whose elements (across all of them) are pairwise at least `spacing`/2 apart.

    Values lie on a shuffled grid centred at 0 (or starting at `lo`), plus a small jitter.
    """
    sizes = [int(np.prod(s)) for s in shape_list]
    n = sum(sizes)
    perm = np.array(draw(st.permutations(range(n))), dtype=np.float64)
    jit = draw(st.floats(0, spacing / 4, allow_nan=False))
    start = lo if lo is not None else (0.5 if positive else -(n / 2) * spacing)
    vals = start + perm * spacing + jit
    if sign:  # distinct in absolute value, random signs
        signs = np.array(draw(st.lists(st.sampled_from([-1.0, 1.0]), min_size=n, max_size=n)))
        vals = (0.3 + perm * spacing + jit) * signs
    out, k = [], 0
    for s, m in zip(shape_list, sizes):
        out.append(vals[k:k + m].reshape(s).astype(dtype, order="C"))
        k += m
    return out


def dims_for(ndim, allow_none=True, allow_tuple=True):
    """A `dim` argument valid for a tensor of `ndim` dims: None, int (negative too) or tuple."""
    n = max(ndim, 1)
    single = st.integers(-n, n - 1)
    opts = [single]
    if allow_none:
        opts.append(st.none())
    if allow_tuple and ndim > 0:
        opts.append(st.lists(st.integers(0, ndim - 1), min_size=1, max_size=ndim,
                             unique=True).map(tuple))
    return st.one_of(*opts)


def reduced_size(shape, dim):
    """Number of elements reduced over by `dim` (None means all)."""
    if dim is None:
        return int(np.prod(shape))
    dims = dim if isinstance(dim, tuple) else (dim,)
    if len(shape) == 0:
        return 1
    return int(np.prod([shape[d] for d in dims]))


# ----------------------------------------------------------------------------- running ops
class Namespace:
    """The library an op is written against: numbagrad.autograd or torch (+ its functional)."""

    def __init__(self, lib, functional=None, is_torch=False):
        self.lib, self.F, self.is_torch = lib, functional, is_torch

    def __getattr__(self, name):
        try:
            return getattr(self.lib, name)
        except AttributeError:
            if self.F is not None:
                return getattr(self.F, name)
            raise

    def tensor(self, arr, requires_grad=False):
        if self.is_torch:
            import torch
            return torch.tensor(np.asarray(arr), requires_grad=requires_grad)
        return ag.tensor(np.asarray(arr), requires_grad=requires_grad)


AG = Namespace(ag)


def make_inputs(L, arrays_, diff=None):
    """Tensors from arrays: floating ones require grad (or those listed in `diff`)."""
    out = []
    for i, a in enumerate(arrays_):
        if isinstance(a, np.ndarray):
            rg = (a.dtype.kind == "f") if diff is None else (i in diff)
            out.append(L.tensor(a, requires_grad=rg))
        else:
            out.append(a)
    return out


def outputs_of(res):
    """An op's result as a flat list of tensors (tuples, named tuples and lists unpacked)."""
    if isinstance(res, (tuple, list)):
        out = []
        for r in res:
            out.extend(outputs_of(r))
        return out
    return [res]


def to_numpy(t):
    """ndarray of a numbagrad or torch tensor (or None)."""
    if t is None:
        return None
    if hasattr(t, "detach") and hasattr(t, "cpu"):  # torch
        return t.detach().cpu().numpy()
    return np.asarray(t.detach().numpy())


def dtype_name(t):
    """'float32', 'int64', 'bool', ... for a numbagrad or torch tensor."""
    d = t.dtype
    if hasattr(d, "is_floating_point"):  # torch.dtype
        return str(d).split(".")[-1]
    return np.dtype(d).name


def seeded_grads(outs, seed):
    """A random upstream gradient per floating output (same numbers for both libraries)."""
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(np.shape(to_numpy(o))).astype(to_numpy(o).dtype)
            if dtype_name(o).startswith("float") else None for o in outs]


# ----------------------------------------------------------------------------- op specs
class OpSpec:
    """One differentiable op, written once for both libraries.

    fn(L, *tensors, **kw) calls the op through namespace L; inputs(dtype, small) is a
    strategy of (arrays, kw): float arrays become tensors requiring grad (or those in
    `diff`), integer/bool arrays constant tensors. `small` asks for gradcheck-sized inputs.
    """

    def __init__(self, name, cat, fn, inputs, second_order=True, diff=None, tol32=None,
                 tol64=None, gc_examples=3, gc_kw=None, gg_skip_0d=False):
        self.name, self.cat, self.fn, self.inputs = name, cat, fn, inputs
        self.second_order, self.diff = second_order, diff
        self.tol = {np.dtype(np.float32): tol32 or TOL[np.dtype(np.float32)],
                    np.dtype(np.float64): tol64 or TOL[np.dtype(np.float64)]}
        self.gc_examples = gc_examples
        self.gc_kw = gc_kw or {}
        # engine bug (see test_ops_gradcheck.py::test_zero_dim_grads_accumulate_as_arrays)
        self.gg_skip_0d = gg_skip_0d

    def __repr__(self):
        return self.name


def _sz(small, max_dims=3, max_side=4):
    return dict(max_dims=min(max_dims, 2) if small else max_dims,
                max_side=min(max_side, 3) if small else max_side)


def _kw(kw, *shps):
    return kw(*shps) if kw is not None else st.just({})


def unary(lo=-3.0, hi=3.0, avoid=(), margin=0.05, kw=None, min_dims=0, max_dims=3, min_side=1):
    """One array of a drawn shape, values in [lo, hi]; kw(shape) draws keyword arguments."""
    def build(dtype, small):
        @st.composite
        def s(draw):
            shp = draw(shapes(min_dims=min_dims, min_side=min_side,
                              **_sz(small, max_dims=max_dims)))
            a = draw(arrays(shp, dtype, lo, hi, avoid, margin))
            return (a,), draw(_kw(kw, shp))
        return s()
    return build


def nary(n=2, ranges=None, avoid=None, margin=0.05, kw=None, max_dims=3):
    """n mutually broadcastable arrays; ranges[i] = (lo, hi), avoid[i] = points to avoid."""
    ranges = ranges or [(-3.0, 3.0)] * n
    avoid = avoid or [()] * n

    def build(dtype, small):
        @st.composite
        def s(draw):
            shps = draw(broadcast_shapes(n, **_sz(small, max_dims=max_dims)))
            arrs = tuple(draw(arrays(sh, dtype, lo, hi, av, margin))
                         for sh, (lo, hi), av in zip(shps, ranges, avoid))
            return arrs, draw(_kw(kw, *shps))
        return s()
    return build


def distinct(n=1, kw=None, broadcast=True, min_dims=0, max_dims=3, positive=False, sign=False,
             min_side=1, first_full=False):
    """n arrays whose elements are all distinct (no ties), for max/min/sort/clamp and kin."""
    def build(dtype, small):
        @st.composite
        def s(draw):
            if n == 1 or not broadcast:
                shp = draw(shapes(min_dims=min_dims, min_side=min_side,
                                  **_sz(small, max_dims=max_dims)))
                shps = (shp,) * n
            else:
                shps = draw(broadcast_shapes(n, **_sz(small, max_dims=max_dims)))
                if first_full:  # the first array has the broadcast shape
                    shps = (np.broadcast_shapes(*shps),) + tuple(shps[1:])
            arrs = draw(distinct_arrays(shps, dtype, positive=positive, sign=sign))
            return tuple(arrs), draw(_kw(kw, *shps))
        return s()
    return build


def custom(fn):
    """fn(draw, dtype, small) -> (arrays, kw)."""
    def build(dtype, small):
        @st.composite
        def s(draw):
            return fn(draw, dtype, small)
        return s()
    return build


OPS = []


def op(name, cat, fn, inputs, **kw):
    OPS.append(OpSpec(name, cat, fn, inputs, **kw))


# ------------------------------------------------------------------ elementwise
E = "elementwise"
nz = dict(avoid=[(), (0.0,)], margin=0.3)
op("add", E, lambda L, a, b: L.add(a, b), nary())
op("add_alpha", E, lambda L, a, b: L.add(a, b, alpha=2.5), nary())
op("add_operator", E, lambda L, a, b: a + b, nary())
op("add_number", E, lambda L, a: a + 2.5, unary())
op("radd_number", E, lambda L, a: 2.5 + a, unary())
op("sub", E, lambda L, a, b: L.sub(a, b), nary())
op("sub_alpha", E, lambda L, a, b: a.sub(b, alpha=-0.5), nary())
op("sub_operator", E, lambda L, a, b: a - b, nary())
op("rsub_number", E, lambda L, a: 2.5 - a, unary())
op("mul", E, lambda L, a, b: L.mul(a, b), nary())
op("mul_operator_same", E, lambda L, a: a * a, unary())
op("rmul_number", E, lambda L, a: -1.5 * a, unary())
op("div", E, lambda L, a, b: L.div(a, b), nary(**nz))
op("div_operator", E, lambda L, a, b: a / b, nary(**nz))
op("div_number", E, lambda L, a: a / 3.0, unary())
op("rdiv_number", E, lambda L, a: 2.0 / a, unary(avoid=(0.0,), margin=0.3))
# exponent 0 is masked like PyTorch (its gradient is exactly 0 there, so the second derivative
# in the exponent disagrees with finite differences at that one point, in PyTorch too)
POW_TT = nary(ranges=[(0.3, 2.5), (-2.0, 2.0)], avoid=[(), (0.0,)])
op("pow_tensor_tensor", E, lambda L, a, b: L.pow(a, b), POW_TT)
op("pow_operator_tensor", E, lambda L, a, b: a ** b, POW_TT)
op("pow_int3", E, lambda L, a: a ** 3, unary())
op("pow_2", E, lambda L, a: L.pow(a, 2), unary())
op("pow_1", E, lambda L, a: a ** 1, unary())
op("pow_0", E, lambda L, a: a ** 0, unary())
op("pow_half", E, lambda L, a: a ** 0.5, unary(0.2, 4.0))
op("pow_neg_float", E, lambda L, a: a.pow(-1.5), unary(0.2, 4.0))
op("rpow_number", E, lambda L, a: 2.0 ** a, unary())
op("pow_number_base", E, lambda L, a: L.pow(1.7, a), unary())
op("neg", E, lambda L, a: L.neg(a), unary())
op("neg_operator", E, lambda L, a: -a, unary())
op("exp", E, lambda L, a: L.exp(a), unary())
op("log", E, lambda L, a: L.log(a), unary(0.1, 5.0))
op("log2", E, lambda L, a: L.log2(a), unary(0.1, 5.0))
op("log10", E, lambda L, a: a.log10(), unary(0.1, 5.0))
op("log1p", E, lambda L, a: L.log1p(a), unary(-0.9, 4.0))
op("expm1", E, lambda L, a: L.expm1(a), unary())
op("sqrt", E, lambda L, a: L.sqrt(a), unary(0.1, 5.0))
op("rsqrt", E, lambda L, a: L.rsqrt(a), unary(0.2, 5.0))
op("reciprocal", E, lambda L, a: L.reciprocal(a), unary(avoid=(0.0,), margin=0.3))
op("square", E, lambda L, a: L.square(a), unary())
op("sin", E, lambda L, a: L.sin(a), unary())
op("cos", E, lambda L, a: L.cos(a), unary())
op("tan", E, lambda L, a: L.tan(a), unary(-1.2, 1.2))
op("abs", E, lambda L, a: L.abs(a), unary(avoid=(0.0,)))
op("erf", E, lambda L, a: L.erf(a), unary())
op("clamp_numbers", E, lambda L, a: L.clamp(a, -1.0, 1.0), unary(avoid=(-1.0, 1.0)))
op("clamp_min", E, lambda L, a: L.clamp(a, min=-0.5), unary(avoid=(-0.5,)))
op("clamp_max", E, lambda L, a: a.clamp(max=0.5), unary(avoid=(0.5,)))
op("clip", E, lambda L, a: L.clip(a, -2.0, 0.0), unary(avoid=(-2.0, 0.0)))
op("clamp_tensors", E, lambda L, a, lo, hi: L.clamp(a, lo, hi), distinct(3, first_full=True))
# torch 2.13's backward fails when both bounds broadcast x to a larger shape: gradcheck only
op("clamp_tensors_broadcast_input", "elementwise_no_torch",
   lambda L, a, lo, hi: L.clamp(a, lo, hi), distinct(3))
op("clamp_tensor_min", E, lambda L, a, lo: L.clamp(a, min=lo), distinct(2))
op("maximum", E, lambda L, a, b: L.maximum(a, b), distinct(2))
op("minimum", E, lambda L, a, b: L.minimum(a, b), distinct(2))
op("max_elementwise", E, lambda L, a, b: L.max(a, b), distinct(2))
op("min_elementwise", E, lambda L, a, b: L.min(a, b), distinct(2))


def _where_inputs(draw, dtype, small):
    shps = draw(broadcast_shapes(3, **_sz(small)))
    cond = draw(hnp.arrays(np.bool_, shps[0]))
    a = draw(arrays(shps[1], dtype))
    b = draw(arrays(shps[2], dtype))
    return (cond, a, b), {}


op("where", E, lambda L, c, a, b: L.where(c, a, b), custom(_where_inputs))
op("where_method", E, lambda L, c, a, b: a.where(c, b), custom(_where_inputs))


def _mask_for(draw, shp):
    """A bool mask broadcastable to shp (some dims 1, maybe fewer dims)."""
    k = draw(st.integers(0, len(shp)))
    sub = shp[len(shp) - k:]
    mshape = tuple(draw(st.sampled_from([s, 1])) for s in sub)
    return draw(hnp.arrays(np.bool_, mshape))


def _masked_fill_inputs(draw, dtype, small):
    shp = draw(shapes(**_sz(small)))
    return (draw(arrays(shp, dtype)), _mask_for(draw, shp)), {}


def _masked_fill_tensor_inputs(draw, dtype, small):
    (a, m), _ = _masked_fill_inputs(draw, dtype, small)
    return (a, m, draw(arrays((), dtype))), {}


op("masked_fill", E, lambda L, a, m: L.masked_fill(a, m, 1.5), custom(_masked_fill_inputs))
op("masked_fill_tensor_value", E, lambda L, a, m, v: a.masked_fill(m, v),
   custom(_masked_fill_tensor_inputs))
op("lerp_number", E, lambda L, a, b: L.lerp(a, b, 0.3), nary())
op("lerp_tensor", E, lambda L, a, b, w: L.lerp(a, b, w), nary(3))
# a float32 output: finite differences need a large step (the op is linear, so it is exact)
CAST_GC = dict(eps=1e-2, atol=1e-4)
op("clone", E, lambda L, a: L.clone(a), unary())
op("clone_method", E, lambda L, a: a.clone() * 2.0, unary())
op("to_other_float", E, lambda L, a: a.to(L.float64 if a.dtype == L.float32 else L.float32),
   unary(), tol32=dict(rtol=1e-6, atol=1e-7), tol64=dict(rtol=1e-6, atol=1e-7), gc_kw=CAST_GC)
op("float", E, lambda L, a: a.float(), unary(), tol64=dict(rtol=1e-6, atol=1e-7), gc_kw=CAST_GC)
op("double", E, lambda L, a: a.double(), unary())

# ------------------------------------------------------------------ activations
A = "activation"
op("relu", A, lambda L, a: L.relu(a), unary(avoid=(0.0,)))
op("relu_method", A, lambda L, a: a.relu(), unary(avoid=(0.0,)))
op("sigmoid", A, lambda L, a: L.sigmoid(a), unary(-6.0, 6.0))
op("tanh", A, lambda L, a: L.tanh(a), unary())
op("leaky_relu", A, lambda L, a: L.leaky_relu(a, 0.1), unary(avoid=(0.0,)))
op("leaky_relu_default", A, lambda L, a: L.leaky_relu(a), unary(avoid=(0.0,)))
op("gelu", A, lambda L, a: L.gelu(a), unary(-4.0, 4.0))
op("gelu_tanh", A, lambda L, a: L.gelu(a, approximate="tanh"), unary(-4.0, 4.0))
op("elu", A, lambda L, a: L.elu(a), unary(avoid=(0.0,)), gg_skip_0d=True)
op("elu_alpha", A, lambda L, a: L.elu(a, alpha=0.5), unary(avoid=(0.0,)), gg_skip_0d=True)
op("silu", A, lambda L, a: L.silu(a), unary(-5.0, 5.0))
op("softplus", A, lambda L, a: L.softplus(a), unary(-5.0, 5.0), gg_skip_0d=True)
op("softplus_beta_threshold", A, lambda L, a: L.softplus(a, beta=2.0, threshold=2.0),
   unary(avoid=(1.0,), margin=0.1), gg_skip_0d=True)


def _dim_kw(shp):
    n = max(len(shp), 1)
    return st.fixed_dictionaries({"dim": st.integers(-n, n - 1)})


op("softmax", A, lambda L, a, dim: L.softmax(a, dim), unary(kw=_dim_kw))
op("softmax_method", A, lambda L, a, dim: a.softmax(dim), unary(kw=_dim_kw))
op("log_softmax", A, lambda L, a, dim: L.log_softmax(a, dim), unary(kw=_dim_kw))
op("log_softmax_method", A, lambda L, a, dim: a.log_softmax(dim), unary(kw=_dim_kw))


def _linear_inputs(draw, dtype, small):
    lead = draw(shapes(min_dims=0, max_dims=1 if small else 2, max_side=3))
    i, o = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    bias = draw(st.booleans())
    arrs = (draw(arrays(lead + (i,), dtype)), draw(arrays((o, i), dtype)))
    if bias:
        arrs += (draw(arrays((o,), dtype)),)
    return arrs, {}


def _linear(L, x, w, b=None):
    if L.is_torch:
        return L.F.linear(x, w, b)
    return ag.ops.linear(x, w, b)


op("linear", A, _linear, custom(_linear_inputs))


def _linear_act_inputs(act):
    """x (n, i), weight (o, i), bias (o,). For relu's finite-difference checks (small) n = 1
    and the bias puts every pre-activation at least 0.3 from relu's kink at 0."""
    def draw_inputs(draw, dtype, small):
        n = 1 if small else draw(st.integers(1, 4))
        i, o = draw(st.integers(1, 4)), draw(st.integers(1, 4))
        x, w = draw(arrays((n, i), dtype)), draw(arrays((o, i), dtype))
        b = draw(arrays((o,), dtype))
        if act == "relu" and small:
            z = b.astype(np.float64)
            z = np.where(z < 0, z - 0.3, z + 0.3)
            b = (z - x.astype(np.float64)[0] @ w.astype(np.float64).T).astype(dtype)
        return (x, w, b), {}
    return draw_inputs


def _linear_act(act):
    def fn(L, x, w, b):
        if L.is_torch:
            return getattr(L.torch, act)(L.F.linear(x, w, b))
        return ag.ops.activation.linear_act(x, w, b, act)
    return fn


for _act in ("relu", "tanh", "sigmoid"):  # the ops nn.Sequential fuses a Linear and activation into
    op(f"linear_{_act}", A, _linear_act(_act), custom(_linear_act_inputs(_act)))


def _mse_inputs(draw, dtype, small):
    shp = draw(shapes(**_sz(small)))
    red = draw(st.sampled_from(["mean", "sum", "none"]))
    return (draw(arrays(shp, dtype)), draw(arrays(shp, dtype))), {"reduction": red}


def _mse(L, x, y, reduction):
    if L.is_torch:
        return L.F.mse_loss(x, y, reduction=reduction)
    return ag.ops.MSELoss.apply(x, y, reduction)


op("mse_loss", A, _mse, custom(_mse_inputs))


def _ce_inputs(draw, dtype, small):
    n, c = draw(st.integers(1, 3 if small else 5)), draw(st.integers(1, 4))
    logits = draw(arrays((n, c), dtype))
    target = draw(hnp.arrays(np.int64, (n,), elements=st.integers(0, c - 1)))
    red = draw(st.sampled_from(["mean", "sum", "none"]))
    ignore = draw(st.sampled_from([-100, 0]))
    if red == "mean" and (target == ignore).all():
        ignore = -100
    use_w = draw(st.booleans())
    w = draw(arrays((c,), dtype, 0.5, 2.0)) if use_w else None
    return (logits, target), {"reduction": red, "ignore_index": ignore, "weight": w}


def _ce(L, x, t, reduction, ignore_index, weight):
    if L.is_torch:
        w = None if weight is None else L.tensor(weight)
        return L.F.cross_entropy(x, t, weight=w, ignore_index=ignore_index, reduction=reduction)
    return ag.ops.CrossEntropyIndex.apply(x, t.numpy(), weight, ignore_index, reduction)


op("cross_entropy", A, _ce, custom(_ce_inputs))


# ------------------------------------------------------------------ reductions
R = "reduction"
RTOL32 = dict(rtol=1e-4, atol=1e-4)


def _red_kw(tuple_ok=True, none_ok=True, keep=True):
    def kw(shp):
        return st.fixed_dictionaries({
            "dim": dims_for(len(shp), allow_none=none_ok, allow_tuple=tuple_ok),
            "keepdim": st.booleans() if keep else st.just(False)})
    return kw


def _reduce(name):
    def f(L, a, dim, keepdim):
        if dim is None:
            return getattr(L, name)(a)
        return getattr(L, name)(a, dim, keepdim=keepdim)
    return f


op("sum", R, _reduce("sum"), unary(kw=_red_kw()), tol32=RTOL32)
op("sum_method", R, lambda L, a, dim, keepdim: a.sum() if dim is None else
   a.sum(dim=dim, keepdim=keepdim), unary(kw=_red_kw()), tol32=RTOL32)
op("mean", R, _reduce("mean"), unary(kw=_red_kw()), tol32=RTOL32)
op("prod", R, _reduce("prod"), unary(-2.0, 2.0, avoid=(0.0,), margin=0.3,
                                     kw=_red_kw(tuple_ok=False)), tol32=RTOL32)
op("prod_all", R, lambda L, a: a.prod(), unary(-2.0, 2.0, avoid=(0.0,), margin=0.3),
   tol32=RTOL32)
op("max_all", R, lambda L, a: L.max(a), distinct())
op("min_all", R, lambda L, a: a.min(), distinct())
op("max_dim", R, lambda L, a, dim, keepdim: L.max(a, dim, keepdim),
   distinct(kw=_red_kw(tuple_ok=False, none_ok=False)))
op("min_dim", R, lambda L, a, dim, keepdim: a.min(dim=dim, keepdim=keepdim),
   distinct(kw=_red_kw(tuple_ok=False, none_ok=False)))
op("amax", R, lambda L, a, dim, keepdim: L.amax(a, dim, keepdim) if dim is not None else
   L.amax(a), distinct(kw=_red_kw()))
op("amin", R, lambda L, a, dim, keepdim: a.amin(dim, keepdim) if dim is not None else
   a.amin(), distinct(kw=_red_kw()))


def _var_kw(min_n):
    def kw(shp):
        @st.composite
        def s(draw):
            d = draw(_red_kw()(shp))
            n = reduced_size(shp, d["dim"])
            d["correction"] = draw(st.integers(0, min(2, n - min_n)))
            return d
        return s()
    return kw


def _var(name):
    def f(L, a, dim, keepdim, correction):
        return getattr(L, name)(a, dim, correction=correction, keepdim=keepdim)
    return f


op("var", R, _var("var"), unary(kw=_var_kw(1)), tol32=RTOL32)
op("std", R, _var("std"), distinct(kw=_var_kw(2), min_dims=1, min_side=2), tol32=RTOL32)
op("var_unbiased_default", R, lambda L, a: a.var(), distinct(min_dims=1, min_side=2),
   tol32=RTOL32)
op("std_dim_default", R, lambda L, a: L.std(a, 0), distinct(min_dims=1, min_side=2),
   tol32=RTOL32)


def _norm_kw(shp):
    return st.fixed_dictionaries({
        "p": st.sampled_from([2, 1, float("inf"), "fro", 3, 0.5, float("-inf")]),
        "dim": dims_for(len(shp), allow_tuple=len(shp) <= 2),
        "keepdim": st.booleans()})


def _norm(L, a, p, dim, keepdim):
    if p == "fro" and dim is not None and not isinstance(dim, tuple):
        p = 2
    return L.norm(a, p=p, dim=dim, keepdim=keepdim)


op("norm", R, _norm, distinct(sign=True, kw=_norm_kw), tol32=RTOL32)
op("norm_default", R, lambda L, a: a.norm(), distinct(sign=True), tol32=RTOL32)


def _lse_kw(shp):
    return st.fixed_dictionaries({"dim": dims_for(len(shp), allow_none=False),
                                  "keepdim": st.booleans()})


op("logsumexp", R, lambda L, a, dim, keepdim: L.logsumexp(a, dim, keepdim), unary(kw=_lse_kw),
   tol32=RTOL32)
op("cumsum", R, lambda L, a, dim: L.cumsum(a, dim), unary(kw=_dim_kw), tol32=RTOL32)

# ------------------------------------------------------------------ linalg
M = "linalg"
MTOL32 = dict(rtol=1e-4, atol=1e-4)


def _matmul_inputs(draw, dtype, small):
    n, k, m = (draw(st.integers(1, 3 if small else 4)) for _ in range(3))
    ra, rb = draw(st.integers(1, 3 if small else 4)), draw(st.integers(1, 3 if small else 4))
    batch = draw(broadcast_shapes(2, max_dims=max(ra, rb) - 2 if max(ra, rb) > 2 else 0,
                                  max_side=2 if small else 3))
    sa = (k,) if ra == 1 else batch[0][len(batch[0]) - (ra - 2):] + (n, k) if ra > 2 else (n, k)
    sb = (k,) if rb == 1 else batch[1][len(batch[1]) - (rb - 2):] + (k, m) if rb > 2 else (k, m)
    sa = tuple(sa) if ra != 2 else (n, k)
    sb = tuple(sb) if rb != 2 else (k, m)
    return (draw(arrays(sa, dtype)), draw(arrays(sb, dtype))), {}


op("matmul", M, lambda L, a, b: L.matmul(a, b), custom(_matmul_inputs), tol32=MTOL32)
op("matmul_operator", M, lambda L, a, b: a @ b, custom(_matmul_inputs), tol32=MTOL32)


def _mat_inputs(*shape_fns):
    def f(draw, dtype, small):
        dims = [draw(st.integers(1, 3 if small else 4)) for _ in range(4)]
        return tuple(draw(arrays(sf(*dims), dtype)) for sf in shape_fns), {}
    return custom(f)


op("mm", M, lambda L, a, b: L.mm(a, b), _mat_inputs(lambda n, k, m, b: (n, k),
                                                   lambda n, k, m, b: (k, m)), tol32=MTOL32)
op("bmm", M, lambda L, a, b: L.bmm(a, b), _mat_inputs(lambda n, k, m, b: (b, n, k),
                                                     lambda n, k, m, b: (b, k, m)), tol32=MTOL32)
op("mv", M, lambda L, a, b: L.mv(a, b), _mat_inputs(lambda n, k, m, b: (n, k),
                                                   lambda n, k, m, b: (k,)), tol32=MTOL32)
op("dot", M, lambda L, a, b: L.dot(a, b), _mat_inputs(lambda n, k, m, b: (k,),
                                                     lambda n, k, m, b: (k,)), tol32=MTOL32)
op("outer", M, lambda L, a, b: L.outer(a, b), _mat_inputs(lambda n, k, m, b: (n,),
                                                         lambda n, k, m, b: (m,)), tol32=MTOL32)


def _addmm_inputs(draw, dtype, small):
    n, k, m = (draw(st.integers(1, 3 if small else 4)) for _ in range(3))
    ishape = draw(st.sampled_from([(n, m), (m,), (1, m), (n, 1), ()]))
    kw = draw(st.fixed_dictionaries({"beta": st.sampled_from([1, 0.5]),
                                     "alpha": st.sampled_from([1, -2.0])}))
    return (draw(arrays(ishape, dtype)), draw(arrays((n, k), dtype)),
            draw(arrays((k, m), dtype))), kw


op("addmm", M, lambda L, c, a, b, beta, alpha: L.addmm(c, a, b, beta=beta, alpha=alpha),
   custom(_addmm_inputs), tol32=MTOL32)

# ------------------------------------------------------------------ shape and indexing
S = "shape"


def _reshape_kw(shp):
    @st.composite
    def s(draw):
        target = list(draw(st.permutations(list(shp) + [1] * draw(st.integers(0, 1)))))
        if target and draw(st.booleans()):
            target[draw(st.integers(0, len(target) - 1))] = -1
        return {"target": tuple(target)}
    return s()


op("reshape", S, lambda L, a, target: L.reshape(a, target), unary(kw=_reshape_kw))
op("reshape_method_varargs", S, lambda L, a, target: a.reshape(*target) if target else
   a.reshape(()), unary(kw=_reshape_kw))
op("view", S, lambda L, a, target: a.view(target), unary(kw=_reshape_kw))
op("reshape_flat", S, lambda L, a: a.reshape(-1), unary())


def _flatten_kw(shp):
    n = max(len(shp), 1)

    @st.composite
    def s(draw):
        i, j = sorted([draw(st.integers(0, n - 1)), draw(st.integers(0, n - 1))])
        neg = draw(st.booleans())
        return {"start_dim": i - n if neg else i, "end_dim": j}
    return s()


op("flatten", S, lambda L, a, start_dim, end_dim: L.flatten(a, start_dim, end_dim),
   unary(kw=_flatten_kw))
op("flatten_default", S, lambda L, a: a.flatten(), unary())


def _unflatten_kw(shp):
    @st.composite
    def s(draw):
        d = draw(st.integers(-len(shp), len(shp) - 1))
        size = shp[d]
        sizes = draw(st.sampled_from([(size,), (1, size), (size, 1), (-1, 1), (1, -1)]))
        return {"dim": d, "sizes": sizes}
    return s()


op("unflatten", S, lambda L, a, dim, sizes: L.unflatten(a, dim, sizes),
   unary(kw=_unflatten_kw, min_dims=1))


def _perm_kw(shp):
    return st.permutations(range(len(shp))).map(lambda p: {"dims": tuple(p)})


op("permute", S, lambda L, a, dims: L.permute(a, dims), unary(kw=_perm_kw))
op("permute_method", S, lambda L, a, dims: a.permute(*dims) if dims else a.permute(()),
   unary(kw=_perm_kw))


def _two_dims_kw(shp):
    n = max(len(shp), 1)
    return st.fixed_dictionaries({"d0": st.integers(-n, n - 1), "d1": st.integers(-n, n - 1)})


op("transpose", S, lambda L, a, d0, d1: L.transpose(a, d0, d1), unary(kw=_two_dims_kw))
op("t", S, lambda L, a: L.t(a), unary(max_dims=2))
op("t_method", S, lambda L, a: a.t(), unary(max_dims=2))
op("mT", S, lambda L, a: a.mT, unary(min_dims=2, max_dims=4))
op("T", S, lambda L, a: a.T, unary(max_dims=2))


def _unsqueeze_kw(shp):
    n = len(shp) + 1
    return st.fixed_dictionaries({"dim": st.integers(-n, n - 1)})


op("unsqueeze", S, lambda L, a, dim: L.unsqueeze(a, dim), unary(kw=_unsqueeze_kw))


def _squeeze_kw(shp):
    n = max(len(shp), 1)
    opts = [st.none(), st.integers(-n, n - 1)]
    if shp:
        opts.append(st.lists(st.integers(0, len(shp) - 1), min_size=1, max_size=len(shp),
                             unique=True).map(tuple))
    return st.fixed_dictionaries({"dim": st.one_of(*opts)})


def _ones_shapes(**kw):
    return shapes(**kw).flatmap(lambda s: st.tuples(*[st.sampled_from([d, 1]) for d in s]))


def _squeeze_inputs(draw, dtype, small):
    shp = draw(_ones_shapes(**_sz(small, max_dims=4)))
    return (draw(arrays(shp, dtype)),), draw(_squeeze_kw(shp))


op("squeeze", S, lambda L, a, dim: L.squeeze(a) if dim is None else L.squeeze(a, dim),
   custom(_squeeze_inputs))


def _expand_inputs(draw, dtype, small):
    shp = draw(_ones_shapes(**_sz(small)))
    new = tuple(draw(st.sampled_from([-1, 1, 2, 3])) if s == 1 else draw(st.sampled_from([-1, s]))
                for s in shp)
    lead = tuple(draw(st.lists(st.integers(1, 3), max_size=1 if small else 2)))
    return (draw(arrays(shp, dtype)),), {"sizes": lead + new}


op("expand", S, lambda L, a, sizes: a.expand(*sizes) if sizes else a.expand(sizes),
   custom(_expand_inputs))
op("broadcast_to", S, lambda L, a, sizes: L.broadcast_to(
    a, tuple(s if s != -1 else (a.shape[i - (len(sizes) - a.ndim)]) for i, s in
             enumerate(sizes))), custom(_expand_inputs))


def _basic_key(draw, shp):
    key = []
    for s in shp:
        kind = draw(st.sampled_from(["int", "slice", "full"]))
        if kind == "int":
            key.append(draw(st.integers(-s, s - 1)))
        elif kind == "slice":
            a, b = draw(st.integers(-s - 1, s + 1)), draw(st.integers(-s - 1, s + 1))
            key.append(slice(a, b, draw(st.integers(1, 2))))
        else:
            key.append(slice(None))
    for _ in range(draw(st.integers(0, 2))):
        key.insert(draw(st.integers(0, len(key))), None)
    if draw(st.booleans()):  # replace a run of full slices (maybe empty) by ...
        i = j = draw(st.integers(0, len(key)))
        while j < len(key) and key[j] == slice(None):
            j += 1
        key = key[:i] + [Ellipsis] + key[j:]  # only a contiguous run keeps the axes aligned
    if len(key) == 1 and draw(st.booleans()):
        return key[0]
    return tuple(key)


def _getitem_basic_inputs(draw, dtype, small):
    shp = draw(shapes(**_sz(small)))
    return (draw(arrays(shp, dtype)),), {"key": _basic_key(draw, shp)}


op("getitem_basic", S, lambda L, a, key: a[key], custom(_getitem_basic_inputs))


def _getitem_adv_inputs(draw, dtype, small):
    shp = draw(shapes(min_dims=1, **_sz(small)))
    kind = draw(st.sampled_from(["int_array", "int_tensor", "two_arrays", "mask", "row_mask",
                                 "slice_then_array", "list", "int_and_array", "split_arrays",
                                 "none_and_array", "ellipsis_array", "prefix_mask",
                                 "zero_dim_int_tensor", "array_2d"]))
    s0 = shp[0]
    idx = lambda n, size: np.array(draw(st.lists(st.integers(-size, size - 1), min_size=n,  # noqa
                                                 max_size=n)), dtype=np.int64)
    if kind == "int_array":
        key = idx(draw(st.integers(1, 5)), s0)  # repeats likely: gradients accumulate
    elif kind == "int_tensor":
        key = ("tensor", idx(draw(st.integers(0, 5)), s0).reshape(-1, 1))
    elif kind == "list":
        key = [int(i) for i in idx(draw(st.integers(1, 4)), s0)]
    elif kind == "two_arrays" and len(shp) >= 2:
        n = draw(st.integers(1, 4))
        key = (idx(n, s0), idx(n, shp[1]))
    elif kind == "mask":
        key = ("tensor", draw(hnp.arrays(np.bool_, shp)))
    elif kind == "slice_then_array" and len(shp) >= 2:
        key = (slice(None), idx(draw(st.integers(1, 4)), shp[1]))
    elif kind == "int_and_array" and len(shp) >= 2:
        key = (draw(st.integers(-s0, s0 - 1)), idx(draw(st.integers(1, 4)), shp[1]))
    elif kind == "split_arrays" and len(shp) >= 3:  # advanced dims separated by a slice
        n = draw(st.integers(1, 3))
        key = (idx(n, s0), slice(None), idx(n, shp[2]))
    elif kind == "none_and_array":
        key = (None, idx(draw(st.integers(1, 4)), s0))
    elif kind == "ellipsis_array":
        key = (Ellipsis, idx(draw(st.integers(1, 4)), shp[-1]))
    elif kind == "prefix_mask" and len(shp) >= 2:
        key = ("tensor", draw(hnp.arrays(np.bool_, shp[:2])))
    elif kind == "zero_dim_int_tensor":
        key = ("tensor", np.array(draw(st.integers(-s0, s0 - 1)), dtype=np.int64))
    elif kind == "array_2d":
        key = idx(draw(st.integers(1, 3)) * 2, s0).reshape(2, -1)
    else:
        key = draw(hnp.arrays(np.bool_, (s0,)))
    return (draw(arrays(shp, dtype)),), {"key": key}


def _adv_get(L, a, key):
    if isinstance(key, tuple) and key and isinstance(key[0], str):
        return a[L.tensor(key[1])]
    return a[key]


op("getitem_advanced", S, _adv_get, custom(_getitem_adv_inputs))


def _cat_inputs(draw, dtype, small):
    shp = draw(shapes(min_dims=1, **_sz(small)))
    d = draw(st.integers(-len(shp), len(shp) - 1))
    k = draw(st.integers(1, 3))
    arrs = []
    for _ in range(k):
        s = list(shp)
        s[d] = draw(st.integers(1, 3))
        arrs.append(draw(arrays(tuple(s), dtype)))
    return tuple(arrs), {"dim": d}


op("cat", S, lambda L, *ts, dim: L.cat(list(ts), dim), custom(_cat_inputs))
def _same_shape_pair(draw, dtype, small):
    shp = draw(shapes(min_dims=1, **_sz(small)))
    return (draw(arrays(shp, dtype)), draw(arrays(shp, dtype))), {}


op("cat_tuple_default_dim", S, lambda L, a, b: L.cat((a, b)), custom(_same_shape_pair))


def _stack_inputs(draw, dtype, small):
    shp = draw(shapes(**_sz(small)))
    n = len(shp) + 1
    k = draw(st.integers(1, 3))
    return tuple(draw(arrays(shp, dtype)) for _ in range(k)), {"dim": draw(st.integers(-n, n - 1))}


op("stack", S, lambda L, *ts, dim: L.stack(list(ts), dim), custom(_stack_inputs))


def _split_kw(shp):
    @st.composite
    def s(draw):
        d = draw(st.integers(-len(shp), len(shp) - 1))
        size = shp[d]
        if draw(st.booleans()):
            arg = draw(st.integers(1, size + 1))
        else:
            cuts = sorted(draw(st.lists(st.integers(0, size), max_size=3)))
            edges = [0] + cuts + [size]
            arg = [b - a for a, b in zip(edges, edges[1:])]
        return {"arg": arg, "dim": d}
    return s()


op("split", S, lambda L, a, arg, dim: L.split(a, arg, dim), unary(kw=_split_kw, min_dims=1))


def _chunk_kw(shp):
    return st.fixed_dictionaries({"chunks": st.integers(1, 5),
                                  "dim": st.integers(-len(shp), len(shp) - 1)})


op("chunk", S, lambda L, a, chunks, dim: L.chunk(a, chunks, dim), unary(kw=_chunk_kw, min_dims=1))


def _dim_only(shp):
    return st.fixed_dictionaries({"dim": st.integers(-len(shp), len(shp) - 1)})


op("unbind", S, lambda L, a, dim: L.unbind(a, dim), unary(kw=_dim_only, min_dims=1))


def _select_kw(shp):
    @st.composite
    def s(draw):
        d = draw(st.integers(-len(shp), len(shp) - 1))
        return {"dim": d, "index": draw(st.integers(-shp[d], shp[d] - 1))}
    return s()


op("select", S, lambda L, a, dim, index: L.select(a, dim, index), unary(kw=_select_kw, min_dims=1))


def _narrow_kw(shp):
    @st.composite
    def s(draw):
        d = draw(st.integers(-len(shp), len(shp) - 1))
        start = draw(st.integers(0, shp[d]))
        return {"dim": d, "start": start, "length": draw(st.integers(0, shp[d] - start))}
    return s()


op("narrow", S, lambda L, a, dim, start, length: a.narrow(dim, start, length),
   unary(kw=_narrow_kw, min_dims=1))


def _flip_kw(shp):
    return st.lists(st.integers(0, len(shp) - 1), min_size=1, max_size=len(shp),
                    unique=True).map(lambda d: {"dims": tuple(d)})


op("flip", S, lambda L, a, dims: L.flip(a, dims), unary(kw=_flip_kw, min_dims=1))


def _repeat_kw(shp):
    return st.lists(st.integers(1, 3), min_size=len(shp), max_size=len(shp) + 1).map(
        lambda r: {"reps": tuple(r)})


op("repeat", S, lambda L, a, reps: a.repeat(*reps) if reps else a.repeat(()),
   unary(kw=_repeat_kw, min_dims=1))


def _gather_inputs(draw, dtype, small):
    shp = draw(shapes(min_dims=1, **_sz(small)))
    d = draw(st.integers(-len(shp), len(shp) - 1))
    ishape = tuple(draw(st.integers(1, 4)) if i == d % len(shp) else draw(st.integers(1, s))
                   for i, s in enumerate(shp))
    index = draw(hnp.arrays(np.int64, ishape, elements=st.integers(0, shp[d] - 1)))
    return (draw(arrays(shp, dtype)), index), {"dim": d}


op("gather", S, lambda L, a, index, dim: L.gather(a, dim, index), custom(_gather_inputs))


def _scatter_add_inputs(draw, dtype, small):
    (src, index), kw = _gather_inputs(draw, dtype, small)
    d = kw["dim"] % src.ndim
    index = index.copy()
    # the target: src's shape, with its own size along dim (indices must fit it)
    ishape = list(index.shape)
    src = draw(arrays(tuple(ishape), dtype))
    tshape = list(ishape)
    tshape[d] = int(index.max()) + 1 + draw(st.integers(0, 1))
    for i in range(len(tshape)):
        if i != d:
            tshape[i] += draw(st.integers(0, 1))
    return (draw(arrays(tuple(tshape), dtype)), index, src), {"dim": kw["dim"]}


op("scatter_add", S, lambda L, a, index, src, dim: L.scatter_add(a, dim, index, src),
   custom(_scatter_add_inputs))


def _sort_kw(shp):
    n = max(len(shp), 1)
    return st.fixed_dictionaries({"dim": st.integers(-n, n - 1), "descending": st.booleans()})


op("sort", S, lambda L, a, dim, descending: L.sort(a, dim, descending),
   distinct(kw=_sort_kw))


def _topk_kw(shp):
    @st.composite
    def s(draw):
        n = max(len(shp), 1)
        d = draw(st.integers(-n, n - 1))
        size = shp[d] if shp else 1
        return {"k": draw(st.integers(0, size)), "dim": d, "largest": draw(st.booleans())}
    return s()


op("topk", S, lambda L, a, k, dim, largest: L.topk(a, k, dim, largest), distinct(kw=_topk_kw))


# ------------------------------------------------------------------ aliases and composites
op("subtract", E, lambda L, a, b: L.subtract(a, b), nary())
op("multiply", E, lambda L, a, b: L.multiply(a, b), nary())
op("true_divide", E, lambda L, a, b: L.true_divide(a, b), nary(**nz))
op("negative", E, lambda L, a: L.negative(a), unary())
op("absolute", E, lambda L, a: L.absolute(a), unary(avoid=(0.0,)))
op("abs_operator", E, lambda L, a: abs(a), unary(avoid=(0.0,)))
op("pos_operator", E, lambda L, a: +a * 2.0, unary())
op("where_scalar_other", E, lambda L, c, a, b: L.where(c, a, 0.5), custom(_where_inputs))
op("where_scalar_input", E, lambda L, c, a, b: L.where(c, -1.5, b), custom(_where_inputs))
op("chain_of_ops", E, lambda L, a, b: ((a * b).exp() - a / (b * b + 1.0)).tanh().sum(),
   nary())
R2 = "reduction"
op("var_mean", R2, lambda L, a, dim, keepdim, correction: L.var_mean(
    a, dim, correction=correction, keepdim=keepdim), unary(kw=_var_kw(1)), tol32=RTOL32)
op("std_mean", R2, lambda L, a, dim, keepdim, correction: L.std_mean(
    a, dim, correction=correction, keepdim=keepdim),
   distinct(kw=_var_kw(2), min_dims=1, min_side=2), tol32=RTOL32)
op("mean_then_sum_keepdim", R2, lambda L, a: a.mean(-1, keepdim=True).sum(0), unary(min_dims=1),
   tol32=RTOL32)
S2 = "shape"
op("hstack", S2, lambda L, a, b: L.hstack([a, b]), custom(_same_shape_pair))
op("vstack", S2, lambda L, a, b: L.vstack((a, b)), custom(_same_shape_pair))
op("concat_alias", S2, lambda L, *ts, dim: L.concat(list(ts), dim=dim), custom(_cat_inputs))
op("broadcast_tensors", S2, lambda L, a, b: L.broadcast_tensors(a, b), nary())
op("expand_as", S2, lambda L, a, b: a.expand_as(b * 0 + L.zeros_like(a)), nary())
op("swapdims", S2, lambda L, a, d0, d1: a.swapdims(d0, d1), unary(kw=_two_dims_kw))
op("view_as", S2, lambda L, a, target: a.view_as(a.reshape(target).detach()),
   unary(kw=_reshape_kw))
op("getitem_then_view", S2, lambda L, a: a[..., None].squeeze(-1).reshape(-1)[::2], unary())
op("unsqueeze_expand_sum", S2, lambda L, a: a.unsqueeze(0).expand(3, *a.shape).sum(0),
   unary())


# ------------------------------------------------------------------ dtype= arguments
def _other_float(L, a):
    return L.float64 if a.dtype == L.float32 else L.float32


DT = dict(tol64=dict(rtol=1e-5, atol=1e-6))  # a float32 result from float64 input
op("sum_dtype", R2, lambda L, a: L.sum(a, dtype=_other_float(L, a)), unary(), tol32=RTOL32, **DT,
   gc_kw=CAST_GC)
op("mean_dtype", R2, lambda L, a, dim, keepdim: a.mean(dim if dim is not None else (),
                                                        keepdim, dtype=L.float64),
   unary(kw=_red_kw(none_ok=False)), tol32=RTOL32)
op("cumsum_dtype", R2, lambda L, a, dim: L.cumsum(a, dim, dtype=L.float64), unary(kw=_dim_kw),
   tol32=RTOL32)
op("softmax_dtype", A, lambda L, a, dim: L.softmax(a, dim, dtype=L.float64), unary(kw=_dim_kw))
op("log_softmax_dtype", A, lambda L, a, dim: L.log_softmax(a, dim, dtype=L.float64),
   unary(kw=_dim_kw))


# ------------------------------------------------------------------ recorded in-place ops
I = "inplace"


def _inplace(method, *args, **kw):
    def f(L, x, *others):
        y = x * 1.0  # a non-leaf, so the in-place op is recorded
        getattr(y, method)(*[o(others) if callable(o) else o for o in args], **kw)
        return y
    return f


def _inplace_inputs(n_other, lo=-3.0, hi=3.0, avoid=()):
    def f(draw, dtype, small):
        shp = draw(shapes(**_sz(small)))
        x = draw(arrays(shp, dtype, lo, hi, avoid))
        others = []
        for _ in range(n_other):
            k = draw(st.integers(0, len(shp)))
            oshape = tuple(draw(st.sampled_from([s, 1])) for s in shp[len(shp) - k:])
            others.append(draw(arrays(oshape, dtype, avoid=(0.0,), margin=0.3)))
        return (x, *others), {}
    return custom(f)


op("add_", I, _inplace("add_", lambda o: o[0], alpha=0.5), _inplace_inputs(1))
op("mul_", I, _inplace("mul_", lambda o: o[0]), _inplace_inputs(1))
op("div_", I, _inplace("div_", lambda o: o[0]), _inplace_inputs(1))
op("addcmul_", I, _inplace("addcmul_", lambda o: o[0], lambda o: o[1], value=0.5),
   _inplace_inputs(2))
op("addcdiv_", I, _inplace("addcdiv_", lambda o: o[0], lambda o: o[1], value=0.5),
   _inplace_inputs(2))
op("lerp_", I, _inplace("lerp_", lambda o: o[0], 0.25), _inplace_inputs(1))
op("copy_", I, _inplace("copy_", lambda o: o[0]), _inplace_inputs(1))
op("clamp_", I, _inplace("clamp_", -1.0, 1.0), _inplace_inputs(0, avoid=(-1.0, 1.0)))
op("sigmoid_", I, _inplace("sigmoid_"), _inplace_inputs(0))
op("exp_", I, _inplace("exp_"), _inplace_inputs(0))


def _setitem_inputs(draw, dtype, small):
    shp = draw(shapes(min_dims=1, **_sz(small)))
    key = _basic_key(draw, shp) if draw(st.booleans()) else np.array(
        draw(st.permutations(range(shp[0])))[:draw(st.integers(1, shp[0]))], dtype=np.int64)
    target = np.empty(shp)[key].shape
    k = draw(st.integers(0, len(target)))
    vshape = tuple(draw(st.sampled_from([s, 1])) for s in target[len(target) - k:])
    return (draw(arrays(shp, dtype)), draw(arrays(vshape, dtype))), {"key": key}


def _setitem(L, x, v, key):
    y = x * 1.0
    y[key] = v
    return y * 1.0


op("setitem", I, _setitem, custom(_setitem_inputs))


# ------------------------------------------------------------------ random programs
BINARY = [
    ("add", lambda L, a, b: a + b), ("sub", lambda L, a, b: a - b),
    ("mul", lambda L, a, b: a * b), ("div", lambda L, a, b: a / (b * b + 1.0)),
    ("lerp", lambda L, a, b: L.lerp(a, b, 0.3)),
    ("where", lambda L, a, b: L.where(a > b, a, b * 2)),
    ("hypot", lambda L, a, b: (a * a + b * b + 1e-3).sqrt()),
    ("maximum", lambda L, a, b: L.maximum(a, b)), ("minimum", lambda L, a, b: L.minimum(a, b)),
    # the exponent stays away from 0: there PyTorch's pow backward masks the base's
    # gradient to 0 (to avoid 0 * inf), which zeroes its derivative in the exponent too, so
    # gradgradcheck fails at exponent == 0 in PyTorch as here (tanh(0) == 0 was drawn)
    ("pow", lambda L, a, b: (a * a + 0.5) ** (L.tanh(b) + 1.5)),
    ("clamp_by", lambda L, a, b: L.clamp(a, min=b) if a.shape == (a + b).shape else a - b),
]
UNARY = [
    ("tanh", lambda L, a: L.tanh(a)), ("sigmoid", lambda L, a: L.sigmoid(a)),
    ("sin", lambda L, a: L.sin(a)), ("softplus", lambda L, a: L.softplus(a)),
    ("exp_tanh", lambda L, a: L.exp(L.tanh(a))), ("square", lambda L, a: a * a),
    ("sum_keep", lambda L, a: a.sum(-1, keepdim=True) if a.ndim else a),
    ("mean_keep", lambda L, a: a.mean(0, keepdim=True) if a.ndim else a),
    ("softmax", lambda L, a: L.softmax(a, -1) if a.ndim else a),
    ("logsumexp_keep", lambda L, a: L.logsumexp(a, -1, keepdim=True) if a.ndim else a),
    ("gelu", lambda L, a: L.gelu(a)), ("silu", lambda L, a: L.silu(a)),
    ("clone", lambda L, a: a.clone()), ("neg", lambda L, a: -a),
    ("getitem_all", lambda L, a: a[...]), ("unsqueeze_squeeze", lambda L, a: a.unsqueeze(0)[0]),
    ("relu", lambda L, a: L.relu(a)), ("abs", lambda L, a: L.abs(a)),
    ("clamp", lambda L, a: L.clamp(a, -0.5, 0.5)),
    ("cumsum", lambda L, a: L.cumsum(a, -1) if a.ndim else a),
    ("flip", lambda L, a: a.flip(-1) if a.ndim else a),
    ("sort_values", lambda L, a: L.sort(a, dim=-1, stable=True)[0] if a.ndim else a),
    ("amax_keep", lambda L, a: L.amax(a, -1, keepdim=True) if a.ndim else a),
    ("log_softmax", lambda L, a: L.log_softmax(a, 0) if a.ndim else a),
    ("norm_keep", lambda L, a: L.norm(a * a + 0.1, dim=-1, keepdim=True) if a.ndim else a),
    ("var_keep", lambda L, a: L.var(a, -1, keepdim=True, correction=0) if a.ndim else a),
    ("swap_back", lambda L, a: a.transpose(0, -1).transpose(0, -1) if a.ndim else a),
    ("reshape_back", lambda L, a: a.reshape(-1).reshape(a.shape)),
    ("matmul_self", lambda L, a: a @ a.mT if a.ndim >= 2 and a.shape[-1] == a.shape[-2] else a),
]


KINKED = {"relu", "abs", "clamp", "maximum", "minimum", "where", "clamp_by", "sort_values",
          "amax_keep"}


@st.composite
def programs(draw, dtype=None, max_steps=8, smooth=False, max_side=3):
    """(dtype, leaf arrays, steps): steps apply UNARY/BINARY ops to earlier values.

    smooth=True leaves out ops with kinks or ties (for finite differences)."""
    dtype = draw(dtypes) if dtype is None else dtype
    n_leaves = draw(st.integers(1, 3))
    shps = draw(broadcast_shapes(n_leaves, max_dims=3 if max_side > 2 else 2,
                                 max_side=max_side))
    un = [i for i, (name, _) in enumerate(UNARY) if not (smooth and name in KINKED)]
    bi = [i for i, (name, _) in enumerate(BINARY) if not (smooth and name in KINKED)]
    leaves = [draw(arrays(s, dtype, -2.0, 2.0)) for s in shps]
    steps = []
    for i in range(draw(st.integers(1, max_steps))):
        n = n_leaves + i
        if draw(st.booleans()):
            steps.append(("u", draw(st.sampled_from(un)), draw(st.integers(0, n - 1))))
        else:
            steps.append(("b", draw(st.sampled_from(bi)), draw(st.integers(0, n - 1)),
                          draw(st.integers(0, n - 1))))
    return dtype, leaves, steps


def run_program(L, leaves, steps, seed):
    xs = [L.tensor(a, requires_grad=True) for a in leaves]
    nodes = list(xs)
    for st_ in steps:
        if st_[0] == "u":
            nodes.append(UNARY[st_[1]][1](L, nodes[st_[2]]))
        else:
            nodes.append(BINARY[st_[1]][1](L, nodes[st_[2]], nodes[st_[3]]))
    rng = np.random.default_rng(seed)
    # every node contributes to the loss: many paths back to each leaf
    loss = None
    for nd in nodes[len(xs):]:
        w = L.tensor(rng.standard_normal(tuple(nd.shape)).astype(leaves[0].dtype))
        term = (nd * w).sum()
        loss = term if loss is None else loss + term
    if loss is None:
        loss = sum((x * x).sum() for x in xs)
    return xs, loss


# ----------------------------------------------------------------------------- checks
def _assert_close(a, b, tol, what):
    a, b = np.asarray(a), np.asarray(b)
    assert a.shape == b.shape, f"{what}: shape {a.shape} (numbagrad) vs {b.shape} (torch)"
    if a.dtype.kind in "biu" or b.dtype.kind in "biu":
        np.testing.assert_array_equal(a, b, err_msg=what)
    else:
        np.testing.assert_allclose(a, b, err_msg=what, equal_nan=True, **tol)


def _strided_ok(a, layout):
    return isinstance(a, np.ndarray) and a.dtype.kind == "f" and (
        (layout == "strided" and a.ndim >= 1) or (layout == "transposed" and a.ndim >= 2))


def stored(arrs, layout):
    """What the leaves hold, so that `views` of them are non-contiguous views of arrs."""
    out = []
    for a in arrs:
        if not _strided_ok(a, layout):
            out.append(a)
        elif layout == "strided":  # every other element of a twice-as-long last dim
            out.append(np.repeat(a, 2, axis=-1) * np.where(np.arange(2 * a.shape[-1]) % 2, 7, 1)
                       .astype(a.dtype))
        else:
            out.append(np.ascontiguousarray(np.swapaxes(a, -1, -2)))
    return out


def views(leaves, arrs, layout):
    """The op's inputs: the leaves, or non-contiguous views of them equal to arrs."""
    out = []
    for x, a in zip(leaves, arrs):
        if not _strided_ok(a, layout):
            out.append(x)
        elif layout == "strided":
            out.append(x[..., ::2])
        else:
            out.append(x.transpose(-1, -2))
    return out


def compare_with_torch(spec, data, torch, dtype=None):
    """Draw inputs for `spec`, run it in numbagrad and torch, compare values, dtypes, grads."""
    import torch.nn.functional as F
    T = Namespace(torch, F, is_torch=True)
    dtype = dtype if dtype is not None else data.draw(dtypes, label="dtype")
    arrs, kw = data.draw(spec.inputs(dtype, False), label="inputs")
    seed = data.draw(st.integers(0, 2 ** 31 - 1), label="seed")
    tol = spec.tol[np.dtype(dtype)]

    layout = data.draw(st.sampled_from(["contiguous", "contiguous", "strided", "transposed"]),
                       label="layout")
    xs_a = make_inputs(AG, stored(arrs, layout), spec.diff)
    xs_t = make_inputs(T, stored(arrs, layout), spec.diff)
    res = []
    for L, xs in ((AG, xs_a), (T, xs_t)):
        try:
            res.append(outputs_of(spec.fn(L, *views(xs, arrs, layout), **kw)))
        except (RuntimeError, IndexError, ValueError, TypeError) as e:
            res.append(e)
    outs_a, outs_t = res
    if isinstance(outs_a, Exception) or isinstance(outs_t, Exception):
        # an input PyTorch rejects (e.g. view() of a non-contiguous tensor) must be rejected
        assert isinstance(outs_a, Exception) and isinstance(outs_t, Exception), \
            f"numbagrad: {outs_a!r}; torch: {outs_t!r}"
        return
    assert len(outs_a) == len(outs_t), f"{len(outs_a)} outputs vs torch's {len(outs_t)}"
    for i, (oa, ot) in enumerate(zip(outs_a, outs_t)):
        assert dtype_name(oa) == dtype_name(ot), \
            f"output {i}: dtype {dtype_name(oa)} vs torch {dtype_name(ot)}"
        _assert_close(to_numpy(oa), to_numpy(ot), tol, f"{spec.name} output {i} value")
        assert bool(oa.requires_grad) == bool(ot.requires_grad), f"output {i} requires_grad"

    pairs = [(i, oa, ot) for i, (oa, ot) in enumerate(zip(outs_a, outs_t)) if ot.requires_grad]
    if not pairs:
        return
    gs = seeded_grads([ot for _, _, ot in pairs], seed)
    leaves = [k for k, x in enumerate(xs_a) if getattr(x, "requires_grad", False)]
    # the Tensor-op backward (recorded, as for create_graph=True), then the array fast path
    graph_grads = ag.grad([p[1] for p in pairs], [xs_a[k] for k in leaves],
                          [ag.tensor(g) for g in gs], retain_graph=True, create_graph=True,
                          allow_unused=True)
    ag.backward([p[1] for p in pairs], [ag.tensor(g) for g in gs])
    torch.autograd.backward([p[2] for p in pairs], [torch.tensor(g) for g in gs])
    for k, gg in zip(leaves, graph_grads):
        xa, xt = xs_a[k], xs_t[k]
        for how, ga in (("backward()", xa.grad), ("grad(create_graph=True)", gg)):
            gt = xt.grad
            what = f"{spec.name} {how}: gradient of input {k}"
            if gt is None:
                assert ga is None or not np.any(to_numpy(ga)), f"{what} where torch has none"
                continue
            if ga is None:  # torch may hand a zero gradient where numbagrad has none
                assert not np.any(to_numpy(gt)), f"{what} missing (torch has one)"
                continue
            assert dtype_name(ga) == dtype_name(xa), f"{what} has dtype {dtype_name(ga)}"
            _assert_close(to_numpy(ga), to_numpy(gt), tol, what)


def draw_float64(spec, data):
    """Small float64 inputs for gradcheck: (tensors, kw)."""
    arrs, kw = data.draw(spec.inputs(np.float64, True), label="inputs")
    return make_inputs(AG, arrs, spec.diff), kw


def run_gradcheck(spec, data, second=False):
    xs, kw = draw_float64(spec, data)
    if not any(getattr(x, "requires_grad", False) for x in xs):
        return
    if second and spec.gg_skip_0d:
        from hypothesis import assume
        assume(all(x.ndim > 0 for x in xs if hasattr(x, "ndim")))

    def fn(*ts):
        return tuple(o for o in outputs_of(spec.fn(AG, *ts, **kw)))

    if second:
        assert ag.gradgradcheck(fn, tuple(xs), **spec.gc_kw)
    else:
        assert ag.gradcheck(fn, tuple(xs), **spec.gc_kw)


# ============================================================================= more ops
# asin ... xlogy, cumprod, median, roll, diag/diagonal/trace, tile, repeat_interleave, meshgrid,
# kron, tensordot, cross, einsum, cdist, cosine_similarity, pairwise_distance. Category
# "more": compared with torch in test_ops_more.py; gradcheck/gradgradcheck as every op.
X = "more"
op("asin", X, lambda L, a: L.asin(a), unary(-0.9, 0.9))
op("arcsin_method", X, lambda L, a: a.arcsin(), unary(-0.9, 0.9))
op("acos", X, lambda L, a: L.acos(a), unary(-0.9, 0.9))
op("arccos", X, lambda L, a: L.arccos(a), unary(-0.9, 0.9))
op("atan", X, lambda L, a: L.atan(a), unary())
op("arctan_method", X, lambda L, a: a.arctan(), unary())
op("sinh", X, lambda L, a: L.sinh(a), unary())
op("cosh", X, lambda L, a: a.cosh(), unary())
op("asinh", X, lambda L, a: L.asinh(a), unary())
op("acosh", X, lambda L, a: L.acosh(a), unary(1.1, 4.0))
op("atanh", X, lambda L, a: a.atanh(), unary(-0.9, 0.9))
op("arcsinh_arccosh_arctanh", X, lambda L, a: L.arcsinh(a) + L.arccosh(a + 2.0) +
   L.arctanh(a * 0.2), unary(-0.9, 3.0))
op("exp2", X, lambda L, a: L.exp2(a), unary())
op("erfc", X, lambda L, a: L.erfc(a), unary(-4.0, 4.0))
op("erfc_method", X, lambda L, a: a.erfc(), unary())
op("sgn", X, lambda L, a: L.sgn(a) * a, unary(avoid=(0.0,)))
op("frac", X, lambda L, a: L.frac(a), unary(avoid=(-3.0, -2.0, -1.0, 0.0, 1.0, 2.0, 3.0)))
op("frac_method", X, lambda L, a: a.frac(), unary(avoid=(-3.0, -2.0, -1.0, 0.0, 1.0, 2.0, 3.0)))


def _nan_to_num_inputs(draw, dtype, small):
    shp = draw(shapes(**_sz(small)))
    a = draw(arrays(shp, dtype))
    if a.size and not small:  # finite differences cannot step off inf (gradcheck is small)
        special = draw(hnp.arrays(np.int8, shp, elements=st.integers(0, 5)))
        a = np.where(special == 1, np.nan, np.where(special == 2, np.inf,
                                                    np.where(special == 3, -np.inf, a)))
        a = a.astype(dtype)
    kw = draw(st.sampled_from([{}, {"nan": 1.5}, {"nan": -1.0, "posinf": 9.0},
                               {"posinf": 2.0, "neginf": -2.0}]))
    return (a,), {"kw": kw}


op("nan_to_num", X, lambda L, a, kw: L.nan_to_num(a, **kw), custom(_nan_to_num_inputs))
op("nan_to_num_method", X, lambda L, a, kw: a.nan_to_num(**kw) * 2.0,
   custom(_nan_to_num_inputs))
# atan2 jumps on the negative x-axis (a = 0, b < 0): keep a away from 0
op("atan2", X, lambda L, a, b: L.atan2(a, b), nary(avoid=[(0.0,), ()], margin=0.3))
op("arctan2_method", X, lambda L, a, b: a.arctan2(b), nary(avoid=[(0.0,), ()], margin=0.3))
op("hypot", X, lambda L, a, b: L.hypot(a, b), nary(avoid=[(0.0,), ()], margin=0.3))
op("hypot_method", X, lambda L, a, b: a.hypot(b), nary(avoid=[(0.0,), ()], margin=0.3))
op("logaddexp", X, lambda L, a, b: L.logaddexp(a, b), nary())
op("logaddexp_method", X, lambda L, a, b: a.logaddexp(b * 3.0), nary())
op("xlogy", X, lambda L, a, b: L.xlogy(a, b), nary(ranges=[(-3.0, 3.0), (0.2, 4.0)]))


def _xlogy_zero_inputs(draw, dtype, small):
    shps = draw(broadcast_shapes(2, **_sz(small)))
    a = draw(arrays(shps[0], dtype))
    if a.size:  # exact zeros in x: the value is 0, the gradient in x is still log(y)
        a = np.where(draw(hnp.arrays(np.bool_, shps[0])), 0.0, a).astype(dtype)
    return (a, draw(arrays(shps[1], dtype, 0.2, 4.0))), {}


op("xlogy_zeros", X, lambda L, a, b: a.xlogy(b), custom(_xlogy_zero_inputs))
op("xlogy_number_other", X, lambda L, a: L.xlogy(a, 2.5), unary())
op("xlogy_number_self", X, lambda L, b: L.xlogy(2.5, b), unary(0.2, 4.0))


# ------------------------------------------------------------------ cumprod and median
# values kept away from 0 (a tiny x underflows torch's reversed-cumsum(g * out) / x formula)
CP = dict(avoid=(0.0,), margin=0.2)
op("cumprod", X, lambda L, a, dim: L.cumprod(a, dim), unary(-2.0, 2.0, kw=_dim_kw, **CP),
   tol32=RTOL32)
op("cumprod_method", X, lambda L, a, dim: a.cumprod(dim=dim), unary(-2.0, 2.0, kw=_dim_kw, **CP),
   tol32=RTOL32)


def _cumprod_zero_inputs(draw, dtype, small):
    shp = draw(shapes(min_dims=1, max_dims=2 if small else 3, max_side=4 if small else 5))
    a = draw(arrays(shp, dtype, -2.0, 2.0, **CP))
    zeros = draw(hnp.arrays(np.bool_, shp, elements=st.booleans()))
    return (np.where(zeros, 0.0, a).astype(dtype),), draw(_dim_kw(shp))


op("cumprod_with_zeros", X, lambda L, a, dim: L.cumprod(a, dim), custom(_cumprod_zero_inputs),
   tol32=RTOL32)
op("median_all", X, lambda L, a: L.median(a), distinct())
op("median_all_method", X, lambda L, a: a.median(), distinct(min_dims=1, min_side=2))
op("median_dim", X, lambda L, a, dim, keepdim: L.median(a, dim, keepdim),
   distinct(kw=_red_kw(tuple_ok=False, none_ok=False)))
op("median_dim_method", X, lambda L, a, dim, keepdim: a.median(dim=dim, keepdim=keepdim)[0],
   distinct(kw=_red_kw(tuple_ok=False, none_ok=False)))


# ------------------------------------------------------------------ roll, diagonals, tiling
def _roll_kw(shp):
    n = len(shp)
    opts = [st.fixed_dictionaries({"shifts": st.integers(-5, 5), "dims": st.none()})]
    if n:
        opts.append(st.fixed_dictionaries({"shifts": st.integers(-5, 5),
                                           "dims": st.integers(-n, n - 1)}))
        opts.append(st.lists(st.integers(0, n - 1), min_size=1, max_size=n, unique=True).flatmap(
            lambda ds: st.fixed_dictionaries({
                "shifts": st.lists(st.integers(-4, 4), min_size=len(ds),
                                   max_size=len(ds)).map(tuple),
                "dims": st.just(tuple(ds))})))
    return st.one_of(*opts)


op("roll", X, lambda L, a, shifts, dims: L.roll(a, shifts, dims), unary(kw=_roll_kw))
op("roll_method", X, lambda L, a, shifts, dims: a.roll(shifts) if dims is None else
   a.roll(shifts, dims), unary(kw=_roll_kw))


def _diagonal_kw(shp):
    n = len(shp)

    @st.composite
    def s(draw):
        d1, d2 = draw(st.lists(st.integers(-n, n - 1), min_size=2, max_size=2).filter(
            lambda v: v[0] % n != v[1] % n))
        return {"offset": draw(st.integers(-4, 4)), "dim1": d1, "dim2": d2}
    return s()


op("diagonal", X, lambda L, a, offset, dim1, dim2: L.diagonal(a, offset, dim1, dim2),
   unary(min_dims=2, kw=_diagonal_kw))
op("diagonal_method_default", X, lambda L, a: a.diagonal(), unary(min_dims=2))


def _diag_kw(shp):
    return st.fixed_dictionaries({"k": st.integers(-3, 3)})


op("diag", X, lambda L, a, k: L.diag(a, k), unary(min_dims=1, max_dims=2, kw=_diag_kw))
op("diag_method", X, lambda L, a: a.diag(), unary(min_dims=1, max_dims=2))
op("diag_of_diag", X, lambda L, a, k: L.diag(L.diag(a, k), -k), unary(min_dims=1, max_dims=1,
                                                                     kw=_diag_kw))
op("trace", X, lambda L, a: L.trace(a), unary(min_dims=2, max_dims=2))
op("trace_method", X, lambda L, a: a.trace(), unary(min_dims=2, max_dims=2))


def _tile_kw(shp):
    return st.lists(st.integers(1, 3), min_size=0, max_size=len(shp) + 1).map(
        lambda r: {"reps": tuple(r)})


op("tile", X, lambda L, a, reps: L.tile(a, reps), unary(kw=_tile_kw))
op("tile_method_varargs", X, lambda L, a, reps: a.tile(*reps) if reps else a.tile(()),
   unary(kw=_tile_kw))


def _repeat_interleave_inputs(draw, dtype, small):
    shp = draw(shapes(**_sz(small)))
    n = len(shp)
    dim = draw(st.one_of(st.none(), st.integers(-n, n - 1))) if n else None
    kind = draw(st.sampled_from(["int", "tensor", "tensor1"]))
    size = (int(np.prod(shp)) if dim is None else shp[dim]) if n else 1
    x = draw(arrays(shp, dtype))
    if kind == "int":
        return (x,), {"reps": draw(st.integers(0, 3)), "dim": dim}
    count = size if kind == "tensor" else 1
    reps = draw(hnp.arrays(np.int64, (count,), elements=st.integers(0, 3)))
    return (x, reps), {"dim": dim}


def _ri(L, a, *rest, reps=None, dim=None):
    r = rest[0] if rest else reps
    return L.repeat_interleave(a, r, dim=dim) if dim is not None else a.repeat_interleave(r)


op("repeat_interleave", X, _ri, custom(_repeat_interleave_inputs))


def _meshgrid_inputs(draw, dtype, small):
    k = draw(st.integers(1, 3))
    arrs = tuple(draw(arrays((draw(st.integers(1, 3)),), dtype)) for _ in range(k))
    return arrs, {"indexing": draw(st.sampled_from(["ij", "xy"]))}


op("meshgrid", X, lambda L, *ts, indexing: L.meshgrid(*ts, indexing=indexing),
   custom(_meshgrid_inputs))
op("meshgrid_list", X, lambda L, *ts, indexing: [t * 2.0 for t in L.meshgrid(
    list(ts), indexing=indexing)], custom(_meshgrid_inputs))


# ------------------------------------------------------------------ products
def _kron_inputs(draw, dtype, small):
    sa = draw(shapes(max_dims=2 if small else 3, max_side=3))
    sb = draw(shapes(max_dims=2 if small else 3, max_side=3))
    return (draw(arrays(sa, dtype)), draw(arrays(sb, dtype))), {}


# torch 2.13's kron raises a view error for some transposed (non-contiguous) operands: the
# comparison passes it contiguous ones (numbagrad takes either)
op("kron", X, lambda L, a, b: L.kron(a.contiguous(), b.contiguous()), custom(_kron_inputs))
op("kron_method", X, lambda L, a, b: a.contiguous().kron(b.contiguous()), custom(_kron_inputs))


def _tensordot_inputs(draw, dtype, small):
    k = draw(st.integers(0, 2))
    contracted = [draw(st.integers(1, 3)) for _ in range(k)]
    fa = draw(shapes(max_dims=1 if small else 2, max_side=3))
    fb = draw(shapes(max_dims=1 if small else 2, max_side=3))
    if draw(st.booleans()):  # dims as an int: the last k of a, the first k of b
        sa, sb = tuple(fa) + tuple(contracted), tuple(contracted) + tuple(fb)
        dims = k
    else:  # dims as two lists, the contracted dims scattered
        pa = draw(st.permutations(range(len(fa) + k)))
        pb = draw(st.permutations(range(len(fb) + k)))
        sa, sb = [0] * (len(fa) + k), [0] * (len(fb) + k)
        da, db = list(pa[:k]), list(pb[:k])
        for i, c in enumerate(contracted):
            sa[da[i]], sb[db[i]] = c, c
        for j, f in zip(pa[k:], fa):
            sa[j] = f
        for j, f in zip(pb[k:], fb):
            sb[j] = f
        sa, sb = tuple(sa), tuple(sb)
        dims = (da, [d - len(sb) if draw(st.booleans()) else d for d in db])
    return (draw(arrays(sa, dtype)), draw(arrays(sb, dtype))), {"dims": dims}


op("tensordot", X, lambda L, a, b, dims: L.tensordot(a, b, dims=dims),
   custom(_tensordot_inputs), tol32=MTOL32)


def _cross_inputs(draw, dtype, small):
    sa, sb = draw(broadcast_shapes(2, min_dims=1, **_sz(small)))
    n = max(len(sa), len(sb))
    sa, sb = (1,) * (n - len(sa)) + tuple(sa), (1,) * (n - len(sb)) + tuple(sb)
    d = draw(st.integers(-n, n - 1))
    sa, sb = list(sa), list(sb)
    sa[d] = sb[d] = 3
    return (draw(arrays(tuple(sa), dtype)), draw(arrays(tuple(sb), dtype))), {"dim": d}


op("cross", X, lambda L, a, b, dim: L.cross(a, b, dim=dim), custom(_cross_inputs))
op("cross_method", X, lambda L, a, b, dim: a.cross(b, dim), custom(_cross_inputs))

# equation, with '...' drawn as broadcastable batch shapes
EINSUM_EQUATIONS = [
    "ij,jk->ik",          # matmul
    "bij,bjk->bik",       # batched matmul
    "i,j->ij",            # outer
    "ii->",               # trace
    "ii",                 # trace, implicit output
    "ii->i",              # diagonal
    "ij->ji",             # transpose
    "ij->j",              # sum over an axis
    "ij",                 # implicit: identity
    "ji",                 # implicit: transpose (output in alphabetical order)
    "bn,anm,bm->ba",      # bilinear
    "...ij,...jk->...ik",  # broadcast batched matmul
    "i...->...",          # ellipsis after a letter
    "ij,ij->ij",          # elementwise product
    "ij,kj",              # implicit: A @ B.T
    "i,i->",              # dot
    "abc,cd,de->abe",     # a chain of three
    "bhqd,bhkd->bhqk",    # attention scores
    "iij->j",             # diagonal of two dims, then summed
    "...,...->...",       # broadcast elementwise
    "aB,Ba",              # upper- and lower-case letters
]


def _einsum_inputs(draw, dtype, small):
    eq = draw(st.sampled_from(EINSUM_EQUATIONS))
    lhs = eq.split("->")[0].split(",")
    letters = sorted(set(eq) - set(".,->"))
    sizes = {c: draw(st.integers(1, 3)) for c in letters}
    n_ell = sum("..." in t for t in lhs)
    ell = draw(broadcast_shapes(n_ell, max_dims=1 if small else 2, max_side=3)) if n_ell else []
    arrs, k = [], 0
    for t in lhs:
        head, _, tail = t.partition("...")
        mid = ()
        if "..." in t:
            mid = tuple(ell[k])
            k += 1
        arrs.append(draw(arrays(tuple(sizes[c] for c in head) + mid +
                                tuple(sizes[c] for c in tail), dtype)))
    return tuple(arrs), {"eq": eq}


op("einsum", X, lambda L, *ts, eq: L.einsum(eq, *ts), custom(_einsum_inputs), tol32=MTOL32)
op("einsum_list_operands", X, lambda L, *ts, eq: L.einsum(eq, list(ts)),
   custom(_einsum_inputs), tol32=MTOL32)


# ------------------------------------------------------------------ distances
def _cdist_inputs(draw, dtype, small):
    m, pp, r = (draw(st.integers(1, 3)) for _ in range(3))
    ba, bb = draw(broadcast_shapes(2, max_dims=1 if small else 2, max_side=2))
    x1, x2 = draw(distinct_arrays([tuple(ba) + (pp, m), tuple(bb) + (r, m)], dtype))
    # columns scaled by 1, sqrt 2, sqrt 3: no two |differences| in a row tie (for p = inf,
    # where PyTorch hands every tied element the full gradient)
    scale = np.sqrt(np.arange(1, m + 1)).astype(dtype)
    return (x1 * scale, x2 * scale), {"p": draw(st.sampled_from([2.0, 1.0, float("inf"), 3.0]))}


op("cdist", X, lambda L, a, b, p: L.cdist(a, b, p=p), custom(_cdist_inputs), tol32=MTOL32)
op("cdist_default_p", X, lambda L, a, b, p: L.cdist(a, b), custom(_cdist_inputs), tol32=MTOL32)


def _pair_min1(draw, dtype, small, **kw):
    sa, sb = draw(broadcast_shapes(2, min_dims=1, **_sz(small)))
    return (draw(arrays(sa, dtype, **kw)), draw(arrays(sb, dtype, **kw)))


def _cosine_inputs(draw, dtype, small):
    # away from 0 so that no vector has a norm near eps (where the value clamps)
    a, b = _pair_min1(draw, dtype, small, avoid=(0.0,), margin=0.3)
    n = max(a.ndim, b.ndim)
    return (a, b), {"dim": draw(st.integers(-n, n - 1)), "eps": draw(st.sampled_from([1e-8,
                                                                                     1e-3]))}


op("cosine_similarity", X, lambda L, a, b, dim, eps: L.F.cosine_similarity(a, b, dim, eps)
   if L.is_torch else __import__("numbagrad.nn.functional").nn.functional.cosine_similarity(
       a, b, dim, eps), custom(_cosine_inputs), tol32=MTOL32)


def _pairwise_inputs(draw, dtype, small):
    shps = draw(broadcast_shapes(2, **_sz(small)))
    a, b = draw(distinct_arrays(list(shps), dtype))
    return (a, b), {"p": draw(st.sampled_from([2.0, 1.0, 3.0])), "keepdim": draw(st.booleans())}


def _pairwise(L, a, b, p, keepdim):
    if L.is_torch:
        return L.F.pairwise_distance(a, b, p=p, keepdim=keepdim)
    import numbagrad.nn.functional as F
    return F.pairwise_distance(a, b, p=p, keepdim=keepdim)


op("pairwise_distance", X, _pairwise, custom(_pairwise_inputs), tol32=MTOL32)
