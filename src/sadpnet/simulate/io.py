"""Write simulated patterns: an image (PNG, TIFF or .npy, chosen by suffix) plus a JSON sidecar.

Both files are written atomically (temporary name, then rename): a failure leaves neither half-written.
The sidecar is `Pattern.spots_json()` (calibration, zone axis, space group, metadata, indexed spots).

PNG and TIFF images also carry, inside the file, the calibration (1/A per pixel) and, for rendered images,
the tags of its `sadpnet.simulate.detector.IntensityMapping`: PNG as text chunks
``sadpnet:pixel_size_inv_a`` and ``sadpnet:render`` (JSON), TIFF in its JSON description (keys
``pixel_size_inv_a`` and ``sadpnet_render``). `sadpnet.io.load_pattern` reads both back, so a simulated
file can be classified without ``--calibration`` and converted to the input a model expects.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np

from sadpnet.atomic_write import atomic_path
from sadpnet.errors import InputError
from sadpnet.simulate.detector import DEFAULT_MAPPING, IntensityMapping

#: Image suffixes `save_pattern` writes.
IMAGE_SUFFIXES = (".png", ".tif", ".tiff", ".npy")


def sidecar_path(out_path: str | Path) -> Path:
    """Default JSON sidecar beside an image: ``OUT.png`` -> ``OUT.json``."""
    return Path(out_path).with_suffix(".json")


def check_output_path(out_path: str | Path, where: str = "output") -> Path:
    """Validate an image path's suffix (before any work is done); returns it as a Path."""
    p = Path(out_path)
    if p.suffix.lower() not in IMAGE_SUFFIXES:
        raise InputError(f"output must end in {', '.join(IMAGE_SUFFIXES)}, got {str(p)!r}", where)
    return p


#: Name of the PNG text chunk / TIFF description key holding the render mapping (JSON).
PNG_RENDER_KEY, TIFF_RENDER_KEY = "sadpnet:render", "sadpnet_render"
#: Name of the PNG text chunk / TIFF description key holding the calibration, 1/A per pixel.
PNG_CALIBRATION_KEY, TIFF_CALIBRATION_KEY = "sadpnet:pixel_size_inv_a", "pixel_size_inv_a"


def save_pattern(pattern, image: np.ndarray | None, out_path: str | Path, spots_path: str | Path | None = None,
                 *, mapping: "IntensityMapping | dict | None" = None) -> tuple[Path, Path]:
    """Write ``image`` to ``out_path`` (format by suffix) and the spots JSON to ``spots_path``.

    Args:
        pattern: the simulated `Pattern` (for the sidecar; and the image itself when ``image`` is None).
        image: (N, N) uint8/uint16 from `sadpnet.simulate.detector.render`, or None to write the raw float
            intensity (``.npy`` and ``.tif`` only).
        out_path: ``.png`` (8- or 16-bit greyscale), ``.tif``/``.tiff`` or ``.npy``.
        spots_path: JSON sidecar; default ``out_path`` with suffix ``.json``.
        mapping: the `sadpnet.simulate.detector.IntensityMapping` ``image`` was rendered with (or its tags),
            written into PNG/TIFF files as its tags; None: `DEFAULT_MAPPING` at ``image``'s bit depth.
            Ignored for the raw float intensity (``image`` None).

    Returns:
        (image path, sidecar path).
    """
    out = check_output_path(out_path)
    side = Path(spots_path) if spots_path is not None else sidecar_path(out)
    if side.resolve() == out.resolve():
        raise InputError("the spots JSON and the image would be the same file", str(side))
    arr = np.asarray(pattern.intensity if image is None else image)
    suffix = out.suffix.lower()
    if suffix == ".png" and arr.dtype not in (np.uint8, np.uint16):
        raise InputError(f"PNG needs an 8- or 16-bit image, got {arr.dtype}", str(out))
    tags = None
    if image is not None and arr.dtype in (np.uint8, np.uint16):
        if mapping is None:
            mapping = dataclasses.replace(DEFAULT_MAPPING, bits=8 * arr.dtype.itemsize)
        elif not isinstance(mapping, IntensityMapping):
            mapping = IntensityMapping.from_tags(mapping, "mapping")
        tags = mapping.to_tags()
    text = json.dumps(pattern.spots_json(), indent=1)
    with atomic_path(out) as tmp_img, atomic_path(side) as tmp_json:
        if suffix == ".png":
            from PIL import Image
            from PIL.PngImagePlugin import PngInfo

            info = PngInfo()
            info.add_text(PNG_CALIBRATION_KEY, repr(float(pattern.pixel_size_inv_a)))
            if tags is not None:
                info.add_text(PNG_RENDER_KEY, json.dumps(tags))
            Image.fromarray(arr).save(tmp_img, format="PNG", pnginfo=info)
        elif suffix in (".tif", ".tiff"):
            import tifffile

            meta = {TIFF_CALIBRATION_KEY: float(pattern.pixel_size_inv_a)}
            if tags is not None:
                meta[TIFF_RENDER_KEY] = json.dumps(tags)
            tifffile.imwrite(tmp_img, arr, metadata=meta)
        else:
            with open(tmp_img, "wb") as fh:
                np.save(fh, arr)
        tmp_json.write_text(text)
    return out, side
