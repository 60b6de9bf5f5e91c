"""The detector: turn a `Pattern`'s diffracted intensity into an 8- or 16-bit image.

Steps, in order (each optional):

1. direct beam: ``direct_beam_ratio`` x the brightest diffracted pixel is added at the centre pixel
   (N/2, N/2) (the kinematic direct beam is far brighter than any spot; the ratio sets how much);
2. point-spread: a Gaussian of ``psf_sigma_px`` pixels (detector and optics blur; 0 = none);
3. beam stop: pixels under a disc (and an optional arm to the edge) are set to 0;
4. noise: Poisson shot noise for a ``dose_e`` electrons in the whole image, plus Gaussian read noise of
   ``read_noise_e`` electrons per pixel (seeded by ``seed``);
5. mapping to [0, 1] relative to the brightest pixel: "log" (log(1 + R v) / log(1 + R), R =
   ``dynamic_range``: pixels at 1/R of the brightest map to log(2)/log(1+R)), "gamma" (v ** gamma) or
   "linear" (v);
6. quantisation to ``bits`` = 8 (uint8) or 16 (uint16); 32: float32, not quantised.

Steps 5 and 6 are one `IntensityMapping`, the project's single intensity contract: every image that travels
(dataset stores, PNG/TIFF files, measured files, a model's input) says what it holds with one, and is turned
into another by ``decode`` (to linear intensity) and ``encode`` (from it). Its defaults, `DEFAULT_MAPPING`,
are the ones `render` uses. Measured files hold linear intensity (`MEASURED_MAPPING`).

`render` is deterministic for a given seed.
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass
from typing import Literal

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

#: Full-scale (brightest) stored value of each bit depth; 32 = float32, not quantised.
FULL_SCALE = {8: 255.0, 16: 65535.0, 32: 1.0}
MAPPING_KINDS = ("linear", "log", "gamma")


@dataclass(frozen=True)
class IntensityMapping:
    """How stored pixel values relate to the linear intensity a detector records (steps 5-6 of `render`).

    Attributes:
        kind: "log" (``log(1 + R v) / log(1 + R)``), "gamma" (``v ** gamma``) or "linear" (``v``), of the
            intensity ``v`` relative to the brightest pixel.
        dynamic_range: R of "log" (> 1); ignored (kept at its default) by the other kinds.
        gamma: exponent of "gamma" (> 0); ignored (kept at its default) by the other kinds.
        bits: 8 (uint8, full scale 255), 16 (uint16, 65535) or 32 (float32, not quantised; "linear" at 32
            bits stores the intensity itself, in any unit).

    Example:
        >>> m = IntensityMapping("log", dynamic_range=1e4, bits=8)
        >>> m.encode(np.array([[1.0, 1e-4]]))
        array([[255,  19]], dtype=uint8)
        >>> IntensityMapping.from_tags(m.to_tags()) == m
        True
    """

    kind: Literal["linear", "log", "gamma"] = "log"
    dynamic_range: float = 1e4
    gamma: float = 0.5
    bits: int = 8

    def __post_init__(self) -> None:
        if self.kind not in MAPPING_KINDS:
            raise InputError(f"mapping must be one of {', '.join(MAPPING_KINDS)}, got {self.kind!r}", "mapping")
        if self.bits not in FULL_SCALE:
            raise InputError(f"bits must be 8, 16 or 32, got {self.bits!r}", "bits")
        if self.kind == "log" and not (isinstance(self.dynamic_range, (int, float)) and math.isfinite(self.dynamic_range)
                                       and self.dynamic_range > 1):
            raise InputError(f"the dynamic range must be > 1, got {self.dynamic_range!r}", "dynamic_range")
        if self.kind == "gamma" and not (isinstance(self.gamma, (int, float)) and math.isfinite(self.gamma)
                                         and self.gamma > 0):
            raise InputError(f"gamma must be > 0, got {self.gamma!r}", "gamma")
        # parameters a kind does not use are kept at their defaults, so equal mappings compare equal
        object.__setattr__(self, "dynamic_range", float(self.dynamic_range) if self.kind == "log" else 1e4)
        object.__setattr__(self, "gamma", float(self.gamma) if self.kind == "gamma" else 0.5)

    @property
    def full_scale(self) -> float:
        """The stored value of the brightest pixel: 255, 65535, or 1.0 (float32)."""
        return FULL_SCALE[self.bits]

    @property
    def dtype(self) -> np.dtype:
        return np.dtype({8: np.uint8, 16: np.uint16, 32: np.float32}[self.bits])

    def encode(self, linear_intensity) -> np.ndarray:
        """Stored values of a linear intensity (any shape, >= 0), relative to its brightest pixel.

        Returns an array of ``dtype``: ``rint(f(v) * full_scale)`` of ``v = max(I, 0) / max(I)`` (8 and 16
        bits) or ``f(v)`` as float32 (32 bits; "linear" at 32 bits returns the intensity unchanged, as
        float32). Non-finite pixels become 0.
        """
        img = np.asarray(linear_intensity)
        if self.kind == "linear" and self.bits == 32:
            return img.astype(np.float32)
        if img.size and not np.isfinite(img.sum()):  # measured files: non-finite pixels (masked there) -> 0
            img = np.where(np.isfinite(img), img, 0.0)
        top = float(img.max()) if img.size else 0.0
        v = np.maximum(img.astype(np.float32) * np.float32(1.0 / top if top > 0 else 1.0), np.float32(0.0))
        if self.kind == "log":
            v = np.log1p(np.float32(self.dynamic_range) * v) * np.float32(1.0 / math.log1p(self.dynamic_range))
        elif self.kind == "gamma":
            v = v ** np.float32(self.gamma)
        if self.bits == 32:
            return np.clip(v, 0.0, 1.0).astype(np.float32)
        return np.rint(np.clip(v, 0.0, 1.0) * self.full_scale).astype(self.dtype)

    def decode(self, stored):
        """Linear intensity (float32, same shape; NumPy array or torch tensor as given) of stored values:
        relative to the brightest pixel (1) for 8/16 bits and mapped kinds, unchanged for "linear" at 32 bits.
        8-bit quantisation makes the weakest non-zero pixel of the default log mapping 3.7e-6 of the brightest."""
        torch = sys.modules.get("torch")  # a tensor exists only where torch is imported (importing it: 2 s)
        if torch is not None and isinstance(stored, torch.Tensor):
            v = stored.to(torch.float32)
            if self.kind == "linear" and self.bits == 32:
                return v
            self._check_range(float(v.max()) if v.numel() else 0.0)
            v = (v / self.full_scale).clamp_(0.0, 1.0)
            if self.kind == "log":
                return torch.expm1(v * math.log1p(self.dynamic_range)) / self.dynamic_range
            return v ** (1.0 / self.gamma) if self.kind == "gamma" else v
        v = np.asarray(stored, dtype=np.float32)
        if self.kind == "linear" and self.bits == 32:
            return v
        self._check_range(float(v.max()) if v.size else 0.0)
        v = np.clip(v / np.float32(self.full_scale), 0.0, 1.0)
        if self.kind == "log":
            return (np.expm1(v * np.float32(math.log1p(self.dynamic_range))) / np.float32(self.dynamic_range)
                    ).astype(np.float32)
        if self.kind == "gamma":
            return (v ** np.float32(1.0 / self.gamma)).astype(np.float32)
        return v.astype(np.float32)

    def _check_range(self, top: float) -> None:
        """Refuse stored values above the full scale: the image does not hold this mapping."""
        if top > self.full_scale * (1 + 1e-6):
            raise InputError(f"holds values up to {top:g}, beyond the full scale {self.full_scale:g} of its "
                             f"intensity mapping {self.to_tags()}: it holds another mapping or bit depth", "image")

    def convert(self, stored, to: "IntensityMapping"):
        """Stored values of this mapping as values of mapping ``to``: unchanged when the two are equal,
        else ``to.encode(self.decode(stored))`` (decoded once, encoded once)."""
        if to == self:
            return stored
        linear = self.decode(stored)
        if to.kind == "linear" and to.bits == 32:
            return linear
        return to.encode(linear.cpu().numpy() if hasattr(linear, "cpu") else linear)

    def to_tags(self) -> dict:
        """JSON-ready dict written into image files, stores and model cards: ``{"mapping": "log",
        "dynamic_range": R, "full_scale": 255.0}``, ``{"mapping": "gamma", "gamma": g, "full_scale": ...}`` or
        ``{"mapping": "linear", "full_scale": ...}`` (full scale 1.0: float32)."""
        tags: dict = {"mapping": self.kind}
        if self.kind == "log":
            tags["dynamic_range"] = self.dynamic_range
        elif self.kind == "gamma":
            tags["gamma"] = self.gamma
        tags["full_scale"] = self.full_scale
        return tags

    @classmethod
    def from_tags(cls, tags, where: str = "mapping") -> "IntensityMapping":
        """The mapping of `to_tags` output (also a JSON string; tags written by sadpnet before 2026-12 are the
        same). `InputError` naming ``where`` for anything else."""
        import json

        try:
            d = json.loads(tags) if isinstance(tags, str) else dict(tags)
            bits = {v: k for k, v in FULL_SCALE.items()}[float(d.get("full_scale", 255.0))]
            unknown = set(d) - {"mapping", "dynamic_range", "gamma", "full_scale"}
            if unknown:
                raise ValueError(f"unknown keys {sorted(unknown)}")
            return cls(kind=d["mapping"], dynamic_range=float(d.get("dynamic_range", 1e4)),
                       gamma=float(d.get("gamma", 0.5)), bits=bits)
        except InputError as e:
            raise InputError(f"intensity mapping {tags!r} is not valid: {e.problem}", where) from None
        except (ValueError, TypeError, KeyError) as e:
            raise InputError(f"intensity mapping {tags!r} is not valid ({e})", where) from None


#: The mapping `render` uses unless told otherwise (and that stores made before it was recorded hold).
DEFAULT_MAPPING = IntensityMapping()
#: What a measured file holds: linear intensity, in its own units.
MEASURED_MAPPING = IntensityMapping("linear", bits=32)


def intensity_mapping(mapping: "str | IntensityMapping | None" = None, *, gamma: float | None = None,
                      dynamic_range: float | None = None, bits: int | None = None) -> IntensityMapping:
    """An `IntensityMapping` from `render`-style keyword arguments (None: `DEFAULT_MAPPING`'s value), or the
    given one (then no other argument may be given)."""
    if isinstance(mapping, IntensityMapping):
        if (gamma, dynamic_range, bits) != (None, None, None):
            raise InputError("give an IntensityMapping or its keyword arguments, not both", "mapping")
        return mapping
    d = DEFAULT_MAPPING
    return IntensityMapping(kind=d.kind if mapping is None else mapping,
                            dynamic_range=d.dynamic_range if dynamic_range is None else dynamic_range,
                            gamma=d.gamma if gamma is None else gamma, bits=d.bits if bits is None else bits)



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
    rows then columns, rounded to float32 after each pass), as a sum of shifted copies per axis: keeps scipy's
    import (about 0.3 s) off ``sadpnet simulate``. Shape (H, W) in, (H, W) float32 out.

    Example::

        >>> img = np.zeros((5, 5), np.float32); img[2, 2] = 1
        >>> round(float(gaussian_blur(img, 0.7).sum()), 6)
        1.0
    """
    radius = int(truncate * float(sigma_px) + 0.5)
    x = np.arange(-radius, radius + 1)
    w = np.exp(-0.5 / float(sigma_px) ** 2 * x * x)
    w /= w.sum()
    return _blur_axis(_blur_axis(np.asarray(img, dtype=np.float32), w, 0), w, 1)


def _blur_axis(img: np.ndarray, w: np.ndarray, axis: int) -> np.ndarray:
    """``img`` convolved with the symmetric kernel ``w`` along ``axis``, zeros outside (float64 sum, float32 out)."""
    r, n = len(w) // 2, img.shape[axis]
    pad = [(0, 0), (0, 0)]
    pad[axis] = (r, r)
    padded = np.pad(img.astype(np.float64), pad)
    out = np.zeros(img.shape, dtype=np.float64)
    for k, wk in enumerate(w):
        out += wk * (padded[k:k + n] if axis == 0 else padded[:, k:k + n])
    return out.astype(np.float32)


def render(pattern, *, direct_beam: bool = True, direct_beam_ratio: float = 5.0, psf_sigma_px: float = 0.7,
           beam_stop: BeamStop | float | None = None, noise: Noise | float | None = None,
           mapping: "str | IntensityMapping | None" = None, gamma: float | None = None,
           dynamic_range: float | None = None, bits: int | None = None, seed: int = 0) -> np.ndarray:
    """Detector image of a pattern.

    Args:
        pattern: `sadpnet.simulate.pattern.Pattern` (its ``intensity`` (N, N), direct beam excluded), or an
            (N, N) array of the same.
        direct_beam: add the direct beam at the centre pixel (N/2, N/2).
        direct_beam_ratio: direct-beam intensity over the brightest diffracted pixel (before blur), > 0.
        psf_sigma_px: standard deviation of the Gaussian point-spread function, pixels (0: none).
        beam_stop: None, a disc radius in pixels, or a `BeamStop`.
        noise: None, a dose in electrons over the image (Poisson only), or a `Noise`.
        mapping: an `IntensityMapping`, or its kind ("log", "gamma", "linear") with ``gamma``,
            ``dynamic_range`` and ``bits`` (None: `DEFAULT_MAPPING`'s values: log, R = 1e4, 8 bits).
        seed: random seed of the noise.

    Returns:
        (N, N) image of the mapping's dtype (uint8, uint16; float32 for 32 bits), row 0 at the top.

    Example:
        >>> render(np.eye(4), direct_beam=False, psf_sigma_px=0).dtype
        dtype('uint8')
    """
    img = np.array(getattr(pattern, "intensity", pattern), dtype=np.float64)
    if img.ndim != 2 or img.shape[0] != img.shape[1]:
        raise InputError(f"render needs a square 2-D intensity, got shape {img.shape}", "pattern")
    m = intensity_mapping(mapping, gamma=gamma, dynamic_range=dynamic_range, bits=bits)
    if not psf_sigma_px >= 0:
        raise InputError(f"the point-spread sigma (pixels) must be >= 0, got {psf_sigma_px!r}", "psf_sigma_px")
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
    return m.encode(img)


def mapping_tags(*, mapping: str | None = None, gamma: float | None = None, dynamic_range: float | None = None,
                 bits: int | None = None) -> dict:
    """``intensity_mapping(...).to_tags()``: the tags of a `render` call's mapping (kept for callers that
    pass keyword arguments), e.g. ``{"mapping": "log", "dynamic_range": 1e4, "full_scale": 255.0}``."""
    return intensity_mapping(mapping, gamma=gamma, dynamic_range=dynamic_range, bits=bits).to_tags()


def linear_intensity(image, *, mapping: str = "log", gamma: float = 0.5, dynamic_range: float = 1e4,
                     full_scale: float = 255.0):
    """``IntensityMapping.from_tags(tags).decode(image)`` for the keyword form of the tags (``mapping``,
    ``gamma``, ``dynamic_range``, ``full_scale``: 255, 65535 or 1.0): linear intensity, float32."""
    if not (isinstance(full_scale, (int, float)) and full_scale > 0):
        raise InputError(f"full_scale must be > 0, got {full_scale!r}", "full_scale")
    tags = {"mapping": mapping, "dynamic_range": dynamic_range, "gamma": gamma, "full_scale": full_scale}
    return IntensityMapping.from_tags(tags, "mapping").decode(image)
