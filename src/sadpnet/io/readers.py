"""Read one image and its calibration from a microscope or plain image file.

Formats (by extension): DM3/DM4, MRC, EMD through rosettasciio; TIFF through tifffile; PNG/JPEG through
Pillow; NumPy .npy through ``np.load(allow_pickle=False)`` (nothing is ever unpickled). Every failure is
an `InputError` naming the file. An image larger than `MAX_IMAGE_PIXELS` is refused from its header,
before its pixels are decoded (a 100 kB PNG may claim 100000 x 100000 pixels). PNG and TIFF files written
by `sadpnet.simulate.io.save_pattern` carry their calibration and intensity mapping; they are read back
(``metadata["render_mapping"]``: the tags of the file's `sadpnet.simulate.detector.IntensityMapping`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from sadpnet.errors import InputError
from sadpnet.simulate.detector import IntensityMapping
from sadpnet.simulate.io import PNG_CALIBRATION_KEY, PNG_RENDER_KEY, TIFF_CALIBRATION_KEY, TIFF_RENDER_KEY

#: extension -> format name
FORMATS: dict[str, str] = {
    ".dm3": "dm3", ".dm4": "dm4", ".mrc": "mrc", ".emd": "emd",
    ".tif": "tiff", ".tiff": "tiff", ".png": "png", ".jpg": "jpeg", ".jpeg": "jpeg", ".npy": "npy",
}

#: Largest image read, in pixels (all frames of a stack together; colour channels not counted): 8192 x 8192.
MAX_IMAGE_PIXELS = 8192 * 8192

#: reciprocal-length unit (as written in files) -> factor to 1/A
_RECIPROCAL_UNITS_TO_INV_A = {
    "1/nm": 0.1, "nm^-1": 0.1, "nm-1": 0.1, "1/Å": 1.0, "1/A": 1.0, "1/a": 1.0, "Å^-1": 1.0, "A^-1": 1.0,
    "1/angstrom": 1.0, "1/pm": 100.0, "1/um": 1e-4, "1/µm": 1e-4,
}


@dataclass
class RawImage:
    """What a reader found: the array (2-D, or RGB (H, W, 3|4), or a stack), its calibration and tags.

    ``calibration`` is (value per pixel, unit) of the first signal axis when the file has one, else None;
    ``calibration_y`` likewise for the other axis. ``metadata`` holds voltage_kv / camera_length_mm when
    the file gives them.
    """

    data: np.ndarray
    fmt: str
    calibration: tuple[float, str] | None = None
    calibration_y: tuple[float, str] | None = None
    rgb: bool = False
    metadata: dict = field(default_factory=dict)


def reciprocal_to_inv_a(value: float, unit: str) -> float | None:
    """Convert a per-pixel calibration in a reciprocal unit (1/nm, 1/A, ...) to 1/A; None if not reciprocal."""
    u = str(unit).strip().replace(" ", "")
    factor = _RECIPROCAL_UNITS_TO_INV_A.get(u, _RECIPROCAL_UNITS_TO_INV_A.get(u.lower()))
    if factor is None or not (isinstance(value, (int, float, np.floating)) and math.isfinite(value) and value > 0):
        return None
    return float(value) * factor


def check_image_size(shape, path: Path, channels: bool = False) -> None:
    """Refuse an image of ``shape`` (from the file's header) with more than `MAX_IMAGE_PIXELS` pixels.

    Args:
        shape: array shape as the header declares it, e.g. (rows, columns) or (frames, rows, columns).
        path: the file, named in the error.
        channels: the last axis holds colour channels (not counted).

    Raises:
        InputError: e.g. "image of 100000 x 100000 pixels is larger than sadpnet reads (at most 67,108,864
            pixels, 8192 x 8192)".

    Example:
        >>> check_image_size((1024, 1024), Path("a.png"))
    """
    dims = [int(n) for n in (shape[:-1] if channels else shape)]
    if math.prod(dims) > MAX_IMAGE_PIXELS:
        side = math.isqrt(MAX_IMAGE_PIXELS)
        raise InputError(f"image of {' x '.join(map(str, dims))} pixels is larger than sadpnet reads (at most "
                         f"{MAX_IMAGE_PIXELS:,} pixels, {side} x {side})", path)


def read_raw(path: Path) -> RawImage:
    """Read ``path`` with the reader its extension names; images over `MAX_IMAGE_PIXELS` are refused before
    their pixels are decoded."""
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise InputError(f"unknown image extension {path.suffix!r}; expected one of {', '.join(sorted(FORMATS))}", path)
    reader = {"dm3": _read_rsciio, "dm4": _read_rsciio, "mrc": _read_rsciio, "emd": _read_rsciio,
              "tiff": _read_tiff, "png": _read_pillow, "jpeg": _read_pillow, "npy": _read_npy}[fmt]
    try:
        return reader(path, fmt)
    except InputError:
        raise
    except MemoryError:
        raise InputError(f"not a readable {fmt.upper()} file (corrupt header asks for too much memory)", path) from None
    except Exception as e:  # the libraries raise many kinds of errors on corrupt files
        raise InputError(f"not a readable {fmt.upper()} file ({type(e).__name__}: {e})", path) from None


def _read_rsciio(path: Path, fmt: str) -> RawImage:
    if fmt in ("dm3", "dm4"):
        from rsciio.digitalmicrograph import file_reader
    elif fmt == "mrc":
        from rsciio.mrc import file_reader
    else:
        from rsciio.emd import file_reader
    # DM and MRC pixels are read as stored (no more than the file holds); EMD (HDF5) may be compressed, so
    # it is opened lazily and its size checked before anything is decompressed
    signals = [d for d in file_reader(str(path), lazy=fmt == "emd") if len(d["data"].shape) >= 2]
    if not signals:
        raise InputError(f"the {fmt.upper()} file holds no image", path)
    d = signals[0]
    check_image_size(d["data"].shape, path)
    data = np.asarray(d["data"])
    md: dict = {}
    if len(signals) > 1:
        md["signals_in_file"] = len(signals)
    rgb = False
    if data.dtype.names:  # DM RGB images come as a structured dtype
        names = [n for n in ("R", "G", "B") if n in data.dtype.names]
        if len(names) == 3:
            data = np.stack([data[n] for n in names], -1)
            rgb = True
    axes = [a for a in d.get("axes", []) if not a.get("navigate", False)]
    cal = caly = None
    if len(axes) >= 2:
        # axes are listed in array order (rows, then columns)
        ay, ax = axes[-2], axes[-1]
        cal = (float(ax.get("scale", 1.0)), str(ax.get("units", "")))
        caly = (float(ay.get("scale", 1.0)), str(ay.get("units", "")))
    md.update(_microscope_tags(d.get("original_metadata", {}), d.get("metadata", {})))
    return RawImage(data=data, fmt=fmt, calibration=cal, calibration_y=caly, rgb=rgb, metadata=md)


def _walk(tree, prefix=""):
    if isinstance(tree, dict):
        for k, v in tree.items():
            yield from _walk(v, f"{prefix}.{k}" if prefix else str(k))
    else:
        yield prefix, tree


def _microscope_tags(original: dict, metadata: dict) -> dict:
    """voltage_kv and camera_length_mm from the tags, when present (DM: Microscope Info; EMD Velox: Optics)."""
    out: dict = {}
    for key, v in list(_walk(metadata)) + list(_walk(original)):
        k = key.lower()
        try:
            val = float(v)
        except (TypeError, ValueError):
            continue
        if not (math.isfinite(val) and val > 0):
            continue
        if "voltage_kv" not in out and (k.endswith("microscope info.voltage") or k.endswith("tem.beam_energy")
                                        or k.endswith("optics.accelerationvoltage")):
            out["voltage_kv"] = val / 1e3 if val > 1e3 else val  # volts in DM/Velox tags, kV in HyperSpy's
        words = k.replace("_", " ").replace("cameralength", "camera length")
        if "camera_length_mm" not in out and "camera length" in words:
            out["camera_length_mm"] = val * 1e3 if val < 10 else val  # Velox writes metres, DM millimetres
    return out


def _read_tiff(path: Path, fmt: str) -> RawImage:
    import tifffile

    with tifffile.TiffFile(path) as tif:
        if not tif.series:
            raise InputError("the TIFF file holds no image", path)
        series = tif.series[0]
        axes = series.axes
        check_image_size(series.shape, path, channels="S" in axes)
        data = series.asarray()
        md: dict = {}
        if len(tif.series) > 1:
            md["series_in_file"] = len(tif.series)
        rgb = "S" in axes and data.shape[axes.index("S")] in (3, 4)
        if rgb and axes.index("S") != data.ndim - 1:
            data = np.moveaxis(data, axes.index("S"), -1)
        cal = None
        ij = tif.imagej_metadata or {}
        unit = ij.get("unit")
        page = tif.pages[0]
        if unit and "XResolution" in page.tags:
            num, den = page.tags["XResolution"].value
            if num > 0:
                cal = (den / num, str(unit).replace("\\u00B5", "µ"))
        shaped = (tif.shaped_metadata or ({},))[0] if tif.is_shaped else {}
        cal_tag, render = shaped.get(TIFF_CALIBRATION_KEY), shaped.get(TIFF_RENDER_KEY)
    if cal is None and cal_tag is not None:
        cal = _sadpnet_calibration(cal_tag, path)
    if render is not None:
        md["render_mapping"] = _render_mapping(render, path)
    return RawImage(data=data, fmt=fmt, calibration=cal, calibration_y=cal, rgb=rgb, metadata=md)


def _sadpnet_calibration(value, path: Path) -> tuple[float, str]:
    """The calibration sadpnet wrote into a PNG/TIFF file (1/A per pixel)."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        v = float("nan")
    if not (math.isfinite(v) and v > 0):
        raise InputError(f"its sadpnet calibration tag {value!r} is not a positive number of 1/A per pixel", path)
    return v, "1/A"


def _render_mapping(text, path: Path) -> dict:
    """The intensity-mapping tags sadpnet wrote into a PNG/TIFF file, checked (`IntensityMapping.to_tags`)."""
    try:
        return IntensityMapping.from_tags(text, str(path)).to_tags()
    except InputError as e:
        raise InputError(f"its sadpnet intensity-mapping tag is not valid ({e.problem})", path) from None


def _read_pillow(path: Path, fmt: str) -> RawImage:
    from PIL import Image

    try:
        im = Image.open(path)  # reads the header only
    except Image.DecompressionBombError:  # Pillow's own check, past twice its limit (which is above ours)
        raise InputError(f"image header declares more than {MAX_IMAGE_PIXELS:,} pixels, larger than sadpnet "
                         "reads", path) from None
    with im:
        check_image_size((im.size[1], im.size[0]), path)
        im.load()  # decodes now: truncated files fail here
        n_frames = getattr(im, "n_frames", 1)
        if n_frames > 1:
            raise InputError(f"is a stack of {n_frames} images; give one 2-D image", path)
        text = dict(getattr(im, "text", None) or {})  # PNG text chunks
        mode = im.mode
        if mode in ("P", "CMYK", "YCbCr"):
            im = im.convert("RGB")
            mode = im.mode
        data = np.array(im)
    rgb = mode in ("RGB", "RGBA", "RGBX")
    if mode in ("LA", "PA"):
        data = data[..., 0]
    md: dict = {"pillow_mode": mode}
    cal = _sadpnet_calibration(text[PNG_CALIBRATION_KEY], path) if PNG_CALIBRATION_KEY in text else None
    if PNG_RENDER_KEY in text:
        md["render_mapping"] = _render_mapping(text[PNG_RENDER_KEY], path)
    return RawImage(data=data, fmt=fmt, calibration=cal, calibration_y=cal, rgb=rgb, metadata=md)


def _read_npy(path: Path, fmt: str) -> RawImage:
    try:  # memory-mapped first: a header that claims more than the file holds fails here, before any allocation
        data = np.load(path, mmap_mode="r", allow_pickle=False)
    except ValueError as e:
        if "pickle" in str(e).lower() or "python objects" in str(e).lower():
            raise InputError("holds Python objects (pickled data), which sadpnet never loads; save a numeric array",
                             path) from None
        raise
    if not isinstance(data, np.ndarray):
        if hasattr(data, "close"):
            data.close()
        raise InputError("is not a single NumPy array (.npz archives are not accepted)", path)
    rgb = data.ndim == 3 and data.shape[-1] in (3, 4) and data.dtype in (np.uint8, np.uint16)
    check_image_size(data.shape, path, channels=rgb)
    return RawImage(data=np.array(data), fmt=fmt, rgb=rgb)
