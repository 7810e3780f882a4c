"""Batch augmentation: invariants (flip twice, shift multiset, rotation by 0 and 90), reproducibility, layouts."""
import numpy as np
import pytest

import numbagrad.autograd as ag
from numbagrad.nn.data.transforms import (Compose, GaussianNoise, Normalize, RandomHorizontalFlip, RandomRotation,
                                          RandomShift, RandomVerticalFlip)

from _data_helpers import arr, needs_tensor


def _batch(n=6, h=8, w=7, c=None, border=0, seed=0):
    rng = np.random.default_rng(seed)
    shape = (n, h, w) if c is None else (n, c, h, w)
    x = rng.random(shape).astype(np.float32) + 0.1
    if border:
        x[..., :border, :] = 0
        x[..., -border:, :] = 0
        x[..., :, :border] = 0
        x[..., :, -border:] = 0
    return x


@pytest.mark.parametrize("flip", [RandomHorizontalFlip, RandomVerticalFlip])
@pytest.mark.parametrize("c", [None, 3])
def test_flip_twice_is_identity(flip, c):
    x = _batch(c=c)
    t = flip(p=1.0, seed=0)
    once = t(x)
    axis = -1 if flip is RandomHorizontalFlip else -2
    np.testing.assert_array_equal(once, np.flip(x, axis=axis))
    np.testing.assert_array_equal(t(once), x)
    np.testing.assert_array_equal(flip(p=0.0, seed=0)(x), x)


def test_flip_probability_per_image():
    x = _batch(n=2000, h=2, w=3)
    out = RandomHorizontalFlip(p=0.3, seed=0)(x)
    flipped = np.all(out == np.flip(x, -1), axis=(1, 2))
    assert 0.25 < flipped.mean() < 0.35


@pytest.mark.parametrize("c", [None, 2])
def test_shift_preserves_pixel_multiset_within_border(c):
    x = _batch(n=20, c=c, border=2)
    out = RandomShift(2, seed=1)(x)
    assert out.shape == x.shape and out.dtype == x.dtype
    for a, b in zip(x, out):
        np.testing.assert_array_equal(np.sort(a, axis=None), np.sort(b, axis=None))
    assert not np.array_equal(out, x)


def test_shift_is_a_translation_and_zero_is_identity():
    x = _batch(n=50, border=1)
    out = RandomShift((1, 1), seed=2)(x)
    for a, b in zip(x, out):
        ok = [np.array_equal(np.roll(a, (dy, dx), axis=(0, 1)), b) for dy in (-1, 0, 1) for dx in (-1, 0, 1)]
        assert any(ok)
    np.testing.assert_array_equal(RandomShift(0, seed=0)(x), x)
    u8 = (x * 200).astype(np.uint8)
    assert RandomShift(1, seed=0)(u8).dtype == np.uint8


@pytest.mark.parametrize("interp", ["bilinear", "nearest"])
def test_rotation_by_zero_is_identity_and_90_is_rot90(interp):
    x = _batch(h=9, w=9)
    np.testing.assert_allclose(RandomRotation(0, interpolation=interp, seed=0)(x), x, atol=1e-6)
    out = RandomRotation((90, 90), interpolation=interp, seed=0)(x)
    np.testing.assert_allclose(out, np.rot90(x, k=1, axes=(1, 2)), atol=1e-5)


def test_small_rotation_keeps_mass_near_centre():
    x = np.zeros((4, 1, 28, 28), np.float32)
    x[:, :, 10:18, 10:18] = 1.0
    out = RandomRotation(15, seed=0)(x)
    assert out.shape == x.shape and out.dtype == np.float32
    np.testing.assert_allclose(out.sum(axis=(1, 2, 3)), x.sum(axis=(1, 2, 3)), rtol=0.05)
    assert out.min() >= -1e-6 and out.max() <= 1 + 1e-6


def test_noise_reproducible_and_statistics():
    x = np.zeros((200, 10, 10), np.float32)
    a = GaussianNoise(0.1, seed=7)(x)
    b = GaussianNoise(0.1, seed=7)(x)
    np.testing.assert_array_equal(a, b)
    assert a.dtype == np.float32 and abs(float(a.std()) - 0.1) < 0.005 and abs(float(a.mean())) < 0.005
    t = GaussianNoise(0.1, seed=7)
    assert not np.array_equal(t(x), t(x))                   # a stream, not a constant
    clipped = GaussianNoise(1.0, clip=(0, 1), seed=0)(x)
    assert clipped.min() >= 0 and clipped.max() <= 1


def test_normalize():
    x = _batch(n=50, c=3, seed=1) * 4 + 2
    mean, std = x.mean(axis=(0, 2, 3)), x.std(axis=(0, 2, 3))
    out = Normalize(mean, std)(x)
    np.testing.assert_allclose(out.mean(axis=(0, 2, 3)), 0, atol=1e-5)
    np.testing.assert_allclose(out.std(axis=(0, 2, 3)), 1, atol=1e-5)
    flat = x[:, 0].reshape(50, -1)
    out = Normalize(float(flat.mean()), float(flat.std()))(flat)
    assert abs(float(out.mean())) < 1e-5 and abs(float(out.std()) - 1) < 1e-4
    with pytest.raises(ValueError, match="channels"):
        Normalize([0, 0], [1, 1])(x)
    with pytest.raises(ValueError, match="non-zero"):
        Normalize(0, 0)


def test_flat_rows_with_image_shape_and_compose():
    x = _batch(n=5, h=6, w=6, border=1)
    flat = x.reshape(5, 36)
    a = RandomShift(1, image_shape=(6, 6), seed=3)(flat)
    b = RandomShift(1, seed=3)(x).reshape(5, 36)
    np.testing.assert_array_equal(a, b)
    chain = Compose([RandomHorizontalFlip(1.0, seed=0), RandomHorizontalFlip(1.0, seed=0), Normalize(0.0, 1.0)], image_shape=(6, 6))
    np.testing.assert_array_equal(chain(flat), flat)
    assert "RandomHorizontalFlip" in repr(chain)
    with pytest.raises(ValueError, match="image_shape"):
        RandomShift(1, seed=0)(flat)
    with pytest.raises(ValueError, match="does not hold images"):
        RandomShift(1, image_shape=(5, 5), seed=0)(flat)


def test_argument_errors():
    with pytest.raises(ValueError):
        RandomShift(-1)
    with pytest.raises(ValueError):
        RandomRotation((10, -10))
    with pytest.raises(ValueError):
        RandomRotation(10, interpolation="cubic")
    with pytest.raises(ValueError):
        RandomHorizontalFlip(1.5)
    with pytest.raises(ValueError):
        GaussianNoise(-0.1)


@needs_tensor
def test_tensors_in_tensors_out_and_manual_seed():
    x = _batch(n=4)
    t = ag.from_numpy(x)
    out = Compose([RandomShift(1), RandomRotation(10), GaussianNoise(0.01), RandomHorizontalFlip()])
    ag.manual_seed(3)
    a = out(t)
    ag.manual_seed(3)
    b = out(t)
    assert isinstance(a, ag.Tensor) and tuple(a.shape) == x.shape
    np.testing.assert_array_equal(arr(a), arr(b))
    g1, g2 = ag.Generator().manual_seed(1), ag.Generator().manual_seed(1)
    np.testing.assert_array_equal(RandomShift(2, generator=g1)(x), RandomShift(2, generator=g2)(x))
