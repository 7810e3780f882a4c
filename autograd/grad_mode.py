"""Grad modes: whether new operations are recorded in the graph.

`no_grad`, `enable_grad`, `set_grad_enabled` and `inference_mode` work as context
managers and as decorators, as in PyTorch. The flag is process-global (PyTorch's is
per thread); numbagrad records its graph on one thread.
"""
import functools


class _State:
    """Holds the global recording flag; read on every op, so kept to one attribute."""

    __slots__ = ("enabled",)

    def __init__(self):
        self.enabled = True


state = _State()


def is_grad_enabled():
    """Return True when new operations are recorded for backward."""
    return state.enabled


class _GradMode:
    """Base of the grad-mode context managers; an instance also works as a decorator."""

    def __init__(self, enabled):
        self._target = bool(enabled)
        self._saved = []

    def __enter__(self):
        self._saved.append(state.enabled)
        state.enabled = self._target
        return self

    def __exit__(self, *exc):
        state.enabled = self._saved.pop()
        return False

    def __call__(self, fn):
        target = self._target

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            prev = state.enabled
            state.enabled = target
            try:
                return fn(*args, **kwargs)
            finally:
                state.enabled = prev

        return wrapper


class no_grad(_GradMode):
    """Context manager / decorator that turns graph recording off."""

    def __init__(self):
        super().__init__(False)


class enable_grad(_GradMode):
    """Context manager / decorator that turns graph recording on (inside no_grad)."""

    def __init__(self):
        super().__init__(True)


class inference_mode(_GradMode):
    """Like no_grad (numbagrad has no separate inference tensors); `mode=False` records."""

    def __init__(self, mode=True):
        super().__init__(not mode)


class set_grad_enabled(_GradMode):
    """Turn recording on or off now; as a context manager, restore the old mode on exit."""

    def __init__(self, mode):
        super().__init__(mode)
        self._saved.append(state.enabled)
        state.enabled = self._target

    def __enter__(self):
        return self

    def __call__(self, fn):
        state.enabled = self._saved.pop()  # used as a decorator: undo the immediate switch
        return super().__call__(fn)
