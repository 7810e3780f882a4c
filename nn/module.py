"""nn.Module: the base class of layers and models (registration, state dicts, modes, hooks)."""
from collections import OrderedDict, namedtuple
import numpy as np

import numbagrad.autograd as ag
from numbagrad.autograd import Tensor

from .parameter import Parameter
from .hooks import RemovableHandle, wrap_backward_hooks

_IncompatibleKeys = namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])


class IncompatibleKeys(_IncompatibleKeys):
    """What `load_state_dict(strict=False)` returns: `missing_keys`, `unexpected_keys`."""

    __slots__ = ()

    def __repr__(self):
        if not self.missing_keys and not self.unexpected_keys:
            return "<All keys matched successfully>"
        return super().__repr__()


def _addindent(text, n):
    lines = text.split("\n")
    if len(lines) == 1:
        return text
    return lines[0] + "\n" + "\n".join(" " * n + line for line in lines[1:])


def has_hooks(module):
    """True if `module` has a forward, forward-pre, backward or backward-pre hook of its own."""
    d = module.__dict__
    return bool(d["_forward_hooks"] or d["_forward_pre_hooks"] or d["_backward_hooks"]
                or d["_backward_pre_hooks"])


class Module:
    """Base class of every layer and model, as `torch.nn.Module`.

    Assigning a `Parameter`, a `Module` or (through `register_buffer`) a buffer tensor as
    an attribute registers it; `parameters()`, `state_dict()`, `train()`, `to()`, ...
    then walk the registered tree. Subclasses call `super().__init__()` first and define
    `forward`; call the module itself (`model(x)`) so hooks run.
    """

    training: bool

    def __init__(self):
        d = self.__dict__
        d["training"] = True
        d["_parameters"] = OrderedDict()
        d["_buffers"] = OrderedDict()
        d["_non_persistent_buffers_set"] = set()
        d["_modules"] = OrderedDict()
        d["_forward_hooks"] = OrderedDict()
        d["_forward_pre_hooks"] = OrderedDict()
        d["_backward_hooks"] = OrderedDict()
        d["_backward_pre_hooks"] = OrderedDict()

    def forward(self, *args, **kwargs):
        """Compute the module's output (override in subclasses)."""
        raise NotImplementedError(
            f'Module [{type(self).__name__}] is missing the required "forward" function')

    # ------------------------------------------------------------------ registration
    def __setattr__(self, name, value):
        d = self.__dict__
        params = d.get("_parameters")
        if isinstance(value, Parameter):
            if params is None:
                raise AttributeError("cannot assign parameters before Module.__init__() call")
            self._forget(name)
            self.register_parameter(name, value)
        elif params is not None and name in params:
            if value is not None:
                raise TypeError(f"cannot assign '{type(value).__name__}' as parameter '{name}' "
                                "(nn.Parameter or None expected)")
            self.register_parameter(name, value)
        elif isinstance(value, Module):
            if d.get("_modules") is None:
                raise AttributeError("cannot assign module before Module.__init__() call")
            self._forget(name)
            d["_modules"][name] = value
        elif d.get("_modules") is not None and name in d["_modules"]:
            if value is not None:
                raise TypeError(f"cannot assign '{type(value).__name__}' as child module "
                                f"'{name}' (nn.Module or None expected)")
            d["_modules"][name] = value
        elif d.get("_buffers") is not None and name in d["_buffers"]:
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(f"cannot assign '{type(value).__name__}' as buffer '{name}' "
                                "(Tensor or None expected)")
            d["_buffers"][name] = value
        else:
            object.__setattr__(self, name, value)

    def _forget(self, name):
        d = self.__dict__
        d.pop(name, None)
        for key in ("_parameters", "_buffers", "_modules"):
            d[key].pop(name, None)
        d["_non_persistent_buffers_set"].discard(name)

    def __getattr__(self, name):
        d = self.__dict__
        for key in ("_parameters", "_buffers", "_modules"):
            reg = d.get(key)
            if reg is not None and name in reg:
                return reg[name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __delattr__(self, name):
        d = self.__dict__
        for key in ("_parameters", "_buffers", "_modules"):
            if name in d[key]:
                del d[key][name]
                d["_non_persistent_buffers_set"].discard(name)
                return
        object.__delattr__(self, name)

    def __dir__(self):
        return sorted(set(super().__dir__()) | set(self._parameters) | set(self._buffers)
                      | set(self._modules))

    @staticmethod
    def _check_name(name, kind, owner):
        if not isinstance(name, str):
            raise TypeError(f"{kind} name should be a string, got {type(name).__name__}")
        if "." in name or name == "":
            raise KeyError(f'{kind} name can\'t contain "." and can\'t be empty, got {name!r}')
        if hasattr(owner, name) and name not in owner._parameters and \
                name not in owner._buffers and name not in owner._modules:
            raise KeyError(f"attribute '{name}' already exists")

    def register_parameter(self, name, param):
        """Register `param` (a Parameter or None) under `name`."""
        if "_parameters" not in self.__dict__:
            raise AttributeError("cannot assign parameter before Module.__init__() call")
        self._check_name(name, "parameter", self)
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"cannot assign '{type(param).__name__}' object to parameter "
                            f"'{name}' (nn.Parameter or None required)")
        if name in self._buffers or name in self._modules:
            self._forget(name)
        self._parameters[name] = param

    def register_buffer(self, name, tensor, persistent=True):
        """Register a tensor that is state but not a parameter (e.g. running statistics).

        Persistent buffers are part of `state_dict()`; non-persistent ones are not.
        """
        if "_buffers" not in self.__dict__:
            raise AttributeError("cannot assign buffer before Module.__init__() call")
        self._check_name(name, "buffer", self)
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(f"cannot assign '{type(tensor).__name__}' object to buffer "
                            f"'{name}' (Tensor or None required)")
        if name in self._parameters or name in self._modules:
            self._forget(name)
        self._buffers[name] = tensor
        if persistent:
            self._non_persistent_buffers_set.discard(name)
        else:
            self._non_persistent_buffers_set.add(name)

    def add_module(self, name, module):
        """Register a child module under `name`."""
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"{type(module).__name__} is not a Module subclass")
        self._check_name(name, "module", self)
        if name in self._parameters or name in self._buffers:
            self._forget(name)
        self._modules[name] = module

    register_module = add_module

    def get_submodule(self, target):
        """The sub-module at a dotted path such as 'body.1' ('' is self)."""
        mod = self
        if target == "":
            return mod
        for item in target.split("."):
            if item not in mod._modules:
                raise AttributeError(f"{type(mod).__name__} has no submodule `{item}`")
            mod = mod._modules[item]
        return mod

    def get_parameter(self, target):
        """The parameter at a dotted path such as 'body.0.weight'."""
        mod_path, _, name = target.rpartition(".")
        mod = self.get_submodule(mod_path)
        if name not in mod._parameters:
            raise AttributeError(f"{type(mod).__name__} has no parameter `{name}`")
        return mod._parameters[name]

    def get_buffer(self, target):
        """The buffer at a dotted path such as 'bn.running_mean'."""
        mod_path, _, name = target.rpartition(".")
        mod = self.get_submodule(mod_path)
        if name not in mod._buffers:
            raise AttributeError(f"{type(mod).__name__} has no buffer `{name}`")
        return mod._buffers[name]

    # ------------------------------------------------------------------ iteration
    def named_modules(self, memo=None, prefix="", remove_duplicate=True):
        """Yield (dotted name, module) for self and every descendant, depth first."""
        if memo is None:
            memo = set()
        if remove_duplicate:
            if id(self) in memo:
                return
            memo.add(id(self))
        yield prefix, self
        for name, mod in self._modules.items():
            if mod is None:
                continue
            sub = prefix + ("." if prefix else "") + name
            yield from mod.named_modules(memo, sub, remove_duplicate)

    def modules(self):
        """Yield self and every descendant module."""
        for _, m in self.named_modules():
            yield m

    def named_children(self):
        """Yield (name, module) for the direct children."""
        seen = set()
        for name, mod in self._modules.items():
            if mod is not None and id(mod) not in seen:
                seen.add(id(mod))
                yield name, mod

    def children(self):
        """Yield the direct child modules."""
        for _, m in self.named_children():
            yield m

    def _named_members(self, get, prefix, recurse, remove_duplicate):
        seen = set()
        mods = self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate) \
            if recurse else [(prefix, self)]
        for mod_prefix, mod in mods:
            for name, value in get(mod):
                if value is None:
                    continue
                if remove_duplicate:
                    if id(value) in seen:
                        continue
                    seen.add(id(value))
                yield mod_prefix + ("." if mod_prefix else "") + name, value

    def named_parameters(self, prefix="", recurse=True, remove_duplicate=True):
        """Yield (dotted name, Parameter), shared parameters once."""
        yield from self._named_members(lambda m: m._parameters.items(), prefix, recurse,
                                       remove_duplicate)

    def parameters(self, recurse=True):
        """Yield every parameter (shared ones once)."""
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(self, prefix="", recurse=True, remove_duplicate=True):
        """Yield (dotted name, buffer tensor)."""
        yield from self._named_members(lambda m: m._buffers.items(), prefix, recurse,
                                       remove_duplicate)

    def buffers(self, recurse=True):
        """Yield every buffer."""
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    # ------------------------------------------------------------------ state dict
    def state_dict(self, *args, destination=None, prefix="", keep_vars=False):
        """An OrderedDict of name -> tensor: parameters, then persistent buffers, then the
        children's entries, with PyTorch's dotted names. Values are detached (they share
        memory with the module) unless keep_vars=True."""
        if args:  # PyTorch's deprecated positional form (destination, prefix, keep_vars)
            destination = args[0]
            prefix = args[1] if len(args) > 1 else prefix
            keep_vars = args[2] if len(args) > 2 else keep_vars
        if destination is None:
            destination = OrderedDict()
        for name, p in self._parameters.items():
            if p is not None:
                destination[prefix + name] = p if keep_vars else p.detach()
        for name, b in self._buffers.items():
            if b is not None and name not in self._non_persistent_buffers_set:
                destination[prefix + name] = b if keep_vars else b.detach()
        for name, mod in self._modules.items():
            if mod is not None:
                mod.state_dict(destination=destination, prefix=prefix + name + ".",
                               keep_vars=keep_vars)
        return destination

    def _state_entries(self):
        """name -> (owning module, registry, key) for every state_dict entry."""
        out = OrderedDict()
        for mod_prefix, mod in self.named_modules(remove_duplicate=False):
            pre = mod_prefix + "." if mod_prefix else ""
            for name, p in mod._parameters.items():
                if p is not None:
                    out[pre + name] = (mod, "_parameters", name)
            for name, b in mod._buffers.items():
                if b is not None and name not in mod._non_persistent_buffers_set:
                    out[pre + name] = (mod, "_buffers", name)
        return out

    def load_state_dict(self, state_dict, strict=True, assign=False):
        """Copy values from `state_dict` into this module's parameters and buffers in place
        (so optimizers keep valid references).

        With strict=True, any missing or unexpected key raises RuntimeError before anything
        changes; a shape mismatch always does. Returns (missing_keys, unexpected_keys).
        """
        if not hasattr(state_dict, "keys"):
            raise TypeError(f"Expected state_dict to be dict-like, got {type(state_dict).__name__}")
        entries = self._state_entries()
        missing = [k for k in entries if k not in state_dict]
        unexpected = [k for k in state_dict if k not in entries]
        errors = []
        values = {}
        for key, (mod, reg, name) in entries.items():
            if key not in state_dict:
                continue
            target = getattr(mod, reg)[name]
            val = state_dict[key]
            arr = val._data if isinstance(val, Tensor) else np.asarray(val)
            if tuple(arr.shape) != tuple(target._data.shape):
                errors.append(f"size mismatch for {key}: copying a param with shape "
                              f"{tuple(arr.shape)} from checkpoint, the shape in current model "
                              f"is {tuple(target._data.shape)}.")
                continue
            values[key] = arr
        if strict:
            if unexpected:
                errors.insert(0, "Unexpected key(s) in state_dict: "
                              + ", ".join(f'"{k}"' for k in unexpected) + ". ")
            if missing:
                errors.insert(0, "Missing key(s) in state_dict: "
                              + ", ".join(f'"{k}"' for k in missing) + ". ")
        if errors:
            raise RuntimeError(f"Error(s) in loading state_dict for {type(self).__name__}:\n\t"
                               + "\n\t".join(errors))
        with ag.no_grad():
            for key, arr in values.items():
                mod, reg, name = entries[key]
                target = getattr(mod, reg)[name]
                if assign:
                    new = ag.tensor(arr) if not isinstance(state_dict[key], Tensor) \
                        else state_dict[key].detach()
                    if reg == "_parameters":
                        new = Parameter(new, requires_grad=target.requires_grad)
                    getattr(mod, reg)[name] = new
                else:
                    target.copy_(ag.from_numpy(np.asarray(arr, dtype=target._data.dtype)))
        return IncompatibleKeys(missing, unexpected)

    # ------------------------------------------------------------------ modes and grads
    def train(self, mode=True):
        """Set training mode (True) or evaluation mode (False) on self and all children."""
        if not isinstance(mode, bool):
            raise ValueError("training mode is expected to be boolean")
        for m in self.modules():
            m.__dict__["training"] = mode
        return self

    def eval(self):
        """Evaluation mode: train(False)."""
        return self.train(False)

    def requires_grad_(self, requires_grad=True):
        """Set requires_grad on every parameter (False freezes them)."""
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none=True):
        """Reset the gradients of all parameters (to None by default, or to zeros)."""
        for p in self.parameters():
            if p.grad is None:
                continue
            if set_to_none:
                p.grad = None
            else:
                g = p.grad
                if g.grad_fn is not None:
                    g = g.detach()
                    p.grad = g
                g.zero_()

    def apply(self, fn):
        """Call fn(module) on every child (depth first) and then on self; returns self."""
        for m in self.children():
            m.apply(fn)
        fn(self)
        return self

    # ------------------------------------------------------------------ dtype
    def _apply_tensors(self, convert):
        with ag.no_grad():
            for m in self.modules():
                for p in m._parameters.values():
                    if p is None:
                        continue
                    p.data = convert(p.data)
                    if p.grad is not None:
                        p._grad = convert(p.grad)
                for name, b in m._buffers.items():
                    if b is not None:
                        b.data = convert(b.data)
        return self

    def to(self, *args, **kwargs):
        """Convert floating parameters and buffers to a dtype, in place (devices: 'cpu' only)."""
        dtype = kwargs.pop("dtype", None)
        kwargs.pop("non_blocking", None)
        device = kwargs.pop("device", None)
        for a in args:
            if isinstance(a, Tensor):
                dtype = a.dtype
            elif isinstance(a, str) or a is None:
                device = a
            else:
                dtype = a
        if kwargs:
            raise TypeError(f"to() got unexpected arguments {sorted(kwargs)}")
        if device is not None and str(device) != "cpu":
            raise RuntimeError(f"numbagrad runs on the CPU only, got device {device!r}")
        if dtype is None:
            return self
        dtype = np.dtype(dtype)
        if dtype.kind != "f":
            raise TypeError(f"nn.Module.to only accepts floating point dtypes, got {dtype}")

        def convert(t):
            return t.to(dtype) if t.dtype.kind == "f" else t
        return self._apply_tensors(convert)

    def float(self):
        """Cast floating parameters and buffers to float32."""
        return self.to(ag.float32)

    def double(self):
        """Cast floating parameters and buffers to float64."""
        return self.to(ag.float64)

    def cpu(self):
        """No-op (CPU only); returns self."""
        return self

    # ------------------------------------------------------------------ calling and hooks
    def __call__(self, *args, **kwargs):
        if not has_hooks(self):
            return self.forward(*args, **kwargs)
        d = self.__dict__
        for hook in list(d["_forward_pre_hooks"].values()):
            res = hook(self, args)
            if res is not None:
                args = res if isinstance(res, tuple) else (res,)
        bw = d["_backward_hooks"] or d["_backward_pre_hooks"]
        if bw:
            args, state = wrap_backward_hooks.inputs(self, args)
        out = self.forward(*args, **kwargs)
        for hook in list(d["_forward_hooks"].values()):
            res = hook(self, args, out)
            if res is not None:
                out = res
        if bw:
            out = wrap_backward_hooks.outputs(state, out)
        return out

    def register_forward_pre_hook(self, hook, *, prepend=False):
        """hook(module, args) runs before forward; it may return replacement args."""
        return RemovableHandle(self._forward_pre_hooks, hook, prepend)

    def register_forward_hook(self, hook, *, prepend=False):
        """hook(module, args, output) runs after forward; it may return a new output."""
        return RemovableHandle(self._forward_hooks, hook, prepend)

    def register_full_backward_hook(self, hook, prepend=False):
        """hook(module, grad_input, grad_output) runs when the gradients w.r.t. the module's
        inputs are computed; it may return replacement grad_input."""
        return RemovableHandle(self._backward_hooks, hook, prepend)

    def register_full_backward_pre_hook(self, hook, prepend=False):
        """hook(module, grad_output) runs before the module's backward; it may return
        replacement grad_output."""
        return RemovableHandle(self._backward_pre_hooks, hook, prepend)

    # ------------------------------------------------------------------ printing
    def extra_repr(self):
        """Extra text inside this module's repr (override in subclasses)."""
        return ""

    def _get_name(self):
        return type(self).__name__

    def __repr__(self):
        lines = []
        extra = self.extra_repr()
        if extra:
            lines = extra.split("\n")
        for name, mod in self._modules.items():
            lines.append(f"({name}): " + _addindent(repr(mod), 2))
        head = self._get_name() + "("
        if not lines:
            return head + ")"
        if len(lines) == 1 and not self._modules:
            return head + lines[0] + ")"
        return head + "\n  " + "\n  ".join(lines) + "\n)"
