"""The held-out real crystals on which classifier v2 is evaluated, and the rule that keeps them out of training.

The test materials are real crystals of the shipped corpus (COD, MP-20, AFLOW prototypes, kvmani,
Dans_Diffraction), never synthetic variants: Al and Fe, the textbook crystals the goals name (NaCl, CsCl,
W, Si, beta-Mn, hexagonal Mg), then a seeded draw of the other real materials, one per corpus family
(`family_id`: a material, its duplicates in other collections and its Zen's-law variants share one), so
that no duplicate or variant of a test material can reach a training path. `training_families_excluded`
is what every training path filters on.

The list is written once by `choose_holdout` (seeded) to ``resources/holdout/classifier-v2-test.csv`` and
read from there: `python -m sadpnet.data.holdout` rewrites it (and says so when it changes).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from sadpnet.resources import resource_path

HOLDOUT_FILE = ("holdout", "classifier-v2-test.csv")
CUBIC_CLASSES = (213, 221, 225, 227, 229)
#: Named test materials (corpus material ids): the goals' textbook crystals.
NAMED = ("cod/Al", "cod/Fe", "aflow/172_AB_cF8_225_a_b", "aflow/240_AB_cP2_221_b_a", "cod/W", "cod/Si",
         "aflow/279_A_cP20_213_cd", "cod/Mg")
#: Real test materials drawn per cubic class (besides the named ones; all real ones when fewer).
DRAWN_PER_CLASS = {213: 2, 221: 13, 225: 13, 227: 11, 229: 10}
#: Real non-cubic test materials drawn per crystal system (besides Mg).
DRAWN_PER_SYSTEM = 4
NON_CUBIC_SYSTEMS = ("triclinic", "monoclinic", "orthorhombic", "tetragonal", "trigonal", "hexagonal")


def _real_representatives(index):
    real = index[(index["rule"] == "") & index["representative"]]
    return real.drop_duplicates("family_id")


def choose_holdout(seed: int = 2026):
    """The test materials as a DataFrame (material_id, family_id, formula, space_group, crystal_system, role).

    ``role`` is "cubic" (one of the five classes) or "other". Deterministic for a seed and corpus.
    """
    import pandas as pd

    from sadpnet.data.corpus import load_index

    real = _real_representatives(load_index())
    rng = np.random.default_rng(seed)
    named = real[real.material_id.isin(NAMED)]
    taken = set(named.family_id)
    parts = [named]
    for sg, n in DRAWN_PER_CLASS.items():
        pool = real[(real.space_group == sg) & ~real.family_id.isin(taken)].sort_values("material_id")
        pick = pool.iloc[np.sort(rng.permutation(len(pool))[:n])]
        parts.append(pick)
        taken |= set(pick.family_id)
    for system in NON_CUBIC_SYSTEMS:
        pool = real[(real.crystal_system == system) & ~real.family_id.isin(taken)].sort_values("material_id")
        pick = pool.iloc[np.sort(rng.permutation(len(pool))[:DRAWN_PER_SYSTEM])]
        parts.append(pick)
        taken |= set(pick.family_id)
    out = pd.concat(parts)[["material_id", "family_id", "formula", "space_group", "crystal_system"]].copy()
    out["role"] = np.where(out.space_group.isin(CUBIC_CLASSES), "cubic", "other")
    return out.sort_values(["role", "space_group", "material_id"]).reset_index(drop=True)


def holdout_path() -> Path:
    return resource_path(*HOLDOUT_FILE)


def load_holdout():
    """The committed test-material table (see `choose_holdout`)."""
    import pandas as pd

    return pd.read_csv(holdout_path(), dtype={"material_id": str, "family_id": str, "formula": str})


def training_families_excluded() -> frozenset[str]:
    """Corpus families that no training path may use (every family of a test material)."""
    return frozenset(load_holdout().family_id)


def training_index():
    """The corpus index without the held-out families: what training may draw from."""
    from sadpnet.data.corpus import load_index

    index = load_index()
    return index[~index.family_id.isin(training_families_excluded())].reset_index(drop=True)


def write_holdout(seed: int = 2026) -> Path:
    """Write `choose_holdout` to the resource file (atomically); returns its path."""
    from sadpnet.atomic_write import atomic_path

    path = holdout_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    table = choose_holdout(seed)
    with atomic_path(path) as tmp:
        table.to_csv(tmp, index=False)
    return path


if __name__ == "__main__":
    print(write_holdout())
