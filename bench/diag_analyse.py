"""Diagnose spot indexing on the validation diagnosis set (bench/diag_valshots.py).

    PYTHONPATH=src python bench/diag_analyse.py out/valshots spots
    PYTHONPATH=src python bench/diag_analyse.py out/valshots evidence VARIANT
    PYTHONPATH=src python bench/diag_analyse.py out/valshots score VARIANT [VARIANT ...]
    PYTHONPATH=src python bench/diag_analyse.py out/valshots categorise VARIANT
Variants patch lattice_fit / spots in each worker (see VARIANTS)."""
from __future__ import annotations

import json
import math
import pickle
import sys
import time
from pathlib import Path

import numpy as np

from sadpnet.data.stream import linear_image_array, map_workers
from sadpnet.model import lattice_fit as lf
from sadpnet.model import spots as sp
from sadpnet.model.indexing import CLASSES, MIN_SPOTS, Evidence, joint_scores
from sadpnet.model.testshots import SET_AXES, load_shots
from sadpnet.stats import share_text

def _r_missing(rg, w, intensity, g_max, how):
    """Outer radius inside which predicted reflections count as missing."""
    r_obs = float(rg.max())
    if how == "max":
        return min(r_obs, g_max)
    if how.startswith("w"):  # radius holding this share of the spot weight (sqrt intensity)
        q = int(how[1:]) / 100
        order = np.argsort(rg)
        cw = np.cumsum(w[order]) / w.sum()
        return min(float(rg[order][min(np.searchsorted(cw, q), len(rg) - 1)]), g_max)
    if how.startswith("i"):  # outermost spot of at least this relative intensity (e.g. i01 = 1 %)
        thr = int(how[1:]) / 100
        strong = intensity >= thr
        return min(float(rg[strong].max()) if strong.any() else r_obs, g_max)
    raise ValueError(how)


def fit_classes_variant(spots, classes=CLASSES, *, zones=None, pixel_size_inv_a=0.0133, keep=8,
                        tol_relative=lf.TOL_RELATIVE, tol_pixels=lf.TOL_PIXELS, missing_radius="max", anchor_kw=None):
    """`lattice_fit.fit_classes` with the missing-reflection radius and the anchor counts as options."""
    from scipy.spatial import cKDTree
    g = np.asarray(spots.g_inv_a, dtype=float)
    out = {int(c): [] for c in classes}
    pairs = lf.anchors(g, spots.intensity, **(anchor_kw or {})) if len(g) >= 2 else []
    if not pairs:
        return out
    w = lf.spot_weights(np.asarray(spots.intensity))
    rg = np.hypot(g[:, 0], g[:, 1])
    r_max = _r_missing(rg, w, np.asarray(spots.intensity), spots.g_max_inv_a, missing_radius)
    tol_abs = tol_pixels * pixel_size_inv_a
    g_tree = cKDTree(g)
    for c in classes:
        fits = []
        for zone in zones or lf.candidate_zones():
            tpl = lf.zone_template(int(c), zone)
            for i, j in pairs:
                for a_a, m in lf.hypotheses(tpl, g[i], g[j]):
                    fits.append(lf.score_hypothesis(tpl, a_a, m, g, w, g_tree, spots.g_min_inv_a, r_max, tol_abs,
                                                    rg=rg, tol_relative=tol_relative))
        out[int(c)] = lf._best_distinct(fits, keep)
    return out


def _fc(**kw):
    import functools
    return functools.partial(fit_classes_variant, **kw)


VARIANTS: dict = {
    "base": {},
    "w90": {"lf.fit_classes": _fc(missing_radius="w90")},
    "w80": {"lf.fit_classes": _fc(missing_radius="w80")},
    "i01": {"lf.fit_classes": _fc(missing_radius="i01")},
    "i03": {"lf.fit_classes": _fc(missing_radius="i03")},
    "w95": {"lf.fit_classes": _fc(missing_radius="w95")},
    "w85": {"lf.fit_classes": _fc(missing_radius="w85")},
    "rel3e4": {"find_spots_kw": {"min_relative": 3e-4}},
    "rel5e4": {"find_spots_kw": {"min_relative": 5e-4}},
    "rel1e4_w90": {"find_spots_kw": {"min_relative": 1e-4}, "lf.fit_classes": _fc(missing_radius="w90")},
    "rel3e4_w95": {"find_spots_kw": {"min_relative": 3e-4}, "lf.fit_classes": _fc(missing_radius="w95")},
    "src": {"find_spots_kw": {}},  # the source tree as it stands (its defaults)
    "rel0_w90": {"find_spots_kw": {"min_relative": 0.0}, "lf.fit_classes": _fc(missing_radius="w90")},
    "rel1e4": {"find_spots_kw": {"min_relative": 1e-4}},
    "rel3e4_w90": {"find_spots_kw": {"min_relative": 3e-4}, "lf.fit_classes": _fc(missing_radius="w90")},
    "anch43": {"lf.fit_classes": _fc(anchor_kw={"n_first": 4, "n_second": 3})},
    "mw05": {"lf.MISSING_WEIGHT": 0.5},
    "snr4": {"find_spots_kw": {"min_snr": 4.0}},
    "snr4rel3e4": {"find_spots_kw": {"min_snr": 4.0, "min_relative": 3e-4}},
}
DIR = Path(".")
SHOTS: dict = {}


def apply(variant: str):
    for key, val in VARIANTS[variant].items():
        if "." not in key:
            continue
        mod, name = key.split(".")
        if mod in ("lf", "sp"):
            setattr({"lf": lf, "sp": sp}[mod], name, val)


def _spots_row(i):
    img = linear_image_array(SHOTS["image"][i])
    n = img.shape[0]
    kw = VARIANTS[CUR].get("find_spots_kw", {})
    return sp.find_spots(img, float(SHOTS["pixel_size_inv_a"][i]), (n / 2, n / 2), SHOTS["mask"][i], **kw)


def _evidence_row(job):
    i, spots = job
    px = float(SHOTS["pixel_size_inv_a"][i])
    if len(spots) < MIN_SPOTS:
        return Evidence(len(spots), {int(c): [] for c in CLASSES}), 0.0
    t = time.perf_counter()
    fits = lf.fit_classes(spots, CLASSES, pixel_size_inv_a=px)
    return Evidence(len(spots), fits), time.perf_counter() - t


CUR = "base"


def main(argv):
    global DIR, CUR
    DIR = Path(argv[0])
    SHOTS.update(load_shots(DIR / "cubic.npz"))
    cmd = argv[1]
    if cmd == "evidence":
        CUR = argv[2]
        apply(CUR)
        n = len(SHOTS["material"])
        spots_file = DIR / ("spots.pkl" if "find_spots_kw" not in VARIANTS[CUR] else f"spots-{CUR}.pkl")
        if not spots_file.exists():
            spots = map_workers(_spots_row, range(n), 2)
            spots_file.write_bytes(pickle.dumps(spots))
        spots = pickle.loads(spots_file.read_bytes())
        t = time.time()
        rows = map_workers(_evidence_row, list(enumerate(spots)), 2)
        ev = [r[0] for r in rows]
        times = np.array([r[1] for r in rows])
        (DIR / f"ev-{CUR}.pkl").write_bytes(pickle.dumps(ev))
        print(f"{CUR}: {n} patterns, {time.time() - t:.0f} s wall (2 workers), fit_classes median "
              f"{1000 * np.median(times[times > 0]):.0f} ms, mean {1000 * times[times > 0].mean():.0f} ms")
    elif cmd == "categorise":
        categorise(argv[2])
    elif cmd == "score":
        for v in argv[2:]:
            print(v, json.dumps(score(v)))


def truth_arrays():
    crystals = pickle.loads((DIR / "crystals.pkl").read_bytes())
    la = pickle.loads((DIR / "lookalikes.pkl").read_bytes())
    sg = np.array([crystals[str(m)].space_group_number for m in SHOTS["material"]])
    far = np.array([not (r["classes"] or r["near"]) for r in la])
    return crystals, la, sg, far


def st(k, n) -> str:
    return f"{int(k)}/{int(n)} " + share_text(int(k), int(n))


def score(variant: str) -> dict:
    ev = pickle.loads((DIR / f"ev-{variant}.pkl").read_bytes())
    crystals, la, sg, far = truth_arrays()
    ans = np.array([CLASSES[int(np.argmax(e.scores()))] for e in ev])
    ok = ans == sg
    out = {"far": st(ok[far].sum(), far.sum()), "all": st(ok.sum(), len(ok))}
    groups: dict = {}
    for i, (m, z) in enumerate(zip(SHOTS["material"], SHOTS["zone"])):
        groups.setdefault(str(m), {})[tuple(int(x) for x in z)] = i
    sets = mats = 0
    for m, idx in groups.items():
        members = [ev[idx[z]] for z in SET_AXES]
        sets += CLASSES[int(np.argmax(joint_scores(members)[0]))] == crystals[m].space_group_number
        mats += CLASSES[int(np.argmax(joint_scores([ev[i] for i in idx.values()])[0]))] == crystals[m].space_group_number
    out["sets"] = st(sets, len(groups))
    out["materials16"] = st(mats, len(groups))
    out["far_k"] = int(ok[far].sum())
    return out


def _frame(space_group: int, zone):
    """e1, e2 (3-vectors) of `lattice_fit.zone_template`'s in-plane frame (same construction)."""
    hkl = lf._hkl_ball(20.0)
    z = np.asarray(zone)
    hkl = hkl[hkl @ z == 0]
    from sadpnet.crystal.reflections import allowed_reflections
    hkl = hkl[allowed_reflections(space_group, hkl)]
    length = np.linalg.norm(hkl, axis=1)
    h0 = hkl[np.argsort(length, kind="stable")[0]]
    e3 = z / np.linalg.norm(z)
    e1 = h0 / np.linalg.norm(h0)
    return e1, np.cross(e3, e1)


def truth_hypothesis(spots, px, sg, zone, a_true):
    """Best (fit, a, m) of the true class on the true zone with a within 3 % of the true a (None if never made)."""
    from scipy.spatial import cKDTree
    g = np.asarray(spots.g_inv_a, float)
    w = lf.spot_weights(np.asarray(spots.intensity))
    rg = np.hypot(g[:, 0], g[:, 1])
    r_max = min(float(rg.max()), spots.g_max_inv_a)
    tol_abs = lf.TOL_PIXELS * px
    tree = cKDTree(g)
    tpl = lf.zone_template(int(sg), tuple(zone))
    best = None
    for i, j in lf.anchors(g, spots.intensity):
        for a0, m0 in lf.hypotheses(tpl, g[i], g[j]):
            a, m = lf.refined_map(tpl, a0, m0, g, tol_abs, rg)
            if abs(a / a_true - 1) > 0.03:
                continue
            f = lf.score_hypothesis(tpl, a, m, g, w, tree, spots.g_min_inv_a, r_max, tol_abs, refine=False, rg=rg)
            if best is None or f.score > best[0].score:
                best = (f, a, m)
    return best


def categorise(variant: str):
    from sadpnet.crystal.reflections import allowed_reflections
    from sadpnet.simulate.zolz import zolz_reflections
    ev = pickle.loads((DIR / f"ev-{variant}.pkl").read_bytes())
    sf = DIR / f"spots-{variant}.pkl"
    spots_all = pickle.loads((sf if sf.exists() else DIR / "spots.pkl").read_bytes())
    crystals, la, sg, far = truth_arrays()
    ans = np.array([CLASSES[int(np.argmax(e.scores()))] for e in ev])
    fail = np.flatnonzero(far & (ans != sg))
    rows = []
    for i in fail:
        m_id = str(SHOTS["material"][i]); cr = crystals[m_id]; zone = tuple(int(x) for x in SHOTS["zone"][i])
        px = float(SHOTS["pixel_size_inv_a"][i]); spots = spots_all[i]; e = ev[i]
        a_true = float(cr.atoms.cell.cellpar()[0])
        row = {"i": int(i), "m": m_id, "sg": int(sg[i]), "zone": zone, "kv": float(SHOTS["voltage_kv"][i]),
               "a_true": round(a_true, 3), "n_spots": len(spots), "answer": int(ans[i])}
        w_fit = e.best(int(ans[i])); t_fit = e.best(int(sg[i]))
        if w_fit is not None:
            row["win"] = (w_fit.zone, round(w_fit.a_a / a_true, 3), round(w_fit.explained, 3), round(w_fit.missing, 3),
                          w_fit.n_predicted)
        if t_fit is not None:
            row["true_best"] = (t_fit.zone, round(t_fit.a_a / a_true, 3), round(t_fit.explained, 3),
                                round(t_fit.missing, 3), t_fit.n_predicted)
        if len(spots) < MIN_SPOTS or t_fit is None:
            row["cat"] = "too_few_spots"
            rows.append(row); continue
        th = truth_hypothesis(spots, px, sg[i], zone, a_true)
        mask = SHOTS["mask"][i]
        # exact net: |F|^2 of every ZOLZ reflection (no threshold) inside the detector circle
        hkl_all, f2_all = zolz_reflections(cr, zone, min_intensity=1e-12, g_max_inv_a=spots.g_max_inv_a * 1.05)
        f2 = {tuple(h): v for h, v in zip(hkl_all.tolist(), f2_all)}
        if th is None:
            row["cat"] = "truth_hypothesis_never_made"
            # are the anchor spots reflections of the true net? (indexed against the exact net ratio only)
            rows.append(row); continue
        f, a, m = th
        row["truth_fit"] = (round(a / a_true, 3), round(f.explained, 3), round(f.missing, 3), f.n_predicted,
                            round(f.score, 3))
        e1, e2 = _frame(int(sg[i]), zone)
        g = np.asarray(spots.g_inv_a, float)
        rg = np.hypot(g[:, 0], g[:, 1])
        w = lf.spot_weights(np.asarray(spots.intensity))
        t = (g @ np.linalg.inv(m)) * 1.0  # template units (1/a, a = 1)
        h3 = t[:, :1] * e1 + t[:, 1:] * e2
        hr = np.round(h3).astype(int)
        on_p = np.linalg.norm(h3 - hr, axis=1) * 1 <= (lf.TOL_RELATIVE * rg + lf.TOL_PIXELS * px) * a
        tol = lf.TOL_RELATIVE * rg + lf.TOL_PIXELS * px
        tpl = lf.zone_template(int(sg[i]), zone)
        d_obs = tpl.tree.query(t)[0] / a
        hit = d_obs <= tol
        allowed = allowed_reflections(int(sg[i]), hr) if len(hr) else np.zeros(0, bool)
        forb = (~hit) & on_p & ~allowed
        offnet = (~hit) & ~on_p
        row["unexpl_w"] = round(float(w[~hit].sum() / w.sum()), 3)
        row["unexpl_forbidden_w"] = round(float(w[forb].sum() / w.sum()), 3)
        row["unexpl_offnet_w"] = round(float(w[offnet].sum() / w.sum()), 3)
        # missing reflections of the truth hypothesis, by reason
        r_max = min(float(rg.max()), spots.g_max_inv_a)
        lo, hi = np.searchsorted(tpl.lengths, [spots.g_min_inv_a * a, r_max * 1.02 * a])
        pts = tpl.points[lo:hi]
        lab = pts @ m
        lengths = tpl.lengths[lo:hi] / a
        from scipy.spatial import cKDTree
        absent = cKDTree(g).query(lab)[0] > lf.TOL_RELATIVE * lengths + lf.TOL_PIXELS * px
        hk = np.round(pts[:, :1] * e1 + pts[:, 1:] * e2).astype(int)
        n = mask.shape[0]
        col = np.clip(np.round(n / 2 + lab[:, 0] / px).astype(int), 0, n - 1)
        rw = np.clip(np.round(n / 2 - lab[:, 1] / px).astype(int), 0, n - 1)
        masked = ~mask[rw, col]
        ff = np.array([f2.get(tuple(h), 0.0) for h in hk.tolist()])
        weak = ff < 1e-3
        # radius holding 90 % of the spot weight
        order = np.argsort(rg); cw = np.cumsum(w[order]) / w.sum()
        r90 = float(rg[order][np.searchsorted(cw, 0.9)])
        beyond = lengths > r90
        row["miss"] = {"n_pred": int(len(absent)), "n_abs": int(absent.sum()),
                       "masked": int((absent & masked).sum()), "weak_f2<1e-3": int((absent & weak & ~masked).sum()),
                       "strong_beyond_r90": int((absent & ~weak & ~masked & beyond).sum()),
                       "strong_inside_r90": int((absent & ~weak & ~masked & ~beyond).sum())}
        row["f2_missing_inside"] = sorted([round(float(x), 4) for x in ff[absent & ~weak & ~masked & ~beyond]])[-5:]
        ws = w_fit.score if w_fit else -1
        d_expl = w_fit.explained - f.explained
        d_miss = f.missing - w_fit.missing
        if f.score >= ws - 1e-9:
            row["cat"] = "truth_hyp_ties_or_wins?"
        elif d_miss >= d_expl:
            row["cat"] = "loses_on_missing"
        else:
            row["cat"] = "loses_on_unexplained"
        row["d_expl"], row["d_miss"] = round(d_expl, 3), round(d_miss, 3)
        rows.append(row)
    (DIR / f"cat-{variant}.json").write_text(json.dumps(rows, indent=1, default=str))
    from collections import Counter
    print(f"{len(fail)} failing no-near-look-alike patterns of {int(far.sum())}")
    print(Counter(r["cat"] for r in rows))
    print("winner class among failures:", Counter((r["sg"], r["answer"]) for r in rows))


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).parent))
    main(sys.argv[1:])
