"""What the page shows of an uploaded pattern: a log-scaled preview image and the spots found in it.

`spot_list` gives the spots the spot-indexing classifier reads (`sadpnet.model.spots.find_spots` on the
linear image: one spot finder for the page and the classifier), as pixel positions in the file's image.
`preview_png` turns an image into an 8-bit log-scaled PNG data URL, at most ``max_px`` on a side.
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


def spot_list(pattern, pixel_size_inv_a: float | None = None) -> list[dict]:
    """The spots the spot-indexing classifier reads of a loaded pattern (`sadpnet.model.spot_classifier.
    pattern_spots`: `sadpnet.model.spots.find_spots` on the linear image, the pattern's centre and mask),
    strongest first, as the page draws them.

    Args:
        pattern: a loaded pattern (`sadpnet.io.load_pattern`).
        pixel_size_inv_a: calibration, 1/A per pixel; None: no ``g_inv_a`` (the spots found are the same,
            the finder does not need a calibration).

    Returns:
        ``[{"x": column_px, "y": row_px, "intensity": relative, "g_inv_a": [g_x, g_y]}]``: sub-pixel position
        in the file's image (pixels), background-removed peak relative to the strongest spot (0..1], and the
        lab-frame reciprocal vector in 1/A (x right, y up) when calibrated.
    """
    from sadpnet.model.spot_classifier import beam_centre, pattern_spots

    cx, cy = beam_centre(pattern)
    spots = pattern_spots(pattern)  # g in pixels from the centre (calibration 1), y up
    out = []
    for (dx, dy), rel in zip(spots.g_inv_a, spots.intensity):
        spot = {"x": round(cx + float(dx), 2), "y": round(cy - float(dy), 2), "intensity": round(float(rel), 5)}
        if pixel_size_inv_a is not None:
            spot["g_inv_a"] = [round(float(dx * pixel_size_inv_a), 6), round(float(dy * pixel_size_inv_a), 6)]
        out.append(spot)
    return out
