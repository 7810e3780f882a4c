"""The IDX reader on files the tests write (raw and gzip, valid and broken) and on the real MNIST test set."""
import gzip
import os

import numpy as np
import pytest

from numbagrad.nn.data import IDXError, load_mnist, read_idx, write_idx

REAL_MNIST = os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared", "data", "mnist")


def _header(code, dims):
    return bytes([0, 0, code, len(dims)]) + np.asarray(dims, dtype=">u4").tobytes()


def _write(path, payload, gz=False):
    with open(path, "wb") as f:
        f.write(gzip.compress(payload) if gz else payload)
    return str(path)


@pytest.mark.parametrize("gz", [False, True])
@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64])
def test_roundtrip(tmp_path, gz, dtype):
    a = (np.arange(2 * 3 * 4) - 5).astype(dtype).reshape(2, 3, 4)
    p = tmp_path / ("a.idx" + (".gz" if gz else ""))
    write_idx(p, a)
    b = read_idx(p)
    assert b.dtype == np.dtype(dtype).newbyteorder("=") and b.shape == a.shape
    np.testing.assert_array_equal(a, b)
    assert b.flags.writeable


def test_hand_built_file_is_big_endian(tmp_path):
    p = _write(tmp_path / "x", _header(0x0B, [2]) + b"\x01\x02\xff\xfe")
    np.testing.assert_array_equal(read_idx(p), [0x0102, -2])


@pytest.mark.parametrize("gz", [False, True])
def test_bad_magic(tmp_path, gz):
    p = _write(tmp_path / "bad", b"\x12\x34\x08\x01" + b"\x00\x00\x00\x01" + b"\x07", gz)
    with pytest.raises(IDXError, match=r"bad.*0x12340801.*not an IDX magic"):
        read_idx(p)


def test_unknown_dtype_byte(tmp_path):
    p = _write(tmp_path / "dt", _header(0x0A, [1]) + b"\x00")
    with pytest.raises(IDXError, match="unknown IDX dtype byte 0x0A"):
        read_idx(p)


def test_expected_magic(tmp_path):
    p = _write(tmp_path / "labels", _header(0x08, [3]) + b"\x01\x02\x03")
    with pytest.raises(IDXError, match="0x00000801, expected 0x00000803"):
        read_idx(p, expected_magic=0x00000803)


@pytest.mark.parametrize("gz", [False, True])
def test_truncated_data(tmp_path, gz):
    p = _write(tmp_path / "short", _header(0x08, [2, 2, 2]) + bytes(7), gz)
    with pytest.raises(IDXError, match=r"short.*truncated.*\(2, 2, 2\).*needs 8 data bytes, file has 7"):
        read_idx(p)


def test_truncated_header_and_tiny_file(tmp_path):
    with pytest.raises(IDXError, match="header truncated"):
        read_idx(_write(tmp_path / "h", bytes([0, 0, 8, 3]) + bytes(6)))
    with pytest.raises(IDXError, match="too short"):
        read_idx(_write(tmp_path / "t", b"\x00\x00"))


@pytest.mark.parametrize("gz", [False, True])
def test_trailing_bytes(tmp_path, gz):
    p = _write(tmp_path / "long", _header(0x08, [2, 2]) + bytes(4) + b"junk", gz)
    with pytest.raises(IDXError, match="4 trailing bytes"):
        read_idx(p)


def test_truncated_gzip_stream(tmp_path):
    blob = gzip.compress(_header(0x08, [100]) + bytes(range(100)))
    p = tmp_path / "cut.gz"
    p.write_bytes(blob[: len(blob) // 2])
    with pytest.raises(IDXError, match="corrupt or truncated gzip"):
        read_idx(p)


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nothere"):
        read_idx(tmp_path / "nothere")


def _mnist_dir(tmp_path, n_img=6, n_lbl=6, gz=True, labels=None):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(n_img, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, size=n_lbl).astype(np.uint8) if labels is None else np.asarray(labels, np.uint8)
    ext = ".gz" if gz else ""
    write_idx(tmp_path / f"t10k-images-idx3-ubyte{ext}", images)
    write_idx(tmp_path / f"t10k-labels-idx1-ubyte{ext}", labels)
    return images, labels


@pytest.mark.parametrize("gz", [False, True])
def test_load_mnist_small(tmp_path, gz):
    images, labels = _mnist_dir(tmp_path, gz=gz)
    x, y = load_mnist(tmp_path, train=False)
    assert x.shape == (6, 28, 28) and x.dtype == np.float32 and y.dtype == np.int64
    np.testing.assert_allclose(x, images / 255.0, rtol=1e-6)
    np.testing.assert_array_equal(y, labels)
    xf, _ = load_mnist(tmp_path, train=False, kind="fashion", flatten=True)
    assert xf.shape == (6, 784)


def test_load_mnist_torchvision_layout(tmp_path):
    raw = tmp_path / "FashionMNIST" / "raw"
    raw.mkdir(parents=True)
    _mnist_dir(raw, gz=False)
    assert load_mnist(tmp_path, train=False, kind="fashion")[0].shape == (6, 28, 28)


def test_load_mnist_count_mismatch(tmp_path):
    _mnist_dir(tmp_path, n_img=6, n_lbl=5)
    with pytest.raises(IDXError, match="6 images but .* 5 labels"):
        load_mnist(tmp_path, train=False)


def test_load_mnist_bad_labels_and_swapped_files(tmp_path):
    _mnist_dir(tmp_path, n_img=2, labels=[3, 12])
    with pytest.raises(IDXError, match="labels must be 0-9"):
        load_mnist(tmp_path, train=False)
    write_idx(tmp_path / "t10k-labels-idx1-ubyte.gz", np.zeros((2, 28, 28), np.uint8))
    with pytest.raises(IDXError, match="expected 0x00000801"):
        load_mnist(tmp_path, train=False)


def test_load_mnist_missing_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="train-images-idx3-ubyte"):
        load_mnist(tmp_path, train=True)
    with pytest.raises(ValueError, match="kind"):
        load_mnist(tmp_path, kind="kmnist")


@pytest.mark.skipif(not os.path.isfile(os.path.join(REAL_MNIST, "t10k-images-idx3-ubyte.gz")),
                    reason="real MNIST test set not found in ../shared/data/mnist next to the repository (optional)")
def test_real_mnist_test_set():
    x, y = load_mnist(REAL_MNIST, train=False)
    assert x.shape == (10000, 28, 28) and x.dtype == np.float32
    assert y.shape == (10000,) and y.dtype == np.int64
    assert 0.0 == x.min() and x.max() == 1.0
    np.testing.assert_array_equal(np.bincount(y), [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009])
    raw = read_idx(os.path.join(REAL_MNIST, "t10k-images-idx3-ubyte.gz"), expected_magic=0x00000803)
    assert raw.dtype == np.uint8 and raw.shape == (10000, 28, 28)
