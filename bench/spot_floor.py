"""The spot finder's relative floor (`sadpnet.model.spots.MIN_RELATIVE`) and the missing-reflection radius
(`sadpnet.model.lattice_fit.MISSING_SHARE`) on defected patterns: the no-learning per-pattern answer (the class
of best score) and the median spot count, per (floor, share).

``--study DIR``: the cached patterns of a quick study run (DIR/results.json, DIR/cache/patterns; test
materials Al and Fe: a diagnosis, not a choice). ``--validation N``: N patterns of the validation crystals
drawn by the training stream with a defect on every cubic one (`indexing_data.draw_examples`, defect rate 1,
seed 777), cubic patterns scored.

Usage: .venv/bin/python bench/spot_floor.py --study out/study22
       .venv/bin/python bench/spot_floor.py --validation 400 --floors 1e-3 3e-4 1e-4 0 --shares 1.0
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from sadpnet.data.stream import linear_image_array, map_workers
from sadpnet.model import indexing_data as data
from sadpnet.model import lattice_fit, spots
from sadpnet.model.indexing import CLASS_FEATURES, CLASSES, pattern_evidence
from sadpnet.model.spot_train import use_validation_crystals
from sadpnet.stats import share_text


def use(floor: float, share: float) -> None:
    """Set the two defaults for this process and the workers it forks (read at call time)."""
    spots.MIN_RELATIVE, lattice_fit.MISSING_SHARE = floor, share


def study_patterns(study: Path) -> list[tuple[int, np.ndarray, float]]:
    """(true space group, 8-bit image, 1/A per pixel) of every cached pattern of a study run."""
    truth = {s["key"]: int(s["space_group"]) for s in json.loads((study / "results.json").read_text())["sets"]}
    out = []
    for f in sorted((study / "cache" / "patterns").glob("*.npz")):
        with np.load(f, allow_pickle=False) as z:
            images, px = z["images"], np.ravel(z["pixel_size_inv_a"])
        out += [(truth[f.name.rsplit("-", 1)[0]], im, float(px[min(i, px.size - 1)])) for i, im in enumerate(images)]
    return out


def _answer(job) -> tuple[int, int]:
    _, im, px = job
    ev = pattern_evidence(linear_image_array(im), px, (im.shape[1] / 2, im.shape[0] / 2))
    return int(CLASSES[int(np.argmax(ev.scores()))]), ev.n_spots


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--study", type=Path)
    ap.add_argument("--validation", type=int, default=0)
    ap.add_argument("--floors", type=float, nargs="+", default=[1e-3, 0.0, 1e-4])
    ap.add_argument("--shares", type=float, nargs="+", default=[1.0, 0.9])
    ap.add_argument("--workers", type=int, default=2)
    a = ap.parse_args()
    jobs = study_patterns(a.study) if a.study else []
    if a.validation:
        use_validation_crystals(0, 80, 200, workers=a.workers)
    for floor in a.floors:
        for share in a.shares:
            use(floor, share)
            if jobs:
                res = map_workers(_answer, jobs, a.workers)
                ok = np.array([r[0] == j[0] for r, j in zip(res, jobs)])
                print(f"study, floor {floor:g}, share {share:g}: {int(ok.sum())}/{len(ok)}: "
                      f"{share_text(int(ok.sum()), len(ok))}; median spots {np.median([r[1] for r in res]):g}")
            if a.validation:
                X, y, _ = data.draw_examples(a.validation, seed=777, workers=a.workers, defect_rate=1.0)
                cubic = y < len(CLASSES)
                score = X[:, [k * len(CLASS_FEATURES) for k in range(len(CLASSES))]]  # each class's "score"
                ok = score[cubic].argmax(1) == y[cubic]
                print(f"defected validation, floor {floor:g}, share {share:g}: {int(ok.sum())}/{int(cubic.sum())}: "
                      f"{share_text(int(ok.sum()), int(cubic.sum()))}")


if __name__ == "__main__":
    main()
