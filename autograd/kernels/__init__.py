"""numba kernels: ndarray in, ndarray out (no knowledge of Tensor).

Importing this package compiles no kernel (only the BLAS callback of ``blas_threads``,
installed here): every kernel compiles on first use
(and is cached on disk, see ``_jit.jit``). Wrappers cast inputs to float32 or
float64 and make them C-contiguous, so each kernel compiles at most twice.

Public wrappers:

* activations: relu, leaky_relu, sigmoid, tanh, gelu, elu, silu, softplus and
  their ``*_backward``; unchecked ``relu_into_``/``relu_backward_into_`` for the relu op;
* softmax family: softmax, log_softmax (+ backward from the output), logsumexp;
* cross-entropy core: log_softmax_nll, log_softmax_nll_backward;
* linear epilogue: bias_act (in place);
* ``blas_threads``: numpy's OpenBLAS runs its parallel jobs on numba's pool (installed here);
* ``gemm``: 2-D matrix products, MKL's when the ``mkl`` package is installed (``dot``,
  loaded here);
* vectorised elementwise math on arrays: exp, expm1, log, log1p, erf (``vmath``);
* ``warmup()`` compiles everything ahead of use (``python -m numbagrad.autograd.kernels``).
"""
from .activations import (
    elu, elu_backward, gelu, gelu_backward, leaky_relu, leaky_relu_backward, relu, relu_backward,
    relu_backward_into_, relu_into_, sigmoid, sigmoid_backward, silu, silu_backward, softplus,
    softplus_backward, tanh, tanh_backward,
)
from .epilogue import act_backward_, bias_act, bias_act_
from .losses import log_softmax_nll, log_softmax_nll_backward
from .softmax_family import log_softmax, log_softmax_backward, logsumexp, softmax, softmax_backward
from .vmath import erf, exp, expm1, log, log1p
from ._warmup import warmup
from . import blas_threads, gemm
from .gemm import dot

# numpy's OpenBLAS runs its parallel jobs on numba's threads from now on (one pool)
blas_threads.install_by_default()
# products of Linear and 2-D matmul through MKL when it is installed (same pool)
gemm.load_by_default()


def set_parallel(enabled: bool) -> None:
    """Turn the ``parallel=True`` kernels on (default) or off for this process.

    On a machine whose cores are busy with other processes, a 2-thread
    parallel region can stall for milliseconds; ``_jit.parallel_guard``
    already backs off to serial after a stall, and ``set_parallel(False)``
    keeps every kernel on the calling thread for good
    (``numba.set_num_threads(1)`` does the same for all numba code)."""
    from . import activations, epilogue, losses, softmax_family

    if not hasattr(set_parallel, "_defaults"):
        set_parallel._defaults = (activations.PAR_CHEAP, activations.PAR_EXP, softmax_family.PAR_MIN_ELEMENTS,
                                  losses.PAR_MIN_ELEMENTS, epilogue.PAR_MIN_ELEMENTS)
    vals = set_parallel._defaults if enabled else (1 << 62,) * 5
    (activations.PAR_CHEAP, activations.PAR_EXP, softmax_family.PAR_MIN_ELEMENTS,
     losses.PAR_MIN_ELEMENTS, epilogue.PAR_MIN_ELEMENTS) = vals

__all__ = [
    "relu", "relu_backward", "relu_into_", "relu_backward_into_", "leaky_relu", "leaky_relu_backward",
    "sigmoid", "sigmoid_backward",
    "tanh", "tanh_backward", "gelu", "gelu_backward", "elu", "elu_backward", "silu", "silu_backward",
    "softplus", "softplus_backward",
    "softmax", "softmax_backward", "log_softmax", "log_softmax_backward", "logsumexp",
    "log_softmax_nll", "log_softmax_nll_backward", "bias_act", "bias_act_", "act_backward_",
    "exp", "expm1", "log", "log1p", "erf", "dot", "warmup", "set_parallel",
]
