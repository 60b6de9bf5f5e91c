"""Synthetic diffraction images with an exactly known direct-beam centre, for the io and preprocess tests."""

from __future__ import annotations

import numpy as np


def spot_lattice_image(shape=(256, 256), centre_xy=(131.3, 120.6), a1=(26.0, 3.0), a2=(-2.0, 37.0),
                       spot_sigma_px=1.5, halo=0.0, noise_dose=None, beam_stop=False, direct_beam=True,
                       seed=0) -> np.ndarray:
    """Gaussian spots at centre + i a1 + j a2 (pixels; integer values are pixel centres), intensities falling
    off with distance from the centre, optional diffuse halo, Poisson noise and a beam stop (disc over the
    centre plus an arm to the right edge, set to 0). float64 (H, W)."""
    h, w = shape
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    cx, cy = centre_xy
    img = np.zeros(shape)
    a1, a2 = np.asarray(a1, float), np.asarray(a2, float)
    n = int(2 * max(h, w) / min(np.hypot(*a1), np.hypot(*a2))) + 2
    r_fall = 0.35 * max(h, w)
    for i in range(-n, n + 1):
        for j in range(-n, n + 1):
            if i == 0 and j == 0 and not direct_beam:
                continue
            px, py = cx + i * a1[0] + j * a2[0], cy + i * a1[1] + j * a2[1]
            if not (-5 < px < w + 5 and -5 < py < h + 5):
                continue
            amp = 20.0 if (i == 0 and j == 0) else np.exp(-np.hypot(px - cx, py - cy) / r_fall)
            img += amp * np.exp(-((xx - px) ** 2 + (yy - py) ** 2) / (2 * spot_sigma_px ** 2))
    if halo:
        img += halo * np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * (0.15 * max(h, w)) ** 2)) + 0.05 * halo
    if noise_dose is not None:
        rng = np.random.default_rng(seed)
        img = rng.poisson(img / img.max() * noise_dose).astype(np.float64)
    if beam_stop:
        r = 0.04 * max(h, w)
        stop = (xx - cx) ** 2 + (yy - cy) ** 2 <= r * r
        stop |= (xx >= cx) & (np.abs(yy - cy - 0.1 * (xx - cx)) <= 0.6 * r)
        img[stop] = 0.0
    return img
