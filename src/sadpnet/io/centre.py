"""Direct-beam centre of a diffraction pattern from its Friedel symmetry.

A kinematic (and, to a good approximation, a real zone-axis) pattern is centrosymmetric about the direct
beam: I(c + r) = I(c - r). So the centre c maximises the normalised correlation of the image with its
180-degree rotation about c. For every candidate 2c = p that correlation is a convolution of the image
with itself, evaluated for all p at once by FFT:

    NCC(p) = sum_r f(r) f(p - r) / sum_r f(r)^2 m(p - r)

with f the masked, log-compressed, background-flattened image and m the usable-pixel mask (beam stop,
saturated and dead pixels excluded, so a beam stop over the centre does not matter). The peak's position
is refined to sub-pixel by a parabola through its neighbours; c = p / 2, so half-pixel steps in p are
quarter-pixel steps in c before refinement.
"""

from __future__ import annotations

import numpy as np

from sadpnet.errors import InputError


def find_centre(image: np.ndarray, mask: np.ndarray | None = None, *, min_overlap: float = 0.25) -> tuple[float, float]:
    """Direct-beam centre (x, y) = (column, row) in pixels (integer values are pixel centres).

    Args:
        image: (H, W) intensities (any real dtype; NaN/inf treated as unusable).
        mask: (H, W) bool, True = usable; None = all usable.
        min_overlap: a candidate centre must overlap at least this fraction of the usable pixels with
            its 180-degree rotation (keeps the answer away from the image corners).

    Returns:
        (x, y) floats, sub-pixel.
    """
    from scipy import ndimage as ndi
    from scipy.signal import fftconvolve

    img = np.asarray(image, dtype=np.float64)
    if img.ndim != 2 or min(img.shape) < 4:
        raise InputError(f"expected a 2-D image of at least 4x4 pixels, got shape {img.shape}", "image")
    m = np.isfinite(img) if mask is None else (np.asarray(mask, bool) & np.isfinite(img))
    if m.shape != img.shape:
        raise InputError(f"mask shape {m.shape} differs from image shape {img.shape}", "mask")
    if m.sum() < 16:
        raise InputError("too few usable pixels to find the centre", "mask")
    h, w = img.shape
    vals = img[m]
    lo = np.percentile(vals, 1.0)
    a = np.where(m, np.clip(img - lo, 0.0, None), 0.0)
    scale = np.median(a[m])
    if not scale > 0:
        scale = a[m].mean() if a[m].mean() > 0 else 1.0
    a = np.log1p(a / scale)
    mf = m.astype(np.float64)
    # flatten the background (normalised convolution ignores unusable pixels), then smooth a little
    sig_bg = max(h, w) / 40.0
    den = ndi.gaussian_filter(mf, sig_bg)
    bg = ndi.gaussian_filter(a * mf, sig_bg) / np.maximum(den, 1e-6)
    f = (a - bg) * mf
    sig = max(1.0, max(h, w) / 512.0)
    f = ndi.gaussian_filter(f, sig) * mf
    num = fftconvolve(f, f, mode="full")
    den = fftconvolve(f * f, mf, mode="full")
    overlap = fftconvolve(mf, mf, mode="full")
    ok = (overlap > min_overlap * mf.sum()) & (den > 1e-12 * max(den.max(), 1e-300))
    ncc = np.where(ok, num / np.where(ok, den, 1.0), -np.inf)
    py, px = np.unravel_index(int(np.argmax(ncc)), ncc.shape)
    dy = _parabola_offset(ncc, py, px, axis=0)
    dx = _parabola_offset(ncc, py, px, axis=1)
    return (px + dx) / 2.0, (py + dy) / 2.0


def _parabola_offset(a: np.ndarray, i: int, j: int, axis: int) -> float:
    """Sub-pixel offset of a peak at (i, j) from a parabola through it and its two neighbours."""
    if axis == 0:
        if i == 0 or i == a.shape[0] - 1:
            return 0.0
        ym, y0, yp = a[i - 1, j], a[i, j], a[i + 1, j]
    else:
        if j == 0 or j == a.shape[1] - 1:
            return 0.0
        ym, y0, yp = a[i, j - 1], a[i, j], a[i, j + 1]
    if not (np.isfinite(ym) and np.isfinite(yp)):
        return 0.0
    d = ym - 2 * y0 + yp
    if d >= 0:
        return 0.0
    return float(np.clip(0.5 * (ym - yp) / d, -0.5, 0.5))
