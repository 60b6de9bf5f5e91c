"""Is the look-alike split of the held-out test shots search-limited? Re-index the exact net
(`realtest.exact_net_spots`) of every cubic test pattern that `evaluate-real` found without a look-alike, with
more anchor pairs (``--anchors N_FIRST N_SECOND``; `lattice_fit.anchors` uses 3 x 2), at the look-alike
tolerance and at the indexing tolerance, and report how many then have one, and the shipped spot-index
model's per-pattern accuracy on the patterns that stay without one (the per-pattern goal's population).

Usage: .venv/bin/python bench/lookalike_search.py out/eval-real [--anchors 8 6] [--model spot-index]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from sadpnet.data.corpus import load_crystal
from sadpnet.data.holdout import load_holdout
from sadpnet.data.stream import map_workers
from sadpnet.model import lattice_fit
from sadpnet.model.realtest import (LOOKALIKE_TOL_RELATIVE, _truth, evidence_of, exact_net_spots, lookalike_classes,
                                    spot_model_results)
from sadpnet.model.spot_model import load_spot_model
from sadpnet.model.testshots import load_shots
from sadpnet.resources import resource_path
from sadpnet.stats import share_text

_ANCHORS = lattice_fit.anchors
WIDE = {"n_first": 3, "n_second": 2}


def _wide_anchors(g, intensity, **kw):
    return _ANCHORS(g, intensity, n_first=WIDE["n_first"], n_second=WIDE["n_second"])


def _row(job):
    """(exact look-alike classes, near look-alike classes) of one pattern with the wider anchor search."""
    material, sg, zone, g_max, px = job
    spots = exact_net_spots(load_crystal(material), zone, g_max)
    lattice_fit.anchors = _wide_anchors
    try:
        exact = lattice_fit.fit_classes(spots, pixel_size_inv_a=px, tol_relative=LOOKALIKE_TOL_RELATIVE,
                                        tol_pixels=0.0, missing_share=1.0)
        near = lattice_fit.fit_classes(spots, pixel_size_inv_a=px, missing_share=1.0)
    finally:
        lattice_fit.anchors = _ANCHORS
    return lookalike_classes(exact, sg), lookalike_classes(near, sg)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("eval_dir", type=Path)
    ap.add_argument("--anchors", type=int, nargs=2, default=(8, 6))
    ap.add_argument("--model", default="spot-index")
    ap.add_argument("--workers", type=int, default=2)
    a = ap.parse_args()
    WIDE["n_first"], WIDE["n_second"] = a.anchors
    shots = load_shots(a.eval_dir / "shots" / "cubic.npz")
    la = json.loads((a.eval_dir / "lookalikes.json").read_text())["patterns"]
    holdout = load_holdout()
    sg = dict(zip(holdout.material_id, holdout.space_group))
    distinct = np.flatnonzero([not r["lookalike"] for r in la])
    n = shots["image"].shape[1]
    jobs = [(str(shots["material"][i]), int(sg[str(shots["material"][i])]), tuple(int(x) for x in shots["zone"][i]),
             float(shots["pixel_size_inv_a"][i]) * n / 2, float(shots["pixel_size_inv_a"][i])) for i in distinct]
    rows = map_workers(_row, jobs, a.workers)
    exact = np.array([bool(r[0]) for r in rows])
    near = np.array([bool(r[0] or r[1]) for r in rows])
    print(f"anchors {a.anchors[0]} x {a.anchors[1]}: of the {len(distinct)} patterns without a look-alike, "
          f"{int(exact.sum())} have one (nets coincide) and {int(near.sum())} a look-alike or near look-alike")
    model = load_spot_model(Path(a.model) if Path(a.model).is_dir() else resource_path("models", a.model))
    sub = {k: v[distinct] for k, v in shots.items()}
    res = spot_model_results(model, sub, evidence_of(sub, workers=a.workers))
    ok = res["answer"] == _truth(sub, holdout)
    for name, keep in (("all of them", np.ones(len(ok), bool)), ("still without a look-alike", ~exact),
                       ("without even a near look-alike", ~near)):
        print(f"{a.model} per pattern, {name}: {int(ok[keep].sum())}/{int(keep.sum())}: "
              f"{share_text(int(ok[keep].sum()), int(keep.sum()))}")


if __name__ == "__main__":
    main()
