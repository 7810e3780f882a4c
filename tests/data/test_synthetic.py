"""Synthetic datasets: shapes, dtypes, class balance, reproducibility, errors."""
import numpy as np
import pytest

import numbagrad.autograd as ag
from numbagrad.nn.data import make_blobs, make_circles, make_moons, make_noisy_function, make_spirals

from _data_helpers import needs_tensor

CLASSIFIERS = [make_moons, make_circles, make_spirals, make_blobs]


@pytest.mark.parametrize("make", CLASSIFIERS)
@pytest.mark.parametrize("n", [1, 7, 100])
def test_classification_shapes_and_dtypes(make, n):
    x, y = make(n_samples=n, seed=0)
    assert x.shape == (n, 2) and x.dtype == np.float32
    assert y.shape == (n,) and y.dtype == np.int64
    counts = np.bincount(y)
    assert counts.max() - counts[counts > 0].min() <= 1       # balanced classes


@pytest.mark.parametrize("make", CLASSIFIERS)
def test_seed_and_generator_reproducible(make):
    a = make(n_samples=50, noise=0.1, seed=3) if make is not make_blobs else make(n_samples=50, seed=3)
    b = make(n_samples=50, noise=0.1, seed=3) if make is not make_blobs else make(n_samples=50, seed=3)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    c = make(n_samples=50, generator=np.random.default_rng(3))
    d = make(n_samples=50, generator=np.random.default_rng(3))
    np.testing.assert_array_equal(c[0], d[0])
    with pytest.raises(ValueError, match="not both"):
        make(n_samples=5, seed=1, generator=np.random.default_rng(1))


def test_noise_free_geometry():
    x, y = make_circles(200, noise=0.0, factor=0.5, seed=0)
    r = np.hypot(x[:, 0], x[:, 1])
    np.testing.assert_allclose(r[y == 0], 1.0, rtol=1e-6)
    np.testing.assert_allclose(r[y == 1], 0.5, rtol=1e-6)
    x, y = make_moons(100, shuffle=False, seed=0)
    assert (y[:50] == 0).all() and np.allclose(np.hypot(x[:50, 0], x[:50, 1]), 1.0)
    x, y = make_spirals(300, n_classes=3, seed=0)
    assert set(y.tolist()) == {0, 1, 2} and np.hypot(x[:, 0], x[:, 1]).max() <= 1.0 + 1e-6


def test_blobs_centers_and_std():
    centers = np.array([[0.0, 0.0, 0.0], [10.0, 10.0, 10.0]])
    x, y = make_blobs(4000, centers=centers, cluster_std=[0.5, 2.0], seed=1)
    assert x.shape == (4000, 3)
    for k, s in enumerate([0.5, 2.0]):
        np.testing.assert_allclose(x[y == k].mean(0), centers[k], atol=0.2)
        np.testing.assert_allclose(x[y == k].std(0), s, rtol=0.1)


def test_noisy_function():
    x, y = make_noisy_function(500, noise=0.0, seed=0)
    assert x.shape == y.shape == (500, 1) and x.dtype == y.dtype == np.float32
    assert (np.diff(x[:, 0]) >= 0).all() and x.min() >= -np.pi and x.max() < np.pi
    np.testing.assert_allclose(y, np.sin(x), atol=1e-6)
    _, yn = make_noisy_function(5000, noise=0.3, fn=np.square, low=0, high=1, seed=1)
    xs, _ = make_noisy_function(5000, noise=0.0, fn=np.square, low=0, high=1, seed=1)
    assert 0.25 < float(np.std(yn - xs ** 2)) < 0.35


@pytest.mark.parametrize("kwargs,match", [({"n_samples": 0}, "n_samples"), ({"n_samples": 5, "noise": -1}, "noise")])
def test_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        make_moons(**kwargs)
    with pytest.raises(ValueError, match="factor"):
        make_circles(10, factor=1.5)
    with pytest.raises(ValueError, match="high > low"):
        make_noisy_function(10, low=1, high=0)


@needs_tensor
def test_reproducible_from_manual_seed_and_ag_generator():
    ag.manual_seed(11)
    a = make_moons(40, noise=0.2)
    ag.manual_seed(11)
    b = make_moons(40, noise=0.2)
    np.testing.assert_array_equal(a[0], b[0])
    g1, g2 = ag.Generator().manual_seed(5), ag.Generator().manual_seed(5)
    np.testing.assert_array_equal(make_spirals(30, noise=0.1, generator=g1)[0], make_spirals(30, noise=0.1, generator=g2)[0])
