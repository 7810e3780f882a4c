"""Hook plumbing for Module: removable handles and full backward hooks.

A full backward hook needs the gradients w.r.t. a module's inputs and outputs. As in
PyTorch, the module's tensor inputs and outputs pass through identity Functions: the
one on the outputs records grad_output (and runs backward pre-hooks), the one on the
inputs receives grad_input and calls the hooks.
"""
import itertools

from numbagrad.autograd import Function, Tensor, zeros_like

_ids = itertools.count()


class RemovableHandle:
    """Returned by the register_*_hook methods; `remove()` unregisters the hook."""

    def __init__(self, hooks, fn, prepend=False):
        self.hooks = hooks
        self.id = next(_ids)
        hooks[self.id] = fn
        if prepend:
            hooks.move_to_end(self.id, last=False)

    def remove(self):
        """Unregister the hook (a second call does nothing)."""
        self.hooks.pop(self.id, None)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()


class _State:
    __slots__ = ("module", "grad_output", "n_in", "n_tensors", "slots", "zeros")

    def __init__(self, module):
        self.module = module
        self.grad_output = None
        self.n_in = 0          # tensor inputs that require grad
        self.n_tensors = 0     # tensor inputs (grad_input has one entry per tensor input)
        self.slots = ()        # position in grad_input of each input that requires grad
        self.zeros = ()        # makers of the zero gradients of the other tensor inputs


def _call_hooks(state, grads):
    """Run the backward hooks; grads are for the inputs that require grad. As PyTorch,
    grad_input has an entry per tensor input: zeros for tensors that need no gradient,
    or (None,) when no input needs one."""
    mod = state.module
    grad_input = [None] * max(state.n_tensors, 1)
    if grads:
        for slot, make in state.zeros:
            grad_input[slot] = make()
    for slot, g in zip(state.slots, grads):
        grad_input[slot] = g
    grad_input = tuple(grad_input)
    for hook in list(mod._backward_hooks.values()):
        res = hook(mod, grad_input, state.grad_output)
        if res is not None:
            res = tuple(res) if isinstance(res, (tuple, list)) else (res,)
            if len(res) != len(grad_input):
                raise RuntimeError(f"backward hook returned {len(res)} gradients, expected "
                                   f"{len(grad_input)}")
            grad_input = res
    return tuple(grad_input[slot] for slot in state.slots)


class _InputIdentity(Function):
    @staticmethod
    def forward(ctx, state, *xs):
        ctx.state = state
        return xs

    @staticmethod
    def backward(ctx, *grads):
        state = ctx.state
        return (None,) + _call_hooks(state, grads)


class _OutputIdentity(Function):
    @staticmethod
    def forward(ctx, state, *ys):
        ctx.state = state
        return ys

    @staticmethod
    def backward(ctx, *grads):
        state = ctx.state
        mod = state.module
        for hook in list(mod._backward_pre_hooks.values()):
            res = hook(mod, grads)
            if res is not None:
                grads = tuple(res) if isinstance(res, (tuple, list)) else (res,)
        state.grad_output = grads
        if state.n_in == 0 and mod._backward_hooks:  # no input needs a gradient
            _call_hooks(state, ())
        return (None,) + tuple(grads)


class wrap_backward_hooks:  # noqa: N801 - a namespace of two functions
    """Insert the identity Functions around a module call."""

    @staticmethod
    def inputs(module, args):
        state = _State(module)
        tensors = [i for i, a in enumerate(args) if isinstance(a, Tensor)]
        idx = [i for i in tensors if args[i].requires_grad]
        state.n_in, state.n_tensors = len(idx), len(tensors)
        state.slots = tuple(tensors.index(i) for i in idx)
        state.zeros = tuple((k, (lambda a=args[i]: zeros_like(a))) for k, i in enumerate(tensors)
                            if not args[i].requires_grad)
        if not idx:
            return args, state
        outs = _InputIdentity.apply(state, *(args[i] for i in idx))
        if isinstance(outs, Tensor):
            outs = (outs,)
        args = list(args)
        for i, o in zip(idx, outs):
            args[i] = o
        return tuple(args), state

    @staticmethod
    def outputs(state, out):
        single = isinstance(out, Tensor)
        outs = (out,) if single else out
        if not isinstance(outs, tuple) or not all(isinstance(o, Tensor) for o in outs):
            return out
        if not any(o.requires_grad for o in outs):
            return out
        res = _OutputIdentity.apply(state, *outs)
        if isinstance(res, Tensor):
            res = (res,)
        return res[0] if single else tuple(res)

