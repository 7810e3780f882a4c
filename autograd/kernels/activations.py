"""Elementwise activation kernels, forward and backward, float32 and float64.

Every wrapper takes an array of any shape (any dtype: float32 stays float32,
float16 computes in float32, everything else in float64; any strides) and
returns a new C-contiguous array of the same shape and dtype, or writes into
``out=`` (same shape and dtype; any layout). Formulas follow PyTorch exactly
(``torch.nn.functional`` and the derivative formulas of ATen), including
softplus' ``threshold`` and GELU's erf and tanh forms.

Dispatch, by measurement on this machine (2 cores Sapphire Rapids, shared,
load average ~5 while measuring; full numbers in benchmarks/kernel_throughput.py):

* numpy vs numba: calling a jitted kernel on two 1-D arrays costs ~0.33 us,
  less than one numpy ufunc call (~0.8 us for ``np.maximum(x, 0)`` at 1e3
  elements); with the wrapper (cast/contiguity check, output allocation) a
  relu of 1e3 elements costs ~1.2 us against ~0.8 us for ``np.maximum`` and
  ~0.6 us for ``np.tanh``. The difference (< 0.5 us) is below the cost of a
  Tensor op around it and a numpy path would give different roundings at
  different sizes, so there is no numpy path (``NUMPY_BELOW = 0``) with one
  exception: numpy's own SIMD ``np.tanh`` matches our serial tanh per element
  and costs less per call (float32, 10th-percentile us: 1e3: 0.6 vs 1.2;
  1e4: 2.7 vs 3.8; 3e4: 7.6 vs 6.6 with our parallel kernel), so ``tanh``
  uses numpy below ``TANH_NUMPY_BELOW = 12_000`` elements, where our parallel
  kernel takes over.
* serial vs ``parallel=True`` (2 threads), 20th-percentile us, float32:

      n        relu ser/par   sigmoid ser/par   tanh_backward ser/par
      8000       1.0 / 1.9       2.7 / 2.9        1.1 / 2.0
      16000      1.5 / 2.3       5.2 / 4.1        1.7 / 2.4
      32000      3.3 / 3.4       9.8 / 6.8        3.7 / 3.6
      64000      6.3 / 4.8      19.1 / 11.1       6.6 / 5.2

  so ``PAR_CHEAP = 40_000`` (relu, leaky_relu and the backward products
  without exp) and ``PAR_EXP = 12_000`` (kernels calling exp/erf/tanh),
  slightly above break-even because a busy second core stalls a parallel
  launch. Every parallel call goes through ``_jit.parallel_guard``, which
  falls back to the serial twin for a while after a parallel call stalled
  (at load average ~8 on 2 cores a 1e6 relu took 27 ms in parallel vs
  0.66 ms serially).
"""
from __future__ import annotations

import math

import numpy as np
from numba import prange, types
from numba.extending import overload

from ._jit import as_float, jit_pair, parallel_guard
from .vmath import cast_like, verf, vexp, vexp_fast, vexpm1_small, vlog1p, vnormcdf, vnormpdf, vsigmoid, vtanh

__all__ = [
    "relu", "relu_backward", "leaky_relu", "leaky_relu_backward",
    "sigmoid", "sigmoid_backward", "tanh", "tanh_backward",
    "gelu", "gelu_backward", "elu", "elu_backward", "silu", "silu_backward",
    "softplus", "softplus_backward",
]

NUMPY_BELOW = 0
TANH_NUMPY_BELOW = PAR_EXP_DEFAULT = 12_000
PAR_CHEAP = 40_000
PAR_EXP = PAR_EXP_DEFAULT

_M_SQRT1_2 = 0.7071067811865476
_K_BETA_EXACT = 0.3989422804014327  # M_2_SQRTPI * M_SQRT1_2 * 0.5 = 1/sqrt(2 pi)
_K_BETA_TANH = 0.7978845608028654  # M_SQRT2 * M_2_SQRTPI * 0.5 = sqrt(2/pi)
_K_KAPPA = 0.044715


def _c(x, *values):
    """Constants typed like the numba float type ``x`` (float32 math stays float32)."""
    if isinstance(x, types.Float) and x.bitwidth == 32:
        return tuple(np.float32(v) for v in values)
    return tuple(float(v) for v in values)


# ------------------------------------------------------------ scalar forms
def _gelu_erf_s(x):
    return 0.5 * x * (1.0 + math.erf(x * _M_SQRT1_2))


def _gelu_erf_grad_s(x):
    return 0.5 * (1.0 + math.erf(x * _M_SQRT1_2)) + x * math.exp(-0.5 * x * x) * _K_BETA_EXACT


# gelu(approximate='tanh') = x/2 (1 + tanh(u)) = x sigmoid(2u), u = beta (x + kappa x^3):
# the sigmoid form has no cancellation where tanh(u) rounds to -1 (float32 x < ~-5:
# 1 + tanh gave 0 and the gradient 0 where PyTorch's is ~1e-6)
def _gelu_tanh_s(x):
    return x / (1.0 + math.exp(-2.0 * _K_BETA_TANH * (x + _K_KAPPA * x ** 3)))


def _gelu_tanh_grad_s(x):
    s = 1.0 / (1.0 + math.exp(-2.0 * _K_BETA_TANH * (x + _K_KAPPA * x ** 3)))
    return s + 2.0 * x * s * (1.0 - s) * _K_BETA_TANH * (1.0 + 3.0 * _K_KAPPA * x * x)


@overload(_gelu_erf_s, inline="always")
def _ov_gelu_erf_s(x):
    half, one, k = _c(x, 0.5, 1.0, _M_SQRT1_2)
    if isinstance(x, types.Float) and x.bitwidth == 32:
        def impl(x):
            return x * vnormcdf(x)  # x * Phi(x) = x/2 * (1 + erf(x/sqrt2)), one exp and no erf
        return impl

    def impl(x):
        return half * x * (one + verf(x * k))
    return impl


@overload(_gelu_erf_grad_s, inline="always")
def _ov_gelu_erf_grad_s(x):
    half, one, k, beta = _c(x, 0.5, 1.0, _M_SQRT1_2, _K_BETA_EXACT)
    if isinstance(x, types.Float) and x.bitwidth == 32:
        def impl(x):
            return vnormcdf(x) + x * vnormpdf(x)
        return impl

    def impl(x):
        cdf = half * (one + verf(x * k))
        pdf = vexp(-half * x * x) * beta
        return cdf + x * pdf
    return impl


@overload(_gelu_tanh_s, inline="always")
def _ov_gelu_tanh_s(x):
    two_beta, kappa = _c(x, 2.0 * _K_BETA_TANH, _K_KAPPA)

    def impl(x):
        return x * vsigmoid(two_beta * (x + kappa * (x * x * x)))
    return impl


@overload(_gelu_tanh_grad_s, inline="always")
def _ov_gelu_tanh_grad_s(x):
    one, two_beta, kappa, three = _c(x, 1.0, 2.0 * _K_BETA_TANH, _K_KAPPA, 3.0)

    def impl(x):
        x_sq = x * x
        s = vsigmoid(two_beta * (x + kappa * (x_sq * x)))
        return s + x * (s * (one - s)) * (two_beta * (one + three * kappa * x_sq))
    return impl


def _silu_s(x):
    return x / (1.0 + math.exp(-x))


def _silu_grad_s(x):
    s = 1.0 / (1.0 + math.exp(-x))
    return s * (1.0 + x * (1.0 - s))


@overload(_silu_s, inline="always")
def _ov_silu(x):
    (one,) = _c(x, 1.0)

    def impl(x):
        return x / (one + vexp_fast(-x))
    return impl


@overload(_silu_grad_s, inline="always")
def _ov_silu_grad(x):
    (one,) = _c(x, 1.0)

    def impl(x):
        s = one / (one + vexp_fast(-x))
        return s * (one + x * (one - s))
    return impl


# ----------------------------------------------------------------- kernels
def _relu_bw_k(g, x, out, a0, b0):
    a = cast_like(x, a0)
    b = cast_like(x, b0)
    for i in prange(x.shape[0]):
        out[i] = a if x[i] <= 0 else g[i]


def _leaky_k(x, out, a0, b0):
    a = cast_like(x, a0)
    b = cast_like(x, b0)
    for i in prange(x.shape[0]):
        v = x[i]
        out[i] = v if v > 0 else v * a


def _leaky_bw_k(g, x, out, a0, b0):
    a = cast_like(x, a0)
    b = cast_like(x, b0)
    for i in prange(x.shape[0]):
        out[i] = g[i] if x[i] > 0 else g[i] * a


def _sigmoid_k(x, out, a0, b0):
    a = cast_like(x, a0)
    b = cast_like(x, b0)
    for i in prange(x.shape[0]):
        out[i] = vsigmoid(x[i])


def _sigmoid_bw_k(g, y, out, a0, b0):
    a = cast_like(y, a0)
    b = cast_like(y, b0)
    # a = 1 in the right dtype
    for i in prange(y.shape[0]):
        out[i] = g[i] * (a - y[i]) * y[i]


def _tanh_k(x, out, a0, b0):
    a = cast_like(x, a0)
    b = cast_like(x, b0)
    for i in prange(x.shape[0]):
        out[i] = vtanh(x[i])


def _tanh_bw_k(g, y, out, a0, b0):
    a = cast_like(y, a0)
    b = cast_like(y, b0)
    for i in prange(y.shape[0]):
        out[i] = g[i] * (a - y[i] * y[i])


def _gelu_k(x, out, a0, b0):
    a = cast_like(x, a0)
    b = cast_like(x, b0)
    for i in prange(x.shape[0]):
        out[i] = _gelu_erf_s(x[i])


def _gelu_bw_k(g, x, out, a0, b0):
    a = cast_like(x, a0)
    b = cast_like(x, b0)
    for i in prange(x.shape[0]):
        out[i] = g[i] * _gelu_erf_grad_s(x[i])


def _gelu_tanh_k(x, out, a0, b0):
    a = cast_like(x, a0)
    b = cast_like(x, b0)
    for i in prange(x.shape[0]):
        out[i] = _gelu_tanh_s(x[i])


def _gelu_tanh_bw_k(g, x, out, a0, b0):
    a = cast_like(x, a0)
    b = cast_like(x, b0)
    for i in prange(x.shape[0]):
        out[i] = g[i] * _gelu_tanh_grad_s(x[i])


def _elu_k(x, out, a0, b0):
    a = cast_like(x, a0)
    b = cast_like(x, b0)
    for i in prange(x.shape[0]):
        v = x[i]
        out[i] = v if v > 0 else a * vexpm1_small(v)


def _elu_bw_k(g, x, out, a0, b0):
    a = cast_like(x, a0)
    b = cast_like(x, b0)
    for i in prange(x.shape[0]):
        v = x[i]
        out[i] = g[i] if v > 0 else g[i] * a * vexp(v)


def _silu_k(x, out, a0, b0):
    a = cast_like(x, a0)
    b = cast_like(x, b0)
    for i in prange(x.shape[0]):
        out[i] = _silu_s(x[i])


def _silu_bw_k(g, x, out, a0, b0):
    a = cast_like(x, a0)
    b = cast_like(x, b0)
    for i in prange(x.shape[0]):
        out[i] = g[i] * _silu_grad_s(x[i])


def _softplus_k(x, out, beta0, threshold0):
    beta = cast_like(x, beta0)
    threshold = cast_like(x, threshold0)
    for i in prange(x.shape[0]):
        v = x[i]
        z = v * beta
        out[i] = v if z > threshold else vlog1p(vexp(z)) / beta


def _softplus_bw_k(g, x, out, beta0, threshold0):
    beta = cast_like(x, beta0)
    threshold = cast_like(x, threshold0)
    one = cast_like(x, 1.0)
    for i in prange(x.shape[0]):
        z = x[i] * beta
        e = vexp(z)
        out[i] = g[i] if z > threshold else g[i] * e / (e + one)


def _relu_k(x, out, a0, b0):
    a = cast_like(x, a0)
    b = cast_like(x, b0)
    # a = 0: NaN -> NaN, x >= 0 -> x (so -0 -> -0, as torch.relu = clamp_min(x, 0)), else 0
    for i in prange(x.shape[0]):
        v = x[i]
        out[i] = v if not (v < 0) else a


_relu, _relu_p = jit_pair(_relu_k)
_relu_bw, _relu_bw_p = jit_pair(_relu_bw_k)
_leaky, _leaky_p = jit_pair(_leaky_k)
_leaky_bw, _leaky_bw_p = jit_pair(_leaky_bw_k)
_sigmoid, _sigmoid_p = jit_pair(_sigmoid_k)
_sigmoid_bw, _sigmoid_bw_p = jit_pair(_sigmoid_bw_k)
# tanh's expm1 polynomial chain, likewise (below): 4 vectors per iteration on large arrays,
# float32 on 2 threads against torch.tanh(out=) in one process (medians of 9 rounds, three
# or four runs each): ours/torch at 1e6 0.98-1.01 -> 0.92-0.93, at 1e7 0.89-0.96 -> 0.86-0.93
_tanh, _tanh_p = jit_pair(_tanh_k, parallel_interleave=4)
_tanh_bw, _tanh_bw_p = jit_pair(_tanh_bw_k)
# the normal CDF's two chained polynomials are latency-bound one vector at a time: 4 vectors
# per iteration on large arrays, 1e6 float32 on 2 threads (min of 6 x 3 x 20 calls):
# forward 215 -> 167 us, serial (small arrays) unchanged
_gelu, _gelu_p = jit_pair(_gelu_k, parallel_interleave=4)
_gelu_bw, _gelu_bw_p = jit_pair(_gelu_bw_k, parallel_interleave=4)
_gelu_tanh, _gelu_tanh_p = jit_pair(_gelu_tanh_k)
_gelu_tanh_bw, _gelu_tanh_bw_p = jit_pair(_gelu_tanh_bw_k)
_elu, _elu_p = jit_pair(_elu_k)
_elu_bw, _elu_bw_p = jit_pair(_elu_bw_k)
_silu, _silu_p = jit_pair(_silu_k)
_silu_bw, _silu_bw_p = jit_pair(_silu_bw_k)
_softplus, _softplus_p = jit_pair(_softplus_k)
_softplus_bw, _softplus_bw_p = jit_pair(_softplus_bw_k)


# ----------------------------------------------------------------- wrappers
_SCALAR = {np.dtype(np.float32): np.float32, np.dtype(np.float64): np.float64}
_ndarray, _empty = np.ndarray, np.empty


def _prepare(x):
    """x as a C-contiguous float32/float64 ndarray; the common case costs ~0.1 us."""
    if type(x) is np.ndarray and x.dtype in _SCALAR and x.flags.c_contiguous:
        return x
    return as_float(x)


def _out_for(x: np.ndarray, out, op: str):
    if out is None:
        return np.empty_like(x), None
    if not isinstance(out, np.ndarray) or out.shape != x.shape or out.dtype != x.dtype:
        raise ValueError(
            f"{op}: out must be an ndarray of shape {x.shape} and dtype {x.dtype}, got "
            f"{getattr(out, 'shape', type(out))} {getattr(out, 'dtype', '')}")
    if out.flags.c_contiguous:
        return out, None
    return np.empty(x.shape, x.dtype), out


def _unary(x, out, serial, parallel, threshold, a, b, op):
    # checks inlined: at small sizes this wrapper costs as much as the kernel (~0.2 us)
    if type(x) is not _ndarray or x.dtype not in _SCALAR or not x.flags.c_contiguous:
        x = as_float(x)
    if out is None:
        res, target = _empty(x.shape, x.dtype), None
    else:
        res, target = _out_for(x, out, op)
    n = x.size
    if n:
        if x.ndim == 1:
            x1, res1 = x, res
        else:
            x1, res1 = x.reshape(n), res.reshape(n)
        if n < threshold:
            serial(x1, res1, a, b)
        else:
            parallel_guard(serial, parallel, n, x1, res1, a, b)
    if target is not None:
        np.copyto(target, res)
        return target
    return res


def _binary(g, x, out, serial, parallel, threshold, a, b, op):
    if type(x) is not _ndarray or x.dtype not in _SCALAR or not x.flags.c_contiguous:
        x = as_float(x)
    if type(g) is not _ndarray:
        g = np.asarray(g)
    if g.shape != x.shape:
        raise ValueError(f"{op}: grad shape {g.shape} does not match input shape {x.shape}")
    if g.dtype != x.dtype or not g.flags.c_contiguous:
        g = as_float(g, x.dtype)
    if out is None:
        res, target = _empty(x.shape, x.dtype), None
    else:
        res, target = _out_for(x, out, op)
    n = x.size
    if n:
        if x.ndim == 1:
            g1, x1, res1 = g, x, res
        else:
            g1, x1, res1 = g.reshape(n), x.reshape(n), res.reshape(n)
        if n < threshold:
            serial(g1, x1, res1, a, b)
        else:
            parallel_guard(serial, parallel, n, g1, x1, res1, a, b)
    if target is not None:
        np.copyto(target, res)
        return target
    return res


def relu(x, out=None):
    """ReLU: ``max(x, 0)`` as ``torch.relu`` (NaN stays NaN, -0 stays -0)."""
    return _unary(x, out, _relu, _relu_p, PAR_CHEAP, 0.0, 0.0, "relu")


def relu_backward(grad, x, out=None):
    """d relu: ``grad where x > 0 else 0`` (``x`` may be relu's input or its output)."""
    return _binary(grad, x, out, _relu_bw, _relu_bw_p, PAR_CHEAP, 0.0, 0.0, "relu_backward")


def relu_into_(x, out):
    """`relu` of ``x`` written into ``out``, unchecked: both C-contiguous, one shape and one
    float32/float64 dtype, as the relu op guarantees (`relu` checks and converts; on ten
    elements this path costs 0.4 us instead of 0.9)."""
    n = x.size
    if n:
        if x.ndim != 1:
            x, out1 = x.reshape(n), out.reshape(n)
        else:
            out1 = out
        if n < PAR_CHEAP:
            _relu(x, out1, 0.0, 0.0)
        else:
            parallel_guard(_relu, _relu_p, n, x, out1, 0.0, 0.0)
    return out


def relu_backward_into_(grad, x, out):
    """`relu_backward` written into ``out``, unchecked like `relu_into_` (all three arrays)."""
    n = x.size
    if n:
        if x.ndim != 1:
            grad, x, out1 = grad.reshape(n), x.reshape(n), out.reshape(n)
        else:
            out1 = out
        if n < PAR_CHEAP:
            _relu_bw(grad, x, out1, 0.0, 0.0)
        else:
            parallel_guard(_relu_bw, _relu_bw_p, n, grad, x, out1, 0.0, 0.0)
    return out


def leaky_relu(x, negative_slope=0.01, out=None):
    """Leaky ReLU: ``x if x > 0 else x * negative_slope`` (``torch.nn.functional.leaky_relu``)."""
    return _unary(x, out, _leaky, _leaky_p, PAR_CHEAP, float(negative_slope), 0.0, "leaky_relu")


def leaky_relu_backward(grad, x, negative_slope=0.01, out=None):
    """d leaky_relu: ``grad if x > 0 else grad * negative_slope``."""
    return _binary(grad, x, out, _leaky_bw, _leaky_bw_p, PAR_CHEAP, float(negative_slope), 0.0, "leaky_relu_backward")


def sigmoid(x, out=None):
    """Logistic sigmoid ``1 / (1 + exp(-x))``."""
    return _unary(x, out, _sigmoid, _sigmoid_p, PAR_EXP, 0.0, 0.0, "sigmoid")


def sigmoid_backward(grad, y, out=None):
    """d sigmoid from its output ``y``: ``grad * (1 - y) * y``."""
    return _binary(grad, y, out, _sigmoid_bw, _sigmoid_bw_p, PAR_CHEAP, 1.0, 0.0, "sigmoid_backward")


def tanh(x, out=None):
    """Hyperbolic tangent: numpy's SIMD ``np.tanh`` below ``TANH_NUMPY_BELOW`` elements, else the
    parallel numba kernel (through a vectorised expm1; float32 tested <= 2.25 ulp, measured 2.21)."""
    x = _prepare(x)
    if x.size < TANH_NUMPY_BELOW:
        res, target = _out_for(x, out, "tanh")
        np.tanh(x, out=res)
        if target is not None:
            np.copyto(target, res)
            return target
        return res
    return _unary(x, out, _tanh, _tanh_p, PAR_EXP, 0.0, 0.0, "tanh")


def tanh_backward(grad, y, out=None):
    """d tanh from its output ``y``: ``grad * (1 - y*y)``."""
    return _binary(grad, y, out, _tanh_bw, _tanh_bw_p, PAR_CHEAP, 1.0, 0.0, "tanh_backward")


def _check_approx(approximate, op):
    if approximate not in ("none", "tanh"):
        raise ValueError(f"{op}: approximate must be 'none' or 'tanh', got {approximate!r}")


def gelu(x, approximate="none", out=None):
    """GELU: ``x * 0.5 * (1 + erf(x / sqrt 2))``, or with ``approximate='tanh'``
    ``0.5 * x * (1 + tanh(sqrt(2/pi) * (x + 0.044715 x^3)))`` (PyTorch's two forms).

    float32 computes ``x * Phi(x)`` with the vectorised normal cdf ``vmath.vnormcdf`` (one exp, no
    erf, no 1 + erf cancellation for x < 0; tested <= 2.5 ulp for x >= -1, <= 45 ulp on [-5.6, -1)),
    float64 uses libm's erf (scalar loop). 1e6 float32 into ``out=``, us, 1/2 threads, medians
    interleaved with PyTorch 2.13 on a shared machine: erf form 761/400, this 508/316, PyTorch
    465-520/275-310 (forward about at par; gelu_backward 730/405 vs PyTorch 816-938/482-526).
    """
    _check_approx(approximate, "gelu")
    if approximate == "tanh":
        return _unary(x, out, _gelu_tanh, _gelu_tanh_p, PAR_EXP, 0.0, 0.0, "gelu")
    return _unary(x, out, _gelu, _gelu_p, PAR_EXP, 0.0, 0.0, "gelu")


def gelu_backward(grad, x, approximate="none", out=None):
    """d gelu w.r.t. its input ``x``, PyTorch's ``gelu_backward`` formulas for both forms."""
    _check_approx(approximate, "gelu_backward")
    if approximate == "tanh":
        return _binary(grad, x, out, _gelu_tanh_bw, _gelu_tanh_bw_p, PAR_EXP, 0.0, 0.0, "gelu_backward")
    return _binary(grad, x, out, _gelu_bw, _gelu_bw_p, PAR_EXP, 0.0, 0.0, "gelu_backward")


def elu(x, alpha=1.0, out=None):
    """ELU: ``x if x > 0 else alpha * expm1(x)``."""
    return _unary(x, out, _elu, _elu_p, PAR_EXP, float(alpha), 0.0, "elu")


def elu_backward(grad, x, alpha=1.0, out=None):
    """d elu w.r.t. its input: ``grad if x > 0 else grad * alpha * exp(x)`` (NaN in, NaN out, as PyTorch)."""
    return _binary(grad, x, out, _elu_bw, _elu_bw_p, PAR_EXP, float(alpha), 0.0, "elu_backward")


def silu(x, out=None):
    """SiLU / swish: ``x / (1 + exp(-x))``."""
    return _unary(x, out, _silu, _silu_p, PAR_EXP, 0.0, 0.0, "silu")


def silu_backward(grad, x, out=None):
    """d silu: ``grad * s * (1 + x * (1 - s))``, ``s = sigmoid(x)``."""
    return _binary(grad, x, out, _silu_bw, _silu_bw_p, PAR_EXP, 0.0, 0.0, "silu_backward")


def softplus(x, beta=1.0, threshold=20.0, out=None):
    """Softplus: ``x if x*beta > threshold else log1p(exp(x*beta)) / beta``."""
    return _unary(x, out, _softplus, _softplus_p, PAR_EXP, float(beta), float(threshold), "softplus")


def softplus_backward(grad, x, beta=1.0, threshold=20.0, out=None):
    """d softplus: ``grad if x*beta > threshold else grad * z / (z + 1)``, ``z = exp(x*beta)``."""
    return _binary(grad, x, out, _softplus_bw, _softplus_bw_p, PAR_EXP, float(beta), float(threshold), "softplus_backward")
