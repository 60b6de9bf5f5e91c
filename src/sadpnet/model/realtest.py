"""Evaluate classifiers on the held-out real crystals (`sadpnet.model.testshots`): the v2 goals, measured.

`evidence_of` indexes every test pattern once; `spot_model_results` and `baseline_results` turn the evidence
into answers (the learned spot-indexing model, and the no-learning peer: the class whose lattice explains the
spots best, jointly over a set); `resnet_results` runs a torchvision-ResNet model folder on the same images.
`summary` reduces answers to the report's numbers, each accuracy with its count and 95 % Wilson interval.

Example:
    >>> shots = {k: load_shots(f"out/v2-test/{k}.npz") for k in ("cubic", "other", "junk")}
    >>> ev = {k: evidence_of(s, workers=2) for k, s in shots.items()}
    >>> res = spot_model_results(load_spot_model(DIR), shots, ev)
"""

from __future__ import annotations

import math

import numpy as np

from sadpnet.model.indexing import CLASSES, evidence_features, joint_scores, independent_scores, pattern_evidence
from sadpnet.model.spot_model import LABELS, is_unknown, joint_posterior
from sadpnet.model.testshots import SET_AXES

UNKNOWN = "unknown"
OTHER = "other"


def wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """95 % Wilson score interval of k successes in n trials ((nan, nan) for n = 0)."""
    if n == 0:
        return math.nan, math.nan
    p = k / n
    d = 1 + z * z / n
    c = (p + z * z / (2 * n)) / d
    h = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / d
    return max(0.0, c - h), min(1.0, c + h)


def rate(k: int, n: int) -> dict:
    lo, hi = wilson(int(k), int(n))
    return {"k": int(k), "n": int(n), "value": (k / n if n else math.nan), "ci95": [lo, hi]}


def _linear(image):
    from sadpnet.data.stream import linear_image_array

    return linear_image_array(image)


def _evidence_row(args):
    image, px, mask = args
    n = image.shape[0]
    return pattern_evidence(_linear(image), float(px), (n / 2, n / 2), mask)


def evidence_of(shots: dict, *, workers: int = 1, progress=None) -> list:
    """`sadpnet.model.indexing.Evidence` of every pattern of ``shots`` (decoded to linear intensity first)."""
    from sadpnet.data.stream import map_workers

    jobs = list(zip(shots["image"], shots["pixel_size_inv_a"], shots["mask"]))
    return map_workers(_evidence_row, jobs, workers, progress)


def _groups(shots: dict) -> dict:
    out: dict = {}
    for i, (m, z) in enumerate(zip(shots["material"], shots["zone"])):
        out.setdefault(str(m), {})[tuple(int(x) for x in z)] = i
    return out


def spot_model_results(model, shots: dict, evidence: list) -> dict:
    """Per-pattern answers (label or "unknown") and probabilities, and per-set / per-material joint answers."""
    X = np.stack([evidence_features(e) for e in evidence])
    probs = model.predict_proba(X)
    unknown = np.array([is_unknown(e) for e in evidence])
    answer = np.where(unknown, UNKNOWN, np.array(LABELS)[probs.argmax(1)])
    sets, materials, independent = {}, {}, {}
    for m, idx in _groups(shots).items():
        members = [idx[z] for z in SET_AXES if z in idx]
        allp = list(idx.values())
        for name, rows, store in (("set", members, sets), ("material", allp, materials)):
            if not rows:
                continue
            known = [i for i in rows if not unknown[i]]
            if len(known) * 2 < len(rows):
                store[m] = (UNKNOWN, None)
                continue
            p = joint_posterior(model, [evidence[i] for i in known], probs[known])
            store[m] = (LABELS[int(p.argmax())], p)
        if members:
            logp = np.sum(np.log(np.clip(probs[members], 1e-6, None)), axis=0)
            independent[m] = LABELS[int(logp.argmax())]
    return {"answer": answer, "probs": probs, "unknown": unknown, "set": sets, "material": materials,
            "set_independent": independent}


def baseline_results(shots: dict, evidence: list) -> dict:
    """The no-learning peer: per pattern the class of best score; per set / material the best joint score
    (one lattice parameter) or, for comparison, the best sum of independent scores. No "other" answer."""
    answer = np.array([str(CLASSES[int(np.argmax(e.scores()))]) for e in evidence])
    sets, materials, independent = {}, {}, {}
    for m, idx in _groups(shots).items():
        members = [evidence[idx[z]] for z in SET_AXES if z in idx]
        if members:
            sets[m] = (str(CLASSES[int(np.argmax(joint_scores(members)[0]))]), None)
            independent[m] = str(CLASSES[int(np.argmax(independent_scores(members)))])
        materials[m] = (str(CLASSES[int(np.argmax(joint_scores([evidence[i] for i in idx.values()])[0]))]), None)
    return {"answer": answer, "set": sets, "material": materials, "set_independent": independent}


def resnet_results(model_dir, shots: dict, *, batch: int = 64) -> dict:
    """A ResNet model folder's answers on the same images (its own unknown rule; classes it lacks count wrong)."""
    from pathlib import Path

    from sadpnet.io.measured import MeasuredPattern
    from sadpnet.model.infer import load_model

    clf = load_model(model_dir)
    answers, probs = [], []
    for s in range(0, len(shots["image"]), batch):
        pats = [MeasuredPattern(_linear(img), float(px), (img.shape[1] / 2, img.shape[0] / 2), mask, Path("test"))
                for img, px, mask in zip(shots["image"][s:s + batch], shots["pixel_size_inv_a"][s:s + batch],
                                         shots["mask"][s:s + batch])]
        res = clf.classify_images(pats, top_k=len(clf.scheme.classes))
        for r in res["images"]:
            answers.append(UNKNOWN if r["unknown"]["verdict"] else str(r["prediction"].get("space_group",
                                                                                            r["prediction"].get("label"))))
            probs.append({str(t.get("space_group", t.get("label"))): t["probability"] for t in r["top"]})
    answers = np.array(answers)
    sets, materials = {}, {}
    for m, idx in _groups(shots).items():
        for name, rows, store in (("set", [idx[z] for z in SET_AXES if z in idx], sets),
                                  ("material", list(idx.values()), materials)):
            if rows:
                labels = sorted({k for i in rows for k in probs[i]})
                logp = {k: sum(math.log(max(probs[i].get(k, 0.0), 1e-4)) for i in rows) for k in labels}
                store[m] = (max(logp, key=logp.get), None)
    return {"answer": answers, "set": sets, "material": materials, "probs_dicts": probs}


def _truth(shots: dict, holdout) -> np.ndarray:
    sg = dict(zip(holdout.material_id, holdout.space_group))
    return np.array([str(sg[str(m)]) if sg.get(str(m)) in CLASSES else OTHER for m in shots["material"]])


def summary(results: dict, shots: dict, holdout, *, role: str) -> dict:
    """The goal numbers of one role ("cubic", "other" or "junk"), each a `rate` dict."""
    ans = results["answer"]
    if role == "junk":
        out = {"unknown": rate((ans == UNKNOWN).sum(), len(ans))}
        for kind in sorted(set(shots["material"])):
            sel = shots["material"] == kind
            out[f"unknown_{kind}"] = rate((ans[sel] == UNKNOWN).sum(), sel.sum())
        return out
    truth = _truth(shots, holdout)
    if role == "other":
        refused = np.isin(ans, [OTHER, UNKNOWN])
        mats = results["material"]
        return {"pattern_other_or_unknown": rate(refused.sum(), len(ans)),
                "material_other_or_unknown": rate(sum(v[0] in (OTHER, UNKNOWN) for v in mats.values()), len(mats))}
    ok = ans == truth
    out = {"pattern": rate(ok.sum(), len(ok)),
           "pattern_refused": rate(np.isin(ans, [OTHER, UNKNOWN]).sum(), len(ans))}
    for c in CLASSES:
        sel = truth == str(c)
        out[f"pattern_{c}"] = rate(ok[sel].sum(), sel.sum())
    for name in ("cod/Al", "cod/Fe"):
        sel = shots["material"] == name
        out[f"pattern_{name}"] = rate(ok[sel].sum(), sel.sum())
    sg = dict(zip(holdout.material_id, holdout.space_group))
    for key in ("set", "material", "set_independent"):
        if key in results:
            vals = results[key]
            right = sum((v[0] if isinstance(v, tuple) else v) == str(sg[m]) for m, v in vals.items())
            out[key] = rate(right, len(vals))
    if "probs" in results:
        from sadpnet.model.calibrate import expected_calibration_error

        y = np.array([LABELS.index(t) for t in truth])
        out["ece"] = float(expected_calibration_error(results["probs"], y))
    return out
