"""Test-set check (read-only) of the spot-indexing change chosen on validation crystals: the no-learning baseline
with the shipped rule (spots >= 1e-3 of the strongest, missing out to the farthest spot) and with the session-13
candidate (no floor, missing inside 90 % of the spot weight; measured, not adopted), on the held-out test shots and the look-alikes of an evaluate-real run.

    PYTHONPATH=src python bench/diag_testcheck.py /work/main/out/eval-real"""
import json
import sys
from pathlib import Path

import numpy as np

from sadpnet.data.holdout import load_holdout
from sadpnet.data.stream import linear_image_array, map_workers
from sadpnet.model.indexing import CLASSES, MIN_SPOTS, Evidence
from sadpnet.model.lattice_fit import fit_classes
from sadpnet.model.realtest import baseline_results
from sadpnet.model.spots import find_spots
from sadpnet.model.testshots import load_shots
from sadpnet.stats import share_text

D = Path(sys.argv[1])
S = load_shots(D / "shots" / "cubic.npz")


def _ev(job):
    i, earlier = job
    img = linear_image_array(S["image"][i]); n = img.shape[0]; px = float(S["pixel_size_inv_a"][i])
    spots = find_spots(img, px, (n / 2, n / 2), S["mask"][i], min_relative=1e-3 if earlier else 0.0)
    if len(spots) < MIN_SPOTS:
        return Evidence(len(spots), {c: [] for c in CLASSES})
    return Evidence(len(spots), fit_classes(spots, pixel_size_inv_a=px, missing_share=1.0 if earlier else 0.9))


def st(k, n):
    return f"{int(k)}/{int(n)} " + share_text(int(k), int(n))


la = json.loads((D / "lookalikes.json").read_text())["patterns"]
far = np.array([not r["near"] for r in la])
distinct = np.array([not r["lookalike"] for r in la])
h = load_holdout()
sg = dict(zip(h.material_id, h.space_group))
truth = np.array([str(sg[str(m)]) for m in S["material"]])
res = {}
for name, earlier in (("earlier", True), ("now", False)):
    ev = map_workers(_ev, [(i, earlier) for i in range(len(truth))], 2)
    b = baseline_results(S, ev)
    ok = b["answer"] == truth
    sets = sum(v[0] == str(sg[m]) for m, v in b["set"].items())
    mats = sum(v[0] == str(sg[m]) for m, v in b["material"].items())
    res[name] = ok
    print(name, {"far": st(ok[far].sum(), far.sum()), "distinct": st(ok[distinct].sum(), distinct.sum()),
                 "all": st(ok.sum(), len(ok)), "sets": st(sets, len(b["set"])), "materials16": st(mats, len(b["material"]))},
          flush=True)
o, n = res["earlier"], res["now"]
print(f"far: +{int((n & ~o & far).sum())} -{int((o & ~n & far).sum())}; all: +{int((n & ~o).sum())} -{int((o & ~n).sum())}")
