"""Validation diagnosis set for spot indexing: validation-family corpus cubic crystals (+ fresh pyxtal crystals
of the classes the validation families lack), rendered with the test protocol (`testshots._material_shots`:
16 standard axes, [001]/[011]/[111] at 200 kV / 300 mm, the rest drawn), seeds 4040 + i.

    PYTHONPATH=src python bench/diag_valshots.py out/valshots
Writes cubic.npz (shots), crystals.pkl ({material id: Crystal}), lookalikes.pkl, evidence.pkl."""
from __future__ import annotations

import pickle
import sys
import time
from pathlib import Path

import numpy as np

from sadpnet.data.stream import map_workers
from sadpnet.model import testshots
from sadpnet.model.indexing import CLASSES

GEN_PER_CLASS = {0: 8, 1: 6, 2: 0, 3: 5, 4: 8}   # generated crystals per class index (corpus val: 0 / 2 / 24 / 3 / 0)
GEN_SEED = 4040                                    # training uses generated seeds 2s+1, validation 2s+2 (s = 0)
CRYSTALS: dict = {}


def _load(mid):
    if mid in CRYSTALS:
        return CRYSTALS[mid]
    from sadpnet.data.corpus import load_crystal
    return load_crystal(mid)


def _shots(job):
    """`testshots._material_shots` (cubic role), line for line, on a crystal that may be a generated one."""
    from sadpnet.crystal.lattice import STANDARD_CUBIC_ZONE_AXES
    from sadpnet.data.stream import draw_conditions, render_drawn

    mid, seed = job
    crystal = _load(mid)
    rng = np.random.default_rng(seed)
    rows = []
    for z in STANDARD_CUBIC_ZONE_AXES:
        if tuple(z) in testshots.SET_AXES:
            v, cl = 200.0, 300.0
        else:
            v, cl = float(rng.choice(testshots.VOLTAGES_KV)), float(rng.choice(testshots.CAMERA_LENGTHS_MM))
        shot = render_drawn(crystal, z, draw_conditions(rng, voltage_kv=v, camera_length_mm=cl))
        rows.append((mid, tuple(int(x) for x in z), shot.image, shot.pixel_size_inv_a, shot.mask, v, cl))
    return rows


def _la(job):
    from sadpnet.model.realtest import lookalike_rows
    mid, sg, rows = job
    return lookalike_rows(_load(mid), sg, rows)


def main(out: str):
    out = Path(out)
    from sadpnet.model.indexing_data import _pools_of, generated_pool
    pools = _pools_of("val")
    ids = [m for k in range(5) for m in pools[k]]
    gen = generated_pool(max(GEN_PER_CLASS.values()), 0, seed=GEN_SEED)
    for k, n in GEN_PER_CLASS.items():
        for i, cr in enumerate(gen.get(k, [])[:n]):
            mid = f"gen/{CLASSES[k]}-{i}"
            CRYSTALS[mid] = cr
            ids.append(mid)
    crystals = {m: _load(m) for m in ids}
    (out / "crystals.pkl").write_bytes(pickle.dumps(crystals))
    t = time.time()
    rows = [r for chunk in map_workers(_shots, [(m, GEN_SEED + i) for i, m in enumerate(ids)], 2) for r in chunk]
    keys = ("material", "zone", "image", "pixel_size_inv_a", "mask", "voltage_kv", "camera_length_mm")
    shots = {k: np.array([r[i] for r in rows]) for i, k in enumerate(keys)}
    testshots.save_shots(shots, out / "cubic.npz")
    print(f"{len(ids)} crystals, {len(rows)} shots, {time.time() - t:.0f} s", flush=True)
    sg = {m: crystals[m].space_group_number for m in ids}
    print({c: sum(v == c for v in sg.values()) for c in CLASSES}, flush=True)
    t = time.time()
    g_max = shots["pixel_size_inv_a"] * 128.0
    order: dict = {}
    for i, m in enumerate(shots["material"]):
        order.setdefault(str(m), []).append(i)
    jobs = [(m, sg[m], [(tuple(int(x) for x in shots["zone"][i]), float(g_max[i]), float(shots["pixel_size_inv_a"][i]))
                        for i in idx]) for m, idx in order.items()]
    res = map_workers(_la, jobs, 2)
    la = [None] * len(rows)
    for idx, r in zip(order.values(), res):
        for i, x in zip(idx, r):
            la[i] = x
    (out / "lookalikes.pkl").write_bytes(pickle.dumps(la))
    print(f"lookalikes {time.time() - t:.0f} s; near-free {sum(not (r['classes'] or r['near']) for r in la)}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1])
