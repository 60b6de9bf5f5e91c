"""Look-alikes across splits: held-out patterns whose spot pattern matches a training pattern of another class.

A classifier of single zone-axis patterns can only be as good as the patterns are distinct. Two patterns are
**geometric look-alikes** when their zero-order Laue-zone nets (`sadpnet.simulate.zolz.zolz_net`, reflections
with kinematic |F|^2 >= ``min_intensity`` of the strongest, |g| <= ``g_max_inv_a``) coincide

* at the same absolute scale within ``scale_tol`` (the shortest |g| of the two nets differ by at most this
  fraction: the calibration jitter a model is trained to ignore), and
* in shape, up to in-plane rotation and mirror: `sadpnet.simulate.zolz.align_nets` distance below
  ``shape_tol`` (units of the shortest |g|).

They are **look-alikes in intensity too** when, in addition, the relative intensities of the matched spots
agree on average within ``intensity_tol_log10`` (mean |log10 I_a - log10 I_b|, intensities floored at
``min_intensity``). Such a pair cannot be told apart from the spot positions, and only by small intensity
differences (which dynamical scattering in a real specimen changes by a factor 2-3) from the intensities.

`find_lookalikes(store)` checks every (material, zone axis) of one split against every one of another split
with a different label and returns per-pattern flags and every look-alike pair; `summarise` turns them into
fractions per class, the fraction of 3-zone-axis ensembles that one other material imitates on all three
axes (`ensemble_lookalike_fraction`) and,
given a model's per-pattern predictions (`sadpnet evaluate` writes ``predictions.parquet``), the share of
its errors that fall on look-alikes. Perfect crystals only: rows with a defect other than ``none`` are left
out (their nets are not the parent crystal's).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from sadpnet.errors import InputError


def _nets(table, g_max_inv_a: float, min_intensity: float) -> dict:
    from sadpnet.data.corpus import load_crystal_from_row
    from sadpnet.simulate.zolz import shortest_length, zolz_net

    out = {}
    for (mid, src), grp in table.groupby(["material_id", "source"], sort=True):
        crystal = load_crystal_from_row({"material_id": mid, "source": src})
        for zone in sorted({(int(u), int(v), int(w)) for u, v, w in grp[["zone_u", "zone_v", "zone_w"]].itertuples(index=False)}):
            pts, inten = zolz_net(crystal, zone, min_intensity=min_intensity, g_max_inv_a=g_max_inv_a)
            out[(mid, zone)] = (pts, inten, shortest_length(pts))
    return out


def find_lookalikes(store, *, split: str = "test", against: str = "train", label: str = "space_group",
                    g_max_inv_a: float = 1.5, min_intensity: float = 0.01, scale_tol: float = 0.03,
                    shape_tol: float = 0.02, intensity_tol_log10: float = 0.15, progress: bool = True):
    """Every look-alike pair of a (material, zone axis) of ``split`` and one of another label in ``against``.

    Returns (per_pattern, pairs), pandas DataFrames:

    * per_pattern, one row per (material, zone axis) of ``split``: material_id, zone_axis ("uvw"), label,
      n_patterns, geometric (bool), intensity (bool: also alike in intensity), closest (material id of the
      closest look-alike in intensity, else in geometry, else ""), and the number of ``against`` materials of
      the same / another label that look alike (n_same_geometric, n_other_geometric, n_same_intensity,
      n_other_intensity; a material counts once per matching zone axis).
    * pairs, one row per geometric look-alike: material_id, zone_axis, label, other_material_id, other_label,
      shape_distance, intensity_diff_log10, intensity (bool).
    """
    import pandas as pd

    from sadpnet.data.store import read_table
    from sadpnet.simulate.zolz import align_nets

    store = Path(store)
    table = read_table(store)
    for col in (label, "split"):
        if col not in table.columns:
            raise InputError(f"the dataset table has no column {col!r}", store)
    if "defect_type" in table.columns:  # the nets are the perfect crystals': defect variants are left out
        table = table[table["defect_type"] == "none"]
    a_rows, b_rows = table[table["split"] == split], table[table["split"] == against]
    if a_rows.empty or b_rows.empty:
        raise InputError(f"split {split if a_rows.empty else against!r} has no perfect-crystal pattern", store)
    nets_a = _nets(a_rows, g_max_inv_a, min_intensity)
    nets_b = _nets(b_rows, g_max_inv_a, min_intensity)
    lab_a = a_rows.groupby("material_id")[label].first().to_dict()
    lab_b = b_rows.groupby("material_id")[label].first().to_dict()
    count = a_rows.groupby(["material_id", "zone_u", "zone_v", "zone_w"]).size().to_dict()
    b_keys = sorted(nets_b, key=lambda k: nets_b[k][2])
    b_len = np.array([nets_b[k][2] for k in b_keys])
    floor = np.log10(min_intensity)
    rows, pairs = [], []
    keys = sorted(nets_a)
    it = keys
    if progress:
        from rich.progress import track

        it = track(keys, description=f"look-alikes {split} vs {against}", transient=True)
    for key in it:
        pa, ia, la = nets_a[key]
        mid, zone = key
        zkey = "".join(map(str, zone))
        found, same = [], {"geometric": 0, "intensity": 0}
        if np.isfinite(la):
            lo, hi = np.searchsorted(b_len, [la / (1 + scale_tol), la * (1 + scale_tol)])
            for j in range(lo, hi):
                kb = b_keys[j]
                if kb[0] == mid:  # a material is not its own look-alike (split == against)
                    continue
                pb, ib, _ = nets_b[kb]
                d, nn, kept = align_nets(pa, pb)
                if d >= shape_tol:
                    continue
                di = float(np.mean(np.abs(np.maximum(np.log10(ia[nn]), floor)
                                          - np.maximum(np.log10(ib[kept]), floor))))
                if str(lab_b[kb[0]]) == str(lab_a[mid]):
                    same["geometric"] += 1
                    same["intensity"] += di <= intensity_tol_log10
                    continue
                found.append({"material_id": mid, "zone_axis": zkey, "label": lab_a[mid], "other_material_id": kb[0],
                              "other_label": lab_b[kb[0]], "shape_distance": d, "intensity_diff_log10": di,
                              "intensity": di <= intensity_tol_log10})
        pairs += found
        best = min(found, key=lambda f: (not f["intensity"], f["intensity_diff_log10"]), default=None)
        rows.append({"material_id": mid, "zone_axis": zkey, "label": lab_a[mid],
                     "n_patterns": int(count.get((mid, *zone), 0)), "geometric": bool(found),
                     "intensity": bool(best and best["intensity"]), "closest": best["other_material_id"] if best else "",
                     "n_same_geometric": same["geometric"], "n_other_geometric": len(found),
                     "n_same_intensity": same["intensity"], "n_other_intensity": sum(f["intensity"] for f in found)})
    cols = ["material_id", "zone_axis", "label", "other_material_id", "other_label", "shape_distance",
            "intensity_diff_log10", "intensity"]
    return pd.DataFrame(rows), pd.DataFrame(pairs, columns=cols)


def ensemble_lookalike_fraction(per_pattern, pairs, kind: str = "intensity", k: int = 3) -> float:
    """Fraction of k-zone-axis sets of one held-out material (all sets of k distinct zone axes, every
    material weighted equally) in which **one** material of another label looks alike on all k axes: such a
    specimen cannot be told apart even by an ensemble over those axes. ``kind``: "geometric" or "intensity"."""
    from itertools import combinations

    use = pairs if kind == "geometric" else pairs[pairs["intensity"]]
    fr = []
    for mid, g in per_pattern.groupby("material_id"):
        zones = sorted(set(g["zone_axis"]))
        if len(zones) < k:
            continue
        sets = [frozenset(z) for _, z in use[use["material_id"] == mid].groupby("other_material_id")["zone_axis"]]
        n_amb = sum(any(set(c) <= s for s in sets) for c in combinations(zones, k))
        fr.append(n_amb / len(list(combinations(zones, k))))
    return float(np.mean(fr)) if fr else float("nan")


def _share_own(found, kind: str) -> np.ndarray:
    """Per (material, zone axis): the share of its look-alikes that carry its own label (1 without another
    label's look-alike): a classifier that cannot tell look-alikes apart and answers in proportion to them
    is right this often (the "ceiling estimate")."""
    same = found[f"n_same_{kind}"].to_numpy(float)
    other = found[f"n_other_{kind}"].to_numpy(float)
    return np.where(other > 0, same / np.maximum(same + other, 1.0), 1.0)


def summarise(found, pairs=None, predictions=None) -> dict:
    """Fractions of patterns (weighted by the patterns per (material, zone axis)) with look-alikes, overall and
    per label; with ``predictions`` (DataFrame with material_id, zone_axis, correct), the model's accuracy on
    look-alike and distinct patterns and the share of its errors that fall on look-alikes."""
    w = found["n_patterns"].to_numpy(float)
    tot = w.sum()
    if tot == 0:
        raise InputError("no patterns to summarise", "lookalikes")
    out = {"n_patterns": int(tot), "n_material_zones": int(len(found)),
           "geometric_fraction": float(w[found["geometric"]].sum() / tot),
           "intensity_fraction": float(w[found["intensity"]].sum() / tot), "per_label": {}}
    if "n_other_intensity" in found.columns:
        out["ceiling_estimate"] = float((w * _share_own(found, "intensity")).sum() / tot)
        out["ceiling_estimate_geometric"] = float((w * _share_own(found, "geometric")).sum() / tot)
    if pairs is not None:
        out["ensemble_3_geometric_fraction"] = ensemble_lookalike_fraction(found, pairs, "geometric")
        out["ensemble_3_intensity_fraction"] = ensemble_lookalike_fraction(found, pairs, "intensity")
    for lab, g in found.groupby("label"):
        gw = g["n_patterns"].to_numpy(float)
        out["per_label"][str(lab)] = {"n_patterns": int(gw.sum()),
                                      "geometric_fraction": float(gw[g["geometric"]].sum() / gw.sum()),
                                      "intensity_fraction": float(gw[g["intensity"]].sum() / gw.sum())}
    if predictions is not None:
        p = predictions.merge(found[["material_id", "zone_axis", "geometric", "intensity"]],
                              on=["material_id", "zone_axis"], how="inner")
        if p.empty:
            raise InputError("the predictions share no (material, zone axis) with the look-alike table", "predictions")
        res = {"n_patterns": int(len(p)), "accuracy": float(p["correct"].mean())}
        for kind in ("geometric", "intensity"):
            on, off = p[p[kind]], p[~p[kind]]
            err = p[~p["correct"]]
            res[kind] = {"accuracy_on_lookalikes": float(on["correct"].mean()) if len(on) else float("nan"),
                         "accuracy_on_distinct": float(off["correct"].mean()) if len(off) else float("nan"),
                         "share_of_errors_on_lookalikes": float(err[kind].mean()) if len(err) else float("nan")}
        out["predictions"] = res
    return out


def format_summary(s: dict, split: str = "test", against: str = "train") -> str:
    """Markdown of `summarise`'s result."""
    lines = [f"# Look-alikes: {split} patterns matching a {against} pattern of another class", "",
             f"- patterns: {s['n_patterns']} ({s['n_material_zones']} material x zone axis pairs)",
             f"- geometric look-alikes (spot positions at the same scale): {100 * s['geometric_fraction']:.1f} %",
             f"- look-alikes in spot positions and intensities: {100 * s['intensity_fraction']:.1f} %"]
    if "ceiling_estimate" in s:
        lines += [f"- ceiling estimate (a classifier that cannot tell look-alikes apart and answers in proportion "
                  f"to the {against} look-alikes of each label): {100 * s['ceiling_estimate']:.1f} % "
                  f"(positions + intensities), {100 * s['ceiling_estimate_geometric']:.1f} % (positions)"]
    if "ensemble_3_geometric_fraction" in s:
        lines += [f"- sets of 3 zone axes of one material in which a single material of another class looks alike "
                  f"on all three: {100 * s['ensemble_3_geometric_fraction']:.1f} % (positions), "
                  f"{100 * s['ensemble_3_intensity_fraction']:.1f} % (positions + intensities)"]
    lines += ["",
             "| label | patterns | geometric | positions + intensities |", "|---|---|---|---|"]
    for lab, d in s["per_label"].items():
        lines.append(f"| {lab} | {d['n_patterns']} | {100 * d['geometric_fraction']:.1f} % | "
                     f"{100 * d['intensity_fraction']:.1f} % |")
    if "predictions" in s:
        p = s["predictions"]
        lines += ["", f"Model predictions ({p['n_patterns']} patterns, accuracy {100 * p['accuracy']:.1f} %):", "",
                  "| look-alike kind | accuracy on look-alikes | accuracy on distinct | share of errors on look-alikes |",
                  "|---|---|---|---|"]
        for kind in ("geometric", "intensity"):
            d = p[kind]
            lines.append(f"| {kind} | {100 * d['accuracy_on_lookalikes']:.1f} % | {100 * d['accuracy_on_distinct']:.1f} % "
                         f"| {100 * d['share_of_errors_on_lookalikes']:.1f} % |")
    return "\n".join(lines) + "\n"
