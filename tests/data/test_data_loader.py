"""DataLoader, samplers, datasets and random_split, as torch.utils.data."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import numbagrad.autograd as ag
from numbagrad.nn.data import (BatchSampler, ConcatDataset, DataLoader, Dataset, IterableDataset, RandomSampler,
                               SequentialSampler, Subset, TensorDataset, default_collate, default_convert,
                               random_split)
from numbagrad.nn.data.dataset import _split_lengths

from _data_helpers import arr, needs_tensor


class Squares(Dataset):
    """A map-style dataset of dict samples, to exercise the generic collate path."""

    def __init__(self, n):
        self.n = n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        return {"x": np.full(3, i, dtype=np.float32), "y": i * i, "name": f"s{i}", "w": float(i) / 2}


# ---- numpy level: no Tensor needed -------------------------------------------------------------

@pytest.mark.parametrize("n,bs,drop,expected", [(10, 3, False, 4), (10, 3, True, 3), (9, 3, True, 3), (2, 5, False, 1), (2, 5, True, 0)])
def test_batch_sampler_lengths(n, bs, drop, expected):
    bsamp = BatchSampler(SequentialSampler(range(n)), bs, drop)
    batches = list(bsamp)
    assert len(bsamp) == len(batches) == expected
    assert [len(b) for b in batches] == [len(b) for b in bsamp.index_batches()]
    flat = [i for b in batches for i in b]
    assert flat == list(range(len(flat)))


@pytest.mark.parametrize("bad", [0, -1, 2.5, True, None])
def test_batch_size_must_be_positive_int(bad):
    with pytest.raises(ValueError, match="batch_size"):
        BatchSampler(SequentialSampler(range(4)), bad, False)
    if bad is not None:
        with pytest.raises(ValueError, match="batch_size"):
            DataLoader(list(range(4)), batch_size=bad)


def test_loader_argument_errors():
    data = list(range(8))
    with pytest.raises(ValueError, match="mutually exclusive with shuffle"):
        DataLoader(data, sampler=SequentialSampler(data), shuffle=True)
    with pytest.raises(ValueError, match="batch_sampler"):
        DataLoader(data, batch_size=4, batch_sampler=BatchSampler(SequentialSampler(data), 2, False))
    with pytest.raises(ValueError, match="drop_last"):
        DataLoader(data, batch_size=None, drop_last=True)
    with pytest.raises(ValueError, match="shuffle"):
        DataLoader(data, shuffle="yes")
    with pytest.raises(ValueError, match="num_workers"):
        DataLoader(data, num_workers=-1)


def test_len_of_loader():
    data = list(range(10))
    assert len(DataLoader(data, batch_size=4)) == 3
    assert len(DataLoader(data, batch_size=4, drop_last=True)) == 2
    assert len(DataLoader(data, batch_size=None)) == 10


def test_split_lengths():
    assert _split_lengths(10, [3, 7]) == [3, 7]
    assert _split_lengths(10, [0.5, 0.5]) == [5, 5]
    assert _split_lengths(11, [0.8, 0.2]) == [9, 2]          # floor 8 and 2, remainder to the first
    assert _split_lengths(5, [1 / 3, 1 / 3, 1 / 3]) == [2, 2, 1]
    with pytest.raises(ValueError, match="does not equal the length"):
        _split_lengths(10, [3, 3])
    with pytest.raises(ValueError, match="non-negative"):
        _split_lengths(10, [12, -2])
    with pytest.raises(ValueError, match="non-negative"):
        _split_lengths(10, [0.7, 0.7])


def test_random_split_with_numpy_generator_is_a_partition():
    parts = random_split(range(20), [0.5, 0.3, 0.2], generator=np.random.default_rng(3))
    assert [len(p) for p in parts] == [10, 6, 4]
    seen = sorted(x for p in parts for x in (p[i] for i in range(len(p))))
    assert seen == list(range(20))
    again = random_split(range(20), [0.5, 0.3, 0.2], generator=np.random.default_rng(3))
    assert [p.indices for p in parts] == [p.indices for p in again]


def test_subset_and_concat():
    s = Subset(list("abcdef"), [4, 0, 2])
    assert len(s) == 3 and [s[i] for i in range(3)] == ["e", "a", "c"]
    c = ConcatDataset([list("ab"), list("cde")])
    assert len(c) == 5 and [c[i] for i in range(5)] == list("abcde") and c[-1] == "e"
    with pytest.raises(IndexError):
        c[5]


def test_random_sampler_with_numpy_generator():
    s = RandomSampler(range(7), generator=np.random.default_rng(0))
    a, b = list(s), list(s)
    assert sorted(a) == sorted(b) == list(range(7)) and a != b
    assert len(list(RandomSampler(range(5), num_samples=12, generator=np.random.default_rng(0)))) == 12
    r = list(RandomSampler(range(3), replacement=True, num_samples=50, generator=np.random.default_rng(0)))
    assert len(r) == 50 and set(r) <= {0, 1, 2}


# ---- with Tensors ---------------------------------------------------------------------------

def _xy(n=10):
    x = np.arange(n * 6, dtype=np.float32).reshape(n, 2, 3)
    y = np.arange(n, dtype=np.int64)
    return x, y


@needs_tensor
def test_tensor_dataset_items_and_errors():
    x, y = _xy()
    ds = TensorDataset(ag.from_numpy(x), ag.from_numpy(y))
    assert len(ds) == 10
    xi, yi = ds[3]
    np.testing.assert_array_equal(arr(xi), x[3])
    assert int(arr(yi)) == 3
    with pytest.raises(ValueError, match="size mismatch"):
        TensorDataset(ag.from_numpy(x), ag.from_numpy(y[:5]))


@needs_tensor
@pytest.mark.parametrize("drop_last", [False, True])
def test_loader_shapes_dtypes_and_order(drop_last):
    x, y = _xy(10)
    loader = DataLoader(TensorDataset(ag.from_numpy(x), ag.from_numpy(y)), batch_size=4, drop_last=drop_last)
    batches = list(loader)
    assert len(batches) == len(loader) == (2 if drop_last else 3)
    for xb, yb in batches:
        assert isinstance(xb, ag.Tensor) and isinstance(yb, ag.Tensor)
        assert np.dtype(xb.dtype) == np.float32 and np.dtype(yb.dtype) == np.int64
        assert tuple(xb.shape)[1:] == (2, 3) and xb.shape[0] == yb.shape[0]
    assert [b[0].shape[0] for b in batches] == ([4, 4] if drop_last else [4, 4, 2])
    got = np.concatenate([arr(yb) for _, yb in batches])
    np.testing.assert_array_equal(got, y[:len(got)])


@needs_tensor
def test_fast_path_equals_item_by_item_collate():
    x, y = _xy(13)
    ds = TensorDataset(ag.from_numpy(x), ag.from_numpy(y))
    for dataset in (ds, Subset(ds, [12, 0, 5, 7, 3, 9])):
        ag.manual_seed(5)
        fast = list(DataLoader(dataset, batch_size=4, shuffle=True))
        ag.manual_seed(5)
        slow = list(DataLoader(dataset, batch_size=4, shuffle=True, collate_fn=default_collate))
        assert len(fast) == len(slow)
        for bf, bs in zip(fast, slow):
            assert isinstance(bf, list) and isinstance(bs, list)
            for tf, ts in zip(bf, bs):
                assert tuple(tf.shape) == tuple(ts.shape) and np.dtype(tf.dtype) == np.dtype(ts.dtype)
                np.testing.assert_array_equal(arr(tf), arr(ts))


@needs_tensor
def test_shuffle_reproducible_from_manual_seed():
    x, y = _xy(50)
    loader = DataLoader(TensorDataset(ag.from_numpy(x), ag.from_numpy(y)), batch_size=8, shuffle=True)

    def epoch():
        return np.concatenate([arr(yb) for _, yb in loader])

    ag.manual_seed(123)
    e1, e2 = epoch(), epoch()
    ag.manual_seed(123)
    f1, f2 = epoch(), epoch()
    np.testing.assert_array_equal(e1, f1)
    np.testing.assert_array_equal(e2, f2)
    assert not np.array_equal(e1, e2)                 # a new order every epoch
    assert sorted(e1.tolist()) == list(range(50))      # a permutation
    ag.manual_seed(124)
    assert not np.array_equal(epoch(), e1)


@needs_tensor
def test_shuffle_reproducible_from_generator():
    x, y = _xy(30)
    ds = TensorDataset(ag.from_numpy(x), ag.from_numpy(y))

    def run(seed):
        g = ag.Generator().manual_seed(seed)
        loader = DataLoader(ds, batch_size=7, shuffle=True, generator=g)
        ag.manual_seed(999)      # the default generator must not matter
        return [np.concatenate([arr(yb) for _, yb in loader]) for _ in range(2)]

    a, b = run(1), run(1)
    for u, v in zip(a, b):
        np.testing.assert_array_equal(u, v)
    assert not np.array_equal(a[0], run(2)[0])


@needs_tensor
def test_random_split_reproducible_from_manual_seed_and_generator():
    x, y = _xy(20)
    ds = TensorDataset(ag.from_numpy(x), ag.from_numpy(y))
    ag.manual_seed(0)
    a = random_split(ds, [0.75, 0.25])
    ag.manual_seed(0)
    b = random_split(ds, [15, 5])
    assert [s.indices for s in a] == [s.indices for s in b]
    g1, g2 = ag.Generator().manual_seed(4), ag.Generator().manual_seed(4)
    assert random_split(ds, [10, 10], generator=g1)[0].indices == random_split(ds, [10, 10], generator=g2)[0].indices
    train, _ = a
    xb, yb = next(iter(DataLoader(train, batch_size=15)))
    np.testing.assert_array_equal(arr(yb), np.asarray(train.indices))
    np.testing.assert_array_equal(arr(xb), x[train.indices])


@needs_tensor
def test_generic_collate_of_dicts_numbers_and_strings():
    batch = next(iter(DataLoader(Squares(5), batch_size=3)))
    assert set(batch) == {"x", "y", "name", "w"}
    assert tuple(batch["x"].shape) == (3, 3) and np.dtype(batch["x"].dtype) == np.float32
    assert np.dtype(batch["y"].dtype) == np.int64 and arr(batch["y"]).tolist() == [0, 1, 4]
    assert np.dtype(batch["w"].dtype) == np.float64
    assert batch["name"] == ["s0", "s1", "s2"]
    assert tuple(default_convert(np.int64(3)).shape) == ()
    assert tuple(default_collate([np.float32(1), np.float32(2)]).shape) == (2,)
    with pytest.raises(RuntimeError, match="equal size"):
        default_collate([np.zeros(2), np.zeros(3)])
    with pytest.raises(TypeError, match="default_collate"):
        default_collate([object(), object()])


@needs_tensor
def test_batch_size_none_and_custom_batch_sampler():
    x, y = _xy(5)
    ds = TensorDataset(ag.from_numpy(x), ag.from_numpy(y))
    items = list(DataLoader(ds, batch_size=None))
    assert len(items) == 5 and tuple(items[0][0].shape) == (2, 3)
    loader = DataLoader(ds, batch_sampler=[[4, 0], [1, 2, 3]])
    assert [arr(b[1]).tolist() for b in loader] == [[4, 0], [1, 2, 3]]


@needs_tensor
def test_getitems_fetches_whole_batches():
    class Batched(Squares):
        calls = []

        def __getitems__(self, indices):
            self.calls.append(list(indices))
            return [self[i] for i in indices]

    ds = Batched(5)
    batches = list(DataLoader(ds, batch_size=2))
    assert ds.calls == [[0, 1], [2, 3], [4]] and arr(batches[1]["y"]).tolist() == [4, 9]


@needs_tensor
def test_iterable_dataset():
    class Stream(IterableDataset):
        def __iter__(self):
            return iter(np.arange(7, dtype=np.float32))

    assert [arr(b).tolist() for b in DataLoader(Stream(), batch_size=3)] == [[0, 1, 2], [3, 4, 5], [6]]
    assert len(list(DataLoader(Stream(), batch_size=3, drop_last=True))) == 2
    with pytest.raises(ValueError, match="shuffle"):
        DataLoader(Stream(), shuffle=True)


@needs_tensor
@given(n=st.integers(1, 40), bs=st.integers(1, 12), drop_last=st.booleans(), shuffle=st.booleans(), seed=st.integers(0, 2**31))
def test_loader_property_partition(n, bs, drop_last, shuffle, seed):
    y = np.arange(n, dtype=np.int64)
    x = np.stack([y * 2.0, y * 3.0], 1).astype(np.float32)
    loader = DataLoader(TensorDataset(ag.from_numpy(x), ag.from_numpy(y)), batch_size=bs, shuffle=shuffle,
                        drop_last=drop_last, generator=ag.Generator().manual_seed(seed))
    batches = [(arr(xb), arr(yb)) for xb, yb in loader]
    assert len(batches) == len(loader) == (n // bs if drop_last else -(-n // bs))
    sizes = [len(b[1]) for b in batches]
    assert all(s == bs for s in sizes[:-1]) and (not sizes or 0 < sizes[-1] <= bs)
    seen = np.concatenate([b[1] for b in batches]) if batches else np.zeros(0, np.int64)
    assert len(set(seen.tolist())) == len(seen) == (n - n % bs if drop_last else n)
    for xb, yb in batches:
        np.testing.assert_array_equal(xb[:, 1], yb * 3.0)
    if not shuffle:
        np.testing.assert_array_equal(seen, np.arange(len(seen)))


@given(n=st.integers(0, 3000), fracs=st.lists(st.integers(0, 20), min_size=1, max_size=4).filter(lambda w: sum(w) > 0))
def test_fraction_lengths_match_torch(n, fracs):
    torch_data = pytest.importorskip("torch.utils.data", reason="PyTorch not installed: the torch oracle is optional")
    fr = [w / sum(fracs) for w in fracs]
    if not np.isclose(sum(fr), 1.0) or sum(fr) > 1:
        return
    assert _split_lengths(n, fr) == [len(s) for s in torch_data.random_split(range(n), fr)]
