"""Library namespaces, so each workload is written once and run on PyTorch and numbagrad.

``numbagrad()`` and ``pytorch()`` return a :class:`Libs` whose attributes
``torch``, ``nn``, ``F`` and ``optim`` are the modules a PyTorch script imports
(``import torch; from torch import nn, optim; import torch.nn.functional as F``),
or numbagrad's drop-in replacements. Modules are imported on first use, so a
workload that needs only the tensor API runs even before ``nn`` exists; a
missing module raises :class:`LibUnavailable` naming it.
"""
from __future__ import annotations

import importlib

_MODULES = {
    "numbagrad": {
        "torch": "numbagrad.autograd",
        "nn": "numbagrad.nn",
        "F": "numbagrad.nn.functional",
        "optim": "numbagrad.optim",
    },
    "torch": {
        "torch": "torch",
        "nn": "torch.nn",
        "F": "torch.nn.functional",
        "optim": "torch.optim",
    },
}


class LibUnavailable(ImportError):
    """A library module a workload needs could not be imported."""


class Libs:
    """Lazily imported ``torch``/``nn``/``F``/``optim`` of one library family."""

    def __init__(self, family: str):
        self.family = family
        self._mods = {}

    def __getattr__(self, attr):
        table = _MODULES[self.__dict__["family"]]
        if attr not in table:
            raise AttributeError(attr)
        mods = self.__dict__["_mods"]
        if attr not in mods:
            try:
                mods[attr] = importlib.import_module(table[attr])
            except Exception as exc:
                raise LibUnavailable(f"import {table[attr]} failed: {type(exc).__name__}: {exc}") from exc
        return mods[attr]

    def __repr__(self):
        return f"Libs({self.family!r})"


def numbagrad() -> Libs:
    """numbagrad's modules under PyTorch's names."""
    return Libs("numbagrad")


def pytorch() -> Libs:
    """PyTorch itself."""
    return Libs("torch")


def version_of(module: str) -> str | None:
    """``module.__version__`` (or the installed distribution's version), None if absent."""
    try:
        mod = importlib.import_module(module)
        v = getattr(mod, "__version__", None)
        if v:
            return str(v)
    except Exception:
        return None
    try:
        from importlib.metadata import version

        return version(module)
    except Exception:
        return "unknown"
