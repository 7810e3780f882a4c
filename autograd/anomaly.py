"""Anomaly mode: NaN/inf born in backward raises, naming the op and where it was created."""
from .function import anomaly


class detect_anomaly:  # noqa: N801 - PyTorch's name
    """Context manager (and decorator): record forward call sites; check backward results.

    Inside it, a backward function that returns NaN or inf raises RuntimeError naming the
    node (e.g. 'DivBackward0') and the user code line that created it.
    """

    def __init__(self, check_nan=True):
        self.check_nan = check_nan

    def __enter__(self):
        self._prev = anomaly.enabled
        anomaly.enabled = self.check_nan
        return self

    def __exit__(self, *exc):
        anomaly.enabled = self._prev
        return False

    def __call__(self, fn):
        import functools

        @functools.wraps(fn)
        def wrapper(*a, **k):
            with self.__class__(self.check_nan):
                return fn(*a, **k)
        return wrapper


class set_detect_anomaly(detect_anomaly):  # noqa: N801
    """Turn anomaly mode on or off now (and restore it on exit when used with `with`)."""

    def __init__(self, mode, check_nan=True):
        super().__init__(check_nan and mode)
        self._prev = anomaly.enabled
        anomaly.enabled = bool(mode) and check_nan

    def __enter__(self):
        return self


def is_anomaly_enabled():
    """True inside detect_anomaly."""
    return anomaly.enabled
