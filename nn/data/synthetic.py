"""Small synthetic datasets for notebooks and tests (numpy only).

Every function takes ``n_samples``, ``noise`` and a random source: ``seed``
(an int: a private generator) or ``generator`` (an ``ag.Generator`` or numpy
Generator, which is advanced); with neither, the default generator is used,
so ``ag.manual_seed`` makes the result reproducible. Classification sets
return ``(X float32 (n, 2), y int64 (n,))``; the regression set returns
``(X float32 (n, 1), y float32 (n, 1))``.
"""
import numpy as np

from ._backend import resolve_rng


def _check_n(n_samples, min_n=1):
    if isinstance(n_samples, bool) or not isinstance(n_samples, (int, np.integer)) or n_samples < min_n:
        raise ValueError(f"n_samples must be an int >= {min_n}, got {n_samples!r}")
    return int(n_samples)


def _check_noise(noise):
    if not noise >= 0:
        raise ValueError(f"noise must be >= 0, got {noise!r}")


def _per_class(n, k):
    return [n // k + (1 if i < n % k else 0) for i in range(k)]


def _finish(x, y, noise, shuffle, rng):
    if noise:
        x = x + rng.normal(0.0, noise, size=x.shape)
    if shuffle:
        p = rng.permutation(len(x))
        x, y = x[p], y[p]
    return x.astype(np.float32), y


def make_moons(n_samples=100, noise=0.0, shuffle=True, seed=None, generator=None):
    """Two interleaving half circles (class 0 on top, class 1 below, shifted right), plus Gaussian noise of std ``noise``."""
    n = _check_n(n_samples)
    _check_noise(noise)
    rng = resolve_rng(seed, generator)
    n_out, n_in = n - n // 2, n // 2
    t_out, t_in = np.linspace(0, np.pi, n_out), np.linspace(0, np.pi, n_in)
    x = np.concatenate([np.stack([np.cos(t_out), np.sin(t_out)], 1),
                        np.stack([1 - np.cos(t_in), 0.5 - np.sin(t_in)], 1)])
    y = np.repeat(np.arange(2, dtype=np.int64), [n_out, n_in])
    return _finish(x, y, noise, shuffle, rng)


def make_circles(n_samples=100, noise=0.0, factor=0.8, shuffle=True, seed=None, generator=None):
    """A large circle (class 0, radius 1) around a small one (class 1, radius ``factor``), plus Gaussian noise."""
    n = _check_n(n_samples)
    _check_noise(noise)
    if not 0 <= factor < 1:
        raise ValueError(f"make_circles: factor must be in [0, 1), got {factor!r}")
    rng = resolve_rng(seed, generator)
    n_out, n_in = n - n // 2, n // 2
    t_out = np.linspace(0, 2 * np.pi, n_out, endpoint=False)
    t_in = np.linspace(0, 2 * np.pi, n_in, endpoint=False)
    x = np.concatenate([np.stack([np.cos(t_out), np.sin(t_out)], 1),
                        factor * np.stack([np.cos(t_in), np.sin(t_in)], 1)])
    y = np.repeat(np.arange(2, dtype=np.int64), [n_out, n_in])
    return _finish(x, y, noise, shuffle, rng)


def make_spirals(n_samples=100, n_classes=2, noise=0.0, turns=1.0, shuffle=True, seed=None, generator=None):
    """``n_classes`` interleaved spiral arms from the origin to radius 1, each turning ``turns`` times, plus Gaussian noise."""
    n = _check_n(n_samples)
    _check_noise(noise)
    if isinstance(n_classes, bool) or not isinstance(n_classes, (int, np.integer)) or n_classes < 1:
        raise ValueError(f"make_spirals: n_classes must be a positive int, got {n_classes!r}")
    rng = resolve_rng(seed, generator)
    xs, ys = [], []
    for k, m in enumerate(_per_class(n, n_classes)):
        r = np.linspace(0.05, 1.0, m)
        theta = 2 * np.pi * (turns * r + k / n_classes)
        xs.append(np.stack([r * np.cos(theta), r * np.sin(theta)], 1))
        ys.append(np.full(m, k, dtype=np.int64))
    return _finish(np.concatenate(xs), np.concatenate(ys), noise, shuffle, rng)


def make_blobs(n_samples=100, centers=3, n_features=2, cluster_std=1.0, center_box=(-10.0, 10.0),
               shuffle=True, seed=None, generator=None):
    """Isotropic Gaussian blobs: ``centers`` (a count, drawn uniformly in ``center_box``, or an array of centres).

    ``cluster_std`` is the standard deviation of each blob (a number or one per
    centre); it plays the role of ``noise``. Returns X float32 (n, n_features), y int64.
    """
    n = _check_n(n_samples)
    rng = resolve_rng(seed, generator)
    if np.ndim(centers) == 0:
        if isinstance(centers, bool) or int(centers) != centers or centers < 1:
            raise ValueError(f"make_blobs: centers must be a positive int or an array of centres, got {centers!r}")
        centers = rng.uniform(center_box[0], center_box[1], size=(int(centers), n_features))
    centers = np.asarray(centers, dtype=np.float64)
    if centers.ndim != 2:
        raise ValueError(f"make_blobs: centers array must be 2-D (n_centers, n_features), got shape {centers.shape}")
    stds = np.broadcast_to(np.asarray(cluster_std, dtype=np.float64), (len(centers),))
    if np.any(stds < 0):
        raise ValueError(f"make_blobs: cluster_std must be >= 0, got {cluster_std!r}")
    counts = _per_class(n, len(centers))
    x = np.concatenate([c + s * rng.standard_normal((m, centers.shape[1])) for c, s, m in zip(centers, stds, counts)])
    y = np.repeat(np.arange(len(centers), dtype=np.int64), counts)
    return _finish(x, y, 0.0, shuffle, rng)


def make_noisy_function(n_samples=100, noise=0.1, fn=np.sin, low=-np.pi, high=np.pi, sort=True,
                        seed=None, generator=None):
    """1-D regression: x uniform in [low, high), y = fn(x) + Gaussian noise of std ``noise``.

    Returns ``(X, y)`` both float32 of shape (n, 1), sorted by x when ``sort``
    (handy for plotting), ready for ``nn.MSELoss`` against an (n, 1) output.
    """
    n = _check_n(n_samples)
    _check_noise(noise)
    if not high > low:
        raise ValueError(f"make_noisy_function: need high > low, got low={low}, high={high}")
    rng = resolve_rng(seed, generator)
    x = rng.uniform(low, high, size=n)
    if sort:
        x = np.sort(x)
    y = np.asarray(fn(x), dtype=np.float64)
    if y.shape != x.shape:
        raise ValueError(f"make_noisy_function: fn must map an array of shape {x.shape} to the same shape, got {y.shape}")
    y = y + (rng.normal(0.0, noise, size=n) if noise else 0.0)
    return x.reshape(-1, 1).astype(np.float32), y.reshape(-1, 1).astype(np.float32)
