"""Stochastic gradient descent with momentum, dampening and Nesterov momentum."""
from numbagrad import autograd as ag
from numbagrad.autograd import fused as _fused

from ._common import check, check_lr, prepared_grad
from .optimizer import Optimizer, _fused_choice, _use_fused

__all__ = ["SGD"]


class SGD(Optimizer):
    r"""Stochastic gradient descent, optionally with momentum (PyTorch's `torch.optim.SGD`).

    Update, with gradient :math:`g_t = \nabla_\theta L(\theta_{t-1})` (negated if
    ``maximize``), weight decay :math:`\lambda`, momentum :math:`\mu`, dampening
    :math:`\tau`, learning rate :math:`\eta`::

        g_t <- g_t + lambda * theta_{t-1}                  (weight_decay != 0: L2 penalty)
        v_1  = g_1;   v_t = mu * v_{t-1} + (1 - tau) * g_t  (momentum != 0)
        d_t  = g_t + mu * v_t   if nesterov   else   v_t
        theta_t = theta_{t-1} - eta * d_t

    Course-notes variants through PyTorch's knobs:

    * Momentum as an exponential average, ``v_t = beta * v_{t-1} + (1 - beta) * g_t``:
      ``SGD(params, lr, momentum=beta, dampening=beta)``. One difference remains: PyTorch
      starts with ``v_1 = g_1`` (not ``(1 - beta) * g_1`` from ``v_0 = 0``), so only the
      first step is ``1 / (1 - beta)`` times larger.
    * The notes' "velocity" form ``v_t = mu * v_{t-1} - eta * g_t; theta_t = theta_{t-1} + v_t``
      is PyTorch's form with ``v^notes = -eta * v^torch`` (identical trajectories for a
      constant learning rate): ``momentum=mu, dampening=0``.
    * Nesterov (NAG): the notes evaluate the gradient at the look-ahead point,
      ``v_t = mu * v_{t-1} - eta * grad L(theta_{t-1} + mu * v_{t-1})``,
      ``theta_t = theta_{t-1} + v_t``.
      PyTorch (``nesterov=True``, needs ``dampening=0``) uses the equivalent
      reparametrisation (Bengio et al., 2013) that stores the look-ahead point itself,
      ``theta_t = theta_{t-1} - eta * (g_t + mu * v_t)``, so only one gradient is needed per
      step; for a constant lr the iterates are the notes' look-ahead points.

    Args:
        params: parameters or parameter groups.
        lr: learning rate (default 1e-3).
        momentum: momentum factor mu (default 0).
        dampening: dampening tau for momentum (default 0).
        weight_decay: L2 penalty lambda (default 0).
        nesterov: Nesterov momentum (default False).
        maximize: maximize the objective instead of minimizing (default False).
        foreach: ``False`` selects the reference Tensor-op path; None/True allow the fused one.
        fused: ``True`` forces the fused numba kernel, ``False`` forbids it, ``None``
            (default) uses it for C-contiguous float32/float64 parameters.
    """

    def __init__(self, params, lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=False,
                 *, maximize=False, foreach=None, differentiable=False, fused=None):
        check_lr(lr)
        check(momentum >= 0.0, "momentum value", momentum)
        check(weight_decay >= 0.0, "weight_decay value", weight_decay)
        if differentiable:
            raise NotImplementedError("SGD: differentiable=True is not supported")
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,
                        nesterov=nesterov, maximize=maximize, foreach=foreach,
                        differentiable=differentiable, fused=fused)
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        super().__init__(params, defaults)

    def add_param_group(self, param_group):
        """Add a parameter group (see `Optimizer.add_param_group`)."""
        super().add_param_group(param_group)
        g = self.param_groups[-1]
        if g["nesterov"] and (g["momentum"] <= 0 or g["dampening"] != 0):
            self.param_groups.pop()
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")

    def _update_group(self, group):
        lr, momentum, dampening = group["lr"], group["momentum"], group["dampening"]
        nesterov = group["nesterov"]
        choice = _fused_choice(group)
        fused = ([], [], [], [])  # params, grads, momentum buffers, first-step flags
        for p in group["params"]:
            if p._grad is None:
                continue
            if _use_fused(choice, p):
                buf, first = None, False
                if momentum != 0:
                    state = self.state[p]
                    buf = state.get("momentum_buffer")
                    if buf is None:
                        buf = ag.empty_like(p)
                        state["momentum_buffer"] = buf
                        first = True
                fused[0].append(p)
                fused[1].append(p._grad)
                fused[2].append(buf)
                fused[3].append(first)
                continue
            grad = prepared_grad(p, group)
            if momentum != 0:
                state = self.state[p]
                buf = state.get("momentum_buffer")
                if buf is None:
                    buf = grad.detach().clone()
                    state["momentum_buffer"] = buf
                else:
                    buf.mul_(momentum).add_(grad, alpha=1 - dampening)
                grad = grad.add(buf, alpha=momentum) if nesterov else buf
            p.add_(grad, alpha=-lr)
        if fused[0]:
            _fused.sgd_group_(*fused, checked=True, lr=lr, momentum=momentum, dampening=dampening,
                              weight_decay=group["weight_decay"], nesterov=nesterov,
                              maximize=group["maximize"])
