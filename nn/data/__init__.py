"""numbagrad.nn.data: datasets and loading as ``torch.utils.data``, plus real and synthetic datasets and augmentation.

A PyTorch script ports by changing ``torch.utils.data`` to ``numbagrad.nn.data``::

    from numbagrad.nn.data import DataLoader, TensorDataset, random_split

Real datasets (no downloads) are in :mod:`numbagrad.nn.data.datasets`,
synthetic ones in :mod:`numbagrad.nn.data.synthetic`, the IDX reader in
:mod:`numbagrad.nn.data.idx` and batch augmentation in
:mod:`numbagrad.nn.data.transforms`; the common names are re-exported here.
"""
from .collate import default_collate, default_convert
from .dataset import ConcatDataset, Dataset, IterableDataset, Subset, TensorDataset, random_split
from .datasets import load_boston, load_diabetes, load_digits, load_mnist, load_mnist_5k
from .idx import IDXError, read_idx, write_idx
from .loader import DataLoader
from .sampler import BatchSampler, RandomSampler, Sampler, SequentialSampler, SubsetRandomSampler
from .synthetic import make_blobs, make_circles, make_moons, make_noisy_function, make_spirals
from . import transforms

__all__ = [
    "Dataset", "IterableDataset", "TensorDataset", "Subset", "ConcatDataset", "random_split",
    "DataLoader", "default_collate", "default_convert",
    "Sampler", "SequentialSampler", "RandomSampler", "SubsetRandomSampler", "BatchSampler",
    "load_digits", "load_mnist_5k", "load_mnist", "load_diabetes", "load_boston",
    "read_idx", "write_idx", "IDXError",
    "make_moons", "make_circles", "make_spirals", "make_blobs", "make_noisy_function",
    "transforms",
]
