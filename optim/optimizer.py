"""The `Optimizer` base class: parameter groups, per-parameter state, state dicts.

Follows `torch.optim.Optimizer`:

* ``param_groups`` is a list of dicts; each holds ``params`` (a list of tensors) and
  every hyperparameter, missing ones filled from the optimizer's ``defaults``.
* ``state`` maps each parameter (the tensor object itself) to a dict of buffers
  (``step``, ``exp_avg``, ...), created lazily on the first step that parameter has a
  gradient (Adagrad creates its state eagerly, as PyTorch does).
* ``state_dict()`` has PyTorch's layout: ``{"state": {index: {...}}, "param_groups":
  [{..., "params": [index, ...]}]}``, parameters numbered in order across the groups,
  so a checkpoint written with `numbagrad.autograd.save` resumes bit-identically.

Subclasses implement ``_update_group(group)``, called under ``no_grad`` for every
group by `step`; updates are in-place Tensor operations (or the fused kernels of
`numbagrad.autograd.fused`), never numpy math on parameter arrays.
"""
from collections import defaultdict
from itertools import chain

from numbagrad import autograd as ag
from numbagrad.autograd import Tensor
from numbagrad.autograd import fused as _fused

__all__ = ["Optimizer", "required"]


class _RequiredParameter:
    """Marker for a hyperparameter without a default (PyTorch's ``optim.optimizer.required``)."""

    def __repr__(self):
        return "<required parameter>"


required = _RequiredParameter()


def _scalar_dtype():
    """dtype of the ``step`` counters: float64 if that is the default dtype, else float32."""
    return ag.float64 if ag.get_default_dtype() == ag.float64 else ag.float32


def _fused_choice(group):
    """How a group picks the fused (numba) path: None never, False if eligible, True always.

    ``fused=True`` forces it (an error for an ineligible parameter), ``fused=False`` or
    ``foreach=False`` selects the reference Tensor-op path, and ``None`` chooses the fused
    path for parameters whose gradient and memory qualify (C-contiguous float32/float64).
    """
    fused = group.get("fused")
    if fused is False or (fused is None and group.get("foreach") is False):
        return None
    return bool(fused)


def _use_fused(choice, param):
    """Whether `param` takes the fused path under the group's `_fused_choice`."""
    if choice is None:
        return False
    ok = _fused.eligible(param, param._grad)
    if choice and not ok:
        raise RuntimeError(
            f"fused=True needs a C-contiguous float32/float64 parameter with a gradient of the "
            f"same dtype and shape; got a parameter of shape {tuple(param.shape)}, dtype "
            f"{param.dtype}, contiguous={param.is_contiguous()}")
    return ok


class Optimizer:
    """Base class of all optimizers (PyTorch's `torch.optim.Optimizer`).

    Args:
        params: an iterable of tensors, of ``(name, tensor)`` pairs, or of dicts defining
            parameter groups (each with a ``params`` entry and optional hyperparameters).
        defaults: the default hyperparameters, filled into every group that lacks them.
    """

    def __init__(self, params, defaults):
        self.defaults = defaults
        self._opt_called = False  # set by step(); lr schedulers warn if they step first
        self.state = defaultdict(dict)
        self.param_groups = []
        if isinstance(params, Tensor):
            raise TypeError(
                "params argument given to the optimizer should be an iterable of Tensors or "
                f"dicts, but got {type(params).__name__}")
        if isinstance(params, set):
            raise TypeError(
                "optimizer parameters need to be organized in ordered collections, but the "
                "ordering of tensors in sets will change between runs. Please use a list instead.")
        groups = list(params)
        if len(groups) == 0:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for g in groups:
            self.add_param_group(g)

    # ------------------------------------------------------------------ groups
    def add_param_group(self, param_group):
        """Add a group of parameters with its own hyperparameters (e.g. when unfreezing layers).

        Missing hyperparameters are taken from ``defaults``. A parameter may belong to one
        group only (ValueError otherwise).
        """
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(param_group).__name__}")
        params = param_group["params"]
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, set):
            raise TypeError(
                "optimizer parameters need to be organized in ordered collections, but the "
                "ordering of tensors in sets will change between runs. Please use a list instead.")
        else:
            params = list(params)
        names = []
        plain = []
        for p in params:
            if isinstance(p, tuple) and len(p) == 2 and isinstance(p[0], str):
                names.append(p[0])
                p = p[1]
            plain.append(p)
        if names and len(names) != len(plain):
            raise ValueError("all optimizer params should be with/without names. Some param names "
                             "are missing")
        for p in plain:
            if not isinstance(p, Tensor):
                raise TypeError("optimizer can only optimize Tensors, but one of the params is "
                                f"{type(p).__name__}")
            if not p.is_leaf:
                raise ValueError("can't optimize a non-leaf Tensor")
        group = dict(param_group)
        group["params"] = plain
        if names:
            group["param_names"] = names
        for name, default in self.defaults.items():
            if default is required and name not in group:
                raise ValueError("parameter group didn't specify a value of required "
                                 f"optimization parameter {name}")
            group.setdefault(name, default)
        if len({id(p) for p in plain}) != len(plain):
            import warnings
            warnings.warn("optimizer contains a parameter group with duplicate parameters; in "
                          "future, this will cause an error", stacklevel=3)
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        if any(id(p) in seen for p in plain):
            raise ValueError("some parameters appear in more than one parameter group")
        self.param_groups.append(group)

    # ------------------------------------------------------------------ stepping
    def zero_grad(self, set_to_none=True):
        """Reset the gradients of all optimized parameters.

        ``set_to_none=True`` (default) sets ``.grad`` to None, which saves memory and lets
        `step` skip parameters that got no gradient; False fills them with zeros.
        """
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                if set_to_none:
                    p.grad = None
                else:
                    g = p.grad
                    if g.grad_fn is not None:
                        g = g.detach()
                        p.grad = g
                    else:
                        g.requires_grad_(False)
                    with ag.no_grad():
                        g.zero_()

    def step(self, closure=None):
        """Perform one optimization step; returns the closure's loss (or None).

        ``closure`` (optional) re-evaluates the model and returns the loss; it is called
        with gradient recording enabled before the update. Parameters whose ``grad`` is
        None are skipped.
        """
        loss = None
        self._opt_called = True
        if closure is not None:
            with ag.enable_grad():
                loss = closure()
        with ag.no_grad():
            for group in self.param_groups:
                self._update_group(group)
        return loss

    def _update_group(self, group):
        raise NotImplementedError

    # ------------------------------------------------------------------ state dicts
    def state_dict(self):
        """The optimizer's state in PyTorch's layout.

        ``{"state": {i: {...buffers...}}, "param_groups": [{...hyperparameters...,
        "params": [i, ...]}]}`` where ``i`` numbers the parameters in group order. The
        buffers are the live tensors (not copies), as in PyTorch.
        """
        index = {}
        groups = []
        for group in self.param_groups:
            packed = {k: v for k, v in group.items() if k != "params"}
            for p in group["params"]:
                if id(p) not in index:
                    index[id(p)] = len(index)
            packed["params"] = [index[id(p)] for p in group["params"]]
            groups.append(packed)
        state = {(index[id(k)] if isinstance(k, Tensor) else k): v for k, v in self.state.items()}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict):
        """Load a state from `state_dict()` (possibly read back with `numbagrad.autograd.load`).

        The numbers and sizes of the parameter groups must match this optimizer's.
        Hyperparameters come from the loaded groups; buffers are copied and cast to their
        parameter's dtype (``step`` keeps its own dtype).
        """
        if not isinstance(state_dict, dict) or "state" not in state_dict \
                or "param_groups" not in state_dict:
            raise ValueError("load_state_dict expects a dict with keys 'state' and "
                             "'param_groups' (as returned by Optimizer.state_dict()), got "
                             f"{type(state_dict).__name__}"
                             + (f" with keys {sorted(map(str, state_dict))}"
                                if isinstance(state_dict, dict) else ""))
        saved_groups = list(state_dict["param_groups"])
        groups = self.param_groups
        if len(groups) != len(saved_groups):
            raise ValueError("loaded state dict has a different number of parameter groups "
                             f"({len(saved_groups)}) than the optimizer ({len(groups)})")
        for i, (g, sg) in enumerate(zip(groups, saved_groups)):
            if "params" not in sg:
                raise ValueError(f"loaded parameter group {i} has no 'params' entry")
            if len(g["params"]) != len(sg["params"]):
                raise ValueError(
                    "loaded state dict contains a parameter group that doesn't match the size "
                    f"of optimizer's group: group {i} has {len(sg['params'])} parameters in the "
                    f"state dict and {len(g['params'])} in the optimizer")
        id_map = dict(zip(chain.from_iterable(sg["params"] for sg in saved_groups),
                          chain.from_iterable(g["params"] for g in groups)))
        new_state = defaultdict(dict)
        for k, v in state_dict["state"].items():
            if k in id_map:
                p = id_map[k]
                if not isinstance(v, dict):
                    raise ValueError(f"loaded state of parameter {k} must be a dict, got "
                                     f"{type(v).__name__}")
                new_state[p] = {name: self._cast_state(p, name, val) for name, val in v.items()}
            else:
                new_state[k] = v
        new_groups = []
        for g, sg in zip(groups, saved_groups):
            ng = {k: v for k, v in sg.items() if k != "params"}
            ng["params"] = g["params"]
            if "param_names" in g and "param_names" not in ng:
                ng["param_names"] = g["param_names"]
            if isinstance(ng.get("betas"), list):
                ng["betas"] = tuple(ng["betas"])
            new_groups.append(ng)
        self.state = new_state
        self.param_groups = new_groups

    @staticmethod
    def _cast_state(param, name, value):
        import numpy as np
        if isinstance(value, np.ndarray):
            value = ag.from_numpy(value.copy())
        if name in ("step", "mu_product") and isinstance(value, (int, float, np.number)) \
                and not isinstance(value, bool):
            return ag.tensor(float(value), dtype=_scalar_dtype())  # old-style number steps
        if not isinstance(value, Tensor):
            return value
        value = value.detach()
        if name in ("step", "mu_product"):
            return value.clone()
        if value.is_floating_point() and param.is_floating_point():
            if value.shape != param.shape:
                raise ValueError(
                    f"loaded state '{name}' has shape {tuple(value.shape)} but its parameter "
                    f"has shape {tuple(param.shape)}")
            return value.to(param.dtype).clone().contiguous()
        return value.clone()

    def __getstate__(self):
        return {"defaults": self.defaults, "state": self.state, "param_groups": self.param_groups}

    def __setstate__(self, state):
        self.__dict__.update(state)

    def __repr__(self):
        lines = [self.__class__.__name__ + " ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            for key in sorted(group):
                if key != "params":
                    lines.append(f"    {key}: {group[key]}")
        lines.append(")")
        return "\n".join(lines)
