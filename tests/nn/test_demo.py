"""The README's first command, end to end in its quick mode (a subprocess, as a user runs it)."""
import importlib.util
import os
import re
import subprocess
import sys

import numpy as np
import pytest

import numbagrad.autograd as ag
from numbagrad import nn

HAS_SKLEARN = importlib.util.find_spec("sklearn") is not None
HAS_MPL = importlib.util.find_spec("matplotlib") is not None
pytestmark = [
    pytest.mark.skipif(not HAS_SKLEARN, reason="the digits come with scikit-learn (pip install scikit-learn)"),
    pytest.mark.skipif(not (hasattr(nn, "Linear") and hasattr(nn, "Sequential")),
                       reason="numbagrad.nn layers not available yet"),
]


def run_demo(*args, timeout=240):
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    return subprocess.run([sys.executable, "-m", "numbagrad.nn.demo", *args], capture_output=True, text=True,
                          timeout=timeout, env=env, stdin=subprocess.DEVNULL)


def test_demo_quick_digits(tmp_path):
    out = tmp_path / "out"
    proc = run_demo("--quick", "--dataset", "digits", "--out", str(out), "--seed", "1")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    text = proc.stdout
    assert "dataset: digits" in text
    assert re.search(r"^epoch 1/2 .*loss [0-9.]+ .*val_accuracy [0-9.]+", text, re.M), text
    m = re.search(r"^test accuracy: ([0-9.]+)%", text, re.M)
    assert m, text
    assert float(m.group(1)) > 50.0                       # a sanity floor, not a target
    assert "precision" in text and "recall" in text and "f1-score" in text
    assert "confusion matrix" in text
    assert re.search(r"wall time: [0-9.]+ s", text) and "samples/s" in text
    ckpt = ag.load(str(out / "model.npz"))
    assert ckpt["dataset"] == "digits" and ckpt["test_accuracy"] == pytest.approx(float(m.group(1)) / 100, abs=1e-4)
    assert {k for k in ckpt["model"]} >= {"0.weight", "0.bias"}
    assert (out / "best.npz").is_file()
    if HAS_MPL:
        png = out / "learning_curves.png"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    else:
        assert "learning curves skipped" in text


def test_demo_checkpoint_reloads_into_the_model(tmp_path):
    from numbagrad.nn import data, demo
    out = tmp_path / "out"
    try:
        from numbagrad.autograd.kernels import optim_updates
        par_min = optim_updates.PARALLEL_MIN
    except (ImportError, AttributeError):
        optim_updates = par_min = None
    assert demo.main(["--quick", "--dataset", "digits", "--out", str(out), "--no-progress"]) == 0
    if optim_updates is not None:          # the thread limits of an in-process run are undone
        assert optim_updates.PARALLEL_MIN == par_min
    ckpt = ag.load(str(out / "model.npz"))
    model = demo.build_model(64, ckpt["hidden"], 10, ckpt["dropout"])
    model.load_state_dict(ckpt["model"])
    model.eval()
    x, y = data.load_digits(flatten=True)
    xn = ((x - np.float32(ckpt["input_mean"])) / np.float32(ckpt["input_std"])).astype(np.float32)
    with ag.no_grad():
        pred = model(ag.from_numpy(xn)).argmax(dim=1).numpy()
    assert (pred == y).mean() > 0.5


def test_demo_rejects_bad_arguments():
    proc = run_demo("--epochs", "0", timeout=60)
    assert proc.returncode == 2 and "--epochs" in proc.stderr
