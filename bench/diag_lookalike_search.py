"""Does the look-alike rule miss look-alikes because its search is anchor-limited? Re-index the exact net of
every no-near-look-alike validation pattern with many more anchor pairs (n_first, n_second) and list those where
another class then reaches the true class's score (indexing tolerance).

    PYTHONPATH=src python bench/diag_lookalike_search.py out/valshots 8 6"""
import pickle
import sys
from pathlib import Path

import numpy as np

from sadpnet.data.stream import map_workers
from sadpnet.model import lattice_fit as lf
from sadpnet.model.realtest import exact_net_spots, lookalike_classes
from sadpnet.model.testshots import load_shots

D = Path(sys.argv[1]); NF, NS = int(sys.argv[2]), int(sys.argv[3])
S = load_shots(D / "cubic.npz")
CR = pickle.loads((D / "crystals.pkl").read_bytes())
LA = pickle.loads((D / "lookalikes.pkl").read_bytes())
_anchors = lf.anchors


def _row(i):
    m = str(S["material"][i]); sg = CR[m].space_group_number; px = float(S["pixel_size_inv_a"][i])
    spots = exact_net_spots(CR[m], tuple(int(x) for x in S["zone"][i]), px * 128)
    lf.anchors = lambda g, inten, **kw: _anchors(g, inten, n_first=NF, n_second=NS)
    fits = lf.fit_classes(spots, pixel_size_inv_a=px)
    lf.anchors = _anchors
    return i, lookalike_classes(fits, sg)


far = [i for i, r in enumerate(LA) if not (r["classes"] or r["near"])]
rows = map_workers(_row, far, 2)
(D / f"la-search-{NF}-{NS}.pkl").write_bytes(pickle.dumps(rows))
found = [(i, c) for i, c in rows if c]
print(f"{len(found)} of {len(far)} no-near-look-alike patterns have a near look-alike with anchors {NF}x{NS}")
for i, c in found:
    print(S["material"][i], S["zone"][i], CR[str(S["material"][i])].space_group_number, "->", c)
