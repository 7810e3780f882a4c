"""numba kernels: ndarray in, ndarray out (no knowledge of Tensor).

Importing this package compiles nothing: every kernel compiles on first use
(and is cached on disk, see ``_jit.jit``). Wrappers cast inputs to float32 or
float64 and make them C-contiguous, so each kernel compiles at most twice.
"""
from .activations import (
    elu, elu_backward, gelu, gelu_backward, leaky_relu, leaky_relu_backward, relu, relu_backward,
    sigmoid, sigmoid_backward, silu, silu_backward, softplus, softplus_backward, tanh, tanh_backward,
)

__all__ = [
    "relu", "relu_backward", "leaky_relu", "leaky_relu_backward", "sigmoid", "sigmoid_backward",
    "tanh", "tanh_backward", "gelu", "gelu_backward", "elu", "elu_backward", "silu", "silu_backward",
    "softplus", "softplus_backward",
]
