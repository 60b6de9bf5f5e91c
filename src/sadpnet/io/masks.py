"""Masks of unusable detector pixels: the beam-stop shadow (and other regions that get no electrons) and
saturated pixels. Masks are bool (H, W), True where the named defect is (invert them for "usable")."""

from __future__ import annotations

import numpy as np


def saturation_mask(image: np.ndarray, dtype_max: float | None = None, min_plateau_px: int = 4) -> np.ndarray:
    """Pixels at the detector's ceiling.

    A pixel is saturated when it equals the largest value of its integer dtype (``dtype_max``), or when
    the image maximum is shared by at least ``min_plateau_px`` pixels (a flat top that real spots,
    which are peaked, do not have) and the maximum is well above the median.

    Args:
        image: (H, W) intensities.
        dtype_max: the largest value the file's integer dtype can hold, or None for float data.
        min_plateau_px: pixels at the maximum needed to call it a ceiling.

    Returns:
        bool (H, W), True = saturated.
    """
    img = np.asarray(image)
    finite = np.isfinite(img)
    if not finite.any():
        return np.zeros(img.shape, bool)
    top = float(np.max(img[finite]))
    at_top = img >= top * (1 - 1e-6) if top > 0 else img == top
    if dtype_max is not None and top >= dtype_max * (1 - 1e-6):
        return at_top
    med = float(np.median(img[finite]))
    if int(at_top.sum()) >= min_plateau_px and top > med + 0.5 * (top - float(np.min(img[finite]))):
        return at_top
    return np.zeros(img.shape, bool)


def beam_stop_mask(image: np.ndarray, *, dark_fraction: float = 0.2, max_area_fraction: float = 0.5,
                   min_area_fraction: float = 1e-3, smooth_px: float | None = None,
                   grow_px: int | None = None, min_depth: float = 0.7) -> np.ndarray:
    """The beam-stop shadow: a large region that receives (almost) no electrons, next to bright signal.

    The image is smoothed (gaussian, ``smooth_px``; default 1/256 of the smaller side, at least 1 px);
    pixels below ``dark + dark_fraction * (median - dark)`` (dark = the 0.5th percentile) are dark.
    Connected dark regions smaller than ``min_area_fraction`` of the image (gaps between spots) are
    dropped, and so are regions whose mean is not at least ``min_depth`` of the way from the threshold
    down to the dark level (a beam stop's shadow is uniformly dark; noise-dark patches of a sparse image
    and dim detector corners only dip below the threshold). The rest is grown by ``grow_px`` (default
    2 x smoothing, covers the penumbra). When the dark regions would cover more than
    ``max_area_fraction`` of the image, the image is a sparse spot
    pattern on a black background (a simulation, a figure), not a shadowed one, and nothing is masked.

    Returns:
        bool (H, W), True = beam stop / no signal.
    """
    from scipy import ndimage as ndi

    img = np.nan_to_num(np.asarray(image, dtype=np.float32), nan=0.0, posinf=0.0, neginf=0.0)
    h, w = img.shape
    sigma = smooth_px if smooth_px is not None else max(1.0, min(h, w) / 256.0)
    grow = grow_px if grow_px is not None else int(round(2 * sigma))
    g = ndi.gaussian_filter(img, sigma)
    dark, med = np.percentile(g, [0.5, 50.0])
    if not med > dark:
        return np.zeros(img.shape, bool)
    cand = g < dark + dark_fraction * (med - dark)
    labels, n = ndi.label(cand)
    if n == 0:
        return np.zeros(img.shape, bool)
    areas = np.bincount(labels.ravel(), minlength=n + 1)
    keep = areas >= min_area_fraction * h * w
    keep[0] = False
    if areas[keep].sum() > max_area_fraction * h * w:
        return np.zeros(img.shape, bool)
    # a beam stop's shadow is uniformly dark (the camera's dark level); noise-dark patches of a sparse
    # image and dim detector corners only dip below the threshold
    t = dark + dark_fraction * (med - dark)
    mean_in = ndi.mean(g, labels, index=np.arange(n + 1))
    keep &= (t - np.asarray(mean_in)) >= min_depth * (t - dark)
    out = keep[labels]
    if out.mean() > max_area_fraction:
        return np.zeros(img.shape, bool)
    if grow > 0 and out.any():
        out = ndi.binary_dilation(out, iterations=grow)
    return out
