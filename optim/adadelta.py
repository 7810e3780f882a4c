"""Adadelta."""
from numbagrad import autograd as ag

from ._common import check, check_lr, new_step, prepared_grad, tick
from .optimizer import Optimizer

__all__ = ["Adadelta"]


class Adadelta(Optimizer):
    r"""Adadelta (Zeiler, 2012; PyTorch's `torch.optim.Adadelta`).

    Update at step t (gradient g_t, negated if ``maximize``)::

        g_t <- g_t + lambda * theta_{t-1}                      (weight_decay = lambda)
        E[g^2]_t  = rho * E[g^2]_{t-1} + (1 - rho) * g_t**2
        dx_t      = sqrt(E[dx^2]_{t-1} + eps) / sqrt(E[g^2]_t + eps) * g_t
        E[dx^2]_t = rho * E[dx^2]_{t-1} + (1 - rho) * dx_t**2
        theta_t   = theta_{t-1} - lr * dx_t

    This is the course notes' (Zeiler's) rule with eps inside both roots; ``lr`` (default
    1.0, i.e. none) is PyTorch's extra scale on the step.

    Args:
        params: parameters or parameter groups.
        lr: scale of the step (default 1.0).
        rho: decay of the running averages (default 0.9).
        eps: inside the square roots (default 1e-6).
        weight_decay: L2 penalty (default 0).
        maximize: maximize the objective (default False).
        foreach: accepted for PyTorch compatibility (one Tensor-op path).
    """

    def __init__(self, params, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0, foreach=None, *,
                 capturable=False, maximize=False, differentiable=False):
        check_lr(lr)
        check(0.0 <= rho <= 1.0, "rho value", rho)
        check(0.0 <= eps, "epsilon value", eps)
        check(0.0 <= weight_decay, "weight_decay value", weight_decay)
        if capturable or differentiable:
            raise NotImplementedError("Adadelta: capturable/differentiable are not supported")
        defaults = dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay, maximize=maximize,
                        capturable=capturable, foreach=foreach, differentiable=differentiable)
        super().__init__(params, defaults)

    def _update_group(self, group):
        lr, rho, eps = group["lr"], group["rho"], group["eps"]
        for p in group["params"]:
            if p.grad is None:
                continue
            state = self.state[p]
            if len(state) == 0:
                state["step"] = new_step()
                state["square_avg"] = ag.zeros_like(p)
                state["acc_delta"] = ag.zeros_like(p)
            tick(state)
            square_avg, acc_delta = state["square_avg"], state["acc_delta"]
            grad = prepared_grad(p, group)
            square_avg.mul_(rho).addcmul_(grad, grad, value=1 - rho)
            std = square_avg.add(eps).sqrt_()
            delta = acc_delta.add(eps).sqrt_()
            delta.div_(std).mul_(grad)
            acc_delta.mul_(rho).addcmul_(delta, delta, value=1 - rho)
            p.add_(delta, alpha=-lr)
