"""Reader for the IDX format of MNIST and Fashion-MNIST (``*-idx3-ubyte``, ``*-idx1-ubyte``, optionally gzipped).

An IDX file is a 4-byte magic number ``0x00 0x00 <dtype> <ndim>``, then
``ndim`` big-endian uint32 dimension sizes, then the data in C order,
big-endian. Images are magic ``0x00000803`` (uint8, 3 dims), labels
``0x00000801`` (uint8, 1 dim).
"""
import gzip
import os
import zlib

import numpy as np

#: IDX dtype byte -> numpy dtype (big-endian, as stored in the file).
IDX_DTYPES = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}

IMAGES_MAGIC = 0x00000803
LABELS_MAGIC = 0x00000801


class IDXError(ValueError):
    """A file is not a valid IDX file (bad magic number, wrong sizes, truncated, trailing bytes)."""


def _read_bytes(path):
    with open(path, "rb") as f:
        raw = f.read()
    if raw[:2] != b"\x1f\x8b":
        return raw
    try:
        return gzip.decompress(raw)
    except (EOFError, OSError, zlib.error) as e:
        raise IDXError(f"{path}: corrupt or truncated gzip stream ({e})") from None


def read_idx(path, expected_magic=None):
    """Read one IDX file (raw or gzip, detected from its content) into a numpy array.

    Returns an array of the file's shape in native byte order (uint8 for
    MNIST). ``expected_magic`` (e.g. ``0x00000803`` for images) makes any other
    magic number an error. Raises :class:`IDXError` (a ``ValueError``) naming
    the file when the magic number or dtype byte is invalid, the header is
    short, the data is truncated or followed by trailing bytes; and
    ``FileNotFoundError`` when the file is missing.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"IDX file not found: {path}")
    data = _read_bytes(path)
    if len(data) < 4:
        raise IDXError(f"{path}: file is {len(data)} bytes, too short for the 4-byte IDX magic number")
    magic = int.from_bytes(data[:4], "big")
    if expected_magic is not None and magic != expected_magic:
        raise IDXError(f"{path}: magic number 0x{magic:08X}, expected 0x{expected_magic:08X}")
    if data[0] != 0 or data[1] != 0:
        raise IDXError(f"{path}: magic number 0x{magic:08X} is not an IDX magic number (first two bytes must be zero)")
    code, ndim = data[2], data[3]
    if code not in IDX_DTYPES:
        known = ", ".join(f"0x{c:02X}" for c in IDX_DTYPES)
        raise IDXError(f"{path}: unknown IDX dtype byte 0x{code:02X} (magic 0x{magic:08X}); expected one of {known}")
    if ndim == 0:
        raise IDXError(f"{path}: magic number 0x{magic:08X} declares 0 dimensions")
    header = 4 + 4 * ndim
    if len(data) < header:
        raise IDXError(f"{path}: header truncated: {ndim} dimensions need {header} header bytes, file has {len(data)}")
    shape = tuple(int(d) for d in np.frombuffer(data, dtype=">u4", count=ndim, offset=4))
    dtype = IDX_DTYPES[code]
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    actual = len(data) - header
    if actual < expected:
        raise IDXError(f"{path}: truncated: shape {shape} of {dtype.name} needs {expected} data bytes, file has {actual}")
    if actual > expected:
        raise IDXError(f"{path}: {actual - expected} trailing bytes after the data of shape {shape} ({expected} bytes expected)")
    arr = np.frombuffer(data, dtype=dtype, offset=header).reshape(shape)
    return arr.astype(dtype.newbyteorder("="), copy=True)


def write_idx(path, array, compress=None):
    """Write ``array`` as an IDX file (gzip when ``compress`` is True, or when None and ``path`` ends in ``.gz``).

    The dtype must be one of uint8, int8, int16, int32, float32, float64.
    """
    array = np.asarray(array)
    codes = {np.dtype(v).newbyteorder("=").str: k for k, v in IDX_DTYPES.items()}
    code = codes.get(array.dtype.newbyteorder("=").str)
    if code is None or array.ndim == 0 or array.ndim > 255:
        raise ValueError(f"write_idx: cannot store an array of dtype {array.dtype} with {array.ndim} dims in IDX")
    payload = (bytes([0, 0, code, array.ndim]) + np.asarray(array.shape, dtype=">u4").tobytes()
               + np.ascontiguousarray(array, dtype=IDX_DTYPES[code]).tobytes())
    if compress is None:
        compress = os.fspath(path).endswith(".gz")
    if compress:
        payload = gzip.compress(payload)
    with open(path, "wb") as f:
        f.write(payload)
