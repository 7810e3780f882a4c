"""RMSprop."""
from numbagrad import autograd as ag
from numbagrad.autograd import fused as _fused

from ._common import check, check_lr, new_step, prepared_grad, tick
from .optimizer import Optimizer, _fused_choice, _use_fused

__all__ = ["RMSprop"]


class RMSprop(Optimizer):
    r"""RMSprop (Hinton's lecture notes; PyTorch's `torch.optim.RMSprop`).

    Update at step t (gradient g_t, negated if ``maximize``), alpha the smoothing
    constant (the notes' rho)::

        g_t <- g_t + lambda * theta_{t-1}                    (weight_decay = lambda)
        E_t = alpha * E_{t-1} + (1 - alpha) * g_t**2          (E_0 = 0)
        gbar_t = alpha * gbar_{t-1} + (1 - alpha) * g_t       (centered only)
        d_t = sqrt(E_t - gbar_t**2) + eps  if centered  else  sqrt(E_t) + eps
        b_t = mu * b_{t-1} + g_t / d_t;  theta_t = theta_{t-1} - eta * b_t   (momentum mu > 0)
        theta_t = theta_{t-1} - eta * g_t / d_t                              (momentum = 0)

    Course notes: ``E[g^2]_t = rho E[g^2]_{t-1} + (1 - rho) g_t^2``, ``theta -= eta g_t /
    sqrt(E[g^2]_t + eps)``: use ``alpha=rho``. PyTorch adds eps after the square root
    (no knob moves it inside); ``eps_torch = sqrt(eps_notes)`` gives the same denominator
    when E is 0 and a difference below a factor sqrt(2) elsewhere, vanishing once
    E >> eps_notes.

    Args:
        params: parameters or parameter groups.
        lr: learning rate (default 1e-2).
        alpha: smoothing constant (default 0.99).
        eps: added to the denominator (default 1e-8).
        weight_decay: L2 penalty (default 0).
        momentum: momentum factor (default 0).
        centered: normalise by the estimated variance of the gradient (default False).
        maximize: maximize the objective (default False).
        foreach / fused: as in `SGD`.
    """

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0,
                 centered=False, capturable=False, foreach=None, maximize=False,
                 differentiable=False, *, fused=None):
        check_lr(lr)
        check(0.0 <= eps, "epsilon value", eps)
        check(0.0 <= momentum, "momentum value", momentum)
        check(0.0 <= weight_decay, "weight_decay value", weight_decay)
        check(0.0 <= alpha, "alpha value", alpha)
        if capturable or differentiable:
            raise NotImplementedError("RMSprop: capturable/differentiable are not supported")
        defaults = dict(lr=lr, momentum=momentum, alpha=alpha, eps=eps, centered=centered,
                        weight_decay=weight_decay, capturable=capturable, foreach=foreach,
                        maximize=maximize, differentiable=differentiable, fused=fused)
        super().__init__(params, defaults)

    def _update_group(self, group):
        lr, alpha, eps = group["lr"], group["alpha"], group["eps"]
        momentum, centered = group["momentum"], group["centered"]
        choice = _fused_choice(group)
        fused = ([], [], [], [], [], [])  # params, grads, square_avgs, grad_avgs, bufs, steps
        for p in group["params"]:
            if p.grad is None:
                continue
            state = self.state[p]
            if len(state) == 0:
                state["step"] = new_step()
                state["square_avg"] = ag.zeros_like(p)
                if momentum > 0:
                    state["momentum_buffer"] = ag.zeros_like(p)
                if centered:
                    state["grad_avg"] = ag.zeros_like(p)
            if momentum > 0 and "momentum_buffer" not in state:
                state["momentum_buffer"] = ag.zeros_like(p)
            if centered and "grad_avg" not in state:
                state["grad_avg"] = ag.zeros_like(p)
            square_avg = state["square_avg"]
            buf, grad_avg = state.get("momentum_buffer"), state.get("grad_avg")
            if _use_fused(choice, p):
                fused[0].append(p)
                fused[1].append(p.grad)
                fused[2].append(square_avg)
                fused[3].append(grad_avg)
                fused[4].append(buf)
                fused[5].append(state["step"])
                continue
            tick(state)
            grad = prepared_grad(p, group)
            square_avg.mul_(alpha).addcmul_(grad, grad, value=1 - alpha)
            if centered:
                grad_avg.lerp_(grad, 1 - alpha)
                avg = (square_avg - grad_avg * grad_avg).sqrt_()
            else:
                avg = square_avg.sqrt()
            avg = avg.add_(eps)
            if momentum > 0:
                buf.mul_(momentum).addcdiv_(grad, avg)
                p.add_(buf, alpha=-lr)
            else:
                p.addcdiv_(grad, avg, value=-lr)
        if fused[0]:
            _fused.rmsprop_group_(*fused, checked=True, lr=lr, alpha=alpha, eps=eps,
                                  weight_decay=group["weight_decay"], momentum=momentum,
                                  centered=centered, maximize=group["maximize"])
