"""The simulated pattern shown beside an upload: a reference crystal of the predicted space group, on the
zone axis and in-plane rotation whose spots best fit the measured ones.

This is for the eye (the classifier does not use it). The reference crystal of a space group is one of the
shipped examples (213 beta-Mn, 221 CsCl, 225 Al, 227 Si, 229 Fe, `REFERENCE_EXAMPLES`), else the first
shipped CIF of that space group in ``resources/cifs/cif_index.csv``. Candidates: the 16 standard cubic zone
axes for cubic crystals, else the 16 lowest-index ones (`sadpnet.crystal`). Each candidate is simulated
once (`sadpnet.simulate.api.simulate`, cached) and its spots g = (g_x, g_y) (1/A, lab frame) are rotated in
the detector plane in 2-degree steps (refined to 0.1 degree); the score is the F1 of

* precision: the mean over measured spots of exp(-d^2 / 2 sigma^2), d the distance to the nearest simulated
  spot, and
* recall: the same over the simulated spots inside the measured g-range, weighted by sqrt(intensity),

with sigma = max(3 measured pixels, 2 % of |g|) (calibrations of real files are good to a few %). The winner is simulated again at that rotation and rendered
(`sadpnet.simulate.detector.render`).
"""

from __future__ import annotations

import csv
import functools
from pathlib import Path

import numpy as np

#: Shipped example crystal used to show each of the paper's five space groups.
REFERENCE_EXAMPLES: dict[int, str] = {213: "beta-Mn", 221: "CsCl", 225: "Al", 227: "Si", 229: "Fe"}

_ROTATION_STEP_DEG = 2.0
_MIN_RELATIVE_INTENSITY = 0.005  # simulated spots weaker than this (relative to the strongest) are ignored


@functools.lru_cache(maxsize=64)
def reference_crystal(space_group: int):
    """``(name, Crystal)`` of the shipped reference crystal of ``space_group``; `InputError` if none."""
    from sadpnet.crystal import read_cif
    from sadpnet.errors import InputError
    from sadpnet.resources import example_cif, resource_path

    if space_group in REFERENCE_EXAMPLES:
        name = REFERENCE_EXAMPLES[space_group]
        return name, read_cif(example_cif(name))
    with open(resource_path("cifs", "cif_index.csv"), newline="") as f:
        for row in csv.DictReader(f):
            if row.get("sg_number", "").strip() == str(space_group):
                path = resource_path("cifs", *row["file"].split("/"))
                crystal = read_cif(path)
                if crystal.space_group_number == space_group:
                    return Path(row["file"]).stem, crystal
    raise InputError(f"no shipped crystal of space group {space_group} to simulate", "space_group")


def _zone_axes(crystal) -> list[tuple[int, int, int]]:
    from sadpnet.crystal import STANDARD_CUBIC_ZONE_AXES, lowest_index_zone_axes

    if crystal.crystal_system == "cubic":
        return [tuple(int(v) for v in a) for a in STANDARD_CUBIC_ZONE_AXES]
    return [tuple(int(v) for v in a) for a in lowest_index_zone_axes(crystal.atoms.cell, 16)]


def _camera_length_mm(voltage_kv: float, size_px: int, field_radius_inv_a: float) -> float:
    """Camera length that puts ``field_radius_inv_a`` at the edge of a ``size_px`` detector."""
    from sadpnet.simulate.microscope import Microscope

    ref = Microscope(voltage_kv=voltage_kv, camera_length_mm=300.0, detector_pixels=size_px)
    return 300.0 * ref.g_max_inv_a / field_radius_inv_a  # g_max is inversely proportional to L


@functools.lru_cache(maxsize=256)
def _simulated(space_group: int, zone_axis: tuple[int, int, int], voltage_kv: float, camera_length_mm: float,
               size_px: int, inplane_rotation_deg: float = 0.0, oversample: int = 4):
    from sadpnet.simulate.api import simulate

    _, crystal = reference_crystal(space_group)
    return simulate(crystal, zone_axis, voltage_kv=voltage_kv, camera_length_mm=camera_length_mm, size_px=size_px,
                    inplane_rotation_deg=inplane_rotation_deg, oversample=oversample)


def _rotations(deg: np.ndarray) -> np.ndarray:
    t = np.deg2rad(deg)
    c, s = np.cos(t), np.sin(t)
    return np.stack([np.stack([c, -s], -1), np.stack([s, c], -1)], -2)  # (T, 2, 2), counter-clockwise


def fit_scores(measured_g: np.ndarray, sim_g: np.ndarray, sim_weight: np.ndarray, angles_deg: np.ndarray,
               sigma_px_inv_a: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """F1, precision and recall (each (T,)) of simulated spots rotated counter-clockwise by ``angles_deg``
    against measured spots (both (n, 2) g in 1/A)."""
    m = np.asarray(measured_g, float).reshape(-1, 2)
    gm = np.linalg.norm(m, axis=1)
    s = np.asarray(sim_g, float).reshape(-1, 2)
    w = np.asarray(sim_weight, float)
    gs = np.linalg.norm(s, axis=1)
    keep = (gs <= gm.max() * 1.03 + sigma_px_inv_a) & (gs >= gm.min() * 0.97 - sigma_px_inv_a)
    s, w, gs = s[keep], w[keep], gs[keep]
    t = len(angles_deg)
    if len(m) == 0 or len(s) == 0:
        z = np.zeros(t)
        return z, z, z
    rs = np.einsum("tij,nj->tni", _rotations(angles_deg), s)  # (T, n, 2)
    # |R s - m|^2 = |s|^2 + |m|^2 - 2 (R s).m  (rotation keeps |s|), without a (T, n, m, 2) array
    d2 = (gs**2)[None, :, None] + (gm**2)[None, None, :] - 2.0 * np.einsum("tni,mi->tnm", rs, m)
    sig2 = np.maximum(sigma_px_inv_a, 0.02 * np.maximum(gm[None, :], gs[:, None])) ** 2  # (n, m)
    close = np.exp(-np.maximum(d2, 0.0) / (2.0 * sig2)[None])
    precision = close.max(axis=1).mean(axis=1)
    recall = (close.max(axis=2) * w[None, :]).sum(axis=1) / w.sum()
    f1 = 2 * precision * recall / np.maximum(precision + recall, 1e-12)
    return f1, precision, recall


def best_match(space_group: int, spots_g_inv_a, *, measured_pixel_size_inv_a: float, voltage_kv: float = 200.0,
               size_px: int = 256, field_radius_inv_a: float | None = None, top_candidates: int = 5) -> dict:
    """The best-fitting simulated pattern of ``space_group`` for measured spots (lab-frame g, 1/A).

    Returns a JSON-serialisable dict: space_group, crystal (name, formula), zone_axis, inplane_rotation_deg,
    score/precision/recall (0..1), candidates (best zone axes with scores), the simulated image as a PNG data
    URL (``size_px`` square, direct beam at the centre pixel, calibration ``pixel_size_inv_a``; its half-width
    is ``field_radius_inv_a`` when given, e.g. that of the measured image, else 1.15 x the farthest measured
    spot) and its spots (hkl, pixel x/y in that image, lab-frame g in 1/A, relative intensity).
    """
    from sadpnet.errors import InputError
    from sadpnet.simulate.detector import render
    from sadpnet.web.preview import png_data_url

    m = np.asarray(spots_g_inv_a, float).reshape(-1, 2)
    m = m[np.linalg.norm(m, axis=1) > 0]
    if len(m) < 3:
        raise InputError(f"need at least 3 measured spots away from the centre to match, got {len(m)}", "spots_g_inv_a")
    name, crystal = reference_crystal(int(space_group))
    radius = float(1.15 * np.linalg.norm(m, axis=1).max())
    radius = float(np.ceil(radius * 20) / 20)  # 0.05 1/A steps: repeated requests reuse the cache
    cam_mm = round(_camera_length_mm(voltage_kv, size_px, radius), 3)
    sigma = 3.0 * float(measured_pixel_size_inv_a)
    coarse = np.arange(0.0, 360.0, _ROTATION_STEP_DEG)
    results = []
    for uvw in _zone_axes(crystal):
        pat = _simulated(int(space_group), uvw, float(voltage_kv), cam_mm, int(size_px))
        spots = [sp for sp in pat.spots if sp.intensity >= _MIN_RELATIVE_INTENSITY]
        if len(spots) < 2:
            continue
        g = np.array([sp.g_inv_a for sp in spots], float)
        w = np.sqrt(np.array([sp.intensity for sp in spots], float))
        f1, _, _ = fit_scores(m, g, w, coarse, sigma)
        i = int(np.argmax(f1))
        fine = coarse[i] + np.arange(-2.0, 2.0001, 0.1)
        f1f, pf, rf = fit_scores(m, g, w, fine, sigma)
        j = int(np.argmax(f1f))
        results.append((float(f1f[j]), float(pf[j]), float(rf[j]), uvw, float(fine[j] % 360.0)))
    if not results:
        raise InputError(f"no simulated spots for space group {space_group} inside {radius:.2f} 1/A", "space_group")
    results.sort(key=lambda r: -r[0])
    score, precision, recall, uvw, rot = results[0]
    # the image shown: the field of the measured image when given, else the matching field
    show_mm = cam_mm if field_radius_inv_a is None else round(
        _camera_length_mm(voltage_kv, size_px, float(field_radius_inv_a)), 3)
    pat = _simulated(int(space_group), uvw, float(voltage_kv), show_mm, int(size_px), round(rot, 1))
    image = render(pat, psf_sigma_px=1.2)
    u8 = image if image.dtype == np.uint8 else (image.astype(np.float64) * (255.0 / max(1, image.max()))).astype(np.uint8)
    return {
        "space_group": int(space_group), "symbol": crystal.space_group_symbol,
        "crystal": {"name": name, "formula": crystal.formula},
        "zone_axis": list(uvw), "inplane_rotation_deg": round(rot, 1),
        "score": round(score, 4), "precision": round(precision, 4), "recall": round(recall, 4),
        "n_measured_spots": int(len(m)),
        "candidates": [{"zone_axis": list(r[3]), "inplane_rotation_deg": round(r[4], 1), "score": round(r[0], 4)}
                       for r in results[:top_candidates]],
        "voltage_kv": float(voltage_kv), "camera_length_mm": show_mm, "size_px": int(size_px),
        "pixel_size_inv_a": float(pat.pixel_size_inv_a),
        "image_png": png_data_url(u8, max_px=size_px),
        "spots": [{"hkl": [int(v) for v in sp.hkl], "x": round(float(sp.pixel_xy[0]), 2),
                   "y": round(float(sp.pixel_xy[1]), 2), "g_inv_a": [round(float(v), 6) for v in sp.g_inv_a],
                   "intensity": round(float(sp.intensity), 5)}
                  for sp in pat.spots if sp.intensity >= 1e-4][:150],
    }
