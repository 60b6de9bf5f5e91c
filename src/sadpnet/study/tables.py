"""The numbers of the study report: pooled accuracies per set and per paper row, the goal checks of issue 6,
strain curves, confusion matrices and calibration bins, from the results dict of `sadpnet.study.run`.

Plain functions of ``results`` (and a model entry or set keys); `sadpnet.study.report` lays them out.
"""

from __future__ import annotations

from collections import Counter

import numpy as np

from sadpnet.study import paper

NA = "not available"


def fmt(x, nd: int = 1) -> str:
    return "-" if x is None else f"{x:.{nd}f}"


def summarize(records: list[dict]) -> dict:
    """n, accuracy (%), accuracy under the paper's appearance labels (%, None for records made before it was
    recorded), unknown rate (%) and the share of wrong patterns flagged unknown (%) of one set."""
    n = len(records)
    if n == 0:
        return {"n": 0, "accuracy_pct": None, "appearance_accuracy_pct": None, "unknown_pct": None,
                "wrong_flagged_pct": None, "n_wrong": 0}
    correct = sum(r["correct"] for r in records)
    appearance = (100.0 * sum(r["appearance_correct"] for r in records) / n
                  if all("appearance_correct" in r for r in records) else None)
    unknown = sum(r["unknown"] for r in records)
    wrong = [r for r in records if not r["correct"]]
    return {"n": n, "accuracy_pct": 100.0 * correct / n, "appearance_accuracy_pct": appearance,
            "unknown_pct": 100.0 * unknown / n, "n_wrong": len(wrong),
            "wrong_flagged_pct": (100.0 * sum(r["unknown"] for r in wrong) / len(wrong)) if wrong else None}


def pooled(results: dict, model: str, keys: list[str]) -> dict:
    recs = [r for k in keys for r in results["per_pattern"].get(model, {}).get(k, [])]
    return summarize(recs)


def model_cell(results: dict, model: dict, keys: list[str], what: str = "acc") -> str:
    """Text of one model's cell for the sets ``keys``: "97.9 (48)" or why there is no number."""
    if model["status"] != "ok":
        return NA
    if not keys:
        return "no set"
    s = pooled(results, model["name"], keys)
    if s["n"] == 0:
        return "not simulated"
    if what == "acc":
        return f"{s['accuracy_pct']:.1f} ({s['n']})"
    if what == "appearance":
        return "-" if s["appearance_accuracy_pct"] is None else f"{s['appearance_accuracy_pct']:.1f} ({s['n']})"
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


def strain_curves(results: dict, series: str) -> list[dict]:
    """Accuracy against strain of every available model and material, for `sadpnet.study.plots.strain_plot`."""
    curves = []
    for mi, model in enumerate(results["models"]):
        if model["status"] != "ok":
            continue
        for mat in ("Al", "Fe"):
            sets = sorted((s for s in results["sets"] if s["defect"] == f"strain-{series}" and s["material"] == mat),
                          key=lambda s: s["params"]["strain"])
            pts = [(s["params"]["strain"], pooled(results, model["name"], [s["key"]])["accuracy_pct"]) for s in sets]
            pts = [p for p in pts if p[1] is not None]
            if pts:
                curves.append({"label": f"{model['name']}, {mat}", "material": mat, "color": mi,
                               "strain": [p[0] for p in pts], "accuracy_pct": [p[1] for p in pts]})
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
                    pts.append((s["params"]["strain"], 100.0 * sum(r["space_group"] < 195 for r in recs) / len(recs)))
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


def paper_rows(results: dict, models: list[dict], by_row: dict, what: str) -> list[list[str]]:
    """Rows of the paper-versus-models table: each paper row beside each model's pooled ``what`` ("acc":
    space-group accuracy, "appearance": accuracy under the paper's appearance labels)."""
    sets = results["sets"]
    rows = []
    for pr in paper.PAPER_ROWS:
        keys = by_row.get(pr.key, [])
        if pr.accuracy_pct is not None:
            rows.append([pr.label, f"{pr.accuracy_pct:.2f}"] + [model_cell(results, m, keys, what) for m in models]
                        + [", ".join(keys) if keys else "no set in this run"])
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


def goal_rows(results: dict, by_row: dict) -> list[list[str]]:
    g = results["goals"]
    sets = results["sets"]
    models = {m["name"]: m for m in results["models"]}
    rows = []

    def keys(*defects):
        return [s["key"] for s in sets if s["defect"] in defects]

    def acc(model, ks):
        if model not in models or models[model]["status"] != "ok":
            return None
        return pooled(results, model, ks)

    def ens(model, ks) -> str:
        """'right/n sets' of the ensemble verdicts on the sets ``ks`` (n/a without the model or sets)."""
        verdicts = [v for k in ks if (v := results.get("ensemble", {}).get(model, {}).get(k)) is not None]
        if acc(model, ks) is None or not verdicts:
            return "n/a"
        return f"{sum(bool(v.get('correct')) for v in verdicts)}/{len(verdicts)} sets"

    # clean-trained >= paper where the paper is >= 80 %, for every clean-trained model (name "clean-trained...")
    clean = [n for n in models if n.startswith("clean-trained")] or ["clean-trained"]
    for pr in paper.PAPER_ROWS:
        if pr.accuracy_pct is None or pr.accuracy_pct < g["clean_at_least_paper_where_paper_ge_pct"]:
            continue
        for name in clean:
            st = acc(name, by_row.get(pr.key, []))
            meas = "n/a" if not st or st["n"] == 0 else f"{st['accuracy_pct']:.1f}"
            met = "n/a" if meas == "n/a" else ("yes" if st["accuracy_pct"] >= pr.accuracy_pct else "no")
            rows.append([f"accuracy >= paper ({pr.accuracy_pct:.2f} %) on '{pr.label}'", name, meas, met,
                         ens(name, by_row.get(pr.key, []))])
    for label, ks, thr in (("dislocations", keys("dislocation"), g["defect_aware_dislocation_twin_min_pct"]),
                           ("twins", keys("twin"), g["defect_aware_dislocation_twin_min_pct"]),
                           ("thermal", keys("thermal-md", "thermal-debye"), g["defect_aware_thermal_point_min_pct"]),
                           ("point defects", keys("vacancy", "substitution", "interstitial"),
                            g["defect_aware_thermal_point_min_pct"])):
        st = acc("defect-aware", ks)
        meas = "n/a" if not st or st["n"] == 0 else f"{st['accuracy_pct']:.1f}"
        rows.append([f"accuracy >= {thr:g} % on {label}", "defect-aware", meas,
                     "n/a" if meas == "n/a" else ("yes" if st["accuracy_pct"] >= thr else "no"), ens("defect-aware", ks)])
    a, c = acc("defect-aware", keys("pristine")), acc("clean-trained", keys("pristine"))
    if a and c and a["n"] and c["n"]:
        loss = c["accuracy_pct"] - a["accuracy_pct"]
        rows.append([f"loses at most {g['defect_aware_max_clean_loss_points']:g} point on pristine", "defect-aware",
                     f"{loss:+.1f} points", "yes" if loss <= g["defect_aware_max_clean_loss_points"] else "no",
                     f"defect-aware {ens('defect-aware', keys('pristine'))}, clean-trained "
                     f"{ens('clean-trained', keys('pristine'))}"])
    else:
        rows.append([f"loses at most {g['defect_aware_max_clean_loss_points']:g} point on pristine", "defect-aware",
                     "n/a", "n/a", "n/a"])
    st = acc("clean-trained", keys("dislocation", "twin"))
    if st and st["n"] and st["n_wrong"]:
        rows.append([f"flags >= {g['unknown_flags_wrong_min_pct']:g} % of misclassified dislocation/twin patterns",
                     "clean-trained", f"{st['wrong_flagged_pct']:.1f}",
                     "yes" if st["wrong_flagged_pct"] >= g["unknown_flags_wrong_min_pct"] else "no", "n/a"])
    else:
        rows.append([f"flags >= {g['unknown_flags_wrong_min_pct']:g} % of misclassified dislocation/twin patterns",
                     "clean-trained", "n/a" if not st or not st["n"] else "no misclassified pattern", "n/a", "n/a"])
    st = acc("clean-trained", keys("pristine"))
    meas = "n/a" if not st or st["n"] == 0 else f"{st['unknown_pct']:.1f}"
    rows.append([f"flags <= {g['unknown_flags_clean_max_pct']:g} % of pristine patterns", "clean-trained", meas,
                 "n/a" if meas == "n/a" else ("yes" if st["unknown_pct"] <= g["unknown_flags_clean_max_pct"] else "no"),
                 "n/a"])
    return rows
