"""Adam and AdamW (decoupled weight decay)."""
from numbagrad import autograd as ag
from numbagrad.autograd import fused as _fused

from ._common import check, check_betas, check_lr, new_step, tick
from .optimizer import Optimizer, _fused_choice, _use_fused

__all__ = ["Adam", "AdamW"]


class Adam(Optimizer):
    r"""Adam (Kingma & Ba, 2015), with optional AMSGrad (PyTorch's `torch.optim.Adam`).

    Update at step t (gradient g_t, negated if ``maximize``)::

        g_t <- g_t + lambda * theta_{t-1}         (weight_decay = lambda: L2 penalty)
        m_t = beta1 * m_{t-1} + (1 - beta1) * g_t
        v_t = beta2 * v_{t-1} + (1 - beta2) * g_t**2
        vmax_t = max(vmax_{t-1}, v_t)              (amsgrad; v_t below is replaced by vmax_t)
        m_hat = m_t / (1 - beta1**t);   v_hat = v_t / (1 - beta2**t)
        theta_t = theta_{t-1} - eta * m_hat / (sqrt(v_hat) + eps)

    This is the course notes' Adam exactly (with m_0 = v_0 = 0 and bias correction);
    PyTorch evaluates it as ``theta -= (eta / (1 - beta1**t)) * m_t /
    (sqrt(v_t) / sqrt(1 - beta2**t) + eps)``, which is the same formula. ``eps`` sits
    outside the square root; a variant with eps inside it has no PyTorch knob (the two
    differ only when v_hat is of order eps**2). With ``decoupled_weight_decay=True`` (or
    `AdamW`) weight decay shrinks the parameters directly instead of entering the
    gradient.

    Args:
        params: parameters or parameter groups.
        lr: learning rate eta (default 1e-3).
        betas: (beta1, beta2) (default (0.9, 0.999)).
        eps: added to the denominator (default 1e-8).
        weight_decay: L2 penalty (default 0).
        amsgrad: use the AMSGrad variant (default False).
        maximize: maximize the objective (default False).
        foreach: ``False`` selects the reference Tensor-op path.
        fused: ``True`` forces the fused numba kernel, ``False`` forbids it, ``None``
            (default) uses it for C-contiguous float32/float64 parameters.
        decoupled_weight_decay: AdamW's decoupled decay (default False).
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 amsgrad=False, *, foreach=None, maximize=False, capturable=False,
                 differentiable=False, fused=None, decoupled_weight_decay=False):
        check_lr(lr)
        check(0.0 <= eps, "epsilon value", eps)
        check_betas(betas)
        check(0.0 <= weight_decay, "weight_decay value", weight_decay)
        if capturable or differentiable:
            raise NotImplementedError(f"{type(self).__name__}: capturable/differentiable are "
                                      "not supported (CPU only, no higher-order optimizers)")
        defaults = dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                        amsgrad=amsgrad, maximize=maximize, foreach=foreach,
                        capturable=capturable, differentiable=differentiable, fused=fused,
                        decoupled_weight_decay=decoupled_weight_decay)
        super().__init__(params, defaults)

    def _update_group(self, group):
        lr, (beta1, beta2), eps = group["lr"], group["betas"], group["eps"]
        wd, amsgrad, maximize = group["weight_decay"], group["amsgrad"], group["maximize"]
        decoupled = group["decoupled_weight_decay"]
        choice = _fused_choice(group)
        fused = ([], [], [], [], [], [])  # params, grads, exp_avgs, exp_avg_sqs, maxes, steps
        for p in group["params"]:
            if p.grad is None:
                continue
            state = self.state[p]
            if len(state) == 0:
                state["step"] = new_step()
                state["exp_avg"] = ag.zeros_like(p)
                state["exp_avg_sq"] = ag.zeros_like(p)
                if amsgrad:
                    state["max_exp_avg_sq"] = ag.zeros_like(p)
            exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
            vmax = state.get("max_exp_avg_sq")
            if amsgrad and vmax is None:  # amsgrad switched on after the first step
                vmax = state["max_exp_avg_sq"] = ag.zeros_like(p)
            if _use_fused(choice, p):
                fused[0].append(p)
                fused[1].append(p.grad)
                fused[2].append(exp_avg)
                fused[3].append(exp_avg_sq)
                fused[4].append(vmax)
                fused[5].append(state["step"])
                continue
            step = tick(state)
            grad = -p.grad if maximize else p.grad
            if wd != 0:
                if decoupled:
                    p.mul_(1 - lr * wd)
                else:
                    grad = grad.add(p, alpha=wd)
            exp_avg.lerp_(grad, 1 - beta1)
            exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
            bias_correction1 = 1 - beta1 ** step
            bias_correction2 = 1 - beta2 ** step
            step_size = lr / bias_correction1
            bc2_sqrt = bias_correction2 ** 0.5
            if amsgrad:
                vmax.copy_(ag.maximum(vmax, exp_avg_sq))
                denom = (vmax.sqrt() / bc2_sqrt).add_(eps)
            else:
                denom = (exp_avg_sq.sqrt() / bc2_sqrt).add_(eps)
            p.addcdiv_(exp_avg, denom, value=-step_size)
        if fused[0]:
            _fused.adam_group_(*fused, checked=True, lr=lr, beta1=beta1, beta2=beta2, eps=eps,
                               weight_decay=wd, amsgrad=amsgrad, maximize=maximize,
                               decoupled=decoupled)


class AdamW(Adam):
    r"""Adam with decoupled weight decay (Loshchilov & Hutter; PyTorch's `torch.optim.AdamW`).

    As `Adam`, except that weight decay does not enter the gradient; each step first
    shrinks the parameters, ``theta <- theta * (1 - eta * lambda)``, then applies the Adam
    update. Default ``weight_decay`` is 1e-2. ``AdamW(..., weight_decay=0)`` equals Adam.

    Args: as `Adam` (``decoupled_weight_decay`` is always True).
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2,
                 amsgrad=False, *, maximize=False, foreach=None, capturable=False,
                 differentiable=False, fused=None):
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                         amsgrad=amsgrad, foreach=foreach, maximize=maximize,
                         capturable=capturable, differentiable=differentiable, fused=fused,
                         decoupled_weight_decay=True)
