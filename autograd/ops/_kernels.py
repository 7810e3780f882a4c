"""The kernel functions the op table calls: numba kernels from autograd.kernels where the
kernel layer provides them, numpy reference versions otherwise."""
import math

import numpy as np

from .. import kernels as _k


def _relu(x):
    return np.maximum(x, 0)


def _relu_backward(g, y):
    return g * (y > 0)


def _leaky_relu(x, slope):
    return np.where(x > 0, x, x * np.asarray(slope, x.dtype))


def _leaky_relu_backward(g, x, slope):
    return g * np.where(x > 0, 1, slope).astype(g.dtype)


def _sigmoid(x):
    with np.errstate(over="ignore"):
        return 1 / (1 + np.exp(-x))


def _sigmoid_backward(g, y):
    return g * y * (1 - y)


def _tanh_backward(g, y):
    return g * (1 - y * y)


_erf_vec = np.vectorize(math.erf, otypes=[np.float64])


def _erf(x):
    return _erf_vec(x).astype(x.dtype)


def _gelu(x, approximate="none"):
    if approximate == "tanh":
        c = math.sqrt(2 / math.pi)
        return 0.5 * x * (1 + np.tanh(c * (x + 0.044715 * x ** 3)))
    return 0.5 * x * (1 + _erf(x / math.sqrt(2)))


def _gelu_backward(g, x, approximate="none"):
    if approximate == "tanh":
        c = math.sqrt(2 / math.pi)
        t = np.tanh(c * (x + 0.044715 * x ** 3))
        return g * (0.5 * (1 + t) + 0.5 * x * (1 - t * t) * c * (1 + 3 * 0.044715 * x * x))
    cdf = 0.5 * (1 + _erf(x / math.sqrt(2)))
    pdf = np.exp(-0.5 * x * x) / math.sqrt(2 * math.pi)
    return (g * (cdf + x * pdf)).astype(x.dtype)


def _elu(x, alpha=1.0):
    with np.errstate(over="ignore"):
        return np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0))).astype(x.dtype)


def _elu_backward(g, x, alpha=1.0):
    return (g * np.where(x > 0, 1, alpha * np.exp(np.minimum(x, 0)))).astype(g.dtype)


def _silu(x):
    return x * _sigmoid(x)


def _silu_backward(g, x):
    s = _sigmoid(x)
    return g * s * (1 + x * (1 - s))


def _softplus(x, beta=1.0, threshold=20.0):
    bx = x * beta
    with np.errstate(over="ignore"):
        soft = np.log1p(np.exp(np.minimum(bx, threshold))) / beta
    return np.where(bx > threshold, x, soft).astype(x.dtype)


def _softplus_backward(g, x, beta=1.0, threshold=20.0):
    bx = x * beta
    return (g * np.where(bx > threshold, 1, _sigmoid(bx))).astype(g.dtype)


def _softmax(x, dim):
    m = np.max(x, axis=dim, keepdims=True) if x.size else 0
    e = np.exp(x - np.where(np.isfinite(m), m, 0))
    return e / e.sum(axis=dim, keepdims=True)


def _softmax_backward(g, y, dim):
    return y * (g - (g * y).sum(axis=dim, keepdims=True))


def _log_softmax(x, dim):
    m = np.max(x, axis=dim, keepdims=True) if x.size else 0
    s = x - np.where(np.isfinite(m), m, 0)
    with np.errstate(divide="ignore"):
        return s - np.log(np.exp(s).sum(axis=dim, keepdims=True))


def _log_softmax_backward(g, y, dim):
    return g - np.exp(y) * g.sum(axis=dim, keepdims=True)


def _log_softmax_nll(x, target, ignore_index=-100):
    n, c = x.shape
    valid = target != ignore_index
    t = np.where(valid, target, 0)
    if valid.any() and (t.min() < 0 or t.max() >= c):
        bad = int(t[(t < 0) | (t >= c)][0])
        raise IndexError(f"cross_entropy: target {bad} is out of bounds for {c} classes")
    logp = _log_softmax(x, 1)
    losses = -logp[np.arange(n), t] * valid
    return losses.astype(x.dtype), logp


def _log_softmax_nll_backward(g, logp, target, ignore_index=-100):
    n = logp.shape[0]
    valid = target != ignore_index
    d = np.exp(logp)
    d[np.arange(n)[valid], target[valid]] -= 1
    return (d * (g * valid)[:, None]).astype(logp.dtype)


_NAMES = ["relu", "relu_backward", "leaky_relu", "leaky_relu_backward", "sigmoid",
          "sigmoid_backward", "tanh_backward", "erf", "gelu", "gelu_backward", "elu",
          "elu_backward", "silu", "silu_backward", "softplus", "softplus_backward", "softmax",
          "softmax_backward", "log_softmax", "log_softmax_backward", "log_softmax_nll",
          "log_softmax_nll_backward"]

for _name in _NAMES:
    globals()[_name] = getattr(_k, _name, None) or globals()["_" + _name]
tanh = getattr(_k, "tanh", None) or np.tanh
