"""The detector: turn a `Pattern`'s diffracted intensity into an 8- or 16-bit image.

Steps, in order (each optional):

1. direct beam: ``direct_beam_ratio`` x the brightest diffracted pixel is added at the centre pixel
   (N/2, N/2) (the kinematic direct beam is far brighter than any spot; the ratio sets how much);
2. point-spread: a Gaussian of ``psf_sigma_px`` pixels (detector and optics blur; 0 = none);
3. beam stop: pixels under a disc (and an optional arm to the edge) are set to 0;
4. noise: Poisson shot noise for a ``dose_e`` electrons in the whole image, plus Gaussian read noise of
   ``read_noise_e`` electrons per pixel (seeded by ``seed``);
5. mapping to [0, 1] relative to the brightest pixel: "log" (log(1 + R v) / log(1 + R), R =
   ``dynamic_range``: pixels at 1/R of the brightest map to log(2)/log(1+R)) or "gamma" (v ** gamma);
6. quantisation to ``bits`` = 8 (uint8) or 16 (uint16).

`render` is deterministic for a given seed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from sadpnet.errors import InputError


@dataclass(frozen=True)
class BeamStop:
    """An opaque beam stop: a disc of ``radius_px`` pixels on the centre, with an arm of ``arm_width_px``
    pixels running to the detector edge at ``arm_angle_deg`` (degrees counter-clockwise from image right,
    image up = lab +y); ``arm_width_px=0`` for a disc only."""

    radius_px: float = 6.0
    arm_width_px: float = 4.0
    arm_angle_deg: float = 45.0


@dataclass(frozen=True)
class Noise:
    """Detector noise: Poisson shot noise for ``dose_e`` electrons over the whole image (direct beam
    included), plus Gaussian read noise of ``read_noise_e`` electrons (standard deviation) per pixel."""

    dose_e: float = 1e6
    read_noise_e: float = 0.0


def _beam_stop_mask(n: int, stop: BeamStop) -> np.ndarray:
    """Boolean (n, n) mask, True where the beam stop blocks."""
    c = n / 2
    yy, xx = np.mgrid[0:n, 0:n]
    x = xx - c
    y = c - yy  # lab y up
    mask = x * x + y * y <= stop.radius_px ** 2
    if stop.arm_width_px > 0:
        t = math.radians(stop.arm_angle_deg)
        along = x * math.cos(t) + y * math.sin(t)
        across = -x * math.sin(t) + y * math.cos(t)
        mask |= (along >= 0) & (np.abs(across) <= stop.arm_width_px / 2)
    return mask


def gaussian_blur(img: np.ndarray, sigma_px: float, truncate: float = 3.0) -> np.ndarray:
    """Gaussian blur of a 2-D float32 image, zeros outside (scipy.ndimage.gaussian_filter with
    ``mode="constant"``: the same normalised kernel of radius int(truncate * sigma + 0.5) pixels, applied along
    rows then columns, rounded to float32 after each pass), as two banded matrix products: keeps scipy's import
    (about 0.3 s) off ``sadpnet simulate``. Shape (H, W) in, (H, W) float32 out.

    Example::

        >>> img = np.zeros((5, 5), np.float32); img[2, 2] = 1
        >>> round(float(gaussian_blur(img, 0.7).sum()), 6)
        1.0
    """
    radius = int(truncate * float(sigma_px) + 0.5)
    x = np.arange(-radius, radius + 1)
    w = np.exp(-0.5 / float(sigma_px) ** 2 * x * x)
    w /= w.sum()

    def band(n: int) -> np.ndarray:  # band[i, j] = w[j - i + radius] where |j - i| <= radius
        d = np.arange(n)[None, :] - np.arange(n)[:, None]
        return np.where(np.abs(d) <= radius, w[np.clip(d + radius, 0, 2 * radius)], 0.0)

    rows = (band(img.shape[0]) @ np.asarray(img, dtype=np.float64)).astype(np.float32)
    return (rows.astype(np.float64) @ band(img.shape[1]).T).astype(np.float32)


def render(pattern, *, direct_beam: bool = True, direct_beam_ratio: float = 5.0, psf_sigma_px: float = 0.7,
           beam_stop: BeamStop | float | None = None, noise: Noise | float | None = None,
           mapping: str = "log", gamma: float = 0.5, dynamic_range: float = 1e4, bits: int = 8,
           seed: int = 0) -> np.ndarray:
    """Detector image of a pattern.

    Args:
        pattern: `sadpnet.simulate.pattern.Pattern` (its ``intensity`` (N, N), direct beam excluded), or an
            (N, N) array of the same.
        direct_beam: add the direct beam at the centre pixel (N/2, N/2).
        direct_beam_ratio: direct-beam intensity over the brightest diffracted pixel (before blur), > 0.
        psf_sigma_px: standard deviation of the Gaussian point-spread function, pixels (0: none).
        beam_stop: None, a disc radius in pixels, or a `BeamStop`.
        noise: None, a dose in electrons over the image (Poisson only), or a `Noise`.
        mapping: "log" or "gamma".
        gamma: exponent of the "gamma" mapping (> 0).
        dynamic_range: R of the "log" mapping (> 1).
        bits: 8 (uint8 output) or 16 (uint16 output).
        seed: random seed of the noise.

    Returns:
        (N, N) uint8 or uint16 image, row 0 at the top.
    """
    img = np.array(getattr(pattern, "intensity", pattern), dtype=np.float64)
    if img.ndim != 2 or img.shape[0] != img.shape[1]:
        raise InputError(f"render needs a square 2-D intensity, got shape {img.shape}", "pattern")
    if bits not in (8, 16):
        raise InputError(f"bits must be 8 or 16, got {bits!r}", "bits")
    if mapping not in ("log", "gamma"):
        raise InputError(f"mapping must be 'log' or 'gamma', got {mapping!r}", "mapping")
    if not psf_sigma_px >= 0:
        raise InputError(f"the point-spread sigma (pixels) must be >= 0, got {psf_sigma_px!r}", "psf_sigma_px")
    if mapping == "gamma" and not gamma > 0:
        raise InputError(f"gamma must be > 0, got {gamma!r}", "gamma")
    if mapping == "log" and not dynamic_range > 1:
        raise InputError(f"the dynamic range must be > 1, got {dynamic_range!r}", "dynamic_range")
    n = img.shape[0]
    peak = img.max()
    if direct_beam:
        if not direct_beam_ratio > 0:
            raise InputError(f"the direct-beam ratio must be > 0, got {direct_beam_ratio!r}", "direct_beam_ratio")
        img[n // 2, n // 2] += direct_beam_ratio * (peak if peak > 0 else 1.0)
    if psf_sigma_px > 0:
        img = gaussian_blur(img.astype(np.float32), psf_sigma_px)
    if beam_stop is not None:
        stop = beam_stop if isinstance(beam_stop, BeamStop) else BeamStop(radius_px=float(beam_stop), arm_width_px=0.0)
        img[_beam_stop_mask(n, stop)] = 0.0
    if noise is not None:
        nz = noise if isinstance(noise, Noise) else Noise(dose_e=float(noise))
        if not nz.dose_e > 0:
            raise InputError(f"the noise needs a dose > 0 electrons, got {nz.dose_e!r}", "dose_e")
        if not nz.read_noise_e >= 0:
            raise InputError(f"read noise must be >= 0 electrons, got {nz.read_noise_e!r}", "read_noise_e")
        rng = np.random.default_rng(seed)
        total = img.sum()
        expected = img * (nz.dose_e / total) if total > 0 else img
        img = rng.poisson(np.asarray(expected, dtype=np.float64)).astype(np.float64)
        if nz.read_noise_e > 0:
            img += rng.normal(0.0, nz.read_noise_e, img.shape)
        np.maximum(img, 0.0, out=img)
    top = float(img.max())
    v = img.astype(np.float32) * np.float32(1.0 / top if top > 0 else 1.0)
    if mapping == "log":
        v = np.log1p(np.float32(dynamic_range) * v) * np.float32(1.0 / math.log1p(dynamic_range))
    else:
        v = v ** np.float32(gamma)
    full = (1 << bits) - 1
    return np.rint(np.clip(v, 0.0, 1.0) * full).astype(np.uint8 if bits == 8 else np.uint16)


def mapping_tags(*, mapping: str = "log", gamma: float = 0.5, dynamic_range: float = 1e4, bits: int = 8) -> dict:
    """The intensity mapping of a `render` call as a small dict, written into image files by
    `sadpnet.simulate.io.save_pattern` so that a reader can undo it: ``linear_intensity(image, **tags)``.

    Returns:
        ``{"mapping": "log", "dynamic_range": R, "full_scale": 255}`` (log) or ``{"mapping": "gamma",
        "gamma": g, "full_scale": ...}``; ``full_scale`` is 255 for ``bits=8`` and 65535 for ``bits=16``.
    """
    if bits not in (8, 16):
        raise InputError(f"bits must be 8 or 16, got {bits!r}", "bits")
    if mapping == "log":
        if not dynamic_range > 1:
            raise InputError(f"the dynamic range must be > 1, got {dynamic_range!r}", "dynamic_range")
        tags: dict = {"mapping": "log", "dynamic_range": float(dynamic_range)}
    elif mapping == "gamma":
        if not gamma > 0:
            raise InputError(f"gamma must be > 0, got {gamma!r}", "gamma")
        tags = {"mapping": "gamma", "gamma": float(gamma)}
    else:
        raise InputError(f"mapping must be 'log' or 'gamma', got {mapping!r}", "mapping")
    tags["full_scale"] = float((1 << bits) - 1)
    return tags


def linear_intensity(image, *, mapping: str = "log", gamma: float = 0.5, dynamic_range: float = 1e4,
                     full_scale: float = 255.0):
    """Undo step 5 of `render`: relative linear intensity (brightest pixel 1) of a rendered image.

    Args:
        image: (..., N, N) rendered values (NumPy array or torch tensor), 0..``full_scale``.
        mapping, gamma, dynamic_range: as given to `render`.
        full_scale: the value of the brightest pixel: 255 for ``bits=8``, 65535 for ``bits=16``.

    Returns:
        float32 array or tensor of the same shape in [0, 1]: ``expm1(v log(1 + R)) / R`` ("log") or
        ``v ** (1 / gamma)`` ("gamma") of ``v = image / full_scale``. 8-bit quantisation makes the weakest
        non-zero pixel of the default log mapping 3.7e-6 of the brightest.
    """
    if mapping not in ("log", "gamma"):
        raise InputError(f"mapping must be 'log' or 'gamma', got {mapping!r}", "mapping")
    if not full_scale > 0:
        raise InputError(f"full_scale must be > 0, got {full_scale!r}", "full_scale")
    try:
        import torch

        is_tensor = isinstance(image, torch.Tensor)
    except ImportError:  # pragma: no cover - torch is a dependency of the model stage only
        is_tensor = False
    if is_tensor:
        v = (image.to(torch.float32) / float(full_scale)).clamp_(0.0, 1.0)
        if mapping == "log":
            return torch.expm1(v * math.log1p(dynamic_range)) / float(dynamic_range)
        return v ** (1.0 / gamma)
    v = np.clip(np.asarray(image, dtype=np.float32) / np.float32(full_scale), 0.0, 1.0)
    if mapping == "log":
        return (np.expm1(v * np.float32(math.log1p(dynamic_range))) / np.float32(dynamic_range)).astype(np.float32)
    return (v ** np.float32(1.0 / gamma)).astype(np.float32)
