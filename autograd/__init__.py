"""numbagrad.autograd: Tensor, graph engine, differentiable ops."""
