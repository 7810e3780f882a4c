"""NAdam (Adam with Nesterov momentum)."""
from numbagrad import autograd as ag

from ._common import check, check_betas, check_lr, new_step, tick
from .optimizer import Optimizer, _scalar_dtype

__all__ = ["NAdam"]


class NAdam(Optimizer):
    r"""NAdam (Dozat, 2016; PyTorch's `torch.optim.NAdam`), with momentum decay.

    Update at step t (gradient g_t, negated if ``maximize``; psi = momentum_decay)::

        g_t <- g_t + lambda * theta_{t-1}       (L2; decoupled: theta *= 1 - eta*lambda)
        mu_t = beta1 * (1 - 0.5 * 0.96**(t * psi))
        m_t = beta1 * m_{t-1} + (1 - beta1) * g_t
        v_t = beta2 * v_{t-1} + (1 - beta2) * g_t**2
        d_t = sqrt(v_t / (1 - beta2**t)) + eps
        theta_t = theta_{t-1} - eta * (1 - mu_t) / (1 - prod_{i<=t} mu_i) * g_t / d_t
                               - eta * mu_{t+1} / (1 - prod_{i<=t+1} mu_i) * m_t / d_t

    The course notes' NAdam (Adam whose first moment looks one step ahead,
    ``m_hat = beta1 m_t/(1-beta1^{t+1}) + (1-beta1) g_t/(1-beta1^t)``) is the case of a
    constant mu (``momentum_decay=0`` makes ``mu_t = beta1 / 2``; PyTorch has no knob for
    mu_t = beta1 exactly). As in PyTorch, the running product of mu is kept in the
    ``mu_product`` state as a float32 (default-dtype) scalar tensor.

    Args:
        params: parameters or parameter groups.
        lr: learning rate (default 2e-3).
        betas: (beta1, beta2) (default (0.9, 0.999)).
        eps: (default 1e-8).
        weight_decay: weight decay (default 0).
        momentum_decay: psi (default 4e-3).
        decoupled_weight_decay: decoupled (AdamW-style) decay (default False).
        maximize: maximize the objective (default False).
        foreach: accepted for PyTorch compatibility (one Tensor-op path).
    """

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 momentum_decay=4e-3, decoupled_weight_decay=False, *, foreach=None,
                 maximize=False, capturable=False, differentiable=False):
        check_lr(lr)
        check(0.0 <= eps, "epsilon value", eps)
        check_betas(betas)
        check(0.0 <= weight_decay, "weight_decay value", weight_decay)
        check(0.0 <= momentum_decay, "momentum_decay value", momentum_decay)
        if capturable or differentiable:
            raise NotImplementedError("NAdam: capturable/differentiable are not supported")
        defaults = dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                        momentum_decay=momentum_decay,
                        decoupled_weight_decay=decoupled_weight_decay, maximize=maximize,
                        foreach=foreach, capturable=capturable, differentiable=differentiable)
        super().__init__(params, defaults)

    def _update_group(self, group):
        lr, (beta1, beta2), eps = group["lr"], group["betas"], group["eps"]
        wd, psi = group["weight_decay"], group["momentum_decay"]
        decoupled = group["decoupled_weight_decay"]
        for p in group["params"]:
            if p.grad is None:
                continue
            state = self.state[p]
            if len(state) == 0:
                state["step"] = new_step()
                state["mu_product"] = ag.tensor(1.0, dtype=_scalar_dtype())
                state["exp_avg"] = ag.zeros_like(p)
                state["exp_avg_sq"] = ag.zeros_like(p)
            step = tick(state)
            mu_product, exp_avg, exp_avg_sq = (state["mu_product"], state["exp_avg"],
                                               state["exp_avg_sq"])
            bias_correction2 = 1 - beta2 ** step
            grad = -p.grad if group["maximize"] else p.grad
            if wd != 0:
                if decoupled:
                    p.mul_(1 - lr * wd)
                else:
                    grad = grad.add(p, alpha=wd)
            mu = beta1 * (1.0 - 0.5 * (0.96 ** (step * psi)))
            mu_next = beta1 * (1.0 - 0.5 * (0.96 ** ((step + 1) * psi)))
            mu_product.mul_(mu)
            exp_avg.lerp_(grad, 1 - beta1)
            exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
            denom = exp_avg_sq.div(bias_correction2).sqrt()
            mu_prod = mu_product.item()
            mu_product_next = mu_prod * mu_next
            denom.add_(eps)
            p.addcdiv_(grad, denom, value=-lr * (1.0 - mu) / (1.0 - mu_prod))
            p.addcdiv_(exp_avg, denom, value=(-lr * mu_next) / (1.0 - mu_product_next))
