"""Spot-index models on defected patterns of validation crystals (never test materials): the choice of the
spot-finding evidence (`sadpnet.model.indexing.EVIDENCE_VERSION`) on patterns like the study's, without Al or Fe.

``build``: N patterns drawn by the training stream from the validation crystals of seed 0
(`spot_train.use_validation_crystals`), with a defect on every cubic crystal
(`indexing_data.draw_pattern_with_family`, defect rate 1) and a defect cache folder, so that the atoms-engine
families (twins, dislocations, random thermal and point-defect placements) take part: blocks missing from the
cache are built on the fly. Stores the 8-bit images, calibrations, masks, labels and each pattern's defect family
in one .npz: the family applied, as the drawing reports it ("thermal" where the crystal could not take the drawn
one, "none" where the engine refused the defected specimen, "-" for non-cubic crystals and junk; stores built
before `draw_pattern_with_family` named the family drawn, before these fall-backs).

``score``: each model's group-first answer (`spot_model.decide`) on the stored patterns, with the evidence of
the model's own version (``--evidence`` overrides: floor, local SNR, missing share), per defect family group.

Usage (session 14: 700 patterns, 7 min 4 s to build beside a training run; about 1 min to score a model):
    .venv/bin/python bench/defected_validation.py build out/defval.npz --n 700 --defect-cache out/defval-cache
    .venv/bin/python bench/defected_validation.py score out/defval.npz --model src/sadpnet/resources/models/spot-index
    .venv/bin/python bench/defected_validation.py score out/defval.npz --model out/models/X --evidence 1e-3 6 1.0
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from sadpnet.data.stream import linear_image_array, map_workers
from sadpnet.data.stream_defects import ATOMS_FAMILIES
from sadpnet.model import indexing, indexing_data, lattice_fit, spot_model, spots
from sadpnet.model.indexing import CLASSES, pattern_evidence
from sadpnet.model.spot_train import use_validation_crystals
from sadpnet.stats import share_text

#: Seeds of the drawn patterns: SEED_BASE + i (the training stream uses 10 x seed + 1 / + 2 times 10**6).
SEED_BASE = 777 * 10**6
#: Evidence settings of each version: (spot floor relative to the strongest, local SNR, missing share).
SETTINGS = {1: (1e-3, 0.0, 1.0)}


def _draw(job):
    seed, cache = job
    pattern, label, _, name, family = indexing_data.draw_pattern_with_family(seed, 1.0, cache)
    if label == indexing_data.UNKNOWN_INDEX:
        image, px = pattern
        return image, float(px), np.ones(image.shape, bool), label, family, name
    mask = pattern.mask if pattern.mask is not None else np.ones(pattern.image.shape, bool)
    return pattern.image, float(pattern.pixel_size_inv_a), mask, label, family, name


def build(out: Path, n: int, cache: Path, workers: int) -> None:
    from sadpnet.data.defect_cache import build_defect_cache

    if not (cache / "cache.json").is_file():
        build_defect_cache([], cache, per_crystal=1)  # an empty cache: every atoms-engine block built on the fly
    use_validation_crystals(0, 80, 200, workers=workers)
    rows = map_workers(_draw, [(SEED_BASE + i, str(cache)) for i in range(n)], workers)
    np.savez_compressed(out, image=np.stack([r[0] for r in rows]), px=np.array([r[1] for r in rows]),
                        mask=np.stack([r[2] for r in rows]), label=np.array([r[3] for r in rows]),
                        family=np.array([r[4] for r in rows]), name=np.array([r[5] for r in rows]))
    print(f"{n} patterns -> {out}")


DATA: dict = {}


def _evidence(i: int):
    img = linear_image_array(DATA["image"][i])
    return pattern_evidence(img, float(DATA["px"][i]), (img.shape[1] / 2, img.shape[0] / 2), DATA["mask"][i])


def use_evidence(floor: float, local_snr: float, share: float) -> None:
    """Set the evidence defaults for this process and the workers it forks."""
    spots.MIN_RELATIVE, spots.LOCAL_SNR, lattice_fit.MISSING_SHARE = floor, local_snr, share


def score(data: Path, models: list[Path], evidence: tuple | None, workers: int) -> None:
    with np.load(data, allow_pickle=False) as z:
        DATA.update({k: z[k] for k in z.files})
    label, family = DATA["label"], DATA["family"]
    groups = {"pristine": family == "none",
              "cell-engine defects": ~np.isin(family, ["none", indexing_data.NOT_DEFECTABLE, *ATOMS_FAMILIES]),
              "atoms-engine defects": np.isin(family, ATOMS_FAMILIES)}
    for m in models:
        card_version = json.loads((m / "card.json").read_text()).get("evidence_version", 1)
        settings = evidence or SETTINGS[card_version]
        use_evidence(*settings)
        # this process computes the model's own evidence (or --evidence's), so the version check must pass
        indexing.EVIDENCE_VERSION = spot_model.EVIDENCE_VERSION = card_version
        model = spot_model.load_spot_model(m)
        ev = map_workers(_evidence, range(len(label)), workers)
        ans = spot_model.decide(spot_model.pattern_probabilities(model, ev))
        n_spots = np.array([e.n_spots for e in ev])
        print(f"{m} (evidence {settings}):")
        for name, sel in groups.items():
            sel = sel & (label < len(CLASSES))
            k = int((ans[sel] == label[sel]).sum())
            print(f"  {name}: {k}/{int(sel.sum())} {share_text(k, int(sel.sum()))}; median spots "
                  f"{np.median(n_spots[sel]):g}")
        for fam in sorted(set(family[label < len(CLASSES)])):
            sel = (family == fam) & (label < len(CLASSES))
            print(f"    {fam}: {int((ans[sel] == label[sel]).sum())}/{int(sel.sum())}")
        other = label == len(CLASSES)
        k = int((ans[other] >= len(CLASSES)).sum())
        print(f"  non-cubic answered other/unknown: {k}/{int(other.sum())} {share_text(k, int(other.sum()))}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("command", choices=["build", "score"])
    ap.add_argument("data", type=Path)
    ap.add_argument("--n", type=int, default=600)
    ap.add_argument("--defect-cache", type=Path, default=Path("out/defval-cache"))
    ap.add_argument("--model", type=Path, action="append", default=[])
    ap.add_argument("--evidence", type=float, nargs=3, metavar=("FLOOR", "LOCAL_SNR", "SHARE"))
    ap.add_argument("--workers", type=int, default=2)
    a = ap.parse_args()
    if a.command == "build":
        build(a.data, a.n, a.defect_cache, a.workers)
    else:
        score(a.data, a.model, tuple(a.evidence) if a.evidence else None, a.workers)


if __name__ == "__main__":
    main()
