"""Safe checkpoints: `save(obj, path)` / `load(path)` without pickle.

What can be saved: nested ``dict`` (also ``OrderedDict``), ``list`` and ``tuple``
containers of Tensors, numpy arrays, numpy scalars, Python ``int``/``float``/``bool``/
``str``/``None``, i.e. model and optimizer ``state_dict()``s, epoch counters, configs.
Dict keys may be ``str``, ``int``, ``float``, ``bool``, ``None`` or tuples of these.

File format (a plain ``.npz``, i.e. a zip of ``.npy`` files, readable by
``numpy.load(path, allow_pickle=False)``):

* ``__manifest__.npy``: a 1-D uint8 array holding UTF-8 JSON::

      {"format": "numbagrad-checkpoint", "version": 1,
       "arrays": {"a0": {"dtype": "float32", "shape": [3, 4]}, ...},
       "root": <node>}

  where a node is one of ``{"t": "none"}``, ``{"t": "bool", "v": true}``,
  ``{"t": "int", "v": 3}``, ``{"t": "float", "v": "0.1"}`` (Python ``repr``, so
  nan/inf and every bit round-trip), ``{"t": "str", "v": "..."}``,
  ``{"t": "list"|"tuple", "items": [<node>, ...]}``,
  ``{"t": "dict"|"odict", "items": [[<key node>, <value node>], ...]}``,
  ``{"t": "tensor", "a": "a0", "requires_grad": false}``, ``{"t": "ndarray", "a": "a1"}``
  and ``{"t": "npscalar", "a": "a2"}``.
* ``a0.npy``, ``a1.npy``, ...: the arrays, written with ``allow_pickle=False``
  (dtypes: bool, signed/unsigned integers, float16/32/64, complex64/128).

Writing goes to a temporary file in the destination folder, flushed and fsynced, then
``os.replace``d onto ``path``: a crash or error midway leaves any previous file intact.
`load` reads with ``allow_pickle=False`` and checks everything before building the result:
the zip signature, the manifest (format, version, structure), and that every array
entry the manifest names exists with the recorded dtype and shape. Pickle files
(``torch.save``/``pickle.dump`` output), truncated or corrupted files, object arrays,
and anything else raise `CheckpointError` (a ValueError); nothing in a file is ever
executed.
"""
import json
import os
import tempfile
import zipfile
import zlib
from collections import OrderedDict

import numpy as np

from .tensor import Tensor, _wrap

__all__ = ["save", "load", "CheckpointError", "FORMAT", "VERSION"]

FORMAT = "numbagrad-checkpoint"
VERSION = 1
_MANIFEST = "__manifest__"
_KINDS = "biufc"  # bool, int, uint, float, complex: no object/str/void/datetime arrays


class CheckpointError(ValueError):
    """A file that `load` refuses: not a numbagrad checkpoint, corrupted, or unsafe."""


# ---------------------------------------------------------------------- saving
class _Writer:
    def __init__(self):
        self.arrays = {}
        self.meta = {}

    def add(self, arr, where):
        if arr.dtype.kind not in _KINDS or arr.dtype.fields is not None:
            raise TypeError(f"save: {where} is an array of dtype {arr.dtype}; only bool, integer, "
                            "float and complex arrays can be saved (no object/string arrays)")
        name = f"a{len(self.arrays)}"
        if not arr.flags.c_contiguous:
            arr = arr.copy(order="C")  # (np.ascontiguousarray would turn 0-d into 1-d)
        if arr.dtype.byteorder == ">":
            arr = arr.astype(arr.dtype.newbyteorder("<"))
        self.arrays[name] = arr
        self.meta[name] = {"dtype": arr.dtype.name, "shape": list(arr.shape)}
        return name

    def node(self, obj, where):
        if obj is None:
            return {"t": "none"}
        if isinstance(obj, (bool, np.bool_)) and not isinstance(obj, np.ndarray):
            if isinstance(obj, np.bool_):
                return {"t": "npscalar", "a": self.add(np.asarray(obj), where)}
            return {"t": "bool", "v": obj}
        if isinstance(obj, Tensor):
            return {"t": "tensor", "a": self.add(np.asarray(obj._data), where),
                    "requires_grad": bool(obj.requires_grad)}
        if isinstance(obj, np.ndarray):
            return {"t": "ndarray", "a": self.add(obj, where)}
        if isinstance(obj, np.generic):
            return {"t": "npscalar", "a": self.add(np.asarray(obj), where)}
        if isinstance(obj, int):
            return {"t": "int", "v": int(obj)}
        if isinstance(obj, float):
            return {"t": "float", "v": repr(float(obj))}
        if isinstance(obj, str):
            return {"t": "str", "v": str(obj)}
        if isinstance(obj, (list, tuple)):
            kind = "tuple" if isinstance(obj, tuple) else "list"
            return {"t": kind, "items": [self.node(v, f"{where}[{i}]") for i, v in enumerate(obj)]}
        if isinstance(obj, dict):
            items = []
            for k, v in obj.items():
                kn = self.key(k, where)
                items.append([kn, self.node(v, f"{where}[{k!r}]")])
            return {"t": "odict" if isinstance(obj, OrderedDict) else "dict", "items": items}
        raise TypeError(
            f"save: {where} has type {type(obj).__module__}.{type(obj).__qualname__}, which "
            "cannot be saved; supported: dict, list, tuple, Tensor, numpy array/scalar, int, "
            "float, bool, str, None")

    def key(self, k, where):
        if k is None or isinstance(k, (bool, int, float, str)):
            return self.node(k, where)
        if isinstance(k, tuple):
            return {"t": "tuple", "items": [self.key(x, where) for x in k]}
        raise TypeError(f"save: a key of the dict at {where} has type {type(k).__name__}; dict "
                        "keys must be str, int, float, bool, None or tuples of these")


def _write_zip(f, manifest_bytes, arrays):
    with zipfile.ZipFile(f, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
        with zf.open(_MANIFEST + ".npy", "w", force_zip64=True) as out:
            np.lib.format.write_array(out, np.frombuffer(manifest_bytes, dtype=np.uint8),
                                      allow_pickle=False)
        for name, arr in arrays.items():
            with zf.open(name + ".npy", "w", force_zip64=True) as out:
                np.lib.format.write_array(out, arr, allow_pickle=False)


def save(obj, path):
    """Write `obj` (state dicts and other nested containers of tensors) to `path`, without pickle.

    The file is exactly ``path`` (no suffix is added; ``.npz`` or ``.pt`` are both fine) and
    is written atomically: a temporary file in the same folder, renamed over ``path`` once
    complete. Raises TypeError for values that cannot be stored (before touching ``path``).
    See the module docstring for the format.
    """
    w = _Writer()
    root = w.node(obj, "obj")
    manifest = {"format": FORMAT, "version": VERSION, "arrays": w.meta, "root": root}
    data = json.dumps(manifest, separators=(",", ":"), allow_nan=False).encode("utf-8")
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=folder, prefix="." + os.path.basename(path) + ".",
                               suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            _write_zip(f, data, w.arrays)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


# ---------------------------------------------------------------------- loading
def _fail(path, why):
    raise CheckpointError(f"load: {path!s} is not a valid numbagrad checkpoint: {why}")


def _sniff(path):
    with open(path, "rb") as f:
        head = f.read(4)
    if head[:1] == b"\x80":
        _fail(path, "it is a pickle file (e.g. written by torch.save with the legacy format or "
                    "pickle.dump); numbagrad never unpickles files, as that can run code")
    if head != b"PK\x03\x04":
        if len(head) == 0:
            _fail(path, "the file is empty")
        _fail(path, f"unknown format (starts with {head!r}; a checkpoint is a .npz/zip file "
                    "written by numbagrad.autograd.save)")


class _Reader:
    def __init__(self, path, npz, meta):
        self.path, self.npz, self.meta = path, npz, meta
        self.cache = {}

    def array(self, name, where):
        if not isinstance(name, str) or name not in self.meta:
            _fail(self.path, f"{where} refers to array {name!r}, which the manifest does not list")
        if name in self.cache:
            return self.cache[name]
        spec = self.meta[name]
        try:
            arr = self.npz[name]
        except KeyError:
            _fail(self.path, f"array entry {name!r} ({where}) is missing from the file")
        except ValueError as e:  # object arrays with allow_pickle=False, bad headers
            _fail(self.path, f"array entry {name!r} ({where}) cannot be read safely: {e}")
        except (zipfile.BadZipFile, OSError, EOFError, zlib.error) as e:
            _fail(self.path, f"array entry {name!r} ({where}) is corrupted or truncated: {e}")
        if arr.dtype.kind not in _KINDS or arr.dtype.fields is not None:
            _fail(self.path, f"array entry {name!r} ({where}) has unsupported dtype {arr.dtype}")
        if arr.dtype != np.dtype(spec["dtype"]) or list(arr.shape) != list(spec["shape"]):
            _fail(self.path, f"array entry {name!r} ({where}) has dtype {arr.dtype} and shape "
                             f"{list(arr.shape)} but the manifest records {spec['dtype']} "
                             f"{spec['shape']}")
        self.cache[name] = arr
        return arr

    def node(self, n, where):
        if not isinstance(n, dict) or "t" not in n:
            _fail(self.path, f"malformed manifest node at {where}")
        t = n["t"]
        try:
            if t == "none":
                return None
            if t == "bool":
                if not isinstance(n["v"], bool):
                    raise TypeError
                return n["v"]
            if t == "int":
                if not isinstance(n["v"], int) or isinstance(n["v"], bool):
                    raise TypeError
                return n["v"]
            if t == "float":
                return float(str(n["v"]))
            if t == "str":
                if not isinstance(n["v"], str):
                    raise TypeError
                return n["v"]
            if t in ("list", "tuple"):
                items = [self.node(v, f"{where}[{i}]") for i, v in enumerate(n["items"])]
                return tuple(items) if t == "tuple" else items
            if t in ("dict", "odict"):
                out = OrderedDict() if t == "odict" else {}
                for pair in n["items"]:
                    if not isinstance(pair, list) or len(pair) != 2:
                        raise TypeError
                    k = self.node(pair[0], f"{where}<key>")
                    hash(k)
                    out[k] = self.node(pair[1], f"{where}[{k!r}]")
                return out
            if t == "tensor":
                arr = self.array(n["a"], where).copy()
                t_ = _wrap(arr, False, None, 0, None)
                if n.get("requires_grad"):
                    t_.requires_grad_(True)
                return t_
            if t == "ndarray":
                return self.array(n["a"], where).copy()
            if t == "npscalar":
                arr = self.array(n["a"], where)
                if arr.ndim != 0:
                    raise TypeError
                return arr[()]
        except CheckpointError:
            raise
        except (KeyError, TypeError, ValueError, RecursionError):
            _fail(self.path, f"malformed manifest node {t!r} at {where}")
        _fail(self.path, f"unknown manifest node type {t!r} at {where}")


def load(path):
    """Read a checkpoint written by `save`; returns the saved object.

    Tensors come back as `Tensor`s (with their dtype, shape and requires_grad), arrays
    as ndarrays, containers with their types (dict, OrderedDict, list, tuple). Raises
    `CheckpointError` (a ValueError) for anything else, without executing any of it:
    see the module docstring.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"load: no such checkpoint file: {path}")
    _sniff(path)
    try:
        npz = np.load(path, allow_pickle=False)
    except (zipfile.BadZipFile, ValueError, OSError, EOFError) as e:
        _fail(path, f"corrupted or truncated zip archive ({e})")
    if not isinstance(npz, np.lib.npyio.NpzFile):
        _fail(path, "not an .npz archive")
    with npz:
        if _MANIFEST not in npz.files:
            _fail(path, "the archive has no __manifest__ entry (an .npz or torch.save zip not "
                        "written by numbagrad.autograd.save?)")
        try:
            raw = npz[_MANIFEST]
        except (ValueError, zipfile.BadZipFile, OSError, EOFError, zlib.error) as e:
            _fail(path, f"the manifest cannot be read ({e})")
        if raw.dtype != np.uint8 or raw.ndim != 1:
            _fail(path, f"the manifest entry has dtype {raw.dtype} and {raw.ndim} dims, "
                        "expected 1-D uint8")
        try:
            manifest = json.loads(raw.tobytes().decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError) as e:
            _fail(path, f"the manifest is not valid UTF-8 JSON ({e})")
        if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
            _fail(path, "the manifest does not declare format 'numbagrad-checkpoint'")
        if manifest.get("version") != VERSION:
            _fail(path, f"unsupported checkpoint version {manifest.get('version')!r} (this "
                        f"numbagrad reads version {VERSION})")
        meta = manifest.get("arrays")
        if not isinstance(meta, dict) or "root" not in manifest:
            _fail(path, "the manifest lacks 'arrays' or 'root'")
        for name, spec in meta.items():
            try:
                dt = np.dtype(spec["dtype"])
                ok = (dt.kind in _KINDS and dt.fields is None and isinstance(spec["shape"], list)
                      and all(isinstance(s, int) and s >= 0 for s in spec["shape"]))
            except (TypeError, KeyError):
                ok = False
            if not ok:
                _fail(path, f"the manifest entry for array {name!r} is invalid: {spec!r}")
        reader = _Reader(path, npz, meta)
        for name in meta:  # validate every listed array, referenced or not
            reader.array(name, f"array {name}")
        return reader.node(manifest["root"], "obj")
