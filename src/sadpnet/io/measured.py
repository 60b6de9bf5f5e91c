"""A diffraction pattern read from a microscope file: `MeasuredPattern` and `load_pattern`."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from sadpnet.errors import InputError
from sadpnet.ranges import CALIBRATION_INV_A_PER_PX
from sadpnet.simulate.detector import MEASURED_MAPPING, IntensityMapping

#: ITU-R BT.601 luma weights (as Pillow's "L" conversion) for RGB -> grey
_LUMA = np.array([0.299, 0.587, 0.114])


@dataclass
class MeasuredPattern:
    """One measured diffraction image, ready for `sadpnet.model.preprocess.measured_to_model_input`.

    Attributes:
        image: float32 (H, W) intensities (RGB files converted to luminance).
        pixel_size_inv_a: calibration, 1/A per pixel (from the file's tags, else the caller's option), or None.
        centre_xy: direct-beam centre (column, row), pixels, sub-pixel (integer values are pixel centres).
        mask: bool (H, W), True = usable; False on the beam stop / no-signal regions, saturated and
            non-finite pixels.
        saturated: bool (H, W), True = saturated (also False in ``mask``); preprocessing keeps these
            pixels (they are the brightest spots, clipped anyway) and drops only the rest of ``~mask``.
        source: the file.
        metadata: ``format``, ``dtype``, ``shape`` (as stored), ``calibration_source`` ("file" | "option" |
            None), ``calibration_file_inv_a`` / ``calibration_option_inv_a`` when given, ``voltage_kv`` and
            ``camera_length_mm`` when the file says, ``beam_stop_fraction``, ``saturated_px``, notes.
    """

    image: np.ndarray
    pixel_size_inv_a: float | None
    centre_xy: tuple[float, float]
    mask: np.ndarray
    source: Path
    metadata: dict = field(default_factory=dict)
    saturated: np.ndarray | None = None

    @property
    def intensity_mapping(self) -> IntensityMapping:
        """What ``image`` holds (`pattern_mapping`): linear intensity, or a sadpnet file's tagged mapping."""
        return pattern_mapping(self)


def pattern_mapping(pattern) -> IntensityMapping:
    """The `IntensityMapping` of any pattern object's ``image``: the tags in ``metadata["render_mapping"]``
    (PNG/TIFF files written by sadpnet, simulated images handed over in memory), else `MEASURED_MAPPING`
    (a measured file holds linear intensity).

    Example:
        >>> from types import SimpleNamespace
        >>> pattern_mapping(SimpleNamespace(image=None, metadata={})).kind
        'linear'
    """
    tags = (getattr(pattern, "metadata", None) or {}).get("render_mapping")
    if tags is None:
        return MEASURED_MAPPING
    return IntensityMapping.from_tags(tags, str(getattr(pattern, "source", "render_mapping")))


def load_pattern(path: str | Path, *, calibration_inv_a_per_px: float | None = None,
                 find_beam_centre: bool = True) -> MeasuredPattern:
    """Read one diffraction image from a microscope or image file.

    Formats by extension: .dm3 .dm4 .mrc .emd (rosettasciio), .tif .tiff (tifffile), .png .jpg .jpeg
    (Pillow), .npy (NumPy, never unpickled). The calibration comes from the file's tags when they hold a
    reciprocal-space one (1/nm is converted to 1/A), else from ``calibration_inv_a_per_px`` (1/A per pixel),
    else it is None. The beam stop and saturated pixels are masked and the direct-beam centre found by
    Friedel symmetry (`sadpnet.io.find_centre`); ``find_beam_centre=False`` puts it at (W/2, H/2).

    Raises:
        InputError: one line naming the file: missing, unknown extension, unreadable or corrupt, not one
            2-D image (a stack says how many frames), empty, too small or constant.
    """
    from sadpnet.io.centre import find_centre
    from sadpnet.io.masks import beam_stop_mask, saturation_mask
    from sadpnet.io.readers import read_raw, reciprocal_to_inv_a

    path = Path(path)
    if calibration_inv_a_per_px is not None:
        calibration_inv_a_per_px = CALIBRATION_INV_A_PER_PX.check(calibration_inv_a_per_px)
    if not path.exists():
        raise InputError("no such file", path)
    if not path.is_file():
        raise InputError("is not a file", path)
    if path.stat().st_size == 0:
        raise InputError("is an empty file", path)
    raw = read_raw(path)
    data = raw.data
    md = {"format": raw.fmt, "dtype": str(data.dtype), "shape": [int(s) for s in data.shape]}
    md.update(raw.metadata)
    if data.dtype.kind not in "biuf":
        raise InputError(f"holds {data.dtype} data, not image intensities", path)
    if raw.rgb:
        md["converted"] = "RGB to luminance (0.299 R + 0.587 G + 0.114 B)"
        data = data[..., :3].astype(np.float64) @ _LUMA
    data = np.squeeze(data)
    if data.size == 0:
        raise InputError("holds an empty image", path)
    if data.ndim == 3:
        raise InputError(f"is a stack of {data.shape[0]} images of {data.shape[1]}x{data.shape[2]} pixels "
                         "where one 2-D image is expected; save one frame (or their sum)", path)
    if data.ndim != 2:
        raise InputError(f"holds a {data.ndim}-D array of shape {tuple(data.shape)}, not one 2-D image", path)
    if min(data.shape) < 8:
        raise InputError(f"image of {data.shape[1]}x{data.shape[0]} pixels is too small (at least 8x8)", path)
    dtype_max = float(np.iinfo(raw.data.dtype).max) if raw.data.dtype.kind in "iu" else None
    image = data.astype(np.float32)
    finite = np.isfinite(image)
    if not finite.any():
        raise InputError("holds no finite pixel values", path)
    if float(image[finite].min()) == float(image[finite].max()):
        raise InputError(f"image is constant (every pixel is {float(image[finite].min()):g})", path)

    # calibration: file tags first, then the option
    cal_file = None
    if raw.calibration is not None:
        cal_file = reciprocal_to_inv_a(*raw.calibration)
        if cal_file is None and raw.calibration[1] not in ("", "<undefined>", "pixel", "px"):
            md["file_calibration_ignored"] = (f"{raw.calibration[0]:g} {raw.calibration[1]} per pixel "
                                              "(not reciprocal space)")
        if cal_file is not None and raw.calibration_y is not None:
            cal_y = reciprocal_to_inv_a(*raw.calibration_y)
            if cal_y is not None and abs(cal_y - cal_file) > 0.01 * cal_file:
                md["note"] = f"x and y calibrations differ ({cal_file:g}, {cal_y:g} 1/A per pixel); using their mean"
                cal_file = 0.5 * (cal_file + cal_y)
    if cal_file is not None:
        pixel_size, md["calibration_source"], md["calibration_file_inv_a"] = cal_file, "file", cal_file
        if calibration_inv_a_per_px is not None:
            md["calibration_option_inv_a"] = float(calibration_inv_a_per_px)
            md["note_calibration"] = "the file's calibration was used; the option was ignored"
    elif calibration_inv_a_per_px is not None:
        pixel_size, md["calibration_source"] = float(calibration_inv_a_per_px), "option"
        md["calibration_option_inv_a"] = pixel_size
    else:
        pixel_size, md["calibration_source"] = None, None

    saturated = saturation_mask(image, dtype_max=dtype_max) & finite
    stop = beam_stop_mask(np.where(finite, image, 0.0))
    mask = finite & ~saturated & ~stop
    md["saturated_px"] = int(saturated.sum())
    md["beam_stop_fraction"] = round(float(stop.mean()), 4)
    if mask.sum() < 0.05 * mask.size:
        raise InputError("less than 5 % of the image is usable (beam stop, saturated or non-finite pixels)", path)
    h, w = image.shape
    if find_beam_centre:
        centre = find_centre(image, mask | saturated)
    else:
        centre = (w / 2.0, h / 2.0)
    md["centre_method"] = "friedel" if find_beam_centre else "geometric"
    return MeasuredPattern(image=image, pixel_size_inv_a=pixel_size, centre_xy=(float(centre[0]), float(centre[1])),
                           mask=mask, source=path, metadata=md, saturated=saturated)
