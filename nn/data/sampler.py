"""Samplers as in ``torch.utils.data``: which dataset indices a DataLoader visits, and in what order."""
import numpy as np

from . import _backend


class Sampler:
    """Base class: an iterable of dataset indices (or of index lists, for batch samplers)."""

    def __iter__(self):
        raise NotImplementedError(f"{type(self).__name__} must implement __iter__")


class SequentialSampler(Sampler):
    """Indices ``0, 1, ..., len(data_source) - 1`` in order."""

    def __init__(self, data_source):
        self.data_source = data_source

    def __iter__(self):
        return iter(range(len(self.data_source)))

    def __len__(self):
        return len(self.data_source)

    def index_array(self):
        """This epoch's indices as one int64 array (used by the DataLoader's fast path)."""
        return np.arange(len(self.data_source), dtype=np.int64)


class RandomSampler(Sampler):
    """Indices in random order: a fresh permutation every epoch, or draws with replacement.

    Without ``generator`` each epoch draws a seed from the default generator (so
    ``ag.manual_seed`` fixes the whole sequence of epochs, as in PyTorch); with a
    ``generator`` (``ag.Generator`` or numpy Generator) that generator is used
    and advanced. ``num_samples`` (default ``len(data_source)``) sets how many
    indices an epoch yields; more than the length cycles through new permutations.
    """

    def __init__(self, data_source, replacement=False, num_samples=None, generator=None):
        self.data_source = data_source
        self.replacement = replacement
        self._num_samples = num_samples
        self.generator = generator
        if not isinstance(replacement, bool):
            raise TypeError(f"RandomSampler: replacement should be a bool, got {replacement!r}")
        if num_samples is not None and (isinstance(num_samples, bool) or not isinstance(num_samples, (int, np.integer)) or num_samples <= 0):
            raise ValueError(f"RandomSampler: num_samples should be a positive integer, got {num_samples!r}")

    @property
    def num_samples(self):
        """How many indices one epoch yields."""
        return len(self.data_source) if self._num_samples is None else int(self._num_samples)

    def index_array(self):
        """This epoch's indices as one int64 array (advances the random state)."""
        n = len(self.data_source)
        if self.generator is None:
            rng = np.random.default_rng(_backend.fresh_seed())
        else:
            rng = _backend.as_numpy_rng(self.generator)
        if self.replacement:
            return rng.integers(0, n, size=self.num_samples, dtype=np.int64)
        parts, left = [], self.num_samples
        while left > 0:
            perm = rng.permutation(n).astype(np.int64)
            parts.append(perm[:left])
            left -= n
        return np.concatenate(parts) if parts else np.zeros(0, np.int64)

    def __iter__(self):
        return iter(self.index_array().tolist())

    def __len__(self):
        return self.num_samples


class SubsetRandomSampler(Sampler):
    """The given ``indices`` in a random order (a new permutation each epoch)."""

    def __init__(self, indices, generator=None):
        self.indices = indices
        self.generator = generator

    def index_array(self):
        """This epoch's indices as one int64 array."""
        rng = _backend.default_rng() if self.generator is None else _backend.as_numpy_rng(self.generator)
        return np.asarray(self.indices, dtype=np.int64)[rng.permutation(len(self.indices))]

    def __iter__(self):
        return iter(self.index_array().tolist())

    def __len__(self):
        return len(self.indices)


class BatchSampler(Sampler):
    """Groups the indices of ``sampler`` into lists of ``batch_size``; ``drop_last`` drops a short final batch."""

    def __init__(self, sampler, batch_size, drop_last):
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size <= 0:
            raise ValueError(f"batch_size should be a positive integer value, but got batch_size={batch_size!r}")
        if not isinstance(drop_last, bool):
            raise ValueError(f"drop_last should be a boolean value, but got drop_last={drop_last!r}")
        self.sampler = sampler
        self.batch_size = int(batch_size)
        self.drop_last = drop_last

    def index_batches(self):
        """This epoch's batches as int64 arrays, without building Python lists when the sampler allows it."""
        make = getattr(self.sampler, "index_array", None)
        idx = make() if make is not None else np.fromiter(iter(self.sampler), dtype=np.int64)
        stop = len(idx) - len(idx) % self.batch_size if self.drop_last else len(idx)
        return [idx[i:i + self.batch_size] for i in range(0, stop, self.batch_size)]

    def __iter__(self):
        batch = []
        for i in self.sampler:
            batch.append(i)
            if len(batch) == self.batch_size:
                yield batch
                batch = []
        if batch and not self.drop_last:
            yield batch

    def __len__(self):
        n = len(self.sampler)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)
