"""Speed of the defect builders, with ratios against baselines run in the same process.

1. Relaxing a 108-site cell (Al 3x3x3 with one vacancy, 107 atoms) with each potential: the default
   (SevenNet 7net-0 when installed; target <= 60 s), Mendelev EAM (matscipy) and EMT (baseline).
   The time includes the optimiser, not the one-off loading of the ML model (printed separately).
2. A Debye-model snapshot of 10^6 Al atoms (target <= 1 s); baseline: drawing the same 3 x 10^6 standard
   normal numbers with NumPy.
3. MD (Langevin NVT, 2 fs) time per step for Al 3x3x3 (108 atoms) with each potential; baseline EMT.
4. Building the paper's specimen-sized blocks: four edge dislocations (Al, 40 x 30 x 20 cells) and one twin.
5. With --paper-cases (slow, ~6 min): every point defect of the paper relaxed with each potential that
   covers it; largest displacement, energy change, steps and time (the table in docs/defects.md).

Numbers are noisy: the machine has 2 cores shared with teammates (the load average is printed).

Usage: OMP_NUM_THREADS=1 .venv/bin/python bench/bench_defects.py [--threads 1] [--md-steps 20] [--no-ml]
       [--paper-cases]
"""

from __future__ import annotations

import argparse
import os
import time


def _timed(fn, *args, **kwargs):
    t = time.perf_counter()
    out = fn(*args, **kwargs)
    return time.perf_counter() - t, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=1, help="torch threads for SevenNet")
    ap.add_argument("--md-steps", type=int, default=20, help="MD steps timed per classical potential")
    ap.add_argument("--no-ml", action="store_true", help="skip SevenNet")
    ap.add_argument("--paper-cases", action="store_true", help="relax every point defect of the paper (slow)")
    args = ap.parse_args()

    import numpy as np

    from sadpnet.crystal import read_cif
    from sadpnet.defects.dislocation import build_dislocation_array
    from sadpnet.defects.point import make_supercell, relax_defect, vacancy
    from sadpnet.defects.potentials import attach, get_calculator, sevennet_available
    from sadpnet.defects.thermal import debye_displacements
    from sadpnet.defects.twin import build_twin
    from sadpnet.resources import example_cif

    print(f"load average: {os.getloadavg()}")
    al = read_cif(example_cif("Al"))
    pots = ["emt", "eam"] + (["sevennet"] if sevennet_available() and not args.no_ml else [])
    if "sevennet" in pots:
        import torch

        torch.set_num_threads(args.threads)
        t_load, _ = _timed(get_calculator, "sevennet")
        print(f"SevenNet 7net-0 load (once per process): {t_load:.1f} s, torch threads {args.threads}")

    print("\n1. relax Al 3x3x3 + vacancy (107 atoms), BFGS to fmax 0.01 eV/A")
    base = None
    for pot in pots:
        t, r = _timed(relax_defect, vacancy(al, (3, 3, 3)), pot)
        x = r.relax
        base = base or t
        print(f"  {pot:9s} {t:7.2f} s  ({x.steps} steps, {t / max(x.steps + 1, 1):.3f} s/force call; "
              f"dE {x.energy_after_ev - x.energy_before_ev:+.4f} eV, max displacement {x.max_displacement_a:.4f} A)"
              f"  x{t / base:.1f} vs emt" + ("   target <= 60 s: " + ("met" if t <= 60 else "NOT met")
                                               if pot == "sevennet" else ""))

    print("\n2. Debye snapshot of 10^6 Al atoms at 300 K")
    numbers = np.full(1_000_000, 13)
    t_base, _ = _timed(np.random.default_rng(0).standard_normal, (1_000_000, 3))
    t_snap, d = _timed(debye_displacements, numbers, 300.0, 0)
    print(f"  debye_displacements {t_snap:.3f} s (u_rms {np.sqrt(np.mean(d**2)):.4f} A), numpy normals {t_base:.3f} s, "
          f"ratio x{t_snap / t_base:.2f}; target <= 1 s: {'met' if t_snap <= 1 else 'NOT met'}")

    print("\n3. MD time per step, Al 3x3x3 (108 atoms), Langevin 2 fs")
    from ase import units
    from ase.md.langevin import Langevin

    base = None
    for pot in pots:
        atoms = attach(make_supercell(al, (3, 3, 3)), pot)
        atoms.rattle(0.02, seed=1)
        dyn = Langevin(atoms, 2 * units.fs, temperature_K=300, friction=0.01 / units.fs, rng=np.random.default_rng(0))
        dyn.run(1)  # warm-up (neighbour lists, first graph)
        steps = args.md_steps if pot != "sevennet" else max(3, args.md_steps // 5)
        t, _ = _timed(dyn.run, steps)
        per = t / steps
        base = base or per
        print(f"  {pot:9s} {per * 1e3:9.1f} ms/step  x{per / base:.1f} vs emt  (1000 steps: {per * 1000 / 60:.1f} min)")

    print("\n4. specimen-sized blocks (Al)")
    t, d = _timed(build_dislocation_array, al, (1, 1, 2), (0.5, 0.5, 0), 4, (40, 30, 20))
    print(f"  4 edge dislocations, {len(d.atoms)} atoms: {t:.2f} s")
    t, tw = _timed(build_twin, al, (1, 1, 1), (1, 1, -2), 0.5, (40, 30, 20))
    print(f"  (111) twin, {len(tw.atoms)} atoms: {t:.2f} s")
    if args.paper_cases:
        _paper_cases(al, read_cif(example_cif("Fe")), pots)
    print(f"\nload average: {os.getloadavg()}")


def _paper_cases(al, fe, pots) -> None:
    from sadpnet.defects.point import interstitial, relax_defect, substitute, vacancy
    from sadpnet.defects.potentials import covers

    cases = [("Al 2x2x2 vacancy", lambda: vacancy(al, (2, 2, 2))), ("Al 3x3x3 vacancy", lambda: vacancy(al, (3, 3, 3))),
             ("Fe 3x3x3 vacancy", lambda: vacancy(fe, (3, 3, 3))), ("Fe 4x4x4 vacancy", lambda: vacancy(fe, (4, 4, 4))),
             ("Si in Al 2x2x2", lambda: substitute(al, (2, 2, 2), "Si")),
             ("Si in Al 3x3x3", lambda: substitute(al, (3, 3, 3), "Si")),
             ("Au in Fe 3x3x3", lambda: substitute(fe, (3, 3, 3), "Au")),
             ("Au in Fe 4x4x4", lambda: substitute(fe, (4, 4, 4), "Au")),
             ("C tetrahedral in Al 3x3x3", lambda: interstitial(al, (3, 3, 3), "C", "tetrahedral"))]
    print("\n5. the paper's point defects: potential | case | atoms | max displacement (A) | dE (eV) | steps | s")
    for pot in pots:
        for name, make in cases:
            r = make()
            if not covers(pot, set(r.atoms.get_chemical_symbols())):
                continue
            t, r = _timed(relax_defect, r, pot)
            x = r.relax
            print(f"  {pot} | {name} | {len(r.atoms)} | {x.max_displacement_a:.4f} | "
                  f"{x.energy_after_ev - x.energy_before_ev:+.4f} | {x.steps} | {t:.1f}", flush=True)


if __name__ == "__main__":
    main()
