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


def rate(k: int, n: int) -> dict:
    """A share with its count and 95 % Wilson interval (`sadpnet.stats.wilson_interval`)."""
    from sadpnet.stats import wilson_interval

    lo, hi = wilson_interval(int(k), int(n))
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
            answers.append(UNKNOWN if r["unknown"]["verdict"] else _entry_label(r["prediction"]))
            probs.append({_entry_label(t): t["probability"] for t in r["top"]})
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


def _entry_label(entry: dict) -> str:
    """A result ``top`` entry's answer: its space group number, or its label ("other")."""
    return str(entry.get("space_group", entry.get("label")))


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


#: Rows of the comparison table: (result key, role, what it measures, the goal, "at least" or "at most").
TABLE_ROWS = (
    ("set", "cubic", "3-axis set [001]+[011]+[111], 200 kV: materials right", 99.0, False),
    ("material", "cubic", "16 axes jointly: materials right", 100.0, False),
    ("set_independent", "cubic", "3-axis set, independent votes (no shared lattice parameter)", None, False),
    ("pattern", "cubic", "per pattern (16 axes, drawn conditions)", None, False),
    ("pattern_cod/Al", "cubic", "per pattern, pristine Al", 95.0, False),
    ("pattern_cod/Fe", "cubic", "per pattern, pristine Fe", 95.0, False),
    ("pattern_refused", "cubic", "clean cubic patterns refused (other/unknown)", 3.0, True),
    ("pattern_other_or_unknown", "other", "non-cubic patterns answered other/unknown", 95.0, False),
    ("material_other_or_unknown", "other", "non-cubic materials (16 axes) answered other/unknown", 95.0, False),
    ("unknown", "junk", "noise, rings, blank frames answered unknown", 99.0, False),
) + tuple((f"pattern_{c}", "cubic", f"per pattern, class {c}", 85.0, False) for c in CLASSES)

ROLES = ("cubic", "other", "junk")


def shots_for(cache_dir, *, workers: int = 1, progress=None) -> dict:
    """The test shots of each role, built once into ``cache_dir`` (`sadpnet.model.testshots`) and reused."""
    from pathlib import Path

    from sadpnet.model.testshots import build_test_shots, junk_shots, load_shots, save_shots

    out = {}
    for role in ROLES:
        path = Path(cache_dir) / f"{role}.npz"
        if not path.is_file():
            shots = junk_shots() if role == "junk" else build_test_shots(role, workers=workers, progress=progress)
            save_shots(shots, path)
        out[role] = load_shots(path)
    return out


def evaluate_real(models: dict, out_dir, *, cache_dir=None, workers: int = 1, progress=None) -> dict:
    """Every model of ``models`` ({column name: model folder or shipped name}) and the no-learning baseline on
    the held-out test shots; writes ``results.json`` and ``table.md`` into ``out_dir`` and returns the results.

    Spot-indexing folders answer through their network (`spot_model_results`), other folders through
    `resnet_results`; "baseline" is always added (`baseline_results`)."""
    import json
    from pathlib import Path

    from sadpnet.data.holdout import load_holdout
    from sadpnet.model.infer import SPOT_ARCHITECTURE, _architecture, resolve_model_dir
    from sadpnet.model.spot_model import load_spot_model

    out_dir = Path(out_dir)
    paths = {name: resolve_model_dir(folder) for name, folder in models.items()}  # bad names fail before any work
    shots = shots_for(cache_dir or out_dir / "shots", workers=workers, progress=progress)
    holdout = load_holdout()
    evidence = {role: evidence_of(shots[role], workers=workers, progress=progress) for role in ROLES}
    results = {"baseline (no learning)": {role: summary(baseline_results(shots[role], evidence[role]), shots[role],
                                                        holdout, role=role) for role in ("cubic",)}}
    for name, path in paths.items():
        if _architecture(path) == SPOT_ARCHITECTURE:
            model = load_spot_model(path)
            answers = {role: spot_model_results(model, shots[role], evidence[role]) for role in ROLES}
        else:
            answers = {role: resnet_results(path, shots[role]) for role in ROLES}
        results[name] = {role: summary(answers[role], shots[role], holdout, role=role) for role in ROLES}
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "results.json").write_text(json.dumps(results, indent=1, default=float) + "\n")
    (out_dir / "table.md").write_text(table_markdown(results) + "\n")
    return results


def _cell(r: dict | None) -> str:
    if not r or not isinstance(r, dict):
        return "-"
    lo, hi = r["ci95"]
    return f"{100 * r['value']:.1f} [{100 * lo:.1f}, {100 * hi:.1f}] ({r['k']}/{r['n']})"


def _verdict(r: dict | None, goal: float | None, at_most: bool) -> str:
    from sadpnet.stats import interval_verdict

    if goal is None or not r or not isinstance(r, dict):
        return ""
    return interval_verdict(r["ci95"][0] * 100, r["ci95"][1] * 100, goal, at_most=at_most)


def table_markdown(results: dict) -> str:
    """The comparison table: one row per measure, one column per model, each cell
    ``share % [95 % Wilson interval] (k/n)``, then the goal and each model's verdict."""
    names = list(results)
    lines = ["| measure | " + " | ".join(names) + " | goal |", "|---" * (len(names) + 2) + "|"]
    for key, role, what, goal, at_most in TABLE_ROWS:
        cells = [_cell(results[n].get(role, {}).get(key)) for n in names]
        verdicts = [_verdict(results[n].get(role, {}).get(key), goal, at_most) for n in names]
        cells = [c + (f" {v}" if v else "") for c, v in zip(cells, verdicts)]
        g = "" if goal is None else (f"<= {goal:g} %" if at_most else f">= {goal:g} %")
        lines.append(f"| {what} | " + " | ".join(cells) + f" | {g} |")
    ece = [results[n].get("cubic", {}).get("ece") for n in names]
    lines.append("| ECE, cubic patterns (goal <= 3 %) | " + " | ".join("-" if e is None else f"{100 * e:.1f} %"
                                                                       for e in ece) + " | <= 3 % |")
    return "\n".join(lines)


def _exact_set(job):
    """Evidence of one held-out cubic material's 3-axis set from the simulator's exact spot list."""
    from sadpnet.data.corpus import load_crystal
    from sadpnet.model.indexing import Evidence
    from sadpnet.model.lattice_fit import fit_classes
    from sadpnet.model.spots import Spots
    from sadpnet.simulate.api import simulate

    material_id, min_intensity = job
    crystal = load_crystal(material_id)
    out = []
    for z in SET_AXES:
        p = simulate(crystal, z, inplane_rotation_deg=17.0)
        keep = [s for s in p.spots if s.intensity >= min_intensity and np.hypot(*s.g_inv_a) > 0]
        g = np.array([s.g_inv_a for s in keep]).reshape(-1, 2)
        inten = np.array([s.intensity for s in keep])
        spots = Spots(g, inten / max(inten.max(), 1e-12) if len(inten) else inten,
                      float(p.pixel_size_inv_a * p.intensity.shape[0] / 2), 0.0)
        out.append(Evidence(len(spots), fit_classes(spots, pixel_size_inv_a=p.pixel_size_inv_a)))
    return material_id, out


def exact_spot_ceiling(*, min_intensity: float = 1e-3, workers: int = 1) -> dict:
    """The indexing baseline on the simulator's exact spot lists (kinematic spots >= ``min_intensity`` of the
    strongest, 200 kV, [001] + [011] + [111]) of the held-out cubic materials: what perfect spot detection
    would give. Returns rates for the joint and the independent 3-axis answers."""
    from sadpnet.data.holdout import load_holdout
    from sadpnet.data.stream import map_workers

    h = load_holdout()
    cubic = h[h.role == "cubic"]
    truth = dict(zip(cubic.material_id, cubic.space_group))
    rows = map_workers(_exact_set, [(m, min_intensity) for m in cubic.material_id], workers)
    joint = sum(CLASSES[int(np.argmax(joint_scores(ev)[0]))] == truth[m] for m, ev in rows)
    ind = sum(CLASSES[int(np.argmax(independent_scores(ev)))] == truth[m] for m, ev in rows)
    wrong = sorted(m for m, ev in rows if CLASSES[int(np.argmax(joint_scores(ev)[0]))] != truth[m])
    return {"set": rate(joint, len(rows)), "set_independent": rate(ind, len(rows)), "wrong": wrong,
            "min_intensity": min_intensity}
