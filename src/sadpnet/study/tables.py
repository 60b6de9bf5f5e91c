"""The numbers of the study report: pooled accuracies per set and per paper row, the goal checks of issue 6,
strain curves, confusion matrices and calibration bins, from the results dict of `sadpnet.study.run`.

Plain functions of ``results`` (and a model entry or set keys); `sadpnet.study.report` lays them out.
"""

from __future__ import annotations

from collections import Counter

import numpy as np

from sadpnet.stats import (MET, NOT_CHECKED, NOT_ENOUGH, NOT_MET, difference_interval, goal_verdict,
                           interval_verdict, share_text, wilson_interval)
from sadpnet.study import paper

NA = "not available"


def fmt(x, nd: int = 1) -> str:
    return "-" if x is None else f"{x:.{nd}f}"


def summarize(records: list[dict]) -> dict:
    """n, accuracy (%), accuracy under the paper's appearance labels (%, None for records made before it was
    recorded), unknown rate (%) and the share of wrong patterns flagged unknown (%) of one set, each with the
    count it is made of (``n_correct``, ``n_appearance_correct``, ``n_unknown``, ``n_wrong_flagged``), for
    the Wilson intervals of `sadpnet.stats`."""
    n = len(records)
    if n == 0:
        return {"n": 0, "accuracy_pct": None, "appearance_accuracy_pct": None, "unknown_pct": None,
                "wrong_flagged_pct": None, "n_wrong": 0, "n_correct": 0, "n_appearance_correct": None,
                "n_unknown": 0, "n_wrong_flagged": 0}
    correct = sum(bool(r["correct"]) for r in records)
    appearance = (sum(bool(r["appearance_correct"]) for r in records)
                  if all("appearance_correct" in r for r in records) else None)
    unknown = sum(bool(r["unknown"]) for r in records)
    wrong = [r for r in records if not r["correct"]]
    flagged = sum(bool(r["unknown"]) for r in wrong)
    return {"n": n, "accuracy_pct": 100.0 * correct / n, "n_correct": correct,
            "appearance_accuracy_pct": None if appearance is None else 100.0 * appearance / n,
            "n_appearance_correct": appearance, "unknown_pct": 100.0 * unknown / n, "n_unknown": unknown,
            "n_wrong": len(wrong), "n_wrong_flagged": flagged,
            "wrong_flagged_pct": (100.0 * flagged / len(wrong)) if wrong else None}


def pooled(results: dict, model: str, keys: list[str]) -> dict:
    recs = [r for k in keys for r in results["per_pattern"].get(model, {}).get(k, [])]
    return summarize(recs)


def model_cell(results: dict, model: dict, keys: list[str], what: str = "acc") -> str:
    """Text of one model's cell for the sets ``keys``: accuracy % [95 % Wilson interval] (patterns),
    "97.9 [89.1, 99.6] (48)", or why there is no number; ``what="unk"``: the unknown rate %."""
    if model["status"] != "ok":
        return NA
    if not keys:
        return "no set"
    s = pooled(results, model["name"], keys)
    if s["n"] == 0:
        return "not simulated"
    if what == "acc":
        return share_text(s["n_correct"], s["n"])
    if what == "appearance":
        return "-" if s["n_appearance_correct"] is None else share_text(s["n_appearance_correct"], s["n"])
    return f"{s['unknown_pct']:.1f}"


def gate_cell(results: dict, model: dict, key: str) -> str:
    """Mean defect-gate weight of a mixture model on one set ("-" when its records carry none)."""
    g = [r["defect_gate"] for r in results["per_pattern"].get(model["name"], {}).get(key, []) if "defect_gate" in r]
    return f"{np.mean(g):.2f}" if g else "-"


def label_text(label: str) -> str:
    """A space-group label with its symbol ("225 Fm-3m"); other labels as they are."""
    if label.isdigit() and 1 <= int(label) <= 230:
        from sadpnet.model.labels import space_group_symbol

        return f"{label} {space_group_symbol(int(label))}"
    return label


def top_label_text(recs: list[dict]) -> str:
    """The most frequent top-1 label of per-pattern records with its share: "221 Pm-3m (88 %)"."""
    lab, n = Counter(r["label"] for r in recs).most_common(1)[0]
    return f"{label_text(lab)} ({100 * n / len(recs):.0f} %)"


# ---------------------------------------------------------------------------------------------- numbers
# ---------------------------------------------------------------------------------------------- content


def ensemble_cell(results: dict, model: dict, key: str) -> str:
    """"225 right (p 0.99)" / "229 wrong, unknown (p 0.60)" for one model and set, or why there is none."""
    if model["status"] != "ok":
        return NA
    e = results.get("ensemble", {}).get(model["name"], {}).get(key)
    if not e:
        return "not simulated"
    return (f"{label_text(e['label'])} {'right' if e['correct'] else 'wrong'}{', unknown' if e['unknown'] else ''} "
            f"(p {e['probability']:.2f})")


def ensemble_right(results: dict, model: str, keys: list[str]) -> tuple[int, int]:
    """(right, n): the sets among ``keys`` with an ensemble verdict of ``model``, and how many name the right
    space group."""
    verdicts = [v for k in keys if (v := results.get("ensemble", {}).get(model, {}).get(k)) is not None]
    return sum(bool(v.get("correct")) for v in verdicts), len(verdicts)


def sets_right_text(results: dict, model: dict, keys: list[str]) -> str:
    """"k/n sets right": the sets among ``keys`` whose ensemble verdict names the right space group."""
    if model["status"] != "ok":
        return NA
    right, n = ensemble_right(results, model["name"], keys)
    return f"{right}/{n} sets right"


def strain_curves(results: dict, series: str) -> list[dict]:
    """Accuracy against strain of every available model and material, for `sadpnet.study.plots.strain_plot`:
    per curve "strain", "accuracy_pct", "n" (patterns) and the 95 % Wilson bounds "low_pct", "high_pct"."""
    curves = []
    for mi, model in enumerate(results["models"]):
        if model["status"] != "ok":
            continue
        for mat in ("Al", "Fe"):
            sets = sorted((s for s in results["sets"] if s["defect"] == f"strain-{series}" and s["material"] == mat),
                          key=lambda s: s["params"]["strain"])
            pts = [(s["params"]["strain"], pooled(results, model["name"], [s["key"]])) for s in sets]
            pts = [(x, st["n_correct"], st["n"]) for x, st in pts if st["n"]]
            if pts:
                ci = [wilson_interval(k, n) for _, k, n in pts]
                curves.append({"label": f"{model['name']}, {mat}", "model": model["name"], "material": mat,
                               "color": mi, "strain": [p[0] for p in pts],
                               "accuracy_pct": [100.0 * k / n for _, k, n in pts], "n": [n for *_, n in pts],
                               "low_pct": [100.0 * lo for lo, _ in ci], "high_pct": [100.0 * hi for _, hi in ci]})
    return curves


def visibly_lowered_pct(results: dict, s: dict) -> float | None:
    """Share (%) of strained set ``s``'s patterns that visibly show the lowered symmetry (the records'
    ``visible_space_group``, `sadpnet.study.run.visible_labels`; the same for every model), or None when no
    model's records carry it."""
    for model in results["models"]:
        recs = results["per_pattern"].get(model["name"], {}).get(s["key"], [])
        if recs and all("visible_space_group" in r for r in recs):
            return 100.0 * sum(r["visible_space_group"] != s["space_group"] for r in recs) / len(recs)
    return None


def answers_non_cubic(record: dict) -> bool:
    """Whether a per-pattern verdict names a non-cubic crystal: a space group below 195, or "other" (a v2
    model's "not one of the five cubic groups")."""
    sg = record["space_group"]
    return record["label"] == "other" if sg is None else sg < 195


def can_answer_other(results: dict, model: dict) -> bool:
    """Whether a model can answer "other" (not one of the five cubic groups, a v2 model): its classes name it,
    or one of its verdicts in the run is it."""
    if "other" in (model.get("classes") or []):
        return True
    return any(r["label"] == "other" for recs in results["per_pattern"].get(model["name"], {}).values()
               for r in recs)


def other_cell(results: dict, model: dict, keys: list[str]) -> str:
    """Share answered "other" of one model on the sets ``keys``: % [95 % Wilson interval] (patterns), or why
    there is no number."""
    if model["status"] != "ok":
        return NA
    recs = [r for k in keys for r in results["per_pattern"].get(model["name"], {}).get(k, [])]
    if not recs:
        return "not simulated"
    return share_text(sum(r["label"] == "other" for r in recs), len(recs))


def lowered_curves(results: dict, series: str) -> list[dict]:
    """Against strain, per material: the share (%) of a strained set's patterns each available model answers
    with a non-cubic space group, and (``"model": None``) the share that visibly shows the lowered symmetry
    (`visibly_lowered_pct`), for `sadpnet.study.plots.lowered_plot`."""
    curves = []
    for mat in ("Al", "Fe"):
        sets = sorted((s for s in results["sets"] if s["defect"] == f"strain-{series}" and s["material"] == mat),
                      key=lambda s: s["params"]["strain"])
        for mi, model in enumerate(results["models"]):
            if model["status"] != "ok":
                continue
            pts = []
            for s in sets:
                recs = results["per_pattern"].get(model["name"], {}).get(s["key"], [])
                if recs:
                    pts.append((s["params"]["strain"], 100.0 * sum(map(answers_non_cubic, recs)) / len(recs)))
            if pts:
                curves.append({"label": f"{model['name']}, {mat}", "model": model["name"], "material": mat,
                               "color": mi, "strain": [p[0] for p in pts], "share_pct": [p[1] for p in pts]})
        shown = [(s["params"]["strain"], visibly_lowered_pct(results, s)) for s in sets]
        shown = [p for p in shown if p[1] is not None]
        if shown:
            curves.append({"label": f"visibly lowered, {mat}", "model": None, "material": mat, "color": None,
                           "strain": [p[0] for p in shown], "share_pct": [p[1] for p in shown]})
    return curves


def specimen_group_rows(results: dict, models: list[dict]) -> list[list[str]]:
    """Rows of "What the models assign to periodic defect supercells": per periodic thermal or point-defect set
    (``specimen_space_group`` recorded, `sadpnet.study.run.periodic_specimen_group`) its average structure, the
    periodic specimen's own group, and per model the most frequent answer (share) and the share answered with
    the specimen's own group; then one pooled row per specimen group held by several sets."""
    sets = [s for s in results["sets"] if s.get("specimen_space_group") is not None]

    def cell(model: dict, keys: list[str], own: dict) -> str:
        if model["status"] != "ok":
            return NA
        recs = [(r, own[k]) for k in keys for r in results["per_pattern"].get(model["name"], {}).get(k, [])]
        if not recs:
            return "not simulated"
        hit = 100.0 * sum(r["space_group"] == g for r, g in recs) / len(recs)
        if len(keys) > 1:
            return f"specimen's group {hit:.0f} % ({len(recs)})"
        return f"{top_label_text([r for r, _ in recs])}; specimen's group {hit:.0f} %"

    own = {s["key"]: s["specimen_space_group"] for s in sets}
    rows = [[s["label"], label_text(str(s["space_group"])), label_text(str(s["specimen_space_group"]))]
            + [cell(m, [s["key"]], own) for m in models] for s in sets]
    for group in sorted(set(own.values())):
        these = [s for s in sets if s["specimen_space_group"] == group]
        if len(these) > 1:
            labels = ", ".join(label_text(str(g)) for g in sorted({s["space_group"] for s in these}))
            name = label_text(str(group))
            rows.append([f"all {len(these)} sets whose specimen is {name}", labels, name]
                        + [cell(m, [s["key"] for s in these], own) for m in models])
    return rows


def set_status(results: dict) -> dict:
    return {s["key"]: s for s in results["sets"]}


def confusion(results: dict, model: str) -> tuple[list[str], list[str], np.ndarray]:
    """Rows: (material, family); columns: predicted labels then "flagged unknown"; counts."""
    sets = set_status(results)
    rows: dict[str, Counter] = {}
    labels: Counter = Counter()
    for key, recs in results["per_pattern"].get(model, {}).items():
        s = sets[key]
        row = f"{s['material']} {s['family']} (true {s['space_group']})"
        c = rows.setdefault(row, Counter())
        for r in recs:
            lab = str(r["space_group"]) if r["space_group"] is not None else r["label"]
            c[lab] += 1
            labels[lab] += 1
            c["flagged unknown"] += int(r["unknown"])
    cols = sorted(labels, key=lambda x: (not x.isdigit(), int(x) if x.isdigit() else 0, x)) + ["flagged unknown"]
    names = sorted(rows)
    mat = np.array([[rows[r][c] for c in cols] for r in names], dtype=int) if names else np.zeros((0, len(cols)), int)
    return names, cols, mat


def calibration(recs: list[dict], n_bins: int = 10) -> dict:
    """Reliability of the top-1 probability: per-bin confidence, accuracy, counts and the ECE (%)."""
    p = np.array([r["probability"] for r in recs], dtype=float)
    ok = np.array([r["correct"] for r in recs], dtype=float)
    keep = np.isfinite(p)
    p, ok = p[keep], ok[keep]
    edges = np.linspace(0, 1, n_bins + 1)
    idx = np.clip(np.digitize(p, edges) - 1, 0, n_bins - 1)
    conf, acc, cnt = [], [], []
    for b in range(n_bins):
        m = idx == b
        cnt.append(int(m.sum()))
        conf.append(float(p[m].mean()) if m.any() else None)
        acc.append(float(ok[m].mean()) if m.any() else None)
    ece = float(sum(c * abs(a - f) for c, a, f in zip(cnt, acc, conf) if c) / max(len(p), 1)) * 100
    return {"confidence": conf, "accuracy": acc, "count": cnt, "ece_pct": ece, "n": int(len(p)),
            "mean_confidence_pct": float(100 * p.mean()) if len(p) else None,
            "accuracy_pct": float(100 * ok.mean()) if len(p) else None}


def paper_row_keys(sets: list[dict]) -> tuple[dict, dict]:
    """({paper row: primary set keys}, {paper row: set keys of the paper's periodic construction}).

    A thermal or point-defect row's primary sets are its random-blocks sets (defects at random places, the
    "-shuffled" keys) when the run has them; its periodic sets (one supercell repeated, the paper's way) are
    then listed apart. Every other row: all its sets are primary."""
    primary: dict[str, list[str]] = {}
    periodic: dict[str, list[str]] = {}
    random_rows = {s["paper_row"] for s in sets if s["paper_row"] and s["key"].endswith("-shuffled")}
    for s in sets:
        row = s["paper_row"]
        if not row:
            continue
        apart = row in random_rows and s["family"] in ("thermal", "point")
        (periodic if apart else primary).setdefault(row, []).append(s["key"])
    return primary, periodic


def paper_rows(results: dict, models: list[dict], by_row: dict, what: str,
               periodic: dict | None = None) -> list[list[str]]:
    """Rows of the paper-versus-models table: each paper row beside each model's pooled ``what`` ("acc":
    space-group accuracy, "appearance": accuracy under the paper's appearance labels); after a row with sets of
    the paper's periodic construction in ``periodic`` (`paper_row_keys`), a row of those."""
    sets = results["sets"]
    rows = []
    for pr in paper.PAPER_ROWS:
        keys = by_row.get(pr.key, [])
        if pr.accuracy_pct is not None:
            rows.append([pr.label, f"{pr.accuracy_pct:.2f}"] + [model_cell(results, m, keys, what) for m in models]
                        + [", ".join(keys) if keys else "no set in this run"])
            pk = (periodic or {}).get(pr.key)
            if pk:
                rows.append([f"{pr.label}: the paper's periodic construction", f"{pr.accuracy_pct:.2f}"]
                            + [model_cell(results, m, pk, what) for m in models] + [", ".join(pk)])
            continue
        series = pr.key.split("-")[1]  # strain rows: compare with each of the paper's statements
        strain = {k: next(s for s in sets if s["key"] == k)["params"]["strain"] for k in keys}
        unit = (lambda x: f"{100 * x:g} %") if series == "normal" else (lambda x: f"{x:g} rad")  # noqa: E731
        for ser, x, acc, kind in paper.PAPER_STRAIN_POINTS:
            if ser != series:
                continue
            if kind == "unchanged_up_to":
                sel, cond = [k for k, e in strain.items() if e <= x + 1e-9], f"strain <= {unit(x)}"
                ptxt = f"no visible effect up to {unit(x)} (pristine {acc:.2f})"
            elif kind == "at_most":
                sel, cond = [k for k, e in strain.items() if e >= x - 1e-9], f"strain >= {unit(x)}"
                ptxt = f"below {acc:g} at and above {unit(x)}"
            else:
                sel, cond = [k for k, e in strain.items() if abs(e - x) < 1e-9], f"strain = {unit(x)}"
                ptxt = f"{acc:.2f} at {unit(x)}"
            rows.append([f"{pr.label}: {cond}", ptxt] + [model_cell(results, m, sel, what) for m in models]
                        + [f"{len(sel)} sets (Al, Fe)" if sel else "no set in this run"])
    return rows


def _share_goal(goal: str, model: str, st: dict | None, k_key: str, n_key: str, thr: float, ens: str,
                at_most: bool = False) -> list[str]:
    """One goal row on a share ``st[k_key] / st[n_key]`` (`summarize` counts): the share with its
    Wilson interval and count, and `sadpnet.stats.goal_verdict`."""
    if not st or not st[n_key]:
        return [goal, model, "n/a", NOT_CHECKED, ens]
    k, n = st[k_key], st[n_key]
    return [goal, model, share_text(k, n), goal_verdict(k, n, thr, at_most), ens]


def _loss_goal(goal: str, model: str, a: dict | None, c: dict | None, max_loss: float, ens: str) -> list[str]:
    """The goal "the defect-aware ``model`` (counts ``a``) loses at most ``max_loss`` points against its
    clean-trained partner (counts ``c``)": the loss with its 95 % interval (Newcombe,
    `sadpnet.stats.difference_interval`), met when its upper bound is at most ``max_loss``."""
    if not (a and c and a["n"] and c["n"]):
        return [goal, model, "n/a", NOT_CHECKED, "n/a"]
    lo, hi = (100 * x for x in difference_interval(c["n_correct"], c["n"], a["n_correct"], a["n"]))
    loss = c["accuracy_pct"] - a["accuracy_pct"]
    return [goal, model, f"{loss:+.1f} points [{lo:+.1f}, {hi:+.1f}] ({a['n']}, {c['n']})",
            interval_verdict(lo, hi, max_loss, at_most=True), ens]


#: Name families of the models the goals judge, and the name of the model of each family the goals of issue 18
#: are about (judged in every run, "n/a" when it is not in it).
CLEAN_TRAINED, DEFECT_AWARE = "clean-trained", "defect-aware"
GOAL_MODEL_V2 = {CLEAN_TRAINED: "clean-trained v2", DEFECT_AWARE: "defect-aware v2"}


def goal_models(results: dict, family: str) -> list[str]:
    """The models whose goal rows the report gives for a name family (``CLEAN_TRAINED``, ``DEFECT_AWARE``):
    the family's v2 model (`GOAL_MODEL_V2`) first, then the run's other models whose names start with the
    family, in the run's order ("clean-trained v1", or "clean-trained" of a run with its own names)."""
    v2 = GOAL_MODEL_V2[family]
    return [v2] + [m["name"] for m in results["models"] if m["name"].startswith(family) and m["name"] != v2]


def clean_partner(defect_aware: str) -> str:
    """The clean-trained model a defect-aware one is compared with: the same name with "clean-trained" for
    "defect-aware" ("defect-aware v2" -> "clean-trained v2")."""
    return defect_aware.replace(DEFECT_AWARE, CLEAN_TRAINED, 1)


class _GoalData:
    """What the goal rows read from one run: pooled counts and ensemble verdicts per model and set keys."""

    def __init__(self, results: dict):
        self.results = results
        self.sets = results["sets"]
        self.models = {m["name"]: m for m in results["models"]}

    def keys(self, *defects) -> list[str]:
        """Keys of the sets of these defects; of thermal and point defects the random-blocks sets when the run
        has them (the primary rows, `paper_row_keys`)."""
        shuffled = [s["key"] for s in self.sets if s["defect"].removesuffix("-shuffled") in defects
                    and s["defect"].endswith("-shuffled")]
        return shuffled or [s["key"] for s in self.sets if s["defect"] in defects]

    def acc(self, model: str, ks: list[str]) -> dict | None:
        """`pooled` counts of ``model`` on ``ks``; None when the model is not in the run or not available."""
        if model not in self.models or self.models[model]["status"] != "ok":
            return None
        return pooled(self.results, model, ks)

    def ens(self, model: str, ks: list[str]) -> str:
        """'right/n sets' of the ensemble verdicts on the sets ``ks`` (n/a without the model or sets)."""
        right, n = ensemble_right(self.results, model, ks)
        if self.acc(model, ks) is None or not n:
            return "n/a"
        return f"{right}/{n} sets"


def _paper_goal_rows(d: _GoalData, by_row: dict, min_paper_pct: float) -> list[list[str]]:
    """Clean-trained >= the paper on every paper row where the paper is >= ``min_paper_pct``, per clean-trained
    model (`goal_models`)."""
    rows = []
    for pr in paper.PAPER_ROWS:
        if pr.accuracy_pct is None or pr.accuracy_pct < min_paper_pct:
            continue
        ks = by_row.get(pr.key, [])
        for name in goal_models(d.results, CLEAN_TRAINED):
            rows.append(_share_goal(f"accuracy >= paper ({pr.accuracy_pct:.2f} %) on '{pr.label}'", name,
                                    d.acc(name, ks), "n_correct", "n", pr.accuracy_pct, d.ens(name, ks)))
    return rows


def _defect_aware_goal_rows(d: _GoalData, g: dict) -> list[list[str]]:
    """The defect-aware goals per defect-aware model: accuracy on each defect family, and the loss on pristine
    patterns against its clean-trained partner (`clean_partner`)."""
    names = goal_models(d.results, DEFECT_AWARE)
    rows = []
    for label, ks, thr in (("dislocations", d.keys("dislocation"), g["defect_aware_dislocation_twin_min_pct"]),
                           ("twins", d.keys("twin"), g["defect_aware_dislocation_twin_min_pct"]),
                           ("thermal", d.keys("thermal-md", "thermal-debye"), g["defect_aware_thermal_point_min_pct"]),
                           ("point defects", d.keys("vacancy", "substitution", "interstitial"),
                            g["defect_aware_thermal_point_min_pct"])):
        rows += [_share_goal(f"accuracy >= {thr:g} % on {label}", name, d.acc(name, ks), "n_correct", "n", thr,
                             d.ens(name, ks)) for name in names]
    ks = d.keys("pristine")
    for name in names:
        clean = clean_partner(name)
        rows.append(_loss_goal(f"loses at most {g['defect_aware_max_clean_loss_points']:g} point on pristine "
                               f"against {clean}", name, d.acc(name, ks), d.acc(clean, ks),
                               g["defect_aware_max_clean_loss_points"],
                               f"{name} {d.ens(name, ks)}, {clean} {d.ens(clean, ks)}"))
    return rows


def _unknown_goal_rows(d: _GoalData, g: dict) -> list[list[str]]:
    """The unknown-verdict goals per clean-trained model: flags most misclassified dislocation and twin
    patterns, and few pristine ones."""
    rows = []
    goal = f"flags >= {g['unknown_flags_wrong_min_pct']:g} % of misclassified dislocation/twin patterns"
    for name in goal_models(d.results, CLEAN_TRAINED):
        st = d.acc(name, d.keys("dislocation", "twin"))
        if st and st["n"] and not st["n_wrong"]:
            rows.append([goal, name, "no misclassified pattern", NOT_CHECKED, "n/a"])
        else:
            rows.append(_share_goal(goal, name, st, "n_wrong_flagged", "n_wrong", g["unknown_flags_wrong_min_pct"],
                                    "n/a"))
    for name in goal_models(d.results, CLEAN_TRAINED):
        rows.append(_share_goal(f"flags <= {g['unknown_flags_clean_max_pct']:g} % of pristine patterns", name,
                                d.acc(name, d.keys("pristine")), "n_unknown", "n", g["unknown_flags_clean_max_pct"],
                                "n/a", at_most=True))
    return rows


def goal_rows(results: dict, by_row: dict) -> list[list[str]]:
    """Rows [goal, model, measured, verdict, material level] of the goals of issues 6 and 18, each naming the
    model it judges (`goal_models`: the v2 model of each family first). Measured: share % [95 % Wilson interval]
    (patterns); verdict: `sadpnet.stats.goal_verdict` ("met" only when the whole interval clears the goal, "not
    enough patterns" when it straddles it, "not met", "n/a")."""
    g = results["goals"]
    d = _GoalData(results)
    return (_paper_goal_rows(d, by_row, g["clean_at_least_paper_where_paper_ge_pct"])
            + _defect_aware_goal_rows(d, g) + _unknown_goal_rows(d, g))


def verdict_lines(rows: list[list[str]]) -> list[str]:
    """Plain sentences of what is met and what is not, from `goal_rows`: one per verdict that occurs, in the
    order met, not met, not enough patterns, not checked."""
    words = {MET: "Met (the whole 95 % interval clears the goal)",
             NOT_MET: "Not met (the whole 95 % interval misses the goal)",
             NOT_ENOUGH: "Not enough patterns to tell (the 95 % interval straddles the goal)",
             NOT_CHECKED: "Not checked (model or sets not in this run)"}
    out = []
    for verdict, text in words.items():
        these = [r for r in rows if r[3] == verdict]
        if these:
            items = "; ".join(f"{r[0]} ({r[1]}" + ("" if verdict == NOT_CHECKED else f": {r[2]}") + ")"
                              for r in these)
            out.append(f"**{text}, {len(these)} of {len(rows)}:** {items}.")
    return out
