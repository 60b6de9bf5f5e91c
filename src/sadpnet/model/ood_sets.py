"""Synthetic out-of-distribution patterns for unknown-detection: amorphous rings and noise-only frames.

Both mimic a detector frame like the stored training images (uint8, direct beam at (N/2, N/2), log-mapped)
so the only difference from a crystal pattern is the absence of a spot lattice:

* `amorphous_rings`: the direct beam plus one to three diffuse halos at the radii of amorphous scattering
  (first halo at s1 = 0.25-0.55 1/A (1/d, no 2 pi; metallic glasses ~0.4, amorphous carbon ~0.45), the next
  at 1.6-1.9 s1 and 2.5-2.9 s1, Gaussian width 0.02-0.08 1/A) on a decaying background, Poisson noise.
* `noise_only`: the direct beam and a smooth background with Poisson and Gaussian noise, no diffraction.

All draws come from ``numpy.random.default_rng(seed)``.
"""

from __future__ import annotations

import numpy as np


def _log_map(intensity: np.ndarray) -> np.ndarray:
    v = np.log1p(np.clip(intensity, 0, None))
    return np.round(255.0 * v / max(float(v.max()), 1e-12)).astype(np.uint8)


def _grid(size_px: int, pixel_size_inv_a: float):
    c = size_px / 2.0
    yy, xx = np.mgrid[0:size_px, 0:size_px].astype(np.float64)
    return np.hypot(xx - c, yy - c) * pixel_size_inv_a  # |g| in 1/A


def amorphous_rings(n: int, *, size_px: int = 256, pixel_size_inv_a: float = 0.0133, seed: int = 0) -> np.ndarray:
    """(n, size_px, size_px) uint8 amorphous-ring patterns."""
    rng = np.random.default_rng(seed)
    g = _grid(size_px, pixel_size_inv_a)
    out = np.empty((n, size_px, size_px), np.uint8)
    for i in range(n):
        s1 = rng.uniform(0.25, 0.55)
        img = 50.0 * np.exp(-g / rng.uniform(0.1, 0.4))
        for j, (f, amp) in enumerate(((1.0, 1.0), (rng.uniform(1.6, 1.9), rng.uniform(0.2, 0.6)),
                                      (rng.uniform(2.5, 2.9), rng.uniform(0.05, 0.3)))):
            if j and rng.random() < 0.3:
                continue
            w = rng.uniform(0.02, 0.08)
            img += amp * rng.uniform(2.0, 20.0) * np.exp(-0.5 * ((g - f * s1) / w) ** 2)
        img += 1e4 * np.exp(-0.5 * (g / (2.0 * pixel_size_inv_a)) ** 2)  # direct beam
        dose = rng.uniform(5.0, 200.0)
        out[i] = _log_map(rng.poisson(img * dose) / dose)
    return out


def noise_only(n: int, *, size_px: int = 256, pixel_size_inv_a: float = 0.0133, seed: int = 1) -> np.ndarray:
    """(n, size_px, size_px) uint8 frames with a direct beam, a smooth background and noise only."""
    rng = np.random.default_rng(seed)
    g = _grid(size_px, pixel_size_inv_a)
    out = np.empty((n, size_px, size_px), np.uint8)
    for i in range(n):
        img = rng.uniform(0.5, 20.0) * np.exp(-g / rng.uniform(0.1, 1.0)) + rng.uniform(0.0, 2.0)
        if rng.random() < 0.8:
            img += 1e4 * np.exp(-0.5 * (g / (rng.uniform(1.0, 4.0) * pixel_size_inv_a)) ** 2)
        dose = rng.uniform(1.0, 100.0)
        noisy = rng.poisson(img * dose) / dose + rng.normal(0.0, rng.uniform(0.0, 1.0), size=g.shape)
        out[i] = _log_map(noisy)
    return out


def as_source(images: np.ndarray, pixel_size_inv_a, label: str):
    """A `sadpnet.model.source.MemorySource` of OOD images (space_group = -1, zone_axis = '000');
    ``pixel_size_inv_a``: one calibration (1/A per pixel) or one per image."""
    import pandas as pd

    from sadpnet.model.source import MemorySource

    cal = np.broadcast_to(np.asarray(pixel_size_inv_a, dtype=float), (len(images),))
    t = pd.DataFrame({"space_group": -1, "zone_axis": "000", "pixel_size_inv_a": cal, "ood_kind": label},
                     index=range(len(images)))
    return MemorySource(images, t)
