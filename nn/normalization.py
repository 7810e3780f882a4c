"""BatchNorm1d and LayerNorm."""
import numbagrad.autograd as ag

from . import functional as F
from . import init
from .module import Module
from .parameter import Parameter


class BatchNorm1d(Module):
    """Batch normalisation over (N, C) or (N, C, L) inputs, per channel.

    `affine` adds a learnable per-channel weight and (unless bias=False) bias.

    Training: normalise with the batch statistics and update `running_mean` and
    `running_var` (unbiased) with `momentum` (None: cumulative average over
    `num_batches_tracked` batches). Evaluation: use the running statistics.
    """

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True,
                 track_running_stats=True, device=None, dtype=None, *, bias=True):
        super().__init__()
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self._has_bias = bool(affine and bias)
        self.affine, self.track_running_stats = affine, track_running_stats
        dtype = dtype or ag.get_default_dtype()
        if affine:
            self.weight = Parameter(ag.ones(num_features, dtype=dtype))
            if bias:
                self.bias = Parameter(ag.zeros(num_features, dtype=dtype))
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if track_running_stats:
            self.register_buffer("running_mean", ag.zeros(num_features, dtype=dtype))
            self.register_buffer("running_var", ag.ones(num_features, dtype=dtype))
            self.register_buffer("num_batches_tracked", ag.tensor(0, dtype=ag.int64))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)

    def reset_running_stats(self):
        """Running mean 0, running variance 1, no batches tracked."""
        if self.track_running_stats:
            with ag.no_grad():
                self.running_mean.zero_()
                self.running_var.fill_(1.0)
                self.num_batches_tracked.zero_()

    def reset_parameters(self):
        """Reset the running statistics, weight to 1 and bias to 0."""
        self.reset_running_stats()
        if self.affine:
            init.ones_(self.weight)
            if self.bias is not None:
                init.zeros_(self.bias)

    def forward(self, input):
        """Normalise input (N, C) or (N, C, L)."""
        if input.ndim not in (2, 3):
            raise ValueError(f"BatchNorm1d: expected 2D or 3D input (got {input.ndim}D input of "
                             f"shape {tuple(input.shape)})")
        if input.shape[1] != self.num_features:
            raise ValueError(f"BatchNorm1d: input has {input.shape[1]} channels (shape "
                             f"{tuple(input.shape)}) but num_features={self.num_features}")
        buffers, params = self._buffers, self._parameters
        rm, rv = buffers["running_mean"], buffers["running_var"]
        factor = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats:
            nbt = buffers["num_batches_tracked"]
            with ag.no_grad():
                nbt.add_(1)
            if self.momentum is None:
                factor = 1.0 / float(nbt.item())
        use_batch = self.training or rm is None
        track = not use_batch or self.track_running_stats
        return F.batch_norm(input, rm if track else None, rv if track else None,
                            params["weight"], params["bias"], use_batch, factor, self.eps)

    def extra_repr(self):
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"affine={self.affine}, bias={self._has_bias}, "
                f"track_running_stats={self.track_running_stats}")


class LayerNorm(Module):
    """Normalise over the trailing `normalized_shape` dims, then scale and shift."""

    def __init__(self, normalized_shape, eps=1e-5, elementwise_affine=True, bias=True,
                 device=None, dtype=None):
        super().__init__()
        if isinstance(normalized_shape, int):
            normalized_shape = (normalized_shape,)
        self.normalized_shape = tuple(normalized_shape)
        self.eps, self.elementwise_affine = eps, elementwise_affine
        self._has_bias = bool(elementwise_affine and bias)
        dtype = dtype or ag.get_default_dtype()
        if elementwise_affine:
            self.weight = Parameter(ag.ones(*self.normalized_shape, dtype=dtype))
            if bias:
                self.bias = Parameter(ag.zeros(*self.normalized_shape, dtype=dtype))
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)

    def reset_parameters(self):
        """Weight to 1, bias to 0."""
        if self.weight is not None:
            init.ones_(self.weight)
        if self.bias is not None:
            init.zeros_(self.bias)

    def forward(self, input):
        """Normalise input over its trailing dims."""
        return F.layer_norm(input, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return (f"{self.normalized_shape}, eps={self.eps}, "
                f"elementwise_affine={self.elementwise_affine}, bias={self._has_bias}")
