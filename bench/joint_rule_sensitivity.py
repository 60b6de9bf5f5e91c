"""How the spot-index model's ensemble verdict depends on its joint rule, on the study's sets and the held-out
3-axis / 16-axis sets: kappa, the score of a pattern with no fit near the shared lattice parameter
(`sadpnet.model.indexing.UNEXPLAINED_SCORE`) and a weight for the network's own class votes.

A sensitivity measurement on test data, not a way to choose the rule (Al, Fe and the held-out crystals are
test materials: choose on validation crystals). The network always gets the features it was trained with.

Inputs: a study run's ``results.json`` (truth per set) and its pattern cache (``--size-px 256`` quick run), and
the test shots of `sadpnet evaluate-real` (``OUT/shots/cubic.npz``).

Usage: .venv/bin/python bench/joint_rule_sensitivity.py --study out/study-v2 --study-cache out/study-v2/cache \\
           --shots out/eval-real/shots/cubic.npz [--model spot-index] [--workers 2]
"""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path

import numpy as np

import sadpnet.model.indexing as ix
from sadpnet.data.stream import linear_image_array
from sadpnet.model.indexing import CLASSES, evidence_features, joint_scores, pattern_evidence
from sadpnet.model.realtest import _groups, evidence_of
from sadpnet.model.spot_model import LABELS, is_unknown, load_spot_model
from sadpnet.model.testshots import SET_AXES
from sadpnet.resources import resource_path

TRAINED_UNEXPLAINED = ix.UNEXPLAINED_SCORE


def study_sets(study_dir: Path, cache_dir: Path) -> list[tuple[int, list]]:
    """(true space group, evidence of each pattern) of every cached set of a study run."""
    truth = {s["key"]: s["space_group"] for s in json.loads((study_dir / "results.json").read_text())["sets"]}
    out = []
    for f in sorted((cache_dir / "patterns").glob("*.npz")):
        key = f.name.rsplit("-", 1)[0]
        with np.load(f, allow_pickle=False) as z:
            images, px = z["images"], np.ravel(z["pixel_size_inv_a"])
        evs = [pattern_evidence(linear_image_array(im), float(px[min(i, px.size - 1)]),
                                (im.shape[1] / 2, im.shape[0] / 2)) for i, im in enumerate(images)]
        out.append((int(truth[key]), evs))
    return out


def heldout_sets(shots_file: Path, workers: int) -> tuple[list, list]:
    """(true space group, evidence) of the held-out 3-axis sets and of the 16-axis materials."""
    shots = dict(np.load(shots_file, allow_pickle=False))
    ev = evidence_of(shots, workers=workers)
    rows = csv.DictReader(open(resource_path("holdout", "classifier-v2-test.csv")))
    truth = {r["material_id"]: int(r["space_group"]) for r in rows}
    groups = _groups(shots)
    return ([(truth[m], [ev[idx[z]] for z in SET_AXES if z in idx]) for m, idx in groups.items()],
            [(truth[m], [ev[i] for i in idx.values()]) for m, idx in groups.items()])


def plurality_against_ensemble(study_dir: Path, model_name: str) -> str:
    """From a study's results: sets whose plurality of single-pattern answers (a unique most frequent space
    group) is right, whose ensemble verdict is right, and the sets where one is right and the other wrong."""
    from collections import Counter

    res = json.loads((study_dir / "results.json").read_text())
    truth = {s["key"]: s["space_group"] for s in res["sets"]}
    ens = res["ensemble"][model_name]
    plural, ensemble, only_plural, only_ens = 0, 0, 0, 0
    for key, records in res["per_pattern"][model_name].items():
        top = Counter(r["space_group"] for r in records if r["space_group"] is not None).most_common(2)
        p_ok = bool(top) and (len(top) == 1 or top[0][1] > top[1][1]) and top[0][0] == truth[key]
        e_ok = bool(ens[key]["correct"])
        plural, ensemble = plural + p_ok, ensemble + e_ok
        only_plural, only_ens = only_plural + (p_ok and not e_ok), only_ens + (e_ok and not p_ok)
    n = len(ens)
    return (f"{model_name}: plurality right {plural}/{n}, ensemble right {ensemble}/{n}; plurality right and "
            f"ensemble wrong {only_plural}, ensemble right and plurality wrong {only_ens}")


def verdict(model, evs: list, kappa: float, unexplained: float, vote_weight: float) -> str | None:
    """The ensemble label as `sadpnet.model.spot_model.joint_posterior` makes it, with the cubic mass shared by
    softmax(kappa x joint score + vote_weight x sum of log network probabilities of the class); None when most
    patterns are unknown (as `SpotClassifier`)."""
    known = [e for e in evs if not is_unknown(e)]
    if len(known) * 2 < len(evs):
        return None
    ix.UNEXPLAINED_SCORE = TRAINED_UNEXPLAINED
    probs = model.predict_proba(np.stack([evidence_features(e) for e in known]))
    ix.UNEXPLAINED_SCORE = unexplained
    try:
        js, _ = joint_scores(known)
    finally:
        ix.UNEXPLAINED_SCORE = TRAINED_UNEXPLAINED
    logp = np.log(np.clip(probs, 1e-6, None)).sum(0)
    q = np.exp(logp - logp.max())
    q /= q.sum()
    n = len(CLASSES)
    z = kappa * js + vote_weight * logp[:n]
    share = np.exp(z - z.max())
    p = np.concatenate([q[:n].sum() * share / share.sum(), q[n:]])
    return LABELS[int(np.argmax(p))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--study", type=Path, required=True)
    ap.add_argument("--study-cache", type=Path, required=True)
    ap.add_argument("--shots", type=Path, required=True)
    ap.add_argument("--model", default="spot-index")
    ap.add_argument("--study-model", default="clean-trained v2", help="the model's name in the study's results")
    ap.add_argument("--workers", type=int, default=2)
    a = ap.parse_args()
    model_dir = Path(a.model) if Path(a.model).is_dir() else resource_path("models", a.model)
    model = load_spot_model(model_dir)
    print(plurality_against_ensemble(a.study, a.study_model), flush=True)
    data = {"study sets": study_sets(a.study, a.study_cache)}
    data["held-out 3-axis sets"], data["held-out 16-axis materials"] = heldout_sets(a.shots, a.workers)
    grid = ([(k, TRAINED_UNEXPLAINED, 0.0) for k in (2, 5, 10, 20, 40, 80)]
            + [(40, u, w) for u in (TRAINED_UNEXPLAINED, -0.25, 0.0) for w in (0.25, 1.0)]
            + [(40, u, 0.0) for u in (-0.25, 0.0)])
    for kappa, unexplained, w in grid:
        right = [f"{sum(verdict(model, e, kappa, unexplained, w) == str(sg) for sg, e in d)}/{len(d)} {name}"
                 for name, d in data.items()]
        print(f"kappa {kappa:g}, unexplained {unexplained:g}, network-vote weight {w:g}: " + "; ".join(right),
              flush=True)


if __name__ == "__main__":
    main()
