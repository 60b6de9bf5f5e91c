"""Fixed test patterns of the held-out real crystals (`sadpnet.data.holdout`), as users hand them over.

Protocol (seeded, stored): every held-out material on 16 zone axes, rendered by `sadpnet.data.stream` with
drawn detector conditions. Cubic materials use the 16 standard cubic axes; [001], [011] and [111] at
200 kV and 300 mm (the 3-axis set), the other 13 at a voltage and camera length drawn from 100/200/300 kV x
250/300/350 mm. Non-cubic materials use their own 16 lowest-index axes, on the same grid. The junk set
holds noise-only frames, amorphous rings and blank frames.

Example:
    >>> shots = build_test_shots("cubic", workers=2)     # dict of arrays, one row per pattern
    >>> save_shots(shots, "out/v2-test/cubic.npz")
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

SET_AXES = ((0, 0, 1), (0, 1, 1), (1, 1, 1))
VOLTAGES_KV = (100.0, 200.0, 300.0)
CAMERA_LENGTHS_MM = (250.0, 300.0, 350.0)


def _material_shots(job) -> list[tuple]:
    from sadpnet.crystal.lattice import STANDARD_CUBIC_ZONE_AXES, lowest_index_zone_axes
    from sadpnet.data.corpus import load_crystal
    from sadpnet.data.stream import draw_conditions, render_drawn

    material_id, role, seed = job
    crystal = load_crystal(material_id)
    rng = np.random.default_rng(seed)
    zones = STANDARD_CUBIC_ZONE_AXES if role == "cubic" else lowest_index_zone_axes(crystal.atoms.cell, 16)
    rows = []
    for z in zones:
        if tuple(z) in SET_AXES and role == "cubic":
            v, cl = 200.0, 300.0
        else:
            v, cl = float(rng.choice(VOLTAGES_KV)), float(rng.choice(CAMERA_LENGTHS_MM))
        shot = render_drawn(crystal, z, draw_conditions(rng, voltage_kv=v, camera_length_mm=cl))
        rows.append((material_id, tuple(int(x) for x in z), shot.image, shot.pixel_size_inv_a, shot.mask, v, cl))
    return rows


def build_test_shots(role: str, *, seed: int = 2026, workers: int = 1, progress=None) -> dict:
    """All test patterns of one role ("cubic" or "other") as a dict of stacked arrays: material (N,),
    zone (N, 3), image (N, 256, 256) uint8 (log-mapped, `sadpnet.data.stream.MAPPING`), pixel_size_inv_a
    (N,), mask (N, 256, 256), voltage_kv (N,), camera_length_mm (N,)."""
    from sadpnet.data.holdout import load_holdout
    from sadpnet.data.stream import map_workers

    table = load_holdout()
    ids = list(table.material_id[table.role == role])
    rows = [r for chunk in map_workers(_material_shots, [(m, role, seed + i) for i, m in enumerate(ids)], workers, progress)
            for r in chunk]
    keys = ("material", "zone", "image", "pixel_size_inv_a", "mask", "voltage_kv", "camera_length_mm")
    return {k: np.array([r[i] for r in rows]) for i, k in enumerate(keys)}


def junk_shots(n: int = 60, *, seed: int = 3) -> dict:
    """Noise-only frames, amorphous rings and blank frames (n each), as `build_test_shots` arrays."""
    from sadpnet.model.ood_sets import amorphous_rings, noise_only

    rng = np.random.default_rng(seed)
    blank = np.clip(rng.normal(20, 2, size=(n, 256, 256)), 0, 255).astype(np.uint8)
    images = np.concatenate([noise_only(n, seed=seed), amorphous_rings(n, seed=seed + 1), blank])
    kind = ["noise"] * n + ["rings"] * n + ["blank"] * n
    return {"material": np.array(kind), "zone": np.zeros((3 * n, 3), int), "image": images,
            "pixel_size_inv_a": np.full(3 * n, 0.0133), "mask": np.ones(images.shape, bool),
            "voltage_kv": np.full(3 * n, 200.0), "camera_length_mm": np.full(3 * n, 300.0)}


def save_shots(shots: dict, path: str | Path) -> Path:
    from sadpnet.atomic_write import atomic_path

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            np.savez_compressed(fh, **shots)
    return path


def load_shots(path: str | Path) -> dict:
    with np.load(path) as f:
        return {k: f[k] for k in f.files}
