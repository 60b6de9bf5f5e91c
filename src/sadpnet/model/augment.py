"""Training augmentation of stored SADP images, applied BEFORE `sadpnet.model.preprocess.to_model_input`.

Real patterns differ from simulated ones by in-plane orientation, calibration error, an imperfectly found
centre, a beam stop, noise, a diffuse bright centre and a different intensity mapping. `augment` draws one
random set of those from a seeded generator and returns the modified image together with the centre and
calibration to hand to ``to_model_input`` (so the calibration jitter and centre jitter act through the very
same resampling used at inference). Free zoom is deliberately NOT applied: the absolute reciprocal-space
scale is what separates e.g. sc and bcc [011] patterns (see docs/classifier.md).

Parameters (`AugmentConfig`, all ranges uniform unless noted):
    rotation_deg: any in-plane rotation (0..360) about the direct beam.
    shift_px: translation of the pattern in the stored frame, +-shift_px stored pixels (centre passed exactly).
    centre_error_px: Gaussian sigma of the error added to the centre handed on (stored pixels).
    calibration_jitter: relative error of the calibration handed on, +-calibration_jitter (0.03 = 3 %).
    beam_stop_prob: probability of a beam stop (a dark bar from the centre to the edge, 3-10 % of the width,
        with a round end over the direct beam); half the time its mask is passed on, half the time not.
    halo_prob: probability of a diffuse bright centre (a Gaussian of 5-25 % of the width, up to 0.6 of max).
    noise_prob: probability of shot noise at a random dose (log-uniform in ``dose_range`` counts at the maximum;
        Gaussian approximation of Poisson, variance = mean, for speed) plus Gaussian read noise (sigma uniform up
        to ``read_noise_max`` of the maximum). The defaults (200..20000 counts, 2 %) suit log-mapped stored
        images; on linear intensity (``sadpnet train --intensity linear``) they would bury every spot under
        about 5 % of the direct beam, so linear training uses `LINEAR_NOISE` (1e3..1e6 counts, 0.1 %).
    gamma_range: intensity mapping I -> I**gamma, gamma log-uniform in the range.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from functools import lru_cache

import numpy as np


@dataclass(frozen=True)
class AugmentConfig:
    rotation_deg: float = 180.0
    shift_px: float = 12.0
    centre_error_px: float = 0.5
    calibration_jitter: float = 0.03
    beam_stop_prob: float = 0.4
    halo_prob: float = 0.4
    noise_prob: float = 0.5
    gamma_range: tuple[float, float] = (0.5, 2.0)
    dose_range: tuple[float, float] = (200.0, 20000.0)
    read_noise_max: float = 0.02

    def to_dict(self) -> dict:
        return asdict(self)


NO_AUGMENT = AugmentConfig(0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, (1.0, 1.0))
#: Noise settings for augmenting linear intensity (a direct beam of 1e3-1e6 counts, read noise <= 0.1 %).
LINEAR_NOISE = {"dose_range": (1e3, 1e6), "read_noise_max": 0.001}


@lru_cache(maxsize=4)
def _grid(h: int, w: int):
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    yy.flags.writeable = False
    xx.flags.writeable = False
    return yy, xx


def augment(image: np.ndarray, pixel_size_inv_a: float, rng: np.random.Generator,
            config: AugmentConfig = AugmentConfig(), centre_xy: tuple[float, float] | None = None):
    """One random augmentation of a stored pattern.

    Args:
        image: (H, W) stored image (any dtype); the direct beam at ``centre_xy`` (default (W/2, H/2), the
            simulator's convention).
        pixel_size_inv_a: its calibration, 1/A per pixel.
        rng: a seeded ``numpy.random.Generator``.
    Returns:
        (image float32 (H, W) in 0..1, pixel_size_inv_a to hand on, centre_xy to hand on, mask or None).
    """
    from scipy import ndimage

    img = np.asarray(image, dtype=np.float32)
    h, w = img.shape
    peak = float(img.max())
    img = img / peak if peak > 0 else img
    cx, cy = (w / 2.0, h / 2.0) if centre_xy is None else (float(centre_xy[0]), float(centre_xy[1]))
    # rotation about the centre plus a shift, in one resampling (array coordinates are (row, col))
    ang = np.deg2rad(rng.uniform(-config.rotation_deg, config.rotation_deg))
    tx, ty = rng.uniform(-config.shift_px, config.shift_px, size=2)
    if ang != 0.0 or tx != 0.0 or ty != 0.0:
        c, s = np.cos(ang), np.sin(ang)
        rot = np.array([[c, -s], [s, c]])  # acts on (row, col)
        out_centre = np.array([cy + ty, cx + tx])
        offset = np.array([cy, cx]) - rot @ out_centre
        img = ndimage.affine_transform(img, rot, offset=offset, order=1, mode="constant", cval=0.0)
        cx, cy = cx + tx, cy + ty
    yy, xx = _grid(h, w)
    r2 = (xx - cx) ** 2 + (yy - cy) ** 2
    if rng.random() < config.halo_prob:
        sig = rng.uniform(0.05, 0.25) * w
        img = img + rng.uniform(0.05, 0.6) * np.exp(-r2 / (2 * sig * sig))
    lo, hi = config.gamma_range
    gamma = float(np.exp(rng.uniform(np.log(lo), np.log(hi))))
    img = np.clip(img, 0, None) ** gamma
    if rng.random() < config.noise_prob:
        d_lo, d_hi = config.dose_range
        dose = float(np.exp(rng.uniform(np.log(d_lo), np.log(d_hi))))
        sigma = np.sqrt(np.clip(img, 0, None) / dose + rng.uniform(0.0, config.read_noise_max) ** 2)
        img = img + sigma * rng.standard_normal(img.shape, dtype=np.float32)
    mask = None
    if rng.random() < config.beam_stop_prob:
        phi = rng.uniform(0, 2 * np.pi)
        half_width = rng.uniform(0.015, 0.05) * w
        ux, uy = np.cos(phi), np.sin(phi)
        along = (xx - cx) * ux + (yy - cy) * uy
        across = np.abs(-(xx - cx) * uy + (yy - cy) * ux)
        stop = ((along >= 0) & (across <= half_width)) | (r2 <= (half_width * rng.uniform(1.0, 2.0)) ** 2)
        img = np.where(stop, rng.uniform(0.0, 0.05), img)
        if rng.random() < 0.5:
            mask = ~stop
    img = np.clip(img, 0.0, None).astype(np.float32)
    cal = pixel_size_inv_a * (1.0 + rng.uniform(-config.calibration_jitter, config.calibration_jitter))
    cx_err, cy_err = rng.normal(0.0, config.centre_error_px, size=2) if config.centre_error_px > 0 else (0.0, 0.0)
    return img, float(cal), (cx + float(cx_err), cy + float(cy_err)), mask
