"""numbagrad.autograd: tensors, the dynamic graph, differentiable ops, grad modes.

Import it the way PyTorch code imports torch::

    import numbagrad.autograd as torch      # or: import numbagrad.autograd as ag
    x = torch.randn(3, requires_grad=True)
    (x * x).sum().backward()
    x.grad                                  # 2 * x
"""
from . import dtypes as _dtypes
from .dtypes import (bool, double, float, float16, float32, float64, get_default_dtype,  # noqa: A004
                     half, int, int8, int16, int32, int64, long, set_default_dtype, uint8)
from .engine import backward, grad
from .factories import (arange, as_tensor, bernoulli, empty, empty_like, eye, from_numpy, full,
                        full_like, linspace, logspace, multinomial, normal, ones, ones_like, rand,
                        rand_like, randint, randint_like, randn, randn_like, randperm, tensor,
                        zeros, zeros_like)
from .function import Function, FunctionCtx, Node, once_differentiable
from .grad_mode import enable_grad, inference_mode, is_grad_enabled, no_grad, set_grad_enabled
from .ops import (abs, absolute, add, addmm, all, allclose, amax, amin, any, argmax, argmin,  # noqa: A004
                  argsort, bmm, broadcast_tensors, broadcast_to, cat, ceil, chunk, clamp, clip,
                  clone, concat, concatenate, cos, count_nonzero, cumsum, div, divide, dot, elu,
                  eq, equal, erf, exp, expm1, flatten, flip, floor, gather, ge, gelu, greater,
                  greater_equal, gt, hstack, is_tensor, isclose, isfinite, isinf, isnan, le,
                  leaky_relu, lerp, less, less_equal, log, log1p, log2, log10, log_softmax,
                  logical_and, logical_not, logical_or, logical_xor, logsumexp, lt, masked_fill,
                  matmul, max, maximum, mean, min, minimum, mm, mul, multiply, mv, narrow, ne, neg,
                  negative, nonzero, norm, not_equal, numel, one_hot, outer, permute, pow, prod,
                  reciprocal, relu, repeat, reshape, round, rsqrt, scatter_add, select, sigmoid,
                  sign, silu, sin, softmax, softplus, sort, split, sqrt, square, squeeze, stack,
                  std, std_mean, sub, subtract, sum, t, tan, tanh, topk, transpose, true_divide,
                  trunc, unbind, unflatten, unsqueeze, var, var_mean, vstack, where)
from . import fused
from .serialization import load, save
from .ops import (addcdiv, addcmul, clamp_max, clamp_min, floor_divide, fmax, fmin,  # noqa: E402
                  index_select, masked_select, remainder, swapaxes, swapdims, tril, triu)
from .ops import (acos, acosh, arccos, arccosh, arcsin, arcsinh, arctan, arctan2,  # noqa: E402
                  arctanh, asin, asinh, atan, atan2, atanh, cdist, cosh, cosine_similarity,
                  cross, cumprod, diag, diagonal, einsum, erfc, exp2, frac, hypot, kron,
                  logaddexp, median, meshgrid, nan_to_num, pairwise_distance, repeat_interleave,
                  roll, sgn, sinh, tensordot, tile, trace, xlogy)
from .random import (Generator, default_generator, get_rng_state, initial_seed, manual_seed,
                     seed, set_rng_state)
from .tensor import Size, Tensor

FloatTensor = Tensor  # isinstance checks in ported code


def is_floating_point(input):
    """True if the tensor has a floating dtype."""
    return input.dtype.kind == "f"
from . import functional
from .anomaly import detect_anomaly, is_anomaly_enabled, set_detect_anomaly
from .gradcheck import GradcheckError, gradcheck, gradgradcheck
from .threads import get_num_threads, set_num_threads


def __getattr__(name):
    # submodules imported on first use: viz (graph pictures), testing (the testing kit),
    # kernels (numba; importing it costs a few tenths of a second)
    if name in ("viz", "testing", "kernels", "warmup"):
        import importlib
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
