"""Whole-command time of ``sadpnet simulate`` on a ~96,000-atom twin block (extended XYZ, and the same block as
CIF; and issue 19's pristine Al.cif of 40 x 30 x 20 cells = 96,000 atoms), against ``sadpnet --help`` in the
same run; plus the engine alone (in this process, imports done), so
that the command's overhead (start-up, reading, writing) is command - engine.

Each command runs ``--repeats`` times as a subprocess; the median is reported (2 shared cores: noisy; say
whether the machine was busy). Target (issue 19): the extxyz command and the Al.cif command <= 1.2 s on an idle
machine.

Usage: PYTHONPATH=src .venv/bin/python bench/bench_simulate_startup.py [--repeats 5] [--cells 40 29 20]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _children_cpu_s() -> float:
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def timed(cmd: list[str], repeats: int) -> tuple[list[float], list[float]]:
    """(wall-clock seconds, CPU seconds (user + sys, all threads)) of each run of ``cmd``."""
    wall, cpu = [], []
    for _ in range(repeats):
        c, t = _children_cpu_s(), time.perf_counter()
        r = subprocess.run(cmd, capture_output=True, text=True)
        wall.append(time.perf_counter() - t)
        cpu.append(_children_cpu_s() - c)
        assert r.returncode == 0, r.stderr
    return wall, cpu


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--cells", type=int, nargs=3, default=(40, 29, 20))
    args = ap.parse_args()
    from sadpnet.resources import example_cif

    sadpnet = [sys.executable, "-m", "sadpnet"]
    zone = ["--zone", "1", "1", "0", "--engine", "atoms"]
    with tempfile.TemporaryDirectory() as tmp:
        blocks = {s: Path(tmp) / f"twin{s}" for s in (".extxyz", ".cif")}
        for path in blocks.values():
            r = subprocess.run([*sadpnet, "defect", "twin", str(example_cif("Al")), "--cells",
                                *map(str, args.cells), "-o", str(path)], capture_output=True, text=True)
            assert r.returncode == 0, r.stderr
        print(r.stdout.split(": ", 1)[1].split(";")[0])
        runs = {"sadpnet --help": timed([*sadpnet, "--help"], args.repeats)}
        for suffix, path in blocks.items():
            runs[f"simulate twin{suffix}"] = timed([*sadpnet, "simulate", str(path), *zone, "-o",
                                                    str(Path(tmp) / "p.png")], args.repeats)
        # the same command with the imports its path had before issue 19 (ase.io for reading, scipy in the engine
        # and the renderer), loaded up front: the start-up saved, in the same run
        before = "import ase.io, scipy.fft, scipy.ndimage, scipy.special; from sadpnet.cli.app import main; main()"
        runs["same + old imports"] = timed([sys.executable, "-c", before, "simulate", str(blocks[".extxyz"]), *zone,
                                            "-o", str(Path(tmp) / "p.png")], args.repeats)
        # issue 19's command: pristine Al, 40 x 30 x 20 cells = 96,000 atoms, from its 4-atom CIF (read with gemmi);
        # then the same with ase.io (the CIF reader it used before, which pulls in scipy) loaded up front
        al = ["simulate", str(example_cif("Al")), "--zone", "0", "0", "1", "--engine", "atoms", "-o",
              str(Path(tmp) / "p.png")]
        runs["simulate Al.cif (96,000)"] = timed([*sadpnet, *al], args.repeats)
        with_ase_io = "import ase.io; from sadpnet.cli.app import main; main()"
        runs["Al.cif + ase.io import"] = timed([sys.executable, "-c", with_ase_io, *al], args.repeats)
        from sadpnet.simulate import simulate

        simulate(blocks[".extxyz"], (1, 1, 0), engine="atoms")  # imports and caches warm
        engine, engine_cpu = [], []
        for _ in range(args.repeats):
            t, c = time.perf_counter(), time.process_time()
            simulate(blocks[".extxyz"], (1, 1, 0), engine="atoms")
            engine.append(time.perf_counter() - t)
            engine_cpu.append(time.process_time() - c)
    help_s = statistics.median(runs["sadpnet --help"][0])
    for name, (times, cpu) in runs.items():
        med = statistics.median(times)
        print(f"{name:<24} median {med:6.3f} s  best {min(times):6.3f} s  ratio to --help {med / help_s:5.2f}x  "
              f"(CPU median {statistics.median(cpu):6.3f} s)")
    print(f"{'engine (read+simulate)':<24} median {statistics.median(engine):6.3f} s  (in-process, warm; CPU median "
          f"{statistics.median(engine_cpu):6.3f} s)")
    ext = statistics.median(runs["simulate twin.extxyz"][0])
    ext_cpu, old_cpu = (statistics.median(runs[k][1]) for k in ("simulate twin.extxyz", "same + old imports"))
    print(f"RATIO simulate twin.extxyz / sadpnet --help: {ext / help_s:.2f}x; "
          f"overhead over the warm engine: {ext - statistics.median(engine):.3f} s wall, "
          f"{ext_cpu - statistics.median(engine_cpu):.3f} s CPU; the old imports cost {old_cpu - ext_cpu:.3f} s CPU")
    print(f"TARGET <= 1.2 s whole command: {'met' if ext <= 1.2 else 'NOT met'} (median {ext:.3f} s; "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")
    al_s, al_cpu, al_old_cpu = (statistics.median(runs["simulate Al.cif (96,000)"][0]),
                                *(statistics.median(runs[k][1]) for k in ("simulate Al.cif (96,000)",
                                                                          "Al.cif + ase.io import")))
    print(f"TARGET (issue 19) simulate Al.cif <= 1.2 s: {'met' if al_s <= 1.2 else 'NOT met'} (median {al_s:.3f} s; "
          f"ase.io's import costs {al_old_cpu - al_cpu:.3f} s CPU; load average {os.getloadavg()[0]:.1f})")


if __name__ == "__main__":
    main()
