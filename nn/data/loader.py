"""``DataLoader`` as in ``torch.utils.data``: batches from a dataset, with a fast path for TensorDataset."""
import itertools
import warnings

import numpy as np

from . import _backend
from .collate import default_collate, default_convert
from .dataset import IterableDataset, Subset, TensorDataset
from .sampler import BatchSampler, RandomSampler, SequentialSampler


def _array_fetcher(dataset):
    """For a TensorDataset (possibly inside Subsets), a function mapping an index array to the batch.

    Returns None for any other dataset. The batch is one fancy index per tensor,
    equal to what ``default_collate`` would build from the items one by one.
    """
    if type(dataset) is TensorDataset:
        arrays = [_backend.to_numpy(t) for t in dataset.tensors]
        return lambda idx: [_backend.from_numpy(a[idx]) for a in arrays]
    if type(dataset) is Subset:
        inner = _array_fetcher(dataset.dataset)
        if inner is None:
            return None
        indices = np.asarray(dataset.indices, dtype=np.int64)
        return lambda idx: inner(indices[idx])
    return None


class DataLoader:
    """Iterate over ``dataset`` in batches, as ``torch.utils.data.DataLoader`` with ``num_workers=0``.

    ``batch_size`` samples are merged by ``collate_fn`` (default
    :func:`default_collate`); ``shuffle=True`` visits a new random order each
    epoch (drawn from ``generator``, or from the default generator that
    ``ag.manual_seed`` seeds); ``drop_last`` drops a short final batch.
    ``sampler`` and ``batch_sampler`` replace the index order as in PyTorch, and
    ``batch_size=None`` turns batching off (each sample goes through
    :func:`default_convert`).

    When the dataset is a :class:`TensorDataset` (or a :class:`Subset` of one)
    and the default collate is used, each batch is taken with one fancy index
    per tensor instead of stacking items one by one, so an epoch over MNIST
    costs about one copy of the data. Any other dataset may define
    ``__getitems__(indices)`` returning the list of samples of a batch, as in
    PyTorch, to fetch a batch at once.

    Worker processes are not implemented: ``num_workers > 0`` warns and loads
    in the main process; ``pin_memory`` and the other worker options are accepted
    and ignored so PyTorch scripts run unchanged.
    """

    def __init__(self, dataset, batch_size=1, shuffle=None, sampler=None, batch_sampler=None,
                 num_workers=0, collate_fn=None, pin_memory=False, drop_last=False, timeout=0,
                 worker_init_fn=None, multiprocessing_context=None, generator=None, *,
                 prefetch_factor=None, persistent_workers=False, pin_memory_device=""):
        if not isinstance(num_workers, int) or num_workers < 0:
            raise ValueError(f"num_workers option should be non-negative; got num_workers={num_workers!r}")
        if num_workers > 0:
            warnings.warn(f"DataLoader: num_workers={num_workers} is not supported; loading in the main process",
                          stacklevel=2)
        if shuffle not in (None, False, True):
            raise ValueError(f"DataLoader: shuffle should be a bool, got shuffle={shuffle!r}")
        self.dataset = dataset
        self.num_workers = num_workers
        self.generator = generator
        self._default_collate = collate_fn is None
        self._iterable = isinstance(dataset, IterableDataset)
        if self._iterable:
            if shuffle:
                raise ValueError(f"DataLoader with IterableDataset: expected unspecified shuffle option, but got shuffle={shuffle}")
            if sampler is not None or batch_sampler is not None:
                raise ValueError("DataLoader with IterableDataset: expected unspecified sampler and batch_sampler options")
        if sampler is not None and shuffle:
            raise ValueError("DataLoader: sampler option is mutually exclusive with shuffle")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError("DataLoader: batch_sampler option is mutually exclusive with batch_size, shuffle, sampler, and drop_last")
            batch_size, drop_last = None, False
        elif batch_size is None:
            if drop_last:
                raise ValueError("DataLoader: batch_size=None option disables auto-batching and is mutually exclusive with drop_last")
        elif isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size <= 0:
            raise ValueError(f"DataLoader: batch_size should be a positive integer value, but got batch_size={batch_size!r}")
        if sampler is None and not self._iterable:
            sampler = RandomSampler(dataset, generator=generator) if shuffle else SequentialSampler(dataset)
        if batch_size is not None and batch_sampler is None and not self._iterable:
            batch_sampler = BatchSampler(sampler, batch_size, drop_last)
        self.batch_size = batch_size
        self.drop_last = drop_last
        self.sampler = sampler
        self.batch_sampler = batch_sampler
        if collate_fn is None:
            collate_fn = default_collate if (batch_size is not None or batch_sampler is not None) else default_convert
        self.collate_fn = collate_fn

    def __len__(self):
        if self._iterable:
            n = len(self.dataset)
            if self.batch_size is None:
                return n
            return n // self.batch_size if self.drop_last else -(-n // self.batch_size)
        if self.batch_sampler is not None:
            return len(self.batch_sampler)
        return len(self.sampler)

    def __iter__(self):
        if self._iterable:
            return self._iter_iterable()
        if self.batch_sampler is None:
            return (self.collate_fn(self.dataset[i]) for i in self.sampler)
        fetch = _array_fetcher(self.dataset) if self._default_collate else None
        if fetch is not None:
            batches = (self.batch_sampler.index_batches() if isinstance(self.batch_sampler, BatchSampler)
                       else (np.asarray(b, dtype=np.int64) for b in self.batch_sampler))
            return (fetch(idx) for idx in batches)
        getitems = getattr(self.dataset, "__getitems__", None)
        if getitems is not None:      # a dataset that fetches a whole batch itself, as torch allows
            return (self.collate_fn(getitems(list(batch))) for batch in self.batch_sampler)
        return (self.collate_fn([self.dataset[i] for i in batch]) for batch in self.batch_sampler)

    def _iter_iterable(self):
        it = iter(self.dataset)
        if self.batch_size is None:
            for sample in it:
                yield self.collate_fn(sample)
            return
        while True:
            batch = list(itertools.islice(it, self.batch_size))
            if not batch or (self.drop_last and len(batch) < self.batch_size):
                return
            yield self.collate_fn(batch)
