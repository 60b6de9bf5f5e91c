"""Training material of the spot-indexing classifier: drawn patterns -> evidence features, never a test crystal.

Each drawn example picks a label uniformly among the five cubic classes and "other", a training crystal of
that label (the corpus without the held-out families, `sadpnet.data.holdout.training_index`; "other" is
every non-cubic crystal there; `extra_crystals` adds e.g. generated pyxtal crystals), a zone axis (the 16
standard cubic ones plus random ones up to index 4; for non-cubic crystals one of their 16 lowest-index
axes) and random conditions (`sadpnet.data.stream.draw_conditions`), simulates and renders it, then reduces
it to `sadpnet.model.indexing.evidence_features`. Nothing is stored but the features: no pattern is seen
twice, and a run is reproducible from its seed.

Example:
    >>> X, y, material = draw_examples(200, seed=0, workers=2)
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

from sadpnet.model.indexing import CLASSES, evidence_features, pattern_evidence

#: Output labels of the spot-indexing classifier: the five cubic classes, then "other".
LABELS = tuple(str(c) for c in CLASSES) + ("other",)


@lru_cache(maxsize=1)
def _pools() -> dict:
    """{label index: [material ids]} of the training corpus."""
    from sadpnet.data.holdout import training_index

    idx = training_index()
    pools = {k: sorted(idx.material_id[idx.space_group == c]) for k, c in enumerate(CLASSES)}
    pools[len(CLASSES)] = sorted(idx.material_id[idx.crystal_system != "cubic"])
    return pools


@lru_cache(maxsize=512)
def _crystal(material_id: str):
    from sadpnet.data.corpus import load_crystal

    return load_crystal(material_id)


def _random_cubic_zone(rng: np.random.Generator) -> tuple[int, int, int]:
    from sadpnet.crystal.lattice import STANDARD_CUBIC_ZONE_AXES

    if rng.random() < 0.75:
        return STANDARD_CUBIC_ZONE_AXES[int(rng.integers(len(STANDARD_CUBIC_ZONE_AXES)))]
    while True:
        z = tuple(int(x) for x in rng.integers(-4, 5, size=3))
        if any(z) and math.gcd(*z) == 1:
            return z


def draw_example(seed: int, extra_crystals: dict | None = None) -> tuple[np.ndarray, int, str]:
    """One example: (features, label index into `LABELS`, material id). Deterministic for a seed."""
    from sadpnet.crystal.lattice import lowest_index_zone_axes
    from sadpnet.data.stream import draw_conditions, linear_image, render_drawn

    rng = np.random.default_rng(seed)
    label = int(rng.integers(len(LABELS)))
    pool = list(_pools()[label]) + list((extra_crystals or {}).get(label, []))
    pick = pool[int(rng.integers(len(pool)))]
    crystal = _crystal(pick) if isinstance(pick, str) else pick
    if label < len(CLASSES):
        zone = _random_cubic_zone(rng)
    else:
        axes = lowest_index_zone_axes(crystal.atoms.cell, 16)
        zone = axes[int(rng.integers(len(axes)))]
    shot = render_drawn(crystal, zone, draw_conditions(rng))
    ev = pattern_evidence(linear_image(shot), shot.pixel_size_inv_a, shot.centre_xy, shot.mask)
    return evidence_features(ev), label, pick if isinstance(pick, str) else getattr(crystal, "name", "generated")


def draw_examples(n: int, *, seed: int = 0, workers: int = 1, progress=None):
    """``n`` examples from seeds ``seed * 10**6 + i``: (X (n, F) float32, y (n,) int, material ids (n,)).

    ``workers`` > 1 draws in that many processes (each simulates and indexes on its own core);
    ``progress(done, total)`` is called as examples arrive.
    """
    seeds = [seed * 10**6 + i for i in range(n)]
    if workers > 1:
        from multiprocessing import get_context

        with get_context("fork").Pool(workers) as pool:
            rows = []
            for row in pool.imap(draw_example, seeds, chunksize=8):
                rows.append(row)
                if progress:
                    progress(len(rows), n)
    else:
        rows = []
        for s in seeds:
            rows.append(draw_example(s))
            if progress:
                progress(len(rows), n)
    X = np.stack([r[0] for r in rows]).astype(np.float32)
    return X, np.array([r[1] for r in rows], dtype=int), np.array([r[2] for r in rows])
