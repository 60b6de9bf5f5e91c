"""Write and read back a ~10^5-atom twin block (Al, 40 x 30 x 20 cells: 99,792 atoms) as CIF, extended XYZ and
LAMMPS data (`sadpnet.crystal.atom_files`, the formats of ``sadpnet defect -o``), in this process; prints the
times and their ratios to CIF's. The readers are sadpnet's own (``read_cif`` for CIF, whose large-P1 path
skips ASE's symmetry expansion; `read_atom_file` for the others); ASE's ``ase.io.read`` of the extended XYZ and
LAMMPS files is timed too, for what users of ASE/OVITO see (ASE on the CIF is left out: more than 300 s,
issue 19). Each step is the median of ``--repeats`` runs. The machine's load average is printed: on the 2
shared cores the absolute times are noisy, the ratios less so.

Usage: PYTHONPATH=src .venv/bin/python bench/bench_block_io.py [--repeats 3] [--cells 40 30 20]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path


def median_time(fn, repeats: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeats):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--cells", type=int, nargs=3, default=(40, 30, 20))
    args = ap.parse_args()
    import ase.io

    from sadpnet.crystal import read_cif
    from sadpnet.crystal.atom_files import read_atom_file
    from sadpnet.defects.cif_out import write_defect_file
    from sadpnet.defects.twin import build_twin
    from sadpnet.resources import example_cif

    al = read_cif(example_cif("Al"))
    block = build_twin(al, (1, 1, 1), (1, 1, -2), 0.5, tuple(args.cells))
    n = len(block.atoms)
    readers = {".cif": lambda p: read_cif(p, standardize_cell=False).atoms,
               ".extxyz": lambda p: read_atom_file(p)[0], ".lmp": lambda p: read_atom_file(p)[0]}
    ase_readers = {".extxyz": lambda p: ase.io.read(p, format="extxyz"),
                   ".lmp": lambda p: ase.io.read(p, format="lammps-data", atom_style="atomic")}
    rows = {}
    with tempfile.TemporaryDirectory() as tmp:
        for suffix, read in readers.items():
            path = Path(tmp) / f"twin{suffix}"
            w, _ = median_time(lambda: write_defect_file(block.atoms, path, "twin", block.info, al, "block"),
                               args.repeats)
            r, atoms = median_time(lambda: read(path), args.repeats)
            assert len(atoms) == n
            a = median_time(lambda: ase_readers[suffix](path), args.repeats)[0] if suffix in ase_readers else None
            rows[suffix] = (w, r, a, path.stat().st_size / 2**20)
    cw, cr = rows[".cif"][0], rows[".cif"][1]
    print(f"{n} atoms, median of {args.repeats}; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"{'format':<8} {'MiB':>6} {'write s':>8} {'read s':>8} {'w+r s':>8} {'w+r / CIF':>10} {'ASE read s':>11}")
    for suffix, (w, r, a, mib) in rows.items():
        print(f"{suffix:<8} {mib:6.1f} {w:8.3f} {r:8.3f} {w + r:8.3f} {(w + r) / (cw + cr):9.3f}x "
              f"{'-' if a is None else f'{a:.3f}':>11}")
    for suffix in (".extxyz", ".lmp"):
        w, r = rows[suffix][:2]
        print(f"RATIO {suffix} write+read / CIF write+read: {(w + r) / (cw + cr):.3f} "
              f"(CIF is {(cw + cr) / (w + r):.1f}x slower)")


if __name__ == "__main__":
    main()
