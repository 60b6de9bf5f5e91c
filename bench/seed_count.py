"""How many seeds a spot-index ensemble needs, measured on validation crystals (never on the test).

The networks (one-seed trainings of one recipe, seed 0 first) are combined in order: the first k for k = 1..N,
each ensemble calibrated (temperature) on the validation patterns of the first seed, which no member trained
on. Printed per k: the validation accuracy (group rule, `spot_model.decide`) and negative log-likelihood of
the clean validation patterns, and with ``--defval`` the right answers on the defected validation set of
`bench/defected_validation.py` (pristine / cell-engine / atoms-engine defects, non-cubic other/unknown).

Usage: .venv/bin/python bench/seed_count.py --model src/sadpnet/resources/models/spot-index
           --model out/models/spot-index-seed1 ... [--defval out/defval.npz]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from sadpnet.data.stream import map_workers
from sadpnet.data.stream_defects import ATOMS_FAMILIES
from sadpnet.model.calibrate import nll
from sadpnet.model.indexing import CLASSES
from sadpnet.model.spot_model import calibrate, decide, ensemble, load_spot_model, pattern_probabilities
from sadpnet.model.spot_train import validation_examples
from sadpnet.stats import share_text

def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", type=Path, action="append", required=True)
    ap.add_argument("--defval", type=Path)
    ap.add_argument("--workers", type=int, default=2)
    a = ap.parse_args()
    models = [load_spot_model(m) for m in a.model]
    X, y, _ = validation_examples(models[0].card, workers=a.workers)
    print(f"validation: {len(y)} patterns of the validation crystals of seed {models[0].card['training']['seed']}")
    for path, m in zip(a.model, models):
        k = int((decide(m.predict_proba(X)) == y).sum())
        print(f"  {path} alone: {share_text(k, len(y))}")
    dv = _defval(a.defval, a.workers) if a.defval else None
    for n in range(1, len(models) + 1):
        ens = calibrate(ensemble(models[:n]), X, y)
        k = int((decide(ens.predict_proba(X)) == y).sum())
        line = (f"first {n}: validation {share_text(k, len(y))}, NLL {nll(ens.logits(X), y, ens.temperature):.4f} "
                f"(T = {ens.temperature:.3f})")
        if dv is not None:
            ev, label, groups = dv
            ans = decide(pattern_probabilities(ens, ev))
            parts = [f"{g} {int((ans[s] == label[s]).sum())}/{int(s.sum())}" for g, s in groups.items()]
            other = label == len(CLASSES)
            parts.append(f"non-cubic other/unknown {int((ans[other] >= len(CLASSES)).sum())}/{int(other.sum())}")
            line += "; defected validation: " + ", ".join(parts)
        print(line)


DATA: dict = {}


def _evidence(i: int):
    from sadpnet.data.stream import linear_image_array
    from sadpnet.model.indexing import pattern_evidence

    img = linear_image_array(DATA["image"][i])
    return pattern_evidence(img, float(DATA["px"][i]), (img.shape[1] / 2, img.shape[0] / 2), DATA["mask"][i])


def _defval(path: Path, workers: int):
    with np.load(path, allow_pickle=False) as z:
        DATA.update({k: z[k] for k in z.files})
    label, family = DATA["label"], DATA["family"]
    cubic = label < len(CLASSES)
    groups = {"pristine": cubic & (family == "none"),
              "cell-engine": cubic & ~np.isin(family, ["none", "-", *ATOMS_FAMILIES]),
              "atoms-engine": cubic & np.isin(family, ATOMS_FAMILIES)}
    return map_workers(_evidence, range(len(label)), workers), label, groups


if __name__ == "__main__":
    main()
