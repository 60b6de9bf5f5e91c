"""Evaluate a model on a dataset split: accuracy per class and zone axis, zone-axis ensembles, confusion
matrix, calibration error and unknown-detection AUROC.

``evaluate_model(model_dir, dataset, split="test", out_dir=None)`` returns (and writes as
``metrics.json`` + ``report.md`` + ``confusion.png`` into ``out_dir``) a dict with:

* ``accuracy``: per-pattern top-1 space-group accuracy; ``per_class`` and ``per_zone_axis`` accuracies;
* ``ensemble_3``: accuracy of the product-rule ensemble over 3 different zone axes of one material (200
  seeded random triples of axes per material, one random pattern of each axis among its voltages and camera
  lengths), and ``ensemble_3_lowest``: the same over the three lowest-index axes [001], [011], [111];
* ``confusion``: counts (rows = true, columns = predicted space group);
* ``ece``: expected calibration error (15 bins) of the calibrated probabilities, and ``ece_uncalibrated``;
* ``unknown``: AUROC of every unknown score (clean test patterns vs each out-of-distribution set: amorphous
  rings and noise-only frames made by `sadpnet.model.ood_sets`, plus any ``extra_ood`` sources such as
  dislocation and twin patterns) and the chosen score's detection rate at its threshold.
"""

from __future__ import annotations

import json
from itertools import combinations
from pathlib import Path

import numpy as np

from sadpnet.errors import InputError


def model_inputs(clf, source, start: int = 0, stop: int | None = None) -> np.ndarray:
    """Preprocessed model inputs (N, S, S) float32 of a source's patterns ``start:stop`` (direct beam at the
    image centre), each converted from its own intensity mapping (``source.mapping_of(i)``) into the model's."""
    xs = []
    for i in range(start, len(source) if stop is None else min(stop, len(source))):
        img = np.asarray(source.image(i))
        xs.append(clf.preprocess(img, source.pixel_size(i), (img.shape[1] / 2.0, img.shape[0] / 2.0),
                                 mapping=source.mapping_of(i)))
    s = clf.image_size_px
    return np.stack(xs) if xs else np.zeros((0, s, s), np.float32)


def run_model(clf, source, batch: int = 256) -> dict:
    """Calibrated space-group probabilities (gated, for a mixture model: `sadpnet.model.mixture`), raw logits,
    features, unknown scores and refusals
    ("unknown_verdict": the model's own unknown verdict or, when it has a defect detector, its defect flag:
    `sadpnet.model.detector`) of a source."""
    logits, feats, verdicts, probs = [], [], [], []
    for i0 in range(0, len(source), batch):
        x = model_inputs(clf, source, i0, i0 + batch)
        lo, fe = clf.forward_inputs(x)
        logits.append(lo)
        feats.append(fe)
        probs.append(clf.class_probabilities(x, lo)[0])  # a mixture model's gated probabilities
        dx = None if clf.detector_shares_input() else model_inputs(clf.detector, source, i0, i0 + batch)
        own, flag, _ = clf.unknown_verdicts(x, lo, fe, dx)
        verdicts.append(own if flag is None else own | flag)
    k = len(clf.scheme.classes)
    logits = np.concatenate(logits) if logits else np.zeros((0, k))
    feats = np.concatenate(feats) if feats else np.zeros((0, 1))
    probs = np.concatenate(probs) if probs else np.zeros((0, k))
    return {"logits": logits, "features": feats, "class_probs": probs,
            "sg_probs": clf.scheme.space_group_probabilities(probs), "unknown": clf.unknown_scores(logits, feats),
            "unknown_verdict": np.concatenate(verdicts) if verdicts else np.zeros(0, bool)}


def ensemble_accuracy(sg_probs: np.ndarray, table, space_groups: list[int], *, n_triples: int = 200, seed: int = 0,
                      zones: tuple[str, ...] | None = None) -> tuple[float, int]:
    """Accuracy of the product rule over 3 distinct zone axes of one material (one pattern per axis, any setting)."""
    rng = np.random.default_rng(seed)
    # one specimen = one material (camera lengths carry a calibration jitter in datasets, so they are not
    # grouped on; any voltage and camera length may be combined, as at a microscope)
    keys = [c for c in ("material_id",) if c in table.columns] or ["space_group"]
    ok = n = 0
    logp = np.log(np.maximum(sg_probs, 1e-4))
    for _, g in table.groupby(keys, sort=True):
        by_zone = {}
        for pos, z in zip(g.index.to_numpy(), g["zone_axis"]):
            by_zone.setdefault(str(z), []).append(pos)
        if zones is not None:
            triples = [tuple(zones)] * n_triples if all(z in by_zone for z in zones) else []
        else:
            names = sorted(by_zone)
            combos = list(combinations(names, 3))
            if not combos:
                continue
            pick = rng.permutation(len(combos))[:n_triples]
            triples = [combos[j] for j in pick]
        truth = int(g["space_group"].iloc[0])
        for tri in triples:
            rows = [by_zone[z][int(rng.integers(len(by_zone[z])))] for z in tri]
            pred = space_groups[int(np.argmax(logp[rows].sum(axis=0)))]
            ok += int(pred == truth)
            n += 1
    return (ok / n if n else float("nan")), n


def evaluate_model(model_dir, dataset, *, split: str = "test", out_dir=None, n_ood: int = 200, seed: int = 0,
                   extra_ood: dict | None = None, max_patterns: int | None = None) -> dict:
    from sadpnet.model.calibrate import expected_calibration_error, softmax
    from sadpnet.model.infer import load_model
    from sadpnet.model.ood_sets import amorphous_rings, as_source, noise_only
    from sadpnet.model.source import open_store
    from sadpnet.model.unknown import SCORES, auroc, score

    clf = load_model(model_dir)
    src = open_store(dataset, split, max_patterns=max_patterns, seed=seed) if not hasattr(dataset, "table") else dataset
    if len(src) == 0:
        raise InputError(f"split {split!r} of the dataset is empty", dataset)
    sgs = clf.scheme.space_groups
    if not sgs:
        raise InputError("evaluate needs a model whose classes are space groups", model_dir)
    out = run_model(clf, src)
    t = src.table
    truth = t["space_group"].to_numpy().astype(int)
    pred = np.array(sgs)[out["sg_probs"].argmax(1)]
    correct = pred == truth
    res: dict = {"model": str(model_dir), "dataset": str(getattr(dataset, "path", dataset)), "split": split,
                 "n_patterns": int(len(src)), "n_correct": int(correct.sum()), "accuracy": float(correct.mean())}
    res["per_class"] = {str(s): _counted(correct[truth == s]) for s in sorted(set(truth))}
    res["per_zone_axis"] = {z: _counted(correct[m])
                            for z in sorted(set(t["zone_axis"]), key=lambda z: (sum(int(c) ** 2 for c in z), z))
                            for m in [(t["zone_axis"] == z).to_numpy()]}
    if "material_id" in t.columns:
        res["per_material"] = {m: float(correct[(t["material_id"] == m).to_numpy()].mean())
                               for m in sorted(set(t["material_id"]))}
    acc3, n3 = ensemble_accuracy(out["sg_probs"], t, sgs, seed=seed)
    acc3l, n3l = ensemble_accuracy(out["sg_probs"], t, sgs, zones=("001", "011", "111"))
    res["ensemble_3"] = {"accuracy": acc3, "n": n3, "rule": "product of calibrated probabilities",
                         "triples": "200 random triples of distinct zone axes per material, one random pattern per axis"}
    res["ensemble_3_lowest"] = {"accuracy": acc3l, "n": n3l, "zone_axes": ["001", "011", "111"]}
    labels = sorted(set(sgs) | set(truth))
    cm = np.zeros((len(labels), len(labels)), dtype=int)
    idx = {s: i for i, s in enumerate(labels)}
    for a, b in zip(truth, pred):
        cm[idx[a], idx[b]] += 1
    res["confusion"] = {"labels": labels, "counts": cm.tolist()}
    # calibration: on class labels when every true label is a class (column scheme)
    sg_truth_idx = np.array([sgs.index(s) if s in sgs else -1 for s in truth])
    known = sg_truth_idx >= 0
    res["ece"] = expected_calibration_error(out["sg_probs"][known], sg_truth_idx[known])
    raw = clf.scheme.space_group_probabilities(softmax(out["logits"]))
    res["ece_uncalibrated"] = expected_calibration_error(raw[known], sg_truth_idx[known])
    res["temperature"] = clf.temperature
    # unknown detection
    cal = float(np.median(t["pixel_size_inv_a"]))
    size = int(np.asarray(src.image(0)).shape[0])
    ood_sources = {"amorphous_rings": as_source(amorphous_rings(n_ood, size_px=size, pixel_size_inv_a=cal,
                                                                seed=seed + 101), cal, "amorphous_rings"),
                   "noise_only": as_source(noise_only(n_ood, size_px=size, pixel_size_inv_a=cal, seed=seed + 102),
                                           cal, "noise_only")}
    ood_sources.update(extra_ood or {})
    ood_out = {name: run_model(clf, s) for name, s in ood_sources.items() if len(s)}
    chosen = (clf.card.get("unknown") or {}).get("score", "energy")
    thr = float((clf.card.get("unknown") or {}).get("threshold", np.inf))
    table = {}
    for name in SCORES:
        if name == "mahalanobis" and clf.ood_stats is None:
            continue
        s_in = score(name, out["logits"], out["features"], temperature=clf.temperature, stats=clf.ood_stats)
        row = {k: auroc(s_in, score(name, o["logits"], o["features"], temperature=clf.temperature,
                                    stats=clf.ood_stats)) for k, o in ood_out.items()}
        row["all"] = auroc(s_in, np.concatenate([score(name, o["logits"], o["features"], temperature=clf.temperature,
                                                       stats=clf.ood_stats) for o in ood_out.values()]))
        table[name] = row
    res["unknown"] = {"chosen_score": chosen, "threshold": thr, "auroc": table,
                      "clean_flagged_unknown": float(out["unknown_verdict"].mean()),
                      "ood_flagged_unknown": {k: float(o["unknown_verdict"].mean()) for k, o in ood_out.items()},
                      "detector": (clf.card.get("unknown") or {}).get("detector"),
                      "ood_sets": {k: int(len(s)) for k, s in ood_sources.items()}}
    if out_dir is not None:
        write_report(res, Path(out_dir))
        write_predictions(t, truth, pred, out["sg_probs"].max(1), out["unknown"], out["unknown_verdict"],
                          Path(out_dir) / "predictions.parquet")
    return res


def _counted(correct: np.ndarray) -> dict:
    """{"n", "n_correct", "accuracy"} of a boolean array of right/wrong patterns."""
    return {"n": int(correct.size), "n_correct": int(correct.sum()), "accuracy": float(correct.mean())}


def _share(entry: dict, n_key: str = "n", acc_key: str = "accuracy") -> str:
    """Accuracy % [95 % Wilson interval] (patterns) of a metrics entry (count rebuilt from the accuracy for
    metrics.json files written before ``n_correct`` was recorded)."""
    from sadpnet.stats import share_text

    n = int(entry[n_key])
    k = entry.get("n_correct", round(entry[acc_key] * n))
    return share_text(int(k), n, nd=2)


def write_predictions(table, truth, pred, prob, unknown, verdict, path: Path) -> None:
    """predictions.parquet: one row per evaluated pattern (row of the split's table, material_id, zone_axis,
    space_group, predicted, probability of the prediction, correct, unknown_score, unknown verdict)."""
    import pandas as pd

    from sadpnet.atomic_write import atomic_path

    df = pd.DataFrame({"row": np.asarray(table.index), "zone_axis": table["zone_axis"].to_numpy(),
                       "space_group": truth, "predicted": pred, "probability": prob, "correct": truth == pred,
                       "unknown_score": np.asarray(unknown, dtype=float), "unknown": np.asarray(verdict, bool)})
    if "material_id" in table.columns:
        df.insert(1, "material_id", table["material_id"].to_numpy())
    with atomic_path(path) as tmp:
        df.to_parquet(tmp, index=False)


def write_report(res: dict, out_dir: Path) -> None:
    from sadpnet.atomic_write import atomic_path, write_text_atomic

    out_dir.mkdir(parents=True, exist_ok=True)
    write_text_atomic(out_dir / "metrics.json", json.dumps(res, indent=2) + "\n")
    write_text_atomic(out_dir / "report.md", report_markdown(res))
    with atomic_path(out_dir / "confusion.png") as tmp:
        plot_confusion(res["confusion"], tmp, title=f"{Path(res['model']).name} on {res['split']} "
                                                   f"({res['n_patterns']} patterns, acc {100 * res['accuracy']:.1f} %)")


def plot_confusion(conf: dict, path, title: str = "") -> None:
    """Write a PNG of a confusion matrix ``conf`` ({"labels": space groups, "counts": rows = true, columns =
    predicted}) to ``path``, row-normalised: colour = share of the true class's patterns, count in each cell."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from sadpnet.model.labels import space_group_symbol

    cm = np.asarray(conf["counts"], dtype=float)
    labels = [f"{s} {space_group_symbol(s)}" for s in conf["labels"]]
    frac = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1)
    fig, ax = plt.subplots(figsize=(5.8, 4.6), dpi=110)
    im = ax.imshow(frac, cmap="Blues", vmin=0, vmax=1)
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04).set_label("share of the true class's patterns", fontsize=8)
    for i in range(cm.shape[0]):
        for j in range(cm.shape[1]):
            ax.text(j, i, f"{int(cm[i, j])}", ha="center", va="center", fontsize=8,
                    color="white" if frac[i, j] > 0.5 else "black")
    ax.set_xticks(range(len(labels)), labels, rotation=45, ha="right", fontsize=8)
    ax.set_yticks(range(len(labels)), labels, fontsize=8)
    ax.set_xlabel("predicted space group")
    ax.set_ylabel("true space group")
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, format="png")
    plt.close(fig)


def report_markdown(res: dict) -> str:
    lines = [f"# Evaluation of {res['model']} on {res['dataset']} ({res['split']} split)", "",
             f"- patterns: {res['n_patterns']}",
             f"- accuracy per pattern, % [95 % Wilson interval] (patterns): {_share(res, 'n_patterns')}",
             f"- ensemble of 3 zone axes (random triples, product rule): {100 * res['ensemble_3']['accuracy']:.2f} % "
             f"({res['ensemble_3']['n']} triples)",
             f"- ensemble of [001], [011], [111]: {100 * res['ensemble_3_lowest']['accuracy']:.2f} % "
             f"({res['ensemble_3_lowest']['n']} triples; triples share patterns, so no interval is given)",
             f"- expected calibration error: {100 * res['ece']:.2f} % (uncalibrated {100 * res['ece_uncalibrated']:.2f} %, "
             f"T = {res['temperature']:.3f})", "", "## Per class", "",
             "| space group | n | accuracy % [95 % Wilson interval] (n) |", "|---|---|---|"]
    lines += [f"| {k} | {v['n']} | {_share(v)} |" for k, v in res["per_class"].items()]
    lines += ["", "## Per zone axis", "", "| zone axis | n | accuracy % [95 % Wilson interval] (n) |", "|---|---|---|"]
    lines += [f"| [{k}] | {v['n']} | {_share(v)} |" for k, v in res["per_zone_axis"].items()]
    u = res["unknown"]
    sets = list(next(iter(u["auroc"].values())).keys()) if u["auroc"] else []
    lines += ["", f"## Unknown detection (chosen score: {u['chosen_score']}, threshold {u['threshold']:.4g})", "",
              "AUROC of clean test patterns against each out-of-distribution set:", "",
              "| score | " + " | ".join(sets) + " |", "|---" * (len(sets) + 1) + "|"]
    lines += [f"| {k} | " + " | ".join(f"{v[s]:.3f}" for s in sets) + " |" for k, v in u["auroc"].items()]
    lines += ["", f"Clean test patterns flagged unknown: {100 * u['clean_flagged_unknown']:.1f} %; "
              + ", ".join(f"{k}: {100 * v:.1f} %" for k, v in u["ood_flagged_unknown"].items()) + " flagged."]
    if u.get("detector"):
        d = u["detector"]
        lines += ["", f"Flagged = unknown or flagged by the attached defect detector ({d['name']}, classes {', '.join(d['classes'])}, "
                      f"threshold {d['threshold']:.3f} on their summed probability)."]
    return "\n".join(lines + [""])
