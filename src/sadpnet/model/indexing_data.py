"""Training material of the spot-indexing classifier: drawn patterns -> evidence features, never a test crystal.

Each drawn example picks a label uniformly among the five cubic classes, "other" and "unknown" (a frame
with no crystal: shot noise, amorphous rings or a blank frame), a training crystal of that label (half the
time from the corpus without the held-out families, `sadpnet.data.holdout.training_index`, where "other" is
every non-cubic crystal; half the time from the generated pyxtal crystals given to `use_generated`; the
validation split, `use_split("val")`, draws from other families), a zone axis (the 16
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

from sadpnet.data.stream import map_workers
from sadpnet.errors import SadpnetError
from sadpnet.model.indexing import CLASSES, evidence_features, pattern_evidence
from sadpnet.model.spot_model import LABELS, UNKNOWN_INDEX


#: Which split each label's corpus crystals are drawn for ("train" or "val"; see `is_validation`).
_SPLIT = {"name": "train"}


def is_validation(family_id: str) -> bool:
    """One training-corpus family in seven (by a stable hash of its id) is kept for validation."""
    import zlib

    return zlib.crc32(family_id.encode()) % 7 == 0


@lru_cache(maxsize=2)
def _pools_of(split: str) -> dict:
    from sadpnet.data.holdout import training_index

    idx = training_index()
    idx = idx[idx.family_id.map(is_validation) == (split == "val")]
    pools = {k: sorted(idx.material_id[idx.space_group == c]) for k, c in enumerate(CLASSES)}
    pools[len(CLASSES)] = sorted(idx.material_id[idx.crystal_system != "cubic"])
    return pools


def _pools() -> dict:
    """{label index: [material ids]} of the training corpus, for the current split."""
    return _pools_of(_SPLIT["name"])


def use_split(name: str) -> None:
    """Draw corpus crystals of the "train" or the "val" split (validation families never train)."""
    _SPLIT["name"] = name


@lru_cache(maxsize=512)
def _crystal(material_id: str):
    from sadpnet.data.corpus import load_crystal

    return load_crystal(material_id)


def _pick_crystal(rng: np.random.Generator, label: int):
    """(corpus material id or generated `Crystal`, the `Crystal`) of a label: a generated crystal half the time
    (always when the corpus has none of that label), else a corpus crystal of the current split."""
    real, generated = _pools()[label], _GENERATED.get(label, [])
    pool = generated if generated and (not real or rng.random() < 0.5) else real
    pick = pool[int(rng.integers(len(pool)))]
    return pick, (_crystal(pick) if isinstance(pick, str) else pick)


def _random_cubic_zone(rng: np.random.Generator) -> tuple[int, int, int]:
    from sadpnet.crystal.lattice import STANDARD_CUBIC_ZONE_AXES

    if rng.random() < 0.75:
        return STANDARD_CUBIC_ZONE_AXES[int(rng.integers(len(STANDARD_CUBIC_ZONE_AXES)))]
    while True:
        z = tuple(int(x) for x in rng.integers(-4, 5, size=3))
        if any(z) and math.gcd(*z) == 1:
            return z


#: Generated crystals by label index, set by `use_generated` before drawing (shared with worker processes).
_GENERATED: dict = {}


def use_generated(pool: dict) -> None:
    """Draw half of each label's crystals from ``pool`` ({label index: [Crystal]}; e.g. `generated_pool`)."""
    _GENERATED.clear()
    _GENERATED.update(pool)


def generated_pool(n_cubic: int, n_other: int, *, seed: int = 7, workers: int = 1) -> dict:
    """{label index: [Crystal]}: ``n_cubic`` pyxtal crystals per cubic class and ``n_other`` of non-cubic
    groups drawn by their frequency in the shipped collections (`sadpnet.crystal.synthetic`)."""
    from sadpnet.crystal.synthetic import non_cubic_groups

    rng = np.random.default_rng(seed)
    other = non_cubic_groups()
    groups, weights = np.array(list(other)), np.array(list(other.values()), dtype=float)
    jobs = [(k, c, seed * 10**6 + 10_000 * k + i) for k, c in enumerate(CLASSES) for i in range(n_cubic)]
    jobs += [(len(CLASSES), int(rng.choice(groups, p=weights / weights.sum())), seed * 10**6 + 90_000 + i)
             for i in range(n_other)]
    rows = map_workers(_generate, jobs, workers)
    pool: dict = {}
    for label, crystal in rows:
        if crystal is not None:
            pool.setdefault(label, []).append(crystal)
    return pool


def _generate(job):
    from sadpnet.crystal.synthetic import random_crystal

    label, group, seed = job
    try:
        return label, random_crystal(int(group), np.random.default_rng(seed))
    except SadpnetError:  # no crystal of that group within the prior's limits: skip this draw
        return label, None


def cubic_crystals() -> list:
    """Every cubic `Crystal` the stream can draw now: the corpus crystals of the current split and the generated
    pool's, labels 0-4 (what a `sadpnet.data.defect_cache` must hold for a defect-aware run)."""
    out = []
    for label in range(len(CLASSES)):
        out += [_crystal(m) for m in _pools()[label]] + list(_GENERATED.get(label, []))
    return out


def draw_pattern(seed: int, defect_rate: float = 0.0, defect_cache: str | None = None):
    """One drawn pattern before indexing: (pattern, label index into `LABELS`, zone axis or None, material id
    or generated crystal's name, "junk" for frames with no crystal). ``pattern`` is the rendered
    `sadpnet.data.stream` shot of a crystal, or for "unknown" a `junk_image` (uint8 image, 1/A per pixel).
    ``defect_rate``: share of cubic crystals passed through `sadpnet.data.stream_defects.draw_defect` (a
    defect family, or none, drawn from its own generator of ``seed``; 0 draws exactly what it did before).
    ``defect_cache``: folder of a `sadpnet.data.defect_cache` (atoms-engine defects from it, random placements
    drawn too); None draws exactly what it did before the cache existed.
    A crystal that cannot be drawn (a corpus CIF that does not load, a cell too large for the cell engine at
    the drawn conditions) is replaced by the next pick of the same generator (`MAX_REDRAWS` at most), so a
    seed whose first pick serves draws what it always did.
    Deterministic for a seed (and the generated pool and cache). `draw_pattern_with_family` also names the
    defect family applied."""
    return draw_pattern_with_family(seed, defect_rate, defect_cache)[:4]


#: Defect family of a pattern that cannot take one (`draw_pattern_with_family`): non-cubic crystals and junk.
NOT_DEFECTABLE = "-"
#: Crystals a drawn pattern or set may skip (`draw_pattern`) before the draw fails.
MAX_REDRAWS = 8


def draw_pattern_with_family(seed: int, defect_rate: float = 0.0, defect_cache: str | None = None):
    """`draw_pattern` (the same pattern for the same arguments) and the defect family applied to it:
    (pattern, label, zone axis or None, name, family). ``family`` is `NOT_DEFECTABLE` ("-") for non-cubic
    crystals and junk, "none" for a cubic crystal drawn without a defect or whose defected specimen the engine
    refused (the pristine crystal is rendered), else the `sadpnet.data.stream_defects.DrawnDefect` family
    (after its fall-backs: a family the crystal cannot take is drawn as "thermal")."""
    rng = np.random.default_rng(seed)
    label = int(rng.integers(len(LABELS)))
    if label == UNKNOWN_INDEX:
        return junk_image(rng), label, None, "junk", NOT_DEFECTABLE
    return _redrawn(lambda: _crystal_pattern(rng, seed, label, defect_rate, defect_cache), seed)


def _redrawn(draw, seed: int):
    """``draw()`` again (its generator moves on) while it raises a `SadpnetError`, at most `MAX_REDRAWS` times."""
    for _ in range(MAX_REDRAWS):
        try:
            return draw()
        except SadpnetError as exc:  # this pick cannot be simulated: the next pick of the same generator
            last = exc
    raise SadpnetError(f"seed {seed}: {MAX_REDRAWS} drawn crystals in a row could not be simulated (last: {last})")


def _crystal_pattern(rng: np.random.Generator, seed: int, label: int, defect_rate: float, defect_cache):
    """`draw_pattern_with_family` of a crystal's label from ``rng`` (after the label): pick, zone, conditions,
    defect."""
    from sadpnet.crystal.lattice import lowest_index_zone_axes
    from sadpnet.data.stream import draw_conditions, render_drawn

    pick, crystal = _pick_crystal(rng, label)
    if label < len(CLASSES):
        zone = _random_cubic_zone(rng)
    else:
        axes = lowest_index_zone_axes(crystal.atoms.cell, 16)
        zone = axes[int(rng.integers(len(axes)))]
    cond = draw_conditions(rng)
    if label < len(CLASSES) and defect_rate > 0:
        drawn = _defected(seed, crystal, zone, cond, defect_rate, defect_cache)
        if drawn is not None:
            return drawn[0], label, drawn[1], _name(pick, crystal), drawn[2]
    family = "none" if label < len(CLASSES) else NOT_DEFECTABLE
    return render_drawn(crystal, zone, cond), label, zone, _name(pick, crystal), family


def _defected(seed: int, crystal, zone, cond, defect_rate: float, defect_cache: str | None):
    """(shot, zone axis, family) of a cubic crystal with a defect drawn from its own generator of ``seed``
    (`draw_pattern`), or None when none is drawn (``defect_rate``) or the engine refuses the defected specimen."""
    from sadpnet.data.stream import render_drawn
    from sadpnet.data.stream_defects import draw_defect

    drng = np.random.default_rng([seed, 18])
    if drng.random() >= defect_rate:
        return None
    cache = None
    if defect_cache:
        from sadpnet.data.defect_cache import open_cache

        cache = open_cache(str(defect_cache))
    drawn = draw_defect(crystal, zone, drng, cells_z=cond.cells_z, cache=cache)
    try:
        return render_drawn(drawn.source, drawn.zone_axis, cond, **drawn.options), drawn.zone_axis, drawn.family
    except SadpnetError:  # a defected specimen the engine refuses (too large a table): the pristine crystal
        return None


def _name(pick, crystal) -> str:
    """Material id of a corpus pick, else the generated crystal's name."""
    return pick if isinstance(pick, str) else getattr(crystal, "name", "generated")


def draw_example(seed: int, defect_rate: float = 0.0, defect_cache: str | None = None) -> tuple[np.ndarray, int, str]:
    """One example: (features, label index into `LABELS`, material id or generated crystal's name) of the
    `draw_pattern` of ``seed`` (and ``defect_rate``, ``defect_cache``)."""
    from sadpnet.data.stream import linear_image, linear_image_array

    pattern, label, _, name = draw_pattern(seed, defect_rate, defect_cache)
    if label == UNKNOWN_INDEX:
        image, px = pattern
        ev = pattern_evidence(linear_image_array(image), px, (128.0, 128.0))
    else:
        ev = pattern_evidence(linear_image(pattern), pattern.pixel_size_inv_a, pattern.centre_xy, pattern.mask)
    return evidence_features(ev), label, name


def junk_image(rng: np.random.Generator) -> tuple[np.ndarray, float]:
    """A frame with no crystal: shot noise, amorphous rings or a blank frame (read noise), at a random
    calibration; seeds from ``rng`` (the test set's junk uses other seeds). Returns (uint8 image (256, 256),
    1/A per pixel)."""
    from sadpnet.model.ood_sets import amorphous_rings, noise_only

    seed, kind = int(rng.integers(10**6, 2**31)), int(rng.integers(3))
    px = float(rng.uniform(0.009, 0.018))
    if kind == 0:
        image = noise_only(1, pixel_size_inv_a=px, seed=seed)[0]
    elif kind == 1:
        image = amorphous_rings(1, pixel_size_inv_a=px, seed=seed)[0]
    else:
        image = np.clip(rng.normal(rng.uniform(5, 60), rng.uniform(0.5, 4), (256, 256)), 0, 255).astype(np.uint8)
    return image, px


def draw_examples(n: int, *, seed: int = 0, workers: int = 1, progress=None, defect_rate: float = 0.0,
                  defect_cache: str | None = None):
    """``n`` examples from seeds ``seed * 10**6 + i``: (X (n, F) float32, y (n,) int, material ids (n,)).

    ``workers`` > 1 draws in that many processes (each simulates and indexes on its own core);
    ``progress(done, total)`` is called as examples arrive; ``defect_rate``, ``defect_cache``: see `draw_pattern`.
    """
    from functools import partial

    cache = str(defect_cache) if defect_cache else None
    fn = partial(draw_example, defect_rate=defect_rate, defect_cache=cache) if defect_rate > 0 else draw_example
    rows = map_workers(fn, [seed * 10**6 + i for i in range(n)], workers, progress)
    X = np.stack([r[0] for r in rows]).astype(np.float32)
    return X, np.array([r[1] for r in rows], dtype=int), np.array([r[2] for r in rows])


def draw_sets(n: int, *, seed: int = 0, workers: int = 1) -> list[tuple[list, int]]:
    """``n`` validation zone-axis sets: (evidence of [001], [011], [111] at 200 kV / 300 mm, label index);
    non-cubic crystals use their three lowest-index axes. Crystals come from the current split."""
    return map_workers(_draw_set, [seed * 10**6 + i for i in range(n)], workers)


def _draw_set(seed: int):
    rng = np.random.default_rng(seed)
    label = int(rng.integers(UNKNOWN_INDEX))  # sets of crystals only
    return _redrawn(lambda: (_set_evidence(rng, label), label), seed)


def _set_evidence(rng: np.random.Generator, label: int) -> list:
    """Evidence of one crystal of ``label``'s [001], [011], [111] (non-cubic: three lowest-index axes)."""
    from sadpnet.crystal.lattice import lowest_index_zone_axes
    from sadpnet.data.stream import draw_conditions, linear_image, render_drawn

    _, crystal = _pick_crystal(rng, label)
    zones = ((0, 0, 1), (0, 1, 1), (1, 1, 1)) if label < len(CLASSES) else lowest_index_zone_axes(crystal.atoms.cell, 3)
    evidence = []
    for z in zones:
        shot = render_drawn(crystal, z, draw_conditions(rng, voltage_kv=200.0, camera_length_mm=300.0))
        evidence.append(pattern_evidence(linear_image(shot), shot.pixel_size_inv_a, shot.centre_xy, shot.mask))
    return evidence
