"""Time per training pattern of the atoms-engine defect families, built on the fly against taken from a
`sadpnet.data.defect_cache` (the baseline, on the fly, is measured in the same run), and the cache's build time.

Workload: Al, Fe and Mo (cod/Mo), 2 blocks per family and crystal; per family and crystal the zone axes [001],
[011], [111] under drawn conditions (`sadpnet.data.stream.draw_conditions`), on the fly and from the cache
interleaved so that a busy machine slows both alike. Prints build/load and render seconds a pattern and the
ratio on the fly / cache. Numbers are noisy: the machine has 2 cores shared with teammates (the load average is
printed).

Usage: .venv/bin/python bench/bench_defect_cache.py [--folder /tmp/defect-cache-bench]
"""

from __future__ import annotations

import argparse
import os
import shutil
import time

import numpy as np


def main() -> None:
    from sadpnet.crystal import read_cif
    from sadpnet.data.corpus import load_crystal
    from sadpnet.data.defect_cache import DefectCache, build_defect_cache
    from sadpnet.data.stream import draw_conditions, render_drawn
    from sadpnet.data.stream_defects import ATOMS_FAMILIES, draw_defect
    from sadpnet.resources import example_cif

    ap = argparse.ArgumentParser()
    ap.add_argument("--folder", default="/tmp/defect-cache-bench")
    folder = ap.parse_args().folder
    shutil.rmtree(folder, ignore_errors=True)
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    crystals = [read_cif(example_cif("Al")), read_cif(example_cif("Fe")), load_crystal("cod/Mo")]
    t0 = time.perf_counter()
    summary = build_defect_cache(crystals, folder, per_crystal=2)
    print(f"cache: {summary['blocks']} blocks of {len(crystals)} crystals in {time.perf_counter() - t0:.1f} s, "
          f"{summary['bytes'] / 1e6:.0f} MB")
    cache = DefectCache(folder)
    acc = {(f, m): np.zeros(3) for f in ATOMS_FAMILIES for m in ("fly", "cache")}
    for i, crystal in enumerate(crystals):
        for j, zone in enumerate([(0, 0, 1), (0, 1, 1), (1, 1, 1)]):
            cond = draw_conditions(np.random.default_rng([i, j, 1]))
            for family in ATOMS_FAMILIES:
                for mode in ("fly", "cache"):
                    t0 = time.perf_counter()
                    d = draw_defect(crystal, zone, np.random.default_rng([i, j]), family=family,
                                    cache=cache if mode == "cache" else None)
                    t1 = time.perf_counter()
                    render_drawn(d.source, d.zone_axis, cond, **d.options)
                    acc[(family, mode)] += (t1 - t0, time.perf_counter() - t1, 1)
    for family in ATOMS_FAMILIES:
        (bf, rf, n), (bc, rc, _) = acc[(family, "fly")], acc[(family, "cache")]
        print(f"{family:15s} on the fly {bf / n:.2f} + {rf / n:.2f} s, cache {bc / n:.2f} + {rc / n:.2f} s "
              f"(build/load + render, {int(n)} patterns): x{(bf + rf) / (bc + rc):.2f}")
    print(f"load average {os.getloadavg()[0]:.1f}")
    shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
