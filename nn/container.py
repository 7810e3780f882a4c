"""Containers: Sequential, ModuleList, ModuleDict."""
from collections import OrderedDict

from numbagrad.autograd.ops.activation import linear, linear_act

from .activation import ReLU, Sigmoid, Tanh
from .linear import Linear
from .module import Module, has_hooks

#: activation modules that nn.Sequential runs fused with a Linear right before them
_FUSED_ACTS = {ReLU: "relu", Tanh: "tanh", Sigmoid: "sigmoid"}


class Sequential(Module):
    """Modules called in order, each on the previous output.

    `Sequential(a, b, c)` names them '0', '1', '2'; `Sequential(OrderedDict(...))` keeps
    the given names. Supports indexing, slicing (a new Sequential sharing the modules),
    `len`, iteration, `append`, `insert`, `extend` and `del`.
    """

    def __init__(self, *args):
        super().__init__()
        if len(args) == 1 and isinstance(args[0], OrderedDict):
            for name, mod in args[0].items():
                self.add_module(name, mod)
        else:
            for i, mod in enumerate(args):
                self.add_module(str(i), mod)

    def _index(self, idx):
        n = len(self._modules)
        if not -n <= idx < n:
            raise IndexError(f"index {idx} is out of range for a Sequential of length {n}")
        return idx % n

    def __getitem__(self, idx):
        if isinstance(idx, slice):
            return Sequential(OrderedDict(list(self._modules.items())[idx]))
        return list(self._modules.values())[self._index(idx)]

    def __setitem__(self, idx, module):
        key = list(self._modules.keys())[self._index(idx)]
        self.add_module(key, module)

    def __delitem__(self, idx):
        keys = list(self._modules.keys())
        doomed = keys[idx] if isinstance(idx, slice) else [keys[self._index(idx)]]
        for k in doomed:
            del self._modules[k]
        if all(k.isdigit() for k in self._modules):  # keep numbering contiguous
            mods = list(self._modules.values())
            self._modules.clear()
            for i, m in enumerate(mods):
                self._modules[str(i)] = m

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def __add__(self, other):
        if not isinstance(other, Sequential):
            return NotImplemented
        return Sequential(*self, *other)

    def append(self, module):
        """Add a module at the end; returns self."""
        self.add_module(str(len(self)), module)
        return self

    def extend(self, modules):
        """Append each of modules; returns self."""
        for m in modules:
            self.append(m)
        return self

    def insert(self, index, module):
        """Insert a module before position index; returns self."""
        mods = list(self._modules.values())
        n = len(mods)
        if not -n <= index <= n:
            raise IndexError(f"index {index} is out of range for a Sequential of length {n}")
        mods.insert(index + n if index < 0 else index, module)
        self._modules.clear()
        for i, m in enumerate(mods):
            self.add_module(str(i), m)
        return self

    def forward(self, input):
        """Run the modules in order.

        A ``Linear`` followed by a ``ReLU``, ``Tanh`` or ``Sigmoid`` (exactly those classes,
        neither with hooks) runs as one fused op (``linear_act``): the same values and
        gradients, one node instead of two and one pass less over the output.
        """
        mods = list(self.__dict__["_modules"].values())
        n = len(mods)
        i = 0
        while i < n:
            m = mods[i]
            if type(m) is Linear and not has_hooks(m):
                params = m.__dict__["_parameters"]  # what m.weight / m.bias resolve to
                nxt = mods[i + 1] if i + 1 < n else None
                act = _FUSED_ACTS.get(type(nxt))
                if act is not None and not has_hooks(nxt):
                    out = linear_act(input, params["weight"], params["bias"], act)
                    if out is not None:
                        input = out
                        i += 2
                        continue
                input = linear(input, params["weight"], params["bias"])  # m(input), fewer calls
            else:
                input = m(input)
            i += 1
        return input


class ModuleList(Module):
    """A list of modules, registered as children '0', '1', ... (no forward of its own)."""

    def __init__(self, modules=None):
        super().__init__()
        if modules is not None:
            self.extend(modules)

    def __getitem__(self, idx):
        if isinstance(idx, slice):
            return ModuleList(list(self._modules.values())[idx])
        mods = list(self._modules.values())
        if not -len(mods) <= idx < len(mods):
            raise IndexError(f"index {idx} is out of range for a ModuleList of length "
                             f"{len(mods)}")
        return mods[idx]

    def __setitem__(self, idx, module):
        self.add_module(list(self._modules.keys())[idx], module)

    def __delitem__(self, idx):
        mods = list(self._modules.values())
        del mods[idx]
        self._modules.clear()
        for i, m in enumerate(mods):
            self.add_module(str(i), m)

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def __iadd__(self, modules):
        return self.extend(modules)

    def append(self, module):
        """Add a module at the end; returns self."""
        self.add_module(str(len(self)), module)
        return self

    def extend(self, modules):
        """Append each of modules; returns self."""
        for m in modules:
            self.append(m)
        return self

    def insert(self, index, module):
        """Insert a module before position index."""
        mods = list(self._modules.values())
        mods.insert(index, module)
        self._modules.clear()
        for i, m in enumerate(mods):
            self.add_module(str(i), m)


class ModuleDict(Module):
    """An ordered dict of modules, registered under their keys."""

    def __init__(self, modules=None):
        super().__init__()
        if modules is not None:
            self.update(modules)

    def __getitem__(self, key):
        return self._modules[key]

    def __setitem__(self, key, module):
        self.add_module(key, module)

    def __delitem__(self, key):
        del self._modules[key]

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules)

    def __contains__(self, key):
        return key in self._modules

    def keys(self):
        """The keys, in insertion order."""
        return self._modules.keys()

    def values(self):
        """The modules, in insertion order."""
        return self._modules.values()

    def items(self):
        """(key, module) pairs, in insertion order."""
        return self._modules.items()

    def pop(self, key):
        """Remove key and return its module."""
        return self._modules.pop(key)

    def clear(self):
        """Remove every module."""
        self._modules.clear()

    def update(self, modules):
        """Add modules from a mapping or an iterable of (key, module) pairs."""
        items = modules.items() if hasattr(modules, "items") else modules
        for k, m in items:
            self[k] = m
