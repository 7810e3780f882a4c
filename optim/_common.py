"""Helpers shared by the optimizers: hyperparameter checks and the prepared gradient."""
from numbagrad import autograd as ag

from .optimizer import _scalar_dtype


def check_lr(lr):
    """ValueError("Invalid learning rate: lr") unless lr >= 0 (PyTorch's message)."""
    if isinstance(lr, ag.Tensor):
        lr = lr.item()
    if not 0.0 <= lr:
        raise ValueError(f"Invalid learning rate: {lr}")


def check(ok, what, value):
    """ValueError(f"Invalid {what}: {value}") unless ok."""
    if not ok:
        raise ValueError(f"Invalid {what}: {value}")


def check_betas(betas):
    """Both betas in [0, 1) (PyTorch's messages name the index)."""
    for i, b in enumerate(betas):
        if not 0.0 <= b < 1.0:
            raise ValueError(f"Invalid beta parameter at index {i}: {b}")


def new_step():
    """A fresh step counter: a 0-d float tensor, as PyTorch keeps it."""
    return ag.tensor(0.0, dtype=_scalar_dtype())


def tick(state):
    """Increment state['step'] in place and return the new count as a Python float."""
    step_t = state["step"]
    step_t.add_(1)
    return step_t.item()


def prepared_grad(p, group):
    """The gradient with maximize and (L2) weight decay applied (a new tensor if changed)."""
    grad = p.grad
    if group.get("maximize"):
        grad = -grad
    wd = group.get("weight_decay", 0)
    if wd != 0:
        grad = grad.add(p, alpha=wd)
    return grad
