"""Speed of the `cell` engine: rendered 256x256 patterns per second across orientations, against
pymatgen's TEMCalculator run side by side in the same process.

Workload: Al (Fm-3m), 200 kV, 300 mm, 256 px, 40x30x20 cells, over the 16 standard zone axes x in-plane
rotations; each pattern is simulated (`simulate_cell`, oversample 4) and rendered (`render`: direct beam,
PSF, log mapping, uint8). Baseline: pymatgen's TEMCalculator.get_pattern (spot list only, no image) of the
same crystal on the same zone axes. Numbers are noisy (2 cores shared with teammates); the ratio less so.

Usage: .venv/bin/python bench/bench_cell.py [--rotations 16] [--pymatgen-axes 6]
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rotations", type=int, default=16, help="in-plane rotations per zone axis")
    ap.add_argument("--pymatgen-axes", type=int, default=6, help="zone axes timed with pymatgen")
    args = ap.parse_args()

    from sadpnet.crystal import STANDARD_CUBIC_ZONE_AXES, read_cif
    from sadpnet.resources import example_cif
    from sadpnet.simulate.cell_engine import simulate_cell
    from sadpnet.simulate.detector import render
    from sadpnet.simulate.microscope import Microscope

    al = read_cif(example_cif("Al"))
    mic = Microscope(200.0, 300.0)
    render(simulate_cell(al, mic, (0, 0, 1)))  # warm imports and the per-crystal cache (timed below)
    t = time.perf_counter()
    from sadpnet.simulate import structure_factor

    structure_factor._CACHE.clear()
    simulate_cell(al, mic, (0, 0, 1))
    t_first = time.perf_counter() - t

    n, n_spots = 0, 0
    t = time.perf_counter()
    c0 = time.process_time()
    t_sim = 0.0
    for uvw in STANDARD_CUBIC_ZONE_AXES:
        for r in range(args.rotations):
            t1 = time.perf_counter()
            p = simulate_cell(al, mic, uvw, inplane_rotation_deg=360.0 * r / args.rotations)
            t_sim += time.perf_counter() - t1
            img = render(p)
            n += 1
            n_spots += len(p.spots)
    t_ours = (time.perf_counter() - t) / n
    c_ours = (time.process_time() - c0) / n
    assert img.shape == (256, 256)

    from pymatgen.analysis.diffraction.tem import TEMCalculator
    from pymatgen.core import Structure

    s = Structure.from_file(str(example_cif("Al")))
    axes = STANDARD_CUBIC_ZONE_AXES[: args.pymatgen_axes]
    TEMCalculator(voltage=200, beam_direction=axes[0], camera_length=300).get_pattern(s)  # warm-up
    t = time.perf_counter()
    c0 = time.process_time()
    for uvw in axes:
        df = TEMCalculator(voltage=200, beam_direction=uvw, camera_length=300).get_pattern(s)
    t_pmg = (time.perf_counter() - t) / len(axes)
    c_pmg = (time.process_time() - c0) / len(axes)
    assert len(df) > 0

    print(f"cell engine, Al, 16 zone axes x {args.rotations} rotations = {n} patterns, 256x256, 40x30x20 cells, oversample 4")
    print(f"  first pattern of a crystal (hkl table + structure factors): {t_first * 1e3:.1f} ms")
    print(f"  simulate + render: {t_ours * 1e3:.2f} ms/pattern = {1 / t_ours:.0f} patterns/s "
          f"(simulate {t_sim / n * 1e3:.2f} ms, render {(t_ours - t_sim / n) * 1e3:.2f} ms; {n_spots / n:.0f} spots/pattern)")
    print(f"  CPU time of this process: {c_ours * 1e3:.2f} ms/pattern = {1 / c_ours:.0f} patterns/s per core "
          f"(less sensitive than wall time to teammates' load)")
    print(f"pymatgen TEMCalculator.get_pattern (spot list only), {len(axes)} zone axes: {t_pmg * 1e3:.1f} ms/pattern "
          f"wall, {c_pmg * 1e3:.1f} ms CPU")
    print(f"RATIO cell engine vs pymatgen: {t_pmg / t_ours:.1f}x faster per pattern wall, {c_pmg / c_ours:.1f}x CPU "
          f"(target >= 5x)")
    print(f"TARGET >= 200 patterns/s: {'met' if 1 / t_ours >= 200 else 'NOT met'} by wall time ({1 / t_ours:.0f}/s), "
          f"{'met' if 1 / c_ours >= 200 else 'NOT met'} by CPU time ({1 / c_ours:.0f}/s); load average "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
