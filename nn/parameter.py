"""nn.Parameter: a tensor that a Module registers as one of its learnable parameters."""
from numbagrad.autograd import Tensor


class Parameter(Tensor):
    """A leaf tensor that, assigned as a Module attribute, is registered as a parameter.

    `Parameter(tensor, requires_grad=True)` shares `tensor`'s memory (no copy), as
    `torch.nn.Parameter` does. With no data it is an empty float tensor.
    """

    __slots__ = ()

    def __init__(self, data=None, requires_grad=True):
        if data is None:
            import numpy as np
            from numbagrad.autograd import get_default_dtype
            arr = np.empty((0,), dtype=get_default_dtype())
        elif isinstance(data, Tensor):
            arr = data._data
        else:
            raise TypeError(f"Parameter: data must be a Tensor, got {type(data).__name__}")
        self._data = arr
        self._rg = False
        self._grad = None
        self._fn = None
        self._nr = 0
        self._vc = None
        self._hooks = None
        self._base = None
        if requires_grad:
            self.requires_grad_(True)

    def __repr__(self):
        return "Parameter containing:\n" + Tensor.__repr__(self)

    __str__ = __repr__
