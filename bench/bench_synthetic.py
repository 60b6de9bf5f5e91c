"""Speed and acceptance of random crystals (`sadpnet.crystal.synthetic.random_crystal`) per crystal system,
against pyxtal's own ``from_random`` run side by side in the same process.

Workload: for each crystal system, its ``--groups`` most common space groups in the shipped prior; crystals
drawn by `sample_crystals` (seeded) with ``max_atoms`` per primitive cell. Printed per system:

* crystals/s (wall and per CPU second of this process: the machine is shared, CPU time is the steadier);
* acceptance per draw: the share of single draws (``max_tries=1``) that passed every check (pyxtal placed
  the atoms, distances, spglib group), with the rejection reasons;
* baseline: pyxtal's ``from_random`` with its defaults (its own volume and attempt loop, no distance or
  spglib check) on the compositions that our generator made, and the ratio of our time to it.

Usage: .venv/bin/python bench/bench_synthetic.py [--n 12] [--draws 30] [--max-atoms 24] [--groups 4]
"""

from __future__ import annotations

import argparse
import os
import time
from collections import Counter

os.environ.setdefault("OMP_NUM_THREADS", "1")

SYSTEMS = ("triclinic", "monoclinic", "orthorhombic", "tetragonal", "trigonal", "hexagonal", "cubic")


def _groups_of(prior, system: str, k: int) -> list[int]:
    from sadpnet.crystal import crystal_system

    freq = prior.group_frequencies()
    return sorted((g for g in freq if crystal_system(g) == system), key=lambda g: (-freq[g], g))[:k]


def _acceptance(groups, draws: int, max_atoms: int, seed: int):
    import numpy as np

    from sadpnet.crystal.synthetic import GenerationError, random_crystal

    rng = np.random.default_rng(seed)
    ok, why = 0, Counter()
    for i in range(draws):
        try:
            random_crystal(groups[i % len(groups)], rng, max_atoms=max_atoms, max_tries=1)
            ok += 1
        except GenerationError as exc:
            why[str(exc).rsplit("(", 1)[-1].rstrip(")")] += 1
    return ok / draws, why


def _timed(fn):
    t, c = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - t, time.process_time() - c


def _pyxtal_baseline(crystals, seed: int) -> float:
    """CPU seconds of pyxtal's from_random (defaults) on the same groups and compositions."""
    import warnings
    from collections import Counter as C

    from pyxtal import pyxtal

    c0 = time.process_time()
    for i, c in enumerate(crystals):
        comp = C(c.atoms.get_chemical_symbols())
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                pyxtal().from_random(3, c.space_group_number, list(comp), list(comp.values()), random_state=seed + i)
            except Exception:
                pass  # counted in the time all the same
    return time.process_time() - c0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=12, help="crystals timed per crystal system")
    ap.add_argument("--draws", type=int, default=30, help="single draws per crystal system for the acceptance")
    ap.add_argument("--max-atoms", type=int, default=24, help="most atoms in the primitive cell")
    ap.add_argument("--groups", type=int, default=4, help="most common space groups per crystal system")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    from sadpnet.crystal import load_prior, random_crystal, sample_crystals

    import numpy as np

    prior = load_prior()
    print(f"load avg {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; max_atoms {args.max_atoms}, "
          f"{args.n} crystals and {args.draws} draws per system")
    print(f"{'system':13s} {'groups':18s} {'cryst/s wall':>12s} {'cryst/s CPU':>11s} {'atoms':>5s} "
          f"{'accept/draw':>11s} {'pyxtal CPU s':>12s} {'ours/pyxtal':>11s}  rejections")
    for system in SYSTEMS:
        groups = _groups_of(prior, system, args.groups)
        for g in groups:  # warm pyxtal's Group tables and imports (not timed)
            random_crystal(g, np.random.default_rng(0), max_atoms=args.max_atoms, max_tries=50)
        crystals, wall, cpu = _timed(lambda: list(sample_crystals(groups, args.n, args.seed, max_atoms=args.max_atoms)))
        rate, why = _acceptance(groups, args.draws, args.max_atoms, args.seed + 1)
        base = _pyxtal_baseline(crystals, args.seed)
        atoms = np.mean([len(c.atoms) for c in crystals])
        print(f"{system:13s} {','.join(map(str, groups)):18s} {args.n / wall:12.2f} {args.n / cpu:11.2f} "
              f"{atoms:5.1f} {rate:11.0%} {base:12.2f} {cpu / base:11.2f}  {dict(why)}", flush=True)


if __name__ == "__main__":
    main()
