"""Checkpoints: round trips, atomic writes, and every refusal (nothing in a file ever runs)."""
import json
import math
import os
import pickle
import zipfile
from collections import OrderedDict

import numpy as np
import pytest

import numbagrad.autograd as ag
from numbagrad.autograd import serialization
from numbagrad.autograd.serialization import CheckpointError


def _eq(a, b):
    assert type(a) is type(b), (type(a), type(b))
    if isinstance(a, ag.Tensor):
        assert a.dtype == b.dtype and a.shape == b.shape and a.requires_grad == b.requires_grad
        np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())
    elif isinstance(a, np.ndarray):
        assert a.dtype == b.dtype and a.shape == b.shape
        np.testing.assert_array_equal(a, b)
    elif isinstance(a, dict):
        assert list(a) == list(b)
        for k in a:
            _eq(a[k], b[k])
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            _eq(x, y)
    elif isinstance(a, float) and math.isnan(a):
        assert math.isnan(b)
    else:
        assert a == b


def _sample():
    return {
        "model": OrderedDict([("0.weight", ag.randn(3, 4)), ("0.bias", ag.zeros(3)),
                              ("bn.num_batches_tracked", ag.tensor(5)),
                              ("w64", ag.randn(2, 2, dtype=ag.float64, requires_grad=True))]),
        "optimizer": {"state": {0: {"step": ag.tensor(3.0), "exp_avg": ag.randn(3, 4)},
                                1: {"momentum_buffer": None}},
                      "param_groups": [{"lr": 0.1, "betas": (0.9, 0.999), "amsgrad": False,
                                        "foreach": None, "params": [0, 1]}]},
        "arr": np.arange(6, dtype=np.int32).reshape(2, 3), "empty": np.zeros((0, 3)),
        "scalars": [1, -2 ** 70, 0.1, float("inf"), float("nan"), True, None, "héllo", ""],
        "npscalar": np.float32(1.5), "bools": np.array([True, False]),
        (1, "a"): "tuple key", 2.5: "float key", None: "none key",
        "c": np.array([1 + 2j], dtype=np.complex64), "u8": np.array([255], dtype=np.uint8),
    }


def test_round_trip(tmp_path):
    obj = _sample()
    path = tmp_path / "ckpt.npz"
    ag.save(obj, path)
    _eq(ag.load(path), obj)
    _eq(ag.load(str(path)), obj)


def test_file_is_plain_npz_readable_without_pickle(tmp_path):
    path = tmp_path / "c.npz"
    ag.save({"w": ag.ones(2, 3)}, path)
    with np.load(path, allow_pickle=False) as z:
        manifest = json.loads(z["__manifest__"].tobytes())
        assert manifest["format"] == "numbagrad-checkpoint" and manifest["version"] == 1
        assert manifest["arrays"]["a0"] == {"dtype": "float32", "shape": [2, 3]}
        np.testing.assert_array_equal(z["a0"], np.ones((2, 3), np.float32))


def test_loaded_tensors_are_independent_copies(tmp_path):
    path = tmp_path / "c.npz"
    ag.save([ag.ones(3), ag.ones(3)], path)
    a, b = ag.load(path)
    with ag.no_grad():
        a.add_(1)
    assert b.numpy().tolist() == [1, 1, 1]


@pytest.mark.parametrize("bad", [object(), {"x": {1, 2}}, np.array([None, 1], dtype=object),
                                 np.array(["ab"]), {frozenset(): 1}, b"bytes"])
def test_save_refuses_unsupported_values_before_writing(tmp_path, bad):
    path = tmp_path / "c.npz"
    with pytest.raises(TypeError, match="save"):
        ag.save(bad, path)
    assert not path.exists() and os.listdir(tmp_path) == []


def test_refuses_pickle_and_does_not_run_it(tmp_path):
    marker = tmp_path / "PWNED"

    class Payload:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    path = tmp_path / "evil.npz"
    with open(path, "wb") as f:
        pickle.dump({"state": Payload()}, f)
    with pytest.raises(CheckpointError, match="pickle"):
        ag.load(path)
    assert not marker.exists()


def test_refuses_object_array_inside_npz_without_unpickling(tmp_path):
    marker = tmp_path / "PWNED"

    class Payload:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    path = tmp_path / "evil.npz"
    manifest = {"format": "numbagrad-checkpoint", "version": 1,
                "arrays": {"a0": {"dtype": "float64", "shape": [1]}},
                "root": {"t": "ndarray", "a": "a0"}}
    obj = np.empty(1, dtype=object)
    obj[0] = Payload()
    np.savez(path, __manifest__=np.frombuffer(json.dumps(manifest).encode(), np.uint8), a0=obj)
    with pytest.raises(CheckpointError, match="cannot be read safely|unsupported dtype"):
        ag.load(path)
    assert not marker.exists()


def test_refuses_truncated_file(tmp_path):
    path = tmp_path / "c.npz"
    ag.save({"w": ag.randn(1000)}, path)
    data = path.read_bytes()
    for cut in (10, len(data) // 2, len(data) - 10):
        path.write_bytes(data[:cut])
        with pytest.raises(CheckpointError):
            ag.load(path)


def test_refuses_corrupted_file(tmp_path):
    path = tmp_path / "c.npz"
    ag.save({"w": ag.randn(1000)}, path)
    data = bytearray(path.read_bytes())
    mid = len(data) // 2
    data[mid:mid + 8] = b"\xff" * 8  # inside a0's payload: the zip CRC catches it
    path.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="corrupt"):
        ag.load(path)


def test_refuses_unknown_formats(tmp_path):
    cases = {"empty.npz": b"", "text.npz": b"hello world", "npy.npz": b"\x93NUMPY...."}
    for name, content in cases.items():
        p = tmp_path / name
        p.write_bytes(content)
        with pytest.raises(CheckpointError):
            ag.load(p)
    plain = tmp_path / "plain.npz"
    np.savez(plain, x=np.ones(3))
    with pytest.raises(CheckpointError, match="__manifest__"):
        ag.load(plain)
    z = tmp_path / "torchlike.pt"
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr("archive/data.pkl", b"\x80\x02}q\x00.")
    with pytest.raises(CheckpointError, match="__manifest__"):
        ag.load(z)


def _write_manifest(path, manifest, **arrays):
    np.savez(path, __manifest__=np.frombuffer(json.dumps(manifest).encode(), np.uint8), **arrays)


@pytest.mark.parametrize("manifest,arrays,match", [
    ({"format": "other", "version": 1, "arrays": {}, "root": {"t": "none"}}, {}, "format"),
    ({"format": "numbagrad-checkpoint", "version": 99, "arrays": {}, "root": {"t": "none"}}, {},
     "version"),
    ({"format": "numbagrad-checkpoint", "version": 1, "arrays": {},
      "root": {"t": "tensor", "a": "a0"}}, {"a0": np.ones(2)}, "does not list"),
    ({"format": "numbagrad-checkpoint", "version": 1,
      "arrays": {"a0": {"dtype": "float32", "shape": [2]}}, "root": {"t": "tensor", "a": "a0"}},
     {"a0": np.ones(2)}, "manifest records"),
    ({"format": "numbagrad-checkpoint", "version": 1,
      "arrays": {"a0": {"dtype": "float64", "shape": [3]}}, "root": {"t": "tensor", "a": "a0"}},
     {"a0": np.ones(2)}, "manifest records"),
    ({"format": "numbagrad-checkpoint", "version": 1,
      "arrays": {"a0": {"dtype": "float64", "shape": [2]}}, "root": {"t": "tensor", "a": "a0"}},
     {}, "missing"),
    ({"format": "numbagrad-checkpoint", "version": 1,
      "arrays": {"a0": {"dtype": "O", "shape": [2]}}, "root": {"t": "none"}}, {}, "invalid"),
    ({"format": "numbagrad-checkpoint", "version": 1, "arrays": {},
      "root": {"t": "eval", "v": "__import__('os')"}}, {}, "unknown manifest node"),
    ({"format": "numbagrad-checkpoint", "version": 1, "arrays": {},
      "root": {"t": "dict", "items": [[{"t": "list", "items": []}, {"t": "none"}]]}}, {},
     "malformed"),
])
def test_refuses_bad_manifests(tmp_path, manifest, arrays, match):
    path = tmp_path / "c.npz"
    _write_manifest(path, manifest, **arrays)
    with pytest.raises(CheckpointError, match=match):
        ag.load(path)


def test_manifest_must_be_uint8_json(tmp_path):
    path = tmp_path / "c.npz"
    np.savez(path, __manifest__=np.ones(3))
    with pytest.raises(CheckpointError, match="uint8"):
        ag.load(path)
    np.savez(path, __manifest__=np.frombuffer(b"{not json", np.uint8))
    with pytest.raises(CheckpointError, match="JSON"):
        ag.load(path)


def test_interrupted_write_leaves_old_file_intact(tmp_path, monkeypatch):
    path = tmp_path / "c.npz"
    ag.save({"w": ag.ones(3)}, path)
    before = path.read_bytes()
    real = np.lib.format.write_array
    calls = []

    def failing(fp, array, *a, **k):
        calls.append(1)
        if len(calls) == 2:  # manifest written, first array half-way: "crash"
            fp.write(b"\x00" * 100)
            raise OSError("disk full (simulated)")
        return real(fp, array, *a, **k)

    monkeypatch.setattr(np.lib.format, "write_array", failing)
    with pytest.raises(OSError, match="simulated"):
        ag.save({"w": ag.zeros(1000)}, path)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["c.npz"]  # the temporary file is gone
    _eq(ag.load(path), {"w": ag.ones(3)})


def test_missing_file():
    with pytest.raises(FileNotFoundError):
        ag.load("/nonexistent/dir/ckpt.npz")


def test_tensor_pickling_is_refused():
    with pytest.raises(TypeError, match="save"):
        pickle.dumps(ag.ones(2))


def test_optimizer_state_dict_round_trip(tmp_path):
    from numbagrad import optim
    ps = [ag.randn(3, requires_grad=True), ag.randn(2, 2, requires_grad=True)]
    opt = optim.Adam(ps, lr=0.01, amsgrad=True)
    for p in ps:
        p.grad = ag.ones_like(p)
    opt.step()
    path = tmp_path / "opt.npz"
    ag.save(opt.state_dict(), path)
    sd = ag.load(path)
    _eq(sd, opt.state_dict())
    assert serialization.FORMAT == "numbagrad-checkpoint"
