"""fit_classes time per pattern, earlier rule (min_relative 1e-3 spots, missing out to the farthest spot) against
the current defaults, alternated in one process on the same validation patterns.

    PYTHONPATH=src python bench/diag_timing.py out/valshots 80"""
import pickle
import sys
import time
from pathlib import Path

import numpy as np

from sadpnet.model.indexing import MIN_SPOTS
from sadpnet.model.lattice_fit import fit_classes
from sadpnet.model.testshots import load_shots

D, N = Path(sys.argv[1]), int(sys.argv[2])
S = load_shots(D / "cubic.npz")
old = pickle.loads((D / "spots.pkl").read_bytes())
new = pickle.loads((D / "spots-src.pkl").read_bytes())
idx = np.random.default_rng(0).choice(len(old), N, replace=False)
t_old, t_new = [], []
for i in idx:
    px = float(S["pixel_size_inv_a"][i])
    for spots, store, kw in ((old[i], t_old, {"missing_share": 1.0}), (new[i], t_new, {})):
        if len(spots) < MIN_SPOTS:
            continue
        t = time.perf_counter()
        fit_classes(spots, pixel_size_inv_a=px, **kw)
        store.append(time.perf_counter() - t)
print(f"{N} patterns: earlier median {1000 * np.median(t_old):.0f} ms (mean {1000 * np.mean(t_old):.0f}, max "
      f"{1000 * np.max(t_old):.0f}); now median {1000 * np.median(t_new):.0f} ms (mean {1000 * np.mean(t_new):.0f}, "
      f"max {1000 * np.max(t_new):.0f}); spots per pattern {np.mean([len(old[i]) for i in idx]):.1f} -> "
      f"{np.mean([len(new[i]) for i in idx]):.1f}")
