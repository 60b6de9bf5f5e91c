"""The one preprocessing every diffraction pattern goes through before a model sees it.

Simulated patterns (training) and real microscope files (inference) both pass through
`to_model_input` (one image, NumPy) or `to_model_input_batch` (many images, torch; the same code), so the
model sees the same kind of input in both. Steps, in this order:

0. **The model's intensity mapping** (before this module): every image says what its values are with a
   `sadpnet.simulate.detector.IntensityMapping` (a store's, a file's tags, linear for measured files), and
   is converted once into the mapping the model card names (``input_mapping``, `sadpnet.model.card.input_mapping`):
   decoded to linear intensity, encoded into the card's mapping (nothing at all when the two are the same;
   `to_input_mapping`). Cards made before the contract name no mapping and take images as they are given.
   The functions below take the converted values and never decode or encode again.

1. **Resample** the image about its direct-beam centre ``centre_xy`` (column, row pixels; integer values
   are pixel centres) onto the model's grid: ``size_px`` square, ``target_pixel_size_inv_a`` 1/A per pixel,
   the beam on the centre of pixel (size_px/2, size_px/2) as in ``docs/conventions.md``. Each output
   pixel is the masked mean of the input over its footprint (separable area resampling, banded: a few
   weighted row copies per axis; linear interpolation when enlarging), so spots neither vanish nor alias
   when shrinking. Output pixels not fully (95 %) covered by usable input (outside the image, beam stop)
   are unusable.
2. **Background**: a masked white top-hat (the image minus its grey opening with a square window of
   ``background_window_inv_a`` 1/A side; unusable pixels ignored, and pixels within half a window of
   them dropped, so a beam stop leaves no rim) removes the diffuse central glow and uneven background and keeps spots narrower than the window; the noise
   floor (median + ``noise_mads`` x 1.4826 MAD of the usable pixels) is subtracted, negatives clipped to
   0, and the result blurred by a gaussian of ``spot_sigma_inv_a`` 1/A (sharp simulated and broad real
   spots come out alike).
3. **Central disc**: every pixel closer than ``central_disc_radius_inv_a`` 1/A to the centre (direct beam,
   beam stop tip) is set to 0, as are unusable pixels.
4. **Intensity**: divide by the ``normalise_quantile`` quantile of the usable pixels (default 0.998: the
   brightest spots), then ``log1p(log_gain * x) / log1p(log_gain)`` and clip to [0, 1]. A blank image
   stays all 0.

Output: float32 (size_px, size_px) in [0, 1]. Deterministic (no random choices; CPU torch ops).

Limits: if the scale change ``target_pixel_size_inv_a / pixel_size_inv_a`` lies outside
[1/max_scale_change, max_scale_change], or less than ``min_field_fraction`` of the output square would be
covered by the input image, `InputError` names both calibrations.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np

from sadpnet.errors import InputError

if TYPE_CHECKING:  # pragma: no cover
    import torch

    from sadpnet.io.measured import MeasuredPattern
    from sadpnet.simulate.detector import IntensityMapping

#: Suggested model grid: 128 px of 0.0266 1/A (+-1.70 1/A, twice the 1/A per pixel of the default
#: 256-px detector at 200 kV and 300 mm).
DEFAULT_SIZE_PX = 128
DEFAULT_TARGET_PIXEL_SIZE_INV_A = 0.0266


#: Intensity keys of the ``preprocessing`` of cards made before ``input_mapping`` (read by
#: `sadpnet.model.card.input_mapping`).
LEGACY_KEYS = ("stored_log_range", "stored_full_scale")


@dataclass(frozen=True)
class PreprocessSettings:
    """Everything `to_model_input` needs besides the image; store ``to_dict()`` in a model card.

    Attributes:
        target_pixel_size_inv_a: the model's reciprocal-space calibration, 1/A per pixel.
        size_px: side of the model's square input, pixels.
        central_disc_radius_inv_a: radius of the disc about the direct beam set to 0, 1/A (0.15 1/A is
            below the first allowed reflection of every cubic crystal with a < 6.6 A, and of the
            face-centred ones, first ring {111}, with a < 11.5 A).
        background_window_inv_a: side of the top-hat window, 1/A (wider than a spot, narrower than the
            spacing of neighbouring spots).
        noise_mads: after the top-hat, subtract median + noise_mads x 1.4826 MAD of the usable pixels
            (the noise floor of real detectors; 0 for a noise-free simulation).
        spot_sigma_inv_a: gaussian blur after the top-hat, 1/A (sharp simulated and broad real spots
            come out alike; 0 = none).
        log_gain: dynamic-range compression, ``log1p(gain x) / log1p(gain)`` of the normalised image.
        normalise_quantile: quantile of the usable pixels that maps to 1 before compression.
        max_scale_change: largest allowed ratio of input and target calibrations (either way).
        min_field_fraction: least fraction of the output square the input image must cover.

    The intensity mapping of the input is not a preprocessing setting: it is the card's ``input_mapping``
    (cards made before it carried ``stored_log_range`` / ``stored_full_scale`` here; `from_dict` reads past
    them and `sadpnet.model.card.input_mapping` turns them into the mapping).
    """

    target_pixel_size_inv_a: float = DEFAULT_TARGET_PIXEL_SIZE_INV_A
    size_px: int = DEFAULT_SIZE_PX
    central_disc_radius_inv_a: float = 0.15
    background_window_inv_a: float = 0.12
    noise_mads: float = 3.0
    spot_sigma_inv_a: float = 0.02
    log_gain: float = 100.0
    normalise_quantile: float = 0.998
    max_scale_change: float = 8.0
    min_field_fraction: float = 0.25

    def __post_init__(self) -> None:
        for name in ("target_pixel_size_inv_a", "log_gain", "max_scale_change"):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and math.isfinite(v) and v > 0):
                raise InputError(f"must be a positive number, got {v!r}", name)
        for name in ("central_disc_radius_inv_a", "background_window_inv_a", "noise_mads", "spot_sigma_inv_a"):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and math.isfinite(v) and v >= 0):
                raise InputError(f"must be a non-negative number of 1/A, got {v!r}", name)
        if int(self.size_px) != self.size_px or self.size_px < 8:
            raise InputError(f"must be an integer of at least 8 pixels, got {self.size_px!r}", "size_px")
        if not 0.5 <= self.normalise_quantile < 1:
            raise InputError(f"must be in [0.5, 1), got {self.normalise_quantile!r}", "normalise_quantile")
        if not 0 <= self.min_field_fraction <= 1:
            raise InputError(f"must be in [0, 1], got {self.min_field_fraction!r}", "min_field_fraction")
        if self.max_scale_change < 1:
            raise InputError(f"must be at least 1, got {self.max_scale_change!r}", "max_scale_change")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "PreprocessSettings":
        """Settings of a card's ``preprocessing`` dict (its legacy intensity keys `LEGACY_KEYS` skipped)."""
        d = {k: v for k, v in d.items() if k not in LEGACY_KEYS}
        unknown = set(d) - set(cls.__dataclass_fields__)
        if unknown:
            raise InputError(f"unknown preprocessing settings {sorted(unknown)}", "preprocess")
        return cls(**d)


def to_model_input(
    image: np.ndarray,
    pixel_size_inv_a: float | None,
    *,
    centre_xy: Sequence[float] | None = None,
    mask: np.ndarray | None = None,
    target_pixel_size_inv_a: float = DEFAULT_TARGET_PIXEL_SIZE_INV_A,
    size_px: int = DEFAULT_SIZE_PX,
    max_scale_change: float = 8.0,
    **settings: Any,
) -> np.ndarray:
    """Preprocess one pattern for the model (see the module docstring for the steps).

    Args:
        image: (H, W) intensities, any real dtype.
        pixel_size_inv_a: the image's calibration, 1/A per pixel; None raises `InputError` (the caller
            decides what an uncalibrated image means).
        centre_xy: direct-beam centre (column, row), pixels; None = (W/2, H/2), the simulator's convention.
        mask: (H, W) bool, True = usable (False: beam stop, saturated, dead pixels); None = all usable.
        target_pixel_size_inv_a, size_px, max_scale_change, **settings: fields of `PreprocessSettings`.

    Returns:
        float32 (size_px, size_px) array in [0, 1].
    """
    s = PreprocessSettings(target_pixel_size_inv_a=target_pixel_size_inv_a, size_px=size_px,
                           max_scale_change=max_scale_change, **settings)
    img = np.asarray(image)
    if img.ndim != 2:
        raise InputError(f"expected one 2-D image, got an array of shape {img.shape}", "image")
    if mask is not None:
        mask = np.asarray(mask, dtype=bool)
        if mask.shape != img.shape:
            raise InputError(f"mask shape {mask.shape} differs from image shape {img.shape}", "mask")
        mask = mask[None]
    centre = None if centre_xy is None else np.asarray(centre_xy, dtype=np.float64).reshape(1, 2)
    out = to_model_input_batch(img[None], [pixel_size_inv_a], centre_xy=centre, mask=mask, settings=s)
    return out[0].numpy()


def to_input_mapping(image, mapping: "IntensityMapping | None", input_mapping: "IntensityMapping | None"):
    """``image`` (values of ``mapping``) converted into a model's ``input_mapping`` (decoded once, encoded
    once; unchanged when they are equal). Either None: unchanged (an image already in the model's mapping, or a
    model card made before the intensity contract, which takes images as they are given).

    Example:
        >>> from sadpnet.simulate.detector import DEFAULT_MAPPING, MEASURED_MAPPING
        >>> to_input_mapping(np.array([[255, 0]], np.uint8), DEFAULT_MAPPING, MEASURED_MAPPING).round(4)
        array([[1., 0.]], dtype=float32)
    """
    if mapping is None or input_mapping is None:
        return image
    return mapping.convert(image, input_mapping)


def measured_to_model_input(pattern: "MeasuredPattern", settings: PreprocessSettings | None = None,
                            input_mapping: "IntensityMapping | None" = None) -> np.ndarray:
    """`to_model_input` of a `sadpnet.io.MeasuredPattern`: its image converted from its own intensity mapping
    (`sadpnet.io.pattern_mapping`: linear for measured files, the tags of a sadpnet file) into
    ``input_mapping`` (`to_input_mapping`; None: as it is), its calibration and centre, and its mask with the
    saturated pixels given back (they are the brightest spots, not missing data; clipped anyway)."""
    from sadpnet.io.measured import pattern_mapping

    s = settings or PreprocessSettings()
    if pattern.pixel_size_inv_a is None:
        raise InputError("the file has no reciprocal-space calibration and none was given "
                         "(calibration_inv_a_per_px)", pattern.source)
    mask = pattern.mask
    if getattr(pattern, "saturated", None) is not None:
        mask = mask | pattern.saturated
    try:
        image = to_input_mapping(pattern.image, pattern_mapping(pattern), input_mapping)
        return to_model_input(image, pattern.pixel_size_inv_a, centre_xy=pattern.centre_xy, mask=mask,
                              **s.to_dict())
    except InputError as e:
        raise InputError(e.problem, pattern.source) from None


def to_model_input_batch(
    images: "np.ndarray | torch.Tensor",
    pixel_size_inv_a: "float | Sequence[float] | np.ndarray",
    *,
    centre_xy: "np.ndarray | torch.Tensor | None" = None,
    mask: "np.ndarray | torch.Tensor | None" = None,
    settings: PreprocessSettings | None = None,
    chunk: int = 64,
) -> "torch.Tensor":
    """Preprocess a batch of same-sized patterns with torch (CPU or the tensor's device).

    Args:
        images: (B, H, W) intensities.
        pixel_size_inv_a: one calibration for all or one per image (B,), 1/A per pixel.
        centre_xy: (B, 2) centres (column, row), pixels; None = (W/2, H/2) for all.
        mask: (B, H, W) bool, True = usable; None = all usable.
        settings: `PreprocessSettings` (defaults when None).
        chunk: images processed at once (bounds the memory used).

    Returns:
        float32 tensor (B, size_px, size_px) in [0, 1], on the images' device.
    """
    import torch

    s = settings or PreprocessSettings()
    x = torch.as_tensor(np.asarray(images) if not isinstance(images, torch.Tensor) else images)
    if x.ndim != 3:
        raise InputError(f"expected a (B, H, W) batch, got shape {tuple(x.shape)}", "images")
    b, h, w = x.shape
    if h < 2 or w < 2:
        raise InputError(f"image of {h}x{w} pixels is too small", "images")
    x = x.to(torch.float32)
    cal = _calibrations(pixel_size_inv_a, b)
    scale = s.target_pixel_size_inv_a / cal  # input pixels per output pixel, (B,)
    bad = np.flatnonzero((scale > s.max_scale_change) | (scale < 1.0 / s.max_scale_change))
    if bad.size:
        i = int(bad[0])
        raise InputError(
            f"calibration {cal[i]:.6g} 1/A per pixel cannot be resampled to the model's "
            f"{s.target_pixel_size_inv_a:.6g} 1/A per pixel: a scale change of {scale[i]:.3g}x is beyond "
            f"max_scale_change={s.max_scale_change:g}", "pixel_size_inv_a")
    if centre_xy is None:
        centre = np.tile([w / 2.0, h / 2.0], (b, 1))
    else:
        centre = np.asarray(centre_xy.cpu() if isinstance(centre_xy, torch.Tensor) else centre_xy, dtype=np.float64)
        if centre.shape != (b, 2) or not np.all(np.isfinite(centre)):
            raise InputError(f"expected finite (B, 2) centres, got shape {centre.shape}", "centre_xy")
    _check_field(scale, centre, h, w, s, cal)
    if mask is not None:
        m = torch.as_tensor(np.asarray(mask) if not isinstance(mask, torch.Tensor) else mask)
        if tuple(m.shape) != (b, h, w):
            raise InputError(f"mask shape {tuple(m.shape)} differs from images shape {(b, h, w)}", "mask")
        m = m.to(device=x.device, dtype=torch.float32)
    else:
        m = None
    if x.dtype.is_floating_point and not bool(torch.isfinite(x.sum())):  # a sum is cheaper than a mask
        bad_px = ~torch.isfinite(x)
        m = (~bad_px).to(torch.float32) if m is None else m * (~bad_px).to(torch.float32)
        x = torch.nan_to_num(x, nan=0.0, posinf=0.0, neginf=0.0)
    outs = []
    for i0 in range(0, b, chunk):
        sl = slice(i0, i0 + chunk)
        outs.append(_preprocess_chunk(x[sl], None if m is None else m[sl], scale[sl], centre[sl], s))
    return torch.cat(outs, 0)


def _calibrations(pixel_size_inv_a, b: int) -> np.ndarray:
    if pixel_size_inv_a is None:
        raise InputError("the image has no reciprocal-space calibration (1/A per pixel); give one",
                         "pixel_size_inv_a")
    cal = np.asarray(pixel_size_inv_a, dtype=object)
    if cal.ndim == 0:
        cal = np.full(b, cal.item(), dtype=object)
    if cal.shape != (b,) or any(c is None for c in cal):
        raise InputError("the image has no reciprocal-space calibration (1/A per pixel); give one"
                         if any(c is None for c in cal.ravel()) else
                         f"expected one calibration or {b}, got shape {cal.shape}", "pixel_size_inv_a")
    cal = cal.astype(np.float64)
    if not np.all(np.isfinite(cal) & (cal > 0)):
        bad = cal[~(np.isfinite(cal) & (cal > 0))][:3]
        raise InputError(f"calibrations must be positive numbers of 1/A per pixel, got {bad}",
                         "pixel_size_inv_a")
    return cal


def _check_field(scale: np.ndarray, centre: np.ndarray, h: int, w: int, s: PreprocessSettings, cal: np.ndarray) -> None:
    """Fraction of the output square that falls inside the input image (interval overlap per axis)."""
    half = s.size_px / 2.0 * scale  # half-width of the output field, input pixels
    fx = (np.minimum(centre[:, 0] + half, w - 0.5) - np.maximum(centre[:, 0] - half, -0.5)).clip(0) / (2 * half)
    fy = (np.minimum(centre[:, 1] + half, h - 0.5) - np.maximum(centre[:, 1] - half, -0.5)).clip(0) / (2 * half)
    frac = fx * fy
    bad = np.flatnonzero(frac < s.min_field_fraction)
    if bad.size:
        i = int(bad[0])
        raise InputError(
            f"at calibration {cal[i]:.6g} 1/A per pixel the image ({w}x{h} px, centre {centre[i, 0]:.1f}, "
            f"{centre[i, 1]:.1f}) covers only {100 * frac[i]:.0f} % of the model's field of "
            f"{s.size_px} px x {s.target_pixel_size_inv_a:.6g} 1/A per pixel (at least "
            f"{100 * s.min_field_fraction:.0f} % needed)", "pixel_size_inv_a")


def _preprocess_chunk(x, m, scale: np.ndarray, centre: np.ndarray, s: PreprocessSettings):
    import torch
    import torch.nn.functional as F

    b, h, w = x.shape
    n = int(s.size_px)
    dev = x.device
    # 1. area resampling, separable: out = Ry @ image @ Rx^T per image, with the banded R applied as a
    # few weighted gathers (a dense bmm costs ~30x the multiply-adds)
    iy, wy = _resampling_weights(n, h, centre[:, 1], scale, dev)  # (B, n, K)
    ix, wx = _resampling_weights(n, w, centre[:, 0], scale, dev)
    if m is None:
        num = _resample(x, iy, wy, ix, wx)
        cover = wy.sum(2)[:, :, None] * wx.sum(2)[:, None, :]
    else:
        num = _resample(x * m, iy, wy, ix, wx)
        cover = _resample(m, iy, wy, ix, wx)
    valid = cover > 0.95  # partly covered pixels (beam-stop edge) carry its penumbra
    val = torch.where(valid, num / cover.clamp_min(1e-6), torch.zeros_like(cover))
    # 2. masked white top-hat: opening ignores unusable pixels
    k = max(3, 2 * int(round(s.background_window_inv_a / s.target_pixel_size_inv_a / 2.0)) + 1)
    inf = torch.tensor(float("inf"), device=dev)
    ero = -_max_filter(torch.where(valid, -val, -inf), k)  # +inf where a window holds no usable pixel
    opened = _max_filter(torch.nan_to_num(ero, posinf=float("-inf")), k)  # finite on usable pixels
    top = torch.where(valid, val - opened, torch.zeros_like(val)).clamp_min_(0)
    # next to an unusable region the window is one-sided and a falling background (the glow around a
    # beam stop) leaves a rim: those pixels (within half a window) become unusable too
    if not bool(valid.all()):
        valid = _max_filter((~valid).to(val.dtype), k) <= 0
    # 3. central disc
    r = torch.arange(n, dtype=torch.float32, device=dev) - n / 2.0
    rr = r[None, :] ** 2 + r[:, None] ** 2
    r0 = s.central_disc_radius_inv_a / s.target_pixel_size_inv_a
    valid = valid & (rr >= r0 * r0)[None]
    top = top * valid
    # noise floor: median + noise_mads x (1.4826 MAD) of the usable pixels (every 7th pixel: plenty)
    flat = torch.where(valid, top, torch.full_like(top, float("nan"))).reshape(b, -1)[:, ::7]
    med = torch.nan_to_num(torch.nanmedian(flat, dim=1).values, nan=0.0)
    mad = torch.nan_to_num(torch.nanmedian((flat - med[:, None]).abs(), dim=1).values, nan=0.0)
    floor = med + s.noise_mads * 1.4826 * mad
    top = (top - floor[:, None, None]).clamp_min(0) * valid
    # spot size: a gaussian of spot_sigma_inv_a makes sharp (simulated) and broad (real) spots alike
    sig = s.spot_sigma_inv_a / s.target_pixel_size_inv_a
    if sig > 0:
        top = _gaussian_blur(top, sig) * valid
    # 4. normalise by a high quantile of the usable pixels, compress, clip
    nvalid = valid.reshape(b, -1).sum(1)
    kth = (s.normalise_quantile * nvalid.to(torch.float64)).floor().clamp_min(1).to(torch.long)  # 1-based rank
    from_top = (nvalid - kth).clamp_min(0)  # 0-based rank from the top of the usable pixels
    kmax = int(from_top.max()) + 1
    top_vals = torch.topk(torch.where(valid, top, torch.full_like(top, -1.0)).reshape(b, -1), kmax, dim=1).values
    q = top_vals.gather(1, from_top[:, None])[:, 0].clamp_min(0)
    q = torch.where(q > 0, q, top_vals[:, 0].clamp_min(0))  # sparse patterns: fall back to the maximum
    gain = torch.where(q > 0, s.log_gain / q.clamp_min(1e-30), torch.zeros_like(q))[:, None, None]
    y = (top * gain).add_(1.0).log_().mul_(1.0 / math.log1p(s.log_gain))  # log1p is several times slower
    return y.clamp_(0.0, 1.0).contiguous()


def _resampling_weights(n: int, size_in: int, centre: np.ndarray, scale: np.ndarray, dev):
    """Banded resampling along one axis: input indices and weights, each (B, n, K).

    Output pixel j spans input coordinates centre + (j - n/2 +- 0.5) * scale; its weights are the overlaps
    of a footprint of width max(scale, 1) about that centre with the input pixels [i - 0.5, i + 0.5],
    divided by the width: the area mean when shrinking, linear interpolation when enlarging. Weights of
    pixels outside the image are 0, so they sum to the covered fraction. K = ceil(max width) + 1.
    """
    import torch

    sc = torch.as_tensor(scale, dtype=torch.float64)[:, None, None]
    c = torch.as_tensor(centre, dtype=torch.float64)[:, None, None]
    j = torch.arange(n, dtype=torch.float64)[None, :, None]
    width = sc.clamp_min(1.0)
    kk = int(math.ceil(float(width.max()))) + 1
    mid = c + (j - n / 2.0) * sc
    first = torch.floor(mid - width / 2 + 0.5)  # first input pixel the footprint touches
    i = first + torch.arange(kk, dtype=torch.float64)[None, None, :]
    ov = (torch.minimum(mid + width / 2, i + 0.5) - torch.maximum(mid - width / 2, i - 0.5)).clamp_min(0.0)
    inside = (i >= 0) & (i <= size_in - 1)
    wts = torch.where(inside, ov / width, torch.zeros_like(ov))
    idx = i.clamp(0, size_in - 1).to(torch.long)
    return idx.to(dev), wts.to(torch.float32).to(dev)


def _resample(x, iy, wy, ix, wx):
    """(B, H, W) -> (B, n, n): rows, then columns (on the transpose), each a sum of K weighted copies of
    whole rows picked by index."""
    import torch

    b = x.shape[0]
    bi = torch.arange(b, device=x.device)[:, None]

    def along_rows(a, idx, wts):  # a (B, R, C) -> (B, n, C)
        out = a[bi, idx[:, :, 0]] * wts[:, :, 0, None]
        for k in range(1, idx.shape[2]):
            out.add_(a[bi, idx[:, :, k]] * wts[:, :, k, None])
        return out

    rows = along_rows(x, iy, wy)  # (B, n, W)
    return along_rows(rows.transpose(1, 2).contiguous(), ix, wx).transpose(1, 2)


def _shifted(x, r: int, fill: float):
    """The (2r+1) copies of (B, H, W) shifted by -r..r along columns (as contiguous slices of the padded
    image flattened row by row: strided column slices are several times slower), and a function giving
    the same along rows. Out-of-image neighbours read ``fill``."""
    import torch.nn.functional as F

    b, h, w = x.shape
    wp = w + 2 * r
    flat = F.pad(x, (r, r, 0, 0), value=fill).reshape(b, h * wp)
    n = h * wp - 2 * r

    def unflatten(y):
        return F.pad(y, (0, 2 * r)).reshape(b, h, wp)[..., :w]

    def rows_of(y):
        yp = F.pad(y, (0, 0, r, r), value=fill)
        return [yp[:, d:d + h, :] for d in range(2 * r + 1)]

    return [flat[:, d:d + n] for d in range(2 * r + 1)], unflatten, rows_of


def _gaussian_blur(x, sigma_px: float):
    """Separable gaussian blur of (B, H, W) (zero padding), kernel truncated at 3 sigma."""
    r = max(1, int(math.ceil(3 * sigma_px)))
    k = np.exp(-0.5 * (np.arange(-r, r + 1) / sigma_px) ** 2)
    k = (k / k.sum()).tolist()
    cols, unflatten, rows_of = _shifted(x, r, 0.0)
    y = cols[0] * k[0]
    for kk, v in zip(k[1:], cols[1:]):
        y.add_(v, alpha=kk)
    rows = rows_of(unflatten(y).contiguous())
    z = rows[0] * k[0]
    for kk, v in zip(k[1:], rows[1:]):
        z.add_(v, alpha=kk)
    return z


def _max_filter(x, k: int):
    """Separable k x k maximum filter of (B, H, W) with edge pixels ignored (padding -inf)."""
    import torch

    cols, unflatten, rows_of = _shifted(x, k // 2, float("-inf"))
    y = cols[0].clone()
    for v in cols[1:]:
        torch.maximum(y, v, out=y)
    rows = rows_of(unflatten(y).contiguous())
    z = rows[0].clone()
    for v in rows[1:]:
        torch.maximum(z, v, out=z)
    return z
