"""Evaluate classifiers on the held-out real crystals (`sadpnet.model.testshots`): the v2 goals, measured.

`evidence_of` indexes every test pattern once; `spot_model_results` and `baseline_results` turn the evidence
into answers (the learned spot-indexing model, and the no-learning peer: the class whose lattice explains the
spots best, jointly over a set); `resnet_results` runs a torchvision-ResNet model folder on the same images.
`summary` reduces answers to the report's numbers, each accuracy with its count and 95 % Wilson interval.
`lookalikes` marks the cubic test patterns that another class's net explains as well as the true class's
(from the exact kinematic net, `lookalike_classes`): the per-pattern goal is measured on the others.

Example:
    >>> shots = {k: load_shots(f"out/v2-test/{k}.npz") for k in ("cubic", "other", "junk")}
    >>> ev = {k: evidence_of(s, workers=2) for k, s in shots.items()}
    >>> res = spot_model_results(load_spot_model(DIR), shots, ev)
"""

from __future__ import annotations

import math

import numpy as np

from sadpnet.model.indexing import CLASSES, joint_scores, independent_scores, pattern_evidence
from sadpnet.model.spot_model import LABELS, decide, is_unknown, joint_posterior, pattern_probabilities
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
    """Per-pattern answers (label, "other" or "unknown", by `sadpnet.model.spot_model.decide`) and
    probabilities, and per-set / per-material joint answers (the same rule on the joint posterior)."""
    probs = pattern_probabilities(model, evidence)  # as `sadpnet classify` reports them
    unknown = np.array([is_unknown(e) for e in evidence])
    answer = np.array(LABELS)[decide(probs)]
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
            store[m] = (LABELS[int(decide(p)[0])], p)
        if members:
            logp = np.sum(np.log(np.clip(probs[members], 1e-6, None)), axis=0)
            independent[m] = LABELS[int(decide(np.exp(logp - logp.max()))[0])]
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


def summary(results: dict, shots: dict, holdout, *, role: str, lookalike: dict | None = None) -> dict:
    """The goal numbers of one role ("cubic", "other" or "junk"), each a `rate` dict. With ``lookalike`` (cubic:
    `lookalikes` of the same shots), also the per-pattern accuracy on the patterns without a look-alike of
    another class (``pattern_distinct``, per class and for Al and Fe too), on the look-alikes
    (``pattern_lookalike``) and on the patterns without even a near look-alike (``pattern_distinct_near``)."""
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
    groups = {**{str(c): truth == str(c) for c in CLASSES}, **{n: shots["material"] == n for n in ("cod/Al", "cod/Fe")}}
    bases = {"pattern": np.ones(len(ok), bool)}
    if lookalike is not None:
        distinct = ~np.asarray(lookalike["lookalike"], dtype=bool)
        far = ~np.asarray(lookalike["near"], dtype=bool)
        out["pattern_distinct"] = rate(ok[distinct].sum(), distinct.sum())
        out["pattern_lookalike"] = rate(ok[~distinct].sum(), (~distinct).sum())
        out["pattern_distinct_near"] = rate(ok[far].sum(), far.sum())
        bases["pattern_distinct"] = distinct
    for prefix, base in bases.items():  # per class and for Al and Fe, on all patterns and without look-alikes
        for name, sel in groups.items():
            out[f"{prefix}_{name}"] = rate(ok[base & sel].sum(), (base & sel).sum())
    sg = dict(zip(holdout.material_id, holdout.space_group))
    for key in ("set", "material", "set_independent"):
        if key in results:
            vals = results[key]
            right = sum((v[0] if isinstance(v, tuple) else v) == str(sg[m]) for m, v in vals.items())
            out[key] = rate(right, len(vals))
    if "probs" in results:
        from sadpnet.model.calibrate import expected_calibration_error

        y = np.array([LABELS.index(t) for t in truth])
        out["ece"] = float(expected_calibration_error(results["probs"], y,
                                                      answers=np.array([LABELS.index(a) for a in ans])))
    return out


#: Rows of the comparison table: (result key, role, what it measures, the goal, "at least" or "at most").
TABLE_ROWS = (
    ("set", "cubic", "3-axis set [001]+[011]+[111], 200 kV: materials right", 99.0, False),
    ("material", "cubic", "16 axes jointly: materials right", 100.0, False),
    ("set_independent", "cubic", "3-axis set, independent votes (no shared lattice parameter)", None, False),
    ("pattern", "cubic", "per pattern (16 axes, drawn conditions)", None, False),
    ("pattern_distinct", "cubic", "per pattern, patterns without a look-alike of another class", 95.0, False),
    ("pattern_lookalike", "cubic", "per pattern, patterns with a look-alike (ambiguous on one pattern)", None, False),
    ("pattern_distinct_near", "cubic", "per pattern, patterns without even a near look-alike (within the indexing "
     "tolerance)", None, False),
    ("pattern_cod/Al", "cubic", "per pattern, pristine Al", 95.0, False),
    ("pattern_cod/Fe", "cubic", "per pattern, pristine Fe", 95.0, False),
    ("pattern_distinct_cod/Al", "cubic", "per pattern, pristine Al, without a look-alike", 95.0, False),
    ("pattern_distinct_cod/Fe", "cubic", "per pattern, pristine Fe, without a look-alike", 95.0, False),
    ("pattern_refused", "cubic", "clean cubic patterns refused (other/unknown)", 3.0, True),
    ("pattern_other_or_unknown", "other", "non-cubic patterns answered other/unknown", 95.0, False),
    ("material_other_or_unknown", "other", "non-cubic materials (16 axes) answered other/unknown", 95.0, False),
    ("unknown", "junk", "noise, rings, blank frames answered unknown", 99.0, False),
) + tuple((f"pattern_{c}", "cubic", f"per pattern, class {c}", 85.0, False) for c in CLASSES) + tuple(
    (f"pattern_distinct_{c}", "cubic", f"per pattern, class {c}, without a look-alike", None, False) for c in CLASSES)

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
    the held-out test shots; writes ``results.json``, ``lookalikes.json`` (`lookalikes` of the cubic test
    patterns: the summary and each pattern's look-alike classes) and ``table.md`` (the comparison table, then
    the look-alike table) into ``out_dir`` and returns the results.

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
    la = lookalikes(shots["cubic"], holdout, workers=workers, progress=progress)
    evidence = {role: evidence_of(shots[role], workers=workers, progress=progress) for role in ROLES}

    def summarise(answers: dict, role: str) -> dict:
        return summary(answers, shots[role], holdout, role=role, lookalike=la if role == "cubic" else None)

    results = {"baseline (no learning)": {"cubic": summarise(baseline_results(shots["cubic"], evidence["cubic"]),
                                                             "cubic")}}
    for name, path in paths.items():
        if _architecture(path) == SPOT_ARCHITECTURE:
            model = load_spot_model(path)
            answers = {role: spot_model_results(model, shots[role], evidence[role]) for role in ROLES}
        else:
            answers = {role: resnet_results(path, shots[role]) for role in ROLES}
        results[name] = {role: summarise(answers[role], role) for role in ROLES}
    la_summary = lookalike_summary(la, shots["cubic"], holdout)
    per_pattern = [{"material": str(m), "zone": [int(x) for x in z], "lookalike": c, "near": n}
                   for m, z, c, n in zip(shots["cubic"]["material"], shots["cubic"]["zone"], la["classes"],
                                         la["near_classes"])]
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "results.json").write_text(json.dumps(results, indent=1, default=float) + "\n")
    (out_dir / "lookalikes.json").write_text(json.dumps({"summary": la_summary, "patterns": per_pattern}, indent=1,
                                                        default=float) + "\n")
    (out_dir / "table.md").write_text(table_markdown(results) + "\n\n" + lookalike_markdown(la_summary) + "\n")
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
    answer = {m: CLASSES[int(np.argmax(joint_scores(ev)[0]))] for m, ev in rows}
    joint = sum(answer[m] == truth[m] for m in answer)
    ind = sum(CLASSES[int(np.argmax(independent_scores(ev)))] == truth[m] for m, ev in rows)
    wrong = sorted(m for m in answer if answer[m] != truth[m])
    return {"set": rate(joint, len(rows)), "set_independent": rate(ind, len(rows)), "wrong": wrong,
            "min_intensity": min_intensity}


#: Reflections of a pattern's exact net: kinematic |F|^2 at least this share of the strongest (`exact_net_spots`).
EXACT_MIN_INTENSITY = 1e-3
#: Another class is a look-alike when its best fit scores at least the true class's best, less this.
LOOKALIKE_TOL = 1e-6
#: Spot-to-reflection tolerance of the look-alike test: nets that coincide (0.5 % of |g|, no pixel term).
#: Near look-alikes are tested with the indexing tolerance (`lattice_fit.TOL_RELATIVE`, `TOL_PIXELS`) instead.
LOOKALIKE_TOL_RELATIVE = 0.005


def exact_net_spots(crystal, zone, g_max_inv_a: float, *, min_intensity: float = EXACT_MIN_INTENSITY):
    """The exact spot list of ``crystal`` on ``zone`` as `sadpnet.model.spots.Spots`: its zero-order Laue-zone
    reflections with kinematic |F|^2 >= ``min_intensity`` of the strongest and |g| <= ``g_max_inv_a`` (the
    detector's inscribed circle), intensities |F|^2 relative to the strongest, no beam stop.

    The structure's net, not a rendered slab's: the simulator's spot list also holds higher-order Laue-zone
    spots and zeroes reflections at the thickness fringes of its slab (Al 400 at 200 kV and 20 cells), which
    are accidents of one thickness, not of the class (`sadpnet.simulate.zolz.zolz_net` leaves the excitation
    error out for the same reason)."""
    from sadpnet.model.spots import Spots
    from sadpnet.simulate.zolz import zolz_net

    pts, inten = zolz_net(crystal, tuple(int(x) for x in zone), min_intensity=min_intensity,
                          g_max_inv_a=float(g_max_inv_a))
    order = np.argsort(-inten, kind="stable")
    return Spots(pts[order].reshape(-1, 2), inten[order], float(g_max_inv_a), 0.0)


def lookalike_classes(fits: dict, true_class: int, classes=CLASSES, tol: float = LOOKALIKE_TOL) -> list[int]:
    """The other classes whose net explains a pattern's exact spots as well as the true class's does.

    ``fits`` are `sadpnet.model.lattice_fit.fit_classes` of the exact spots (`exact_net_spots`). A class's
    best fit scores explained - missing (spot weight within tolerance of an allowed reflection, minus the
    share of its allowed reflections inside the observed radius with no spot), over every zone family up to
    index 4, any lattice parameter (2-25 A), rotation and mirror. Another class that reaches the true class's
    best score (1 when the true net is complete: every spot explained, none missing) shows the same spots as
    one of its own nets: no single-pattern classifier can tell the two apart from positions. When no class has
    a hypothesis (fewer than two non-collinear spots: one systematic row), every class ties. Fit with
    ``tol_relative=LOOKALIKE_TOL_RELATIVE, tol_pixels=0`` the nets coincide; with the indexing defaults they
    agree within what the indexing can resolve (near look-alikes)."""
    from sadpnet.model.indexing import Evidence

    scores = dict(zip(classes, Evidence(0, fits).scores(classes)))
    best = scores[int(true_class)]
    return [int(c) for c in classes if int(c) != int(true_class) and scores[c] >= best - tol]


def _lookalike_rows(job):
    """Look-alike classes of every (zone, detector radius, pixel size) of one held-out cubic material."""
    from sadpnet.data.corpus import load_crystal

    material_id, space_group, rows = job
    return lookalike_rows(load_crystal(material_id), space_group, rows)


def lookalike_rows(crystal, space_group: int, rows) -> list[dict]:
    """`lookalike_classes` of a cubic ``crystal`` (`sadpnet.crystal.Crystal`) of ``space_group`` for each
    (zone, detector radius in 1/A, pixel size in 1/A) of ``rows``: {"classes", "near", "scores", "n_spots"}."""
    from sadpnet.model.lattice_fit import fit_classes

    out = []
    for zone, g_max, px in rows:
        spots = exact_net_spots(crystal, zone, g_max)
        # complete nets: missing reflections counted out to the farthest reflection (missing_share=1)
        exact = fit_classes(spots, pixel_size_inv_a=px, tol_relative=LOOKALIKE_TOL_RELATIVE, tol_pixels=0.0,
                            missing_share=1.0)
        near = fit_classes(spots, pixel_size_inv_a=px, missing_share=1.0)
        out.append({"classes": lookalike_classes(exact, space_group), "near": lookalike_classes(near, space_group),
                    "scores": {int(c): (round(float(f[0].score), 6) if f else None) for c, f in exact.items()},
                    "n_spots": len(spots)})
    return out


def lookalikes(shots: dict, holdout, *, workers: int = 1, progress=None) -> dict:
    """Which cubic test patterns have a look-alike of another class (`lookalike_classes` on the exact net of
    each (material, zone axis) within that pattern's detector circle).

    Returns:
        {"lookalike": (N,) bool, "classes": [look-alike classes of each pattern], "near": (N,) bool (a look-alike,
        or a near look-alike within the indexing tolerance), "near_classes", "scores": [{class: best score of
        the exact fit}], "n_spots": (N,)}, in the order of ``shots``.
    """
    from sadpnet.data.stream import map_workers

    sg = dict(zip(holdout.material_id, holdout.space_group))
    n = len(shots["material"])
    half = np.array([img.shape[0] / 2 for img in shots["image"]]) if n else np.zeros(0)
    g_max = np.asarray(shots["pixel_size_inv_a"], float) * half
    order: dict = {}
    for i, m in enumerate(shots["material"]):
        order.setdefault(str(m), []).append(i)
    jobs = [(m, int(sg[m]), [(tuple(int(x) for x in shots["zone"][i]), float(g_max[i]),
                              float(shots["pixel_size_inv_a"][i])) for i in idx]) for m, idx in order.items()]
    per_material = map_workers(_lookalike_rows, jobs, workers, progress)
    rows: list = [None] * n
    for idx, res in zip(order.values(), per_material):
        for i, r in zip(idx, res):
            rows[i] = r
    return {"lookalike": np.array([bool(r["classes"]) for r in rows], dtype=bool),
            "classes": [r["classes"] for r in rows],
            "near": np.array([bool(r["classes"] or r["near"]) for r in rows], dtype=bool),
            "near_classes": [sorted(set(r["classes"]) | set(r["near"])) for r in rows],
            "scores": [r["scores"] for r in rows], "n_spots": np.array([r["n_spots"] for r in rows], dtype=int)}


def lookalike_summary(la: dict, shots: dict, holdout) -> dict:
    """Look-alike fractions of the cubic test patterns (`lookalikes`), each a `rate` dict, for look-alikes
    (``exact``) and look-alikes or near look-alikes (``near``): all, per class, per zone axis, for Al and Fe;
    how often each other class is the look-alike; and the look-alike ceiling: the expected per-pattern accuracy
    of a perfect single-pattern indexer that picks at random among the classes tied with the truth."""
    truth = _truth(shots, holdout)
    zones = np.array(["".join(str(int(x)) for x in z) for z in shots["zone"]])
    groups = {"all": np.ones(len(truth), bool)}
    groups.update({f"class {c}": truth == str(c) for c in CLASSES})
    groups.update({name: shots["material"] == name for name in ("cod/Al", "cod/Fe")})
    groups.update({f"zone [{z}]": zones == z for z in dict.fromkeys(zones)})
    out: dict = {}
    for kind, flag_key, cls_key in (("exact", "lookalike", "classes"), ("near", "near", "near_classes")):
        flag = np.asarray(la[flag_key], dtype=bool)
        out[kind] = {name: rate(flag[sel].sum(), sel.sum()) for name, sel in groups.items()}
        rows = {c: np.flatnonzero(truth == str(c)) for c in CLASSES}
        out[f"{kind}_looks_like"] = {str(c): {str(o): int(sum(o in la[cls_key][i] for i in rows[c]))
                                             for o in CLASSES if o != c} for c in CLASSES}
    n = len(truth)
    out["ceiling"] = {"value": (sum(1.0 / (1 + len(c)) for c in la["classes"]) / n) if n else math.nan, "n": n}
    return out


def lookalike_markdown(s: dict) -> str:
    """The look-alike table: share of the cubic test patterns with a look-alike of another class (and with a
    look-alike or a near look-alike), per class with the other classes they look like, and per zone axis."""
    lines = ["| cubic test patterns | with a look-alike of another class (nets coincide) | looks like (patterns) "
             "| with a look-alike or a near look-alike (indexing tolerance) |", "|---|---|---|---|"]
    for name, r in s["exact"].items():
        alike = ""
        if name.startswith("class "):
            alike = ", ".join(f"{o}: {k}" for o, k in s["exact_looks_like"][name[6:]].items() if k)
        lines.append(f"| {name} | {_cell(r)} | {alike} | {_cell(s['near'][name])} |")
    lines.append(f"\nLook-alike ceiling (expected per-pattern accuracy of a perfect single-pattern indexer that picks "
                 f"at random among the classes tied with the truth): {100 * s['ceiling']['value']:.1f} % of "
                 f"{s['ceiling']['n']} patterns.")
    return "\n".join(lines)
