"""Adamax (Adam with the infinity norm)."""
from numbagrad import autograd as ag

from ._common import check, check_betas, check_lr, new_step, prepared_grad, tick
from .optimizer import Optimizer

__all__ = ["Adamax"]


class Adamax(Optimizer):
    r"""Adamax, the infinity-norm variant of Adam (Kingma & Ba; PyTorch's `torch.optim.Adamax`).

    Update at step t (gradient g_t, negated if ``maximize``)::

        g_t <- g_t + lambda * theta_{t-1}                    (weight_decay = lambda)
        m_t = beta1 * m_{t-1} + (1 - beta1) * g_t
        u_t = max(beta2 * u_{t-1}, |g_t| + eps)
        theta_t = theta_{t-1} - eta / (1 - beta1**t) * m_t / u_t

    The paper's ``u_t = max(beta2 u_{t-1}, |g_t|)`` with eps added to the divisor; PyTorch
    adds eps inside the max instead (it only matters while |g| <~ eps).

    Args:
        params: parameters or parameter groups.
        lr: learning rate (default 2e-3).
        betas: (beta1, beta2) (default (0.9, 0.999)).
        eps: (default 1e-8).
        weight_decay: L2 penalty (default 0).
        maximize: maximize the objective (default False).
        foreach: accepted for PyTorch compatibility (one Tensor-op path).
    """

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 foreach=None, *, maximize=False, differentiable=False, capturable=False):
        check_lr(lr)
        check(0.0 <= eps, "epsilon value", eps)
        check_betas(betas)
        check(0.0 <= weight_decay, "weight_decay value", weight_decay)
        if capturable or differentiable:
            raise NotImplementedError("Adamax: capturable/differentiable are not supported")
        defaults = dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                        foreach=foreach, maximize=maximize, differentiable=differentiable,
                        capturable=capturable)
        super().__init__(params, defaults)

    def _update_group(self, group):
        lr, (beta1, beta2), eps = group["lr"], group["betas"], group["eps"]
        for p in group["params"]:
            if p.grad is None:
                continue
            state = self.state[p]
            if len(state) == 0:
                state["step"] = new_step()
                state["exp_avg"] = ag.zeros_like(p)
                state["exp_inf"] = ag.zeros_like(p)
            step = tick(state)
            exp_avg, exp_inf = state["exp_avg"], state["exp_inf"]
            grad = prepared_grad(p, group)
            exp_avg.lerp_(grad, 1 - beta1)
            exp_inf.copy_(ag.maximum(exp_inf.mul_(beta2), grad.abs().add_(eps)))
            clr = lr / (1 - beta1 ** step)
            p.addcdiv_(exp_avg, exp_inf, value=-clr)
