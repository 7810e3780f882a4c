"""Augmentation and normalisation for batches of images, numpy only.

Every transform takes a batch and returns a batch of the same shape and kind
(a numpy array stays an array, a Tensor comes back as a new Tensor). Accepted
layouts: (N, H, W), (N, C, H, W), or flat rows (N, H*W) / (N, C*H*W) when the
transform is given ``image_shape=(H, W)`` or ``(C, H, W)``. Random transforms
draw independent parameters per image from ``seed`` (an int: a private
generator stream), ``generator`` (an ``ag.Generator`` or numpy Generator), or
else the default generator, so ``ag.manual_seed`` makes them reproducible.
Integer images keep their dtype through shifts and flips; transforms that
compute new values return float32 for integer input.
"""
import numpy as np

from . import _backend


def _float_dtype(dtype):
    return dtype if np.issubdtype(dtype, np.floating) else np.dtype(np.float32)


class _BatchTransform:
    """Shared plumbing: Tensor/array in and out, shape to (N, C, H, W) and back, random source."""

    def __init__(self, image_shape=None, seed=None, generator=None):
        if image_shape is not None:
            image_shape = tuple(int(s) for s in image_shape)
            if len(image_shape) not in (2, 3):
                raise ValueError(f"{type(self).__name__}: image_shape must be (H, W) or (C, H, W), got {image_shape}")
        self.image_shape = image_shape
        self._rng = None if seed is None and generator is None else _backend.resolve_rng(seed, generator)

    @property
    def rng(self):
        """The numpy Generator this transform draws from (the default generator's when none was given)."""
        return self._rng if self._rng is not None else _backend.default_rng()

    def _to_nchw(self, arr):
        name = type(self).__name__
        if self.image_shape is not None:
            size = int(np.prod(self.image_shape))
            if arr.ndim < 1 or arr.size != len(arr) * size:
                raise ValueError(f"{name}: batch of shape {arr.shape} does not hold images of shape {self.image_shape}")
            arr = arr.reshape((len(arr),) + self.image_shape)
        if arr.ndim == 3:
            return arr[:, None]
        if arr.ndim == 4:
            return arr
        raise ValueError(f"{name}: expected a batch of shape (N, H, W) or (N, C, H, W), got {arr.shape}; "
                         "flat rows need image_shape=(H, W)")

    def __call__(self, batch):
        is_tensor = _backend.is_tensor(batch)
        arr = _backend.to_numpy(batch)
        out = self._apply(self._to_nchw(arr)).reshape(arr.shape)
        return _backend.from_numpy(out) if is_tensor else out

    def _apply(self, x):
        raise NotImplementedError

    def __repr__(self):
        fields = ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if not k.startswith("_") and v is not None)
        return f"{type(self).__name__}({fields})"


class Compose:
    """Apply ``transforms`` one after the other: ``Compose([RandomShift(2), GaussianNoise(0.05)])(batch)``.

    ``image_shape`` reshapes flat rows to images once before the chain and back after it.
    """

    def __init__(self, transforms, image_shape=None):
        self.transforms = list(transforms)
        self.image_shape = None if image_shape is None else tuple(int(s) for s in image_shape)

    def __call__(self, batch):
        if self.image_shape is None:
            for t in self.transforms:
                batch = t(batch)
            return batch
        shape = tuple(batch.shape)
        is_tensor = _backend.is_tensor(batch)
        arr = _backend.to_numpy(batch)
        arr = arr.reshape((len(arr),) + self.image_shape)
        for t in self.transforms:
            arr = t(arr)
        arr = arr.reshape(shape)
        return _backend.from_numpy(arr) if is_tensor else arr

    def __repr__(self):
        return "Compose([" + ", ".join(repr(t) for t in self.transforms) + "])"


class RandomShift(_BatchTransform):
    """Move each image by a random whole number of pixels, up to ``max_shift`` each way, filling with ``fill``.

    ``max_shift`` is an int or ``(max_dy, max_dx)``. Pixels moved past the border are lost.
    """

    def __init__(self, max_shift, fill=0.0, image_shape=None, seed=None, generator=None):
        super().__init__(image_shape, seed, generator)
        my, mx = (max_shift, max_shift) if np.ndim(max_shift) == 0 else max_shift
        if int(my) != my or int(mx) != mx or my < 0 or mx < 0:
            raise ValueError(f"RandomShift: max_shift must be non-negative ints, got {max_shift!r}")
        self.max_shift = (int(my), int(mx))
        self.fill = fill

    def _apply(self, x):
        n, c, h, w = x.shape
        my, mx = self.max_shift
        dy = self.rng.integers(-my, my + 1, size=n)
        dx = self.rng.integers(-mx, mx + 1, size=n)
        padded = np.pad(x, ((0, 0), (0, 0), (my, my), (mx, mx)), constant_values=self.fill)
        rows = (my - dy)[:, None, None, None] + np.arange(h)[None, None, :, None]
        cols = (mx - dx)[:, None, None, None] + np.arange(w)[None, None, None, :]
        return padded[np.arange(n)[:, None, None, None], np.arange(c)[None, :, None, None], rows, cols]


class RandomRotation(_BatchTransform):
    """Rotate each image about its centre by an angle drawn uniformly from ``[-degrees, degrees]`` (or a ``(min, max)`` pair).

    Positive angles turn counter-clockwise as displayed (row 0 on top), as in
    torchvision. ``interpolation`` is ``'bilinear'`` or ``'nearest'``; pixels
    coming from outside the image take ``fill``.
    """

    def __init__(self, degrees, interpolation="bilinear", fill=0.0, image_shape=None, seed=None, generator=None):
        super().__init__(image_shape, seed, generator)
        lo, hi = (-abs(degrees), abs(degrees)) if np.ndim(degrees) == 0 else degrees
        if lo > hi:
            raise ValueError(f"RandomRotation: degrees range must be (min, max) with min <= max, got {degrees!r}")
        if interpolation not in ("bilinear", "nearest"):
            raise ValueError(f"RandomRotation: interpolation must be 'bilinear' or 'nearest', got {interpolation!r}")
        self.degrees = (float(lo), float(hi))
        self.interpolation = interpolation
        self.fill = fill

    def _apply(self, x):
        n, c, h, w = x.shape
        theta = np.deg2rad(self.rng.uniform(self.degrees[0], self.degrees[1], size=n))[:, None, None]
        cy, cx = (h - 1) / 2.0, (w - 1) / 2.0
        yy, xx = np.meshgrid(np.arange(h) - cy, np.arange(w) - cx, indexing="ij")
        cos, sin = np.cos(theta), np.sin(theta)
        sx = cos * xx - sin * yy + cx          # source of each output pixel: rotate back by -theta
        sy = sin * xx + cos * yy + cy
        dtype = _float_dtype(x.dtype)
        padded = np.pad(x.astype(dtype, copy=False), ((0, 0), (0, 0), (1, 1), (1, 1)), constant_values=self.fill)
        ni, ci = np.arange(n)[:, None, None, None], np.arange(c)[None, :, None, None]

        def take(iy, ix):
            iy = np.clip(iy, -1, h)[:, None] + 1
            ix = np.clip(ix, -1, w)[:, None] + 1
            return padded[ni, ci, iy, ix]

        if self.interpolation == "nearest":
            return take(np.rint(sy).astype(np.int64), np.rint(sx).astype(np.int64))
        y0, x0 = np.floor(sy), np.floor(sx)
        wy, wx = (sy - y0)[:, None].astype(dtype), (sx - x0)[:, None].astype(dtype)
        y0, x0 = y0.astype(np.int64), x0.astype(np.int64)
        top = take(y0, x0) * (1 - wx) + take(y0, x0 + 1) * wx
        bottom = take(y0 + 1, x0) * (1 - wx) + take(y0 + 1, x0 + 1) * wx
        return (top * (1 - wy) + bottom * wy).astype(dtype, copy=False)


class RandomHorizontalFlip(_BatchTransform):
    """Mirror each image left-right with probability ``p``."""

    def __init__(self, p=0.5, image_shape=None, seed=None, generator=None):
        super().__init__(image_shape, seed, generator)
        if not 0 <= p <= 1:
            raise ValueError(f"{type(self).__name__}: p must be in [0, 1], got {p!r}")
        self.p = p

    _axis = 3

    def _apply(self, x):
        flip = self.rng.random(len(x)) < self.p
        out = x.copy()
        out[flip] = np.flip(x[flip], axis=self._axis)
        return out


class RandomVerticalFlip(RandomHorizontalFlip):
    """Mirror each image top-bottom with probability ``p``."""

    _axis = 2


class GaussianNoise(_BatchTransform):
    """Add independent Gaussian noise of standard deviation ``std`` (and mean ``mean``) to every value.

    ``clip=(lo, hi)`` clips the result, e.g. ``(0, 1)`` for images scaled to [0, 1].
    Works on any shape (no image layout needed).
    """

    def __init__(self, std, mean=0.0, clip=None, seed=None, generator=None):
        super().__init__(None, seed, generator)
        if not std >= 0:
            raise ValueError(f"GaussianNoise: std must be >= 0, got {std!r}")
        self.std, self.mean, self.clip = std, mean, clip

    def __call__(self, batch):
        is_tensor = _backend.is_tensor(batch)
        arr = _backend.to_numpy(batch)
        dtype = _float_dtype(arr.dtype)
        noise_dtype = np.float32 if dtype == np.float32 else np.float64   # no float64 temporaries for float32 batches
        noise = self.rng.standard_normal(size=arr.shape, dtype=noise_dtype)
        out = (arr + (noise * noise_dtype(self.std) + noise_dtype(self.mean))).astype(dtype, copy=False)
        if self.clip is not None:
            out = np.clip(out, self.clip[0], self.clip[1])
        return _backend.from_numpy(out) if is_tensor else out


class Normalize(_BatchTransform):
    """``(x - mean) / std``, with one mean and std for all values or one per channel (axis 1 of (N, C, H, W)).

    Not random. Use the training set's statistics, e.g. MNIST's ``Normalize(0.1307, 0.3081)``.
    """

    def __init__(self, mean, std, image_shape=None):
        super().__init__(image_shape)
        self.mean = np.asarray(mean, dtype=np.float64)
        self.std = np.asarray(std, dtype=np.float64)
        if self.mean.ndim > 1 or self.std.ndim > 1:
            raise ValueError("Normalize: mean and std must be numbers or one-per-channel sequences")
        if np.any(self.std == 0):
            raise ValueError(f"Normalize: std must be non-zero, got {std!r}")

    def __call__(self, batch):
        if self.mean.ndim == 0 and self.std.ndim == 0:   # any layout will do
            is_tensor = _backend.is_tensor(batch)
            arr = _backend.to_numpy(batch)
            out = ((arr - self.mean) / self.std).astype(_float_dtype(arr.dtype))
            return _backend.from_numpy(out) if is_tensor else out
        return super().__call__(batch)

    def _apply(self, x):
        c = x.shape[1]
        mean = np.broadcast_to(self.mean, (c,)) if self.mean.size in (1, c) else None
        std = np.broadcast_to(self.std, (c,)) if self.std.size in (1, c) else None
        if mean is None or std is None:
            raise ValueError(f"Normalize: {self.mean.size} means / {self.std.size} stds for images with {c} channels")
        return ((x - mean[:, None, None]) / std[:, None, None]).astype(_float_dtype(x.dtype))
