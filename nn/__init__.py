"""numbagrad.nn: modules, layers, activations, losses, initialisers (PyTorch's torch.nn).

    from numbagrad import nn
    import numbagrad.nn.functional as F
    model = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 3))
    loss = nn.CrossEntropyLoss()(model(x), y)

`nn.data` (datasets, DataLoader), `nn.metrics`, `nn.training` (fit, early stopping),
`nn.tuning` (grid/random search), `nn.telemetry` (gradient-flow recorder) and
`nn.parallel` (MPI data parallelism) are imported on first use.
"""
from . import functional, init, utils
from .activation import ELU, GELU, LeakyReLU, LogSoftmax, ReLU, SiLU, Sigmoid, Softmax, Softplus, Tanh
from .container import ModuleDict, ModuleList, Sequential
from .dropout import Dropout
from .linear import Flatten, Identity, Linear
from .loss import (BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, HingeEmbeddingLoss, HingeLoss,
                   HuberLoss, KLDivLoss, L1Loss, MSELoss, MultiMarginLoss, NLLLoss, SmoothL1Loss)
from .module import Module
from .normalization import BatchNorm1d, LayerNorm
from .parameter import Parameter
from .hooks import RemovableHandle

__all__ = [
    "Module", "Parameter", "Sequential", "ModuleList", "ModuleDict", "Linear", "Identity",
    "Flatten", "Dropout", "BatchNorm1d", "LayerNorm", "ReLU", "LeakyReLU", "Sigmoid", "Tanh",
    "Softmax", "LogSoftmax", "GELU", "ELU", "SiLU", "Softplus", "MSELoss", "L1Loss",
    "HuberLoss", "SmoothL1Loss", "BCELoss", "BCEWithLogitsLoss", "CrossEntropyLoss", "NLLLoss",
    "KLDivLoss", "HingeEmbeddingLoss", "MultiMarginLoss", "HingeLoss", "functional", "init",
    "utils", "RemovableHandle",
]


def __getattr__(name):
    if name in ("data", "metrics", "training", "tuning", "telemetry", "parallel"):
        import importlib
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
