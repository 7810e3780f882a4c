"""Adagrad."""
from numbagrad import autograd as ag
from numbagrad.autograd import fused as _fused

from ._common import check, check_lr, new_step, prepared_grad, tick
from .optimizer import Optimizer, _fused_choice, _use_fused

__all__ = ["Adagrad"]


class Adagrad(Optimizer):
    r"""Adagrad (Duchi et al., 2011; PyTorch's `torch.optim.Adagrad`).

    Update at step t (gradient g_t, negated if ``maximize``)::

        g_t <- g_t + lambda * theta_{t-1}             (weight_decay = lambda)
        eta_t = eta / (1 + (t - 1) * lr_decay)
        G_t = G_{t-1} + g_t**2                         (G_0 = initial_accumulator_value)
        theta_t = theta_{t-1} - eta_t * g_t / (sqrt(G_t) + eps)

    The course notes put eps inside the root, ``g_t / sqrt(G_t + eps)``. PyTorch's knobs
    give that form exactly: ``Adagrad(params, lr, eps=0, initial_accumulator_value=eps)``
    (then ``G_t = eps + sum g**2``). With the defaults (eps=1e-10 outside) the two differ
    only while ``G_t`` is of order eps or smaller: ``sqrt(G) + e`` and ``sqrt(G + e**2)``
    agree within a factor sqrt(2) there and converge as G grows. The state (``sum``) is
    created when the optimizer is built, as in PyTorch.

    Args:
        params: parameters or parameter groups.
        lr: learning rate (default 1e-2).
        lr_decay: learning-rate decay (default 0).
        weight_decay: L2 penalty (default 0).
        initial_accumulator_value: starting value of G (default 0).
        eps: added to the denominator (default 1e-10).
        maximize: maximize the objective (default False).
        foreach / fused: as in `SGD`.
    """

    def __init__(self, params, lr=1e-2, lr_decay=0, weight_decay=0, initial_accumulator_value=0,
                 eps=1e-10, foreach=None, *, maximize=False, differentiable=False, fused=None):
        check_lr(lr)
        check(0.0 <= lr_decay, "lr_decay value", lr_decay)
        check(0.0 <= weight_decay, "weight_decay value", weight_decay)
        check(0.0 <= initial_accumulator_value, "initial_accumulator_value value",
              initial_accumulator_value)
        check(0.0 <= eps, "epsilon value", eps)
        if differentiable:
            raise NotImplementedError("Adagrad: differentiable=True is not supported")
        defaults = dict(lr=lr, lr_decay=lr_decay, eps=eps, weight_decay=weight_decay,
                        initial_accumulator_value=initial_accumulator_value, foreach=foreach,
                        maximize=maximize, differentiable=differentiable, fused=fused)
        super().__init__(params, defaults)
        for group in self.param_groups:
            for p in group["params"]:
                state = self.state[p]
                state["step"] = new_step()
                state["sum"] = ag.full_like(p, group["initial_accumulator_value"])

    def _update_group(self, group):
        lr, lr_decay, eps = group["lr"], group["lr_decay"], group["eps"]
        choice = _fused_choice(group)
        fused = ([], [], [], [])  # params, grads, sums, steps
        for p in group["params"]:
            if p.grad is None:
                continue
            state = self.state[p]
            if len(state) == 0:  # a group added after construction
                state["step"] = new_step()
                state["sum"] = ag.full_like(p, group["initial_accumulator_value"])
            state_sum = state["sum"]
            if _use_fused(choice, p):
                for lst, x in zip(fused, (p, p.grad, state_sum, state["step"])):
                    lst.append(x)
                continue
            step = tick(state)
            grad = prepared_grad(p, group)
            clr = lr / (1 + (step - 1) * lr_decay)
            state_sum.addcmul_(grad, grad, value=1)
            std = state_sum.sqrt().add_(eps)
            p.addcdiv_(grad, std, value=-clr)
        if fused[0]:
            _fused.adagrad_group_(*fused, checked=True, lr=lr, lr_decay=lr_decay,
                                  weight_decay=group["weight_decay"], eps=eps,
                                  maximize=group["maximize"])
