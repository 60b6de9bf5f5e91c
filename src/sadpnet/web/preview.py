"""What the page shows of an uploaded pattern: a log-scaled preview image and the spots found in it.

`find_spots` is a simple peak finder for display (the classifier does not use it): log-compress, subtract a
broad Gaussian background, keep local maxima that stand well above the noise (median + ``k`` MAD of the
residual over the usable pixels), away from the direct beam and from masked (beam stop, saturated)
pixels. `png_data_url` turns an image into an 8-bit log-scaled PNG data URL, at most ``max_px`` on a side.
"""

from __future__ import annotations

import base64
import io as _io

import numpy as np


def bin_image(image: np.ndarray, mask: np.ndarray | None, factor: int) -> tuple[np.ndarray, np.ndarray | None]:
    """Block means of ``factor`` x ``factor`` pixels (edge rows/columns that do not fill a block dropped);
    the mask keeps a block only if all its pixels are usable."""
    if factor <= 1:
        return image, mask
    h, w = (image.shape[0] // factor) * factor, (image.shape[1] // factor) * factor
    out = np.zeros((h // factor, w // factor), np.float32)
    keep = None if mask is None else np.ones(out.shape, bool)
    for dy in range(factor):  # strided sums: much faster than a 4-D reshape + mean
        for dx in range(factor):
            out += image[dy:h:factor, dx:w:factor]
            if keep is not None:
                keep &= mask[dy:h:factor, dx:w:factor]
    out /= factor * factor
    return out, keep


def log_scaled_u8(image: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
    """(H, W) uint8: log1p of the image above its 1st percentile, stretched to the 0.1-99.95 % range.

    Masked pixels (``mask`` False) are shown black.
    """
    img = np.asarray(image, dtype=np.float32)
    usable = np.isfinite(img) if mask is None else (np.asarray(mask, bool) & np.isfinite(img))
    vals = img[usable] if usable.any() else img[np.isfinite(img)]
    if vals.size == 0:
        return np.zeros(img.shape, np.uint8)
    floor = np.percentile(vals, 1.0)
    lg = np.log1p(np.clip(np.nan_to_num(img - floor, nan=0.0), 0.0, None))
    lo, hi = np.percentile(lg[usable] if usable.any() else lg, [0.1, 99.95])
    if hi <= lo:
        hi = lo + 1.0
    out = np.clip((lg - lo) / (hi - lo), 0.0, 1.0) * 255.0
    out[~usable] = 0
    return out.astype(np.uint8)


def preview_png(image: np.ndarray, mask: np.ndarray | None = None, max_px: int = 512) -> str:
    """Log-scaled PNG data URL of a pattern, block-averaged first to at most ~``max_px`` on a side (fast)."""
    img = np.asarray(image, dtype=np.float32)
    f = max(1, int(np.ceil(max(img.shape) / max_px)))
    img, mask = bin_image(img, mask, f)
    return png_data_url(log_scaled_u8(img, mask), max_px=max_px)


def png_data_url(image_u8: np.ndarray, max_px: int = 512) -> str:
    """``data:image/png;base64,...`` of a uint8 (H, W) image, box-downsampled to at most ``max_px``."""
    from PIL import Image

    im = Image.fromarray(np.ascontiguousarray(image_u8), mode="L")
    h, w = image_u8.shape
    scale = max_px / max(h, w)
    if scale < 1.0:
        im = im.resize((max(1, round(w * scale)), max(1, round(h * scale))), Image.Resampling.BOX)
    buf = _io.BytesIO()
    im.save(buf, format="PNG", optimize=False, compress_level=3)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def find_spots(image: np.ndarray, mask: np.ndarray | None = None, centre_xy: tuple[float, float] | None = None,
               *, max_spots: int = 80, k_mad: float = 6.0, min_separation_px: int | None = None) -> list[dict]:
    """Bright spots of a diffraction pattern, strongest first.

    Args:
        image: (H, W) intensities.
        mask: (H, W) bool, True where usable; peaks within a few pixels of unusable pixels are dropped.
        centre_xy: direct-beam centre (column, row), px; peaks closer than ``min_separation_px`` to it are
            the direct beam and are dropped.
        max_spots: at most this many spots.
        k_mad: threshold in robust standard deviations (1.4826 MAD) of the background-subtracted log image.
        min_separation_px: the local-maximum window (default about 1/80 of the image side, at least 5 px).

    Returns:
        ``[{"x": column_px, "y": row_px, "strength": s}]`` with sub-pixel (3x3 centroid) positions and
        ``strength`` the peak height above background in log units.
    """
    from scipy import ndimage

    img = np.nan_to_num(np.asarray(image, dtype=np.float32), nan=0.0)
    h, w = img.shape
    usable = np.ones(img.shape, bool) if mask is None else np.asarray(mask, bool).copy()
    # Work on a 2x-binned copy of large images (speed); positions are mapped back.
    bin_f = 2 if min(h, w) >= 768 else 1
    img, usable = bin_image(img, usable, bin_f)
    floor = np.percentile(img[usable], 1.0) if usable.any() else float(img.min())
    lg = np.log1p(np.clip(img - floor, 0.0, None))
    side = min(img.shape)
    res = _masked_gaussian(lg, usable, max(1.0, side / 400.0)) - _masked_gaussian(lg, usable, max(3.0, side / 64.0))
    win = min_separation_px // bin_f if min_separation_px else max(5, int(side / 80) | 1)
    win = max(3, win | 1)
    near_bad = ndimage.binary_dilation(~usable, iterations=max(win, int(0.02 * side))) if (~usable).any() else ~usable
    vals = res[usable & ~near_bad]
    if vals.size < 16:
        return []
    med = float(np.median(vals))
    sigma = 1.4826 * float(np.median(np.abs(vals - med))) + 1e-6
    thresh = med + k_mad * sigma
    peaks = (res == ndimage.maximum_filter(res, size=win)) & (res > thresh) & ~near_bad
    rows, cols = np.nonzero(peaks)
    if rows.size == 0:
        return []
    strength = res[rows, cols]
    order = np.argsort(-strength)
    padded = np.pad(res, 1, mode="edge")
    out: list[dict] = []
    for i in order:
        r, c = int(rows[i]), int(cols[i])
        patch = padded[r:r + 3, c:c + 3] - thresh
        patch = np.clip(patch, 0.0, None)
        tot = float(patch.sum())
        dy, dx = (0.0, 0.0) if tot <= 0 else (float((patch.sum(1) * [-1, 0, 1]).sum() / tot),
                                             float((patch.sum(0) * [-1, 0, 1]).sum() / tot))
        x = (c + dx + 0.5) * bin_f - 0.5
        y = (r + dy + 0.5) * bin_f - 0.5
        if centre_xy is not None and np.hypot(x - centre_xy[0], y - centre_xy[1]) < max(win * bin_f, 0.05 * min(h, w)):
            continue
        out.append({"x": round(x, 2), "y": round(y, 2), "strength": round(float(strength[i]), 4)})
        if len(out) >= max_spots:
            break
    return out


def _masked_gaussian(values: np.ndarray, usable: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian smoothing over the usable pixels only (normalised convolution), so masked regions
    (beam stop) do not bleed into their surroundings."""
    from scipy import ndimage

    wgt = usable.astype(np.float32)
    num = ndimage.gaussian_filter(np.where(usable, values, 0.0).astype(np.float32), sigma)
    den = ndimage.gaussian_filter(wgt, sigma)
    return num / np.maximum(den, 1e-3)


def spots_g_inv_a(spots: list[dict], centre_xy: tuple[float, float], pixel_size_inv_a: float) -> np.ndarray:
    """(n, 2) lab-frame g = (g_x, g_y) in 1/A of spots at (x, y) px: g_x = (x - cx) cal, g_y = -(y - cy) cal
    (image rows grow downwards, lab y points up; docs/conventions.md)."""
    xy = np.array([[s["x"], s["y"]] for s in spots], dtype=float).reshape(-1, 2)
    return np.stack([(xy[:, 0] - centre_xy[0]) * pixel_size_inv_a, -(xy[:, 1] - centre_xy[1]) * pixel_size_inv_a], axis=1)
