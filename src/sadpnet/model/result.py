"""Pieces of the documented classification result shared by every classifier kind (ResNet, spot indexing)."""

from __future__ import annotations

from sadpnet.errors import InputError

#: Version of the JSON result of ``sadpnet classify --json`` (docs/classifier.md).
RESULT_VERSION = 1
#: Per-image probability floor in the product rule: one image cannot veto a class alone.
ENSEMBLE_FLOOR = 1e-4


def calibration_of(pattern, option: float | None) -> tuple[float, str]:
    """(calibration in 1/A per pixel, "file" | "option" | the file's own source word) of a loaded pattern:
    its own calibration first, else ``option``; neither: one-line InputError naming the pattern's file."""
    cal = getattr(pattern, "pixel_size_inv_a", None)
    if cal is not None:
        src = (getattr(pattern, "metadata", None) or {}).get("calibration_source") or "file"
        return float(cal), str(src)
    if option is not None:
        return float(option), "option"
    raise InputError("the image has no reciprocal-space calibration; pass --calibration-inv-a-per-px (1/A per pixel)",
                     getattr(pattern, "source", "image"))


def space_group_entry(label: str, probability: float) -> dict:
    """One ``top`` entry: a space group with symbol and crystal system, or a plain label ("other")."""
    from sadpnet.model.labels import crystal_system_of, space_group_symbol

    if label.isdigit():
        sg = int(label)
        return {"space_group": sg, "symbol": space_group_symbol(sg), "crystal_system": crystal_system_of(sg),
                "probability": float(probability)}
    return {"label": label, "probability": float(probability)}


def checked_request(patterns, calibration_inv_a_per_px: float | None, top_k: int) -> tuple[list, float | None]:
    """The checks every ``classify_images`` makes: top-k >= 1, a calibration option in its physical range,
    at least one pattern. Returns (patterns as a list, the checked calibration option)."""
    from sadpnet.ranges import CALIBRATION_INV_A_PER_PX

    if top_k < 1:
        raise InputError(f"top-k must be at least 1, got {top_k}", "top_k")
    if calibration_inv_a_per_px is not None:
        calibration_inv_a_per_px = CALIBRATION_INV_A_PER_PX.check(calibration_inv_a_per_px)
    patterns = list(patterns)
    if not patterns:
        raise InputError("no images given", "IMAGE")
    return patterns, calibration_inv_a_per_px
