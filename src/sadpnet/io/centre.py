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


def find_centre(image: np.ndarray, mask: np.ndarray | None = None, *, hidden_mask: np.ndarray | None = None,
                min_overlap: float = 0.25) -> tuple[float, float]:
    """Direct-beam centre (x, y) = (column, row) in pixels (integer values are pixel centres).

    Args:
        image: (H, W) intensities (any real dtype; NaN/inf treated as unusable).
        mask: (H, W) bool, True = usable; None = all usable.
        hidden_mask: (H, W) bool, True where the direct beam could hide (the beam stop); default ``~mask``.
        min_overlap: a candidate centre must overlap at least this fraction of the usable pixels with
            its 180-degree rotation (keeps the answer away from the image corners).

    Returns:
        (x, y) floats, sub-pixel.
    """
    img = np.asarray(image, dtype=np.float64)
    if img.ndim != 2 or min(img.shape) < 4:
        raise InputError(f"expected a 2-D image of at least 4x4 pixels, got shape {img.shape}", "image")
    m = np.isfinite(img) if mask is None else (np.asarray(mask, bool) & np.isfinite(img))
    if m.shape != img.shape:
        raise InputError(f"mask shape {m.shape} differs from image shape {img.shape}", "mask")
    if m.sum() < 16:
        raise InputError("too few usable pixels to find the centre", "mask")
    hidden = ~m if hidden_mask is None else np.asarray(hidden_mask, bool)
    img = np.where(m, img, 0.0)
    b = max(1, int(np.ceil(max(img.shape) / _MAX_SEARCH_PX)))
    if b == 1:
        return _search(img, m, hidden, min_overlap)
    # search on a b x b binned image, then refine on the full one near 2c
    hb, wb = img.shape[0] // b, img.shape[1] // b
    def binned(x):
        return x[: hb * b, : wb * b].reshape(hb, b, wb, b).mean(axis=(1, 3))
    mb = binned(m.astype(np.float64))
    xb, yb = _search(binned(img) / np.maximum(mb, 1e-12), mb > 0.5, binned(hidden.astype(np.float64)) > 0.5,
                     min_overlap)
    c0 = np.array([(xb + 0.5) * b - 0.5, (yb + 0.5) * b - 0.5])
    return _refine(_flattened(img, m)[1].astype(np.float32), m, c0, radius_px=b // 2 + 1)


#: images larger than this (pixels on a side) are searched binned, then refined at full resolution
_MAX_SEARCH_PX = 400


def _flattened(img: np.ndarray, m: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(a, f): the log-compressed masked image and its background-flattened, lightly smoothed version."""
    from scipy import ndimage as ndi

    h, w = img.shape
    lo = np.percentile(img[m], 1.0)
    a = np.where(m, np.clip(img - lo, 0.0, None), 0.0)
    scale = np.median(a[m])
    if not scale > 0:
        scale = a[m].mean() if a[m].mean() > 0 else 1.0
    a = np.log1p(a / scale)
    mf = m.astype(np.float64)
    sig_bg = max(h, w) / 40.0
    bg = ndi.gaussian_filter(a * mf, sig_bg) / np.maximum(ndi.gaussian_filter(mf, sig_bg), 1e-6)
    sig = max(1.0, max(h, w) / 512.0)
    f = ndi.gaussian_filter((a - bg) * mf, sig) * mf
    return a, f


def _search(img: np.ndarray, m: np.ndarray, hidden: np.ndarray, min_overlap: float) -> tuple[float, float]:
    """Full search (FFT) over all candidate centres; see the module docstring."""
    from scipy import ndimage as ndi

    h, w = img.shape
    a, f = _flattened(img, m)
    mf = m.astype(np.float64)
    total = mf.sum()

    def ncc_map(g):
        num, den, overlap = _full_convolutions([(g, g), (g * g, mf), (mf, mf)])
        ok = (overlap > min_overlap * total) & (den > 1e-12 * max(den.max(), 1e-300))
        return np.where(ok, num / np.where(ok, den, 1.0), -np.inf)

    # envelope: the heavily smoothed image (diffuse glow, spot-intensity fall-off) about its centre
    env = ndi.gaussian_filter((a - a[m].mean()) * mf, max(h, w) / 32.0) * mf
    e = ncc_map(env)
    ey, ex = np.unravel_index(int(np.argmax(e)), e.shape)
    c_env = np.array([ex / 2.0, ey / 2.0])
    # spot positions: symmetric about the direct beam but also about every other lattice point and
    # half lattice vector, so several candidates; pick the direct beam among them
    ncc = ncc_map(f)
    peak = float(ncc.max()) if np.isfinite(ncc.max()) else 0.0
    loc = (ncc == ndi.maximum_filter(ncc, size=5)) & np.isfinite(ncc) & (ncc >= 0.5 * peak)
    py_all, px_all = np.nonzero(loc)
    if py_all.size == 0:
        py, px = ey, ex
    else:
        cand = np.stack([px_all / 2.0, py_all / 2.0], 1)  # (x, y) centres
        # the direct beam is hidden by the beam stop, or (visible) outshines every other candidate;
        # otherwise take the candidate nearest the envelope's centre
        r_e = max(2.0, min(h, w) / 100.0)
        ci = np.clip(np.rint(cand).astype(int), 0, [w - 1, h - 1])
        hid = ndi.uniform_filter(hidden.astype(np.float64), int(2 * r_e) | 1)[ci[:, 1], ci[:, 0]]
        lin = np.where(m, np.clip(img - np.percentile(img[m], 1.0), 0.0, None), 0.0)  # linear, not log
        bright = ndi.gaussian_filter(lin, r_e / 2)[ci[:, 1], ci[:, 0]]
        dist = np.hypot(*(cand - c_env).T)
        order = np.argsort(-bright)
        if len(order) > 1 and bright[order[0]] > 1.5 * max(bright[order[1]], 1e-12) and hid[order[0]] < 0.5:
            k = order[0]
        elif (hid >= 0.5).any():
            idx = np.flatnonzero(hid >= 0.5)
            k = idx[np.argmin(dist[idx])]
        else:
            k = int(np.argmin(dist))
        py, px = py_all[k], px_all[k]
    dy = _parabola_offset(ncc, py, px, axis=0)
    dx = _parabola_offset(ncc, py, px, axis=1)
    return (px + dx) / 2.0, (py + dy) / 2.0


def _full_convolutions(pairs):
    """Full linear convolutions of same-shaped (H, W) pairs by FFT -> list of (2H-1, 2W-1) arrays."""
    from scipy import fft

    h, w = pairs[0][0].shape
    shape = (fft.next_fast_len(2 * h - 1, real=True), fft.next_fast_len(2 * w - 1, real=True))
    cache: dict[int, np.ndarray] = {}

    def spec(x):
        if id(x) not in cache:
            cache[id(x)] = fft.rfft2(x, shape, workers=1)
        return cache[id(x)]

    return [fft.irfft2(spec(x) * spec(y), shape, workers=1)[: 2 * h - 1, : 2 * w - 1] for x, y in pairs]


def _refine(f: np.ndarray, m: np.ndarray, c0: np.ndarray, radius_px: int) -> tuple[float, float]:
    """Best 2c = p within ``radius_px`` of 2 c0 by direct sums (no FFT), then a parabola."""
    h, w = f.shape
    mf = m.astype(np.float32)
    rot, mrot = f[::-1, ::-1], mf[::-1, ::-1]
    p0 = np.rint(2 * c0).astype(int)
    r = int(2 * radius_px)
    scores = np.full((2 * r + 1, 2 * r + 1), -np.inf)
    for iy, py in enumerate(range(p0[1] - r, p0[1] + r + 1)):
        for ix, px in enumerate(range(p0[0] - r, p0[0] + r + 1)):
            # f(p - x) for pixel x = rot[x + (H-1-py), ...]: overlap of f with rot shifted by (H-1-py, W-1-px)
            sy, sx = h - 1 - py, w - 1 - px
            y0, y1 = max(0, -sy), min(h, h - sy)
            x0, x1 = max(0, -sx), min(w, w - sx)
            if y1 - y0 < 2 or x1 - x0 < 2:
                continue
            a = f[y0:y1, x0:x1]
            num = float(np.sum(a * rot[y0 + sy:y1 + sy, x0 + sx:x1 + sx]))
            den = float(np.sum(a * a * mrot[y0 + sy:y1 + sy, x0 + sx:x1 + sx]))
            if den > 0:
                scores[iy, ix] = num / den
    iy, ix = np.unravel_index(int(np.argmax(scores)), scores.shape)
    dy = _parabola_offset(scores, iy, ix, axis=0)
    dx = _parabola_offset(scores, iy, ix, axis=1)
    return (p0[0] - r + ix + dx) / 2.0, (p0[1] - r + iy + dy) / 2.0


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
