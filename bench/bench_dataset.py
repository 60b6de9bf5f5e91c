"""Dataset throughput: end-to-end build rate (simulate, render, store) on 1 and 2 Dask workers, and the
rate of reading a store for training, with ratios against baselines run in the same process.

Build workload: perfect crystals (8 light structures of the paper's space groups: Al, Cu, Ni, Fe, W, Mo,
CsCl, beta-Mn), the 16 standard cubic zone axes, 200 kV, 300 mm, 256 x 256 px uint8, `--rotations` random
in-plane rotations per axis, 40 x 30 x 20 cells, chunks of 32 patterns. Each build is timed two ways:
end to end (planning, cluster start, everything until the card is written) and steady state (patterns per
second after every worker has finished its first chunk, until the last chunk, from the chunk markers' times:
start-up, imports and each worker's first material are left out). Baseline of the speed-up: the 1-worker
build; the same build in the calling process without Dask shows Dask's overhead. The CPU time of the calling
process during the Dask builds (planning, cluster start, the scheduler's thread, compressing and writing
chunks) is printed: on 2 cores it is taken from the workers.

Read workload: `StoreDataset` over the 2-worker store (all patterns, float32 tensors with label and
calibration), repeated for at least 1 s; baseline: reading the raw Zarr chunks alone (decompression).

Numbers are noisy: the machine has 2 cores shared with teammates (the load average is printed); the
in-process build's patterns per CPU-second (time.process_time) do not depend on the load.

Usage: .venv/bin/python bench/bench_dataset.py [--rotations 8]
       .venv/bin/python bench/bench_dataset.py --store out/datasets/paper-five [--every 10]   (CPU per pattern)
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

SPEC = """
name: bench
seed: 1
crystals:
  ids: [cod/Al, cod/Cu, cod/Ni, cod/Fe, cod/W, cod/Mo, aflow/240_AB_cP2_221_b_a, aflow/279_A_cP20_213_cd]
microscope: {{voltages_kv: [200], camera_lengths_mm: [300], image_size_px: 256}}
augment: {{rotations_per_pattern: {rotations}, inplane_rotation_deg: [0, 360]}}
storage: {{dtype: uint8, chunk_patterns: 32}}
"""


def _build(spec: Path, out: Path, workers: int) -> dict:
    from sadpnet.data.build import build_dataset
    from sadpnet.data.store import read_meta

    if out.exists():
        shutil.rmtree(out)
    t0, c0 = time.perf_counter(), time.process_time()
    card = build_dataset(spec, out, workers=workers, progress=False)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    times = sorted(p.stat().st_mtime for p in (out / "progress").glob("*.done"))
    n_chunk = read_meta(out)["chunk_patterns"]
    # steady state: the chunks finished after every worker's first one, over the time since then (with W
    # workers finishing in step, counting from the first finished chunk would credit W - 1 chunks too many)
    w = max(1, workers)
    steady = ((len(times) - w) * n_chunk / (times[-1] - times[w - 1])) if len(times) > w else float("nan")
    return {"n": card["n_patterns"], "wall_s": wall, "end_to_end": card["n_patterns"] / wall, "steady": steady,
            "per_cpu_s": card["n_patterns"] / cpu, "main_cpu_s": cpu}


def _read(store: Path, min_s: float = 1.0) -> tuple[float, float]:
    from sadpnet.data.store import open_images
    from sadpnet.data.torch_dataset import StoreDataset

    arr = open_images(store)
    n_chunk = arr.chunks[0]
    t0, n = time.perf_counter(), 0
    while time.perf_counter() - t0 < min_s:
        for lo in range(0, arr.shape[0], n_chunk):
            n += len(arr[lo:lo + n_chunk])
    raw = n / (time.perf_counter() - t0)
    ds = StoreDataset(store, label="space_group")
    t0, n, epoch = time.perf_counter(), 0, 0
    while time.perf_counter() - t0 < min_s:
        ds.set_epoch(epoch)
        for _ in ds:
            n += 1
        epoch += 1
    return n / (time.perf_counter() - t0), raw


def _store_cost(store: Path, every: int) -> None:
    """CPU time per pattern of re-making every `every`-th chunk of an existing store (its own spec)."""
    import json

    from sadpnet.data.build import _ROW_COLUMNS, compute_chunk
    from sadpnet.data.store import read_meta, read_table

    spec = json.loads((store / "spec.json").read_text())
    spec["simulation"].setdefault("oversample", 4)
    meta, table = read_meta(store), read_table(store)
    n_chunk, cpu, n = meta["chunk_patterns"], 0.0, 0
    for k in range(0, meta["n_chunks"], every):
        rows = table.iloc[k * n_chunk:(k + 1) * n_chunk][list(_ROW_COLUMNS)].to_dict("records")
        c = time.process_time()
        compute_chunk(rows, spec)
        cpu += time.process_time() - c
        n += len(rows)
    per = cpu / n
    print(f"{store}: {n} patterns re-made: {per * 1e3:.1f} ms CPU per pattern ({1 / per:.0f} patterns per "
          f"CPU-second); the whole store ({meta['n_patterns']}) on 2 idle cores: about "
          f"{meta['n_patterns'] * per / 2 / 60:.1f} min of simulation")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rotations", type=int, default=8, help="in-plane rotations per zone axis (8 x 16 x this)")
    ap.add_argument("--store", type=Path, help="instead: CPU cost per pattern of an existing store's spec")
    ap.add_argument("--every", type=int, default=10, help="with --store: re-make every N-th chunk")
    args = ap.parse_args()
    if args.store:
        _store_cost(args.store, args.every)
        return
    print(f"load average before: {os.getloadavg()[0]:.1f} (2 cores, shared)")
    tmp = Path(tempfile.mkdtemp(prefix="bench_dataset_"))
    try:
        spec = tmp / "bench.yaml"
        spec.write_text(SPEC.format(rotations=args.rotations))
        r0 = _build(spec, tmp / "w0", 0)
        r1 = _build(spec, tmp / "w1", 1)
        r2 = _build(spec, tmp / "w2", 2)
        for name, r in (("in process, no Dask", r0), ("1 Dask worker      ", r1), ("2 Dask workers     ", r2)):
            print(f"build {name}: {r['n']} patterns in {r['wall_s']:.1f} s: end to end {r['end_to_end']:.1f} "
                  f"patterns/s, steady state {r['steady']:.1f} patterns/s")
        print(f"CPU time of this process during the Dask builds: 1 worker {r1['main_cpu_s']:.2f} s, "
              f"2 workers {r2['main_cpu_s']:.2f} s (of {r2['wall_s']:.1f} s wall)")
        print(f"in process: {r0['per_cpu_s']:.1f} patterns per CPU-second of this process (load-independent; "
              f"x 2 cores = {2 * r0['per_cpu_s']:.0f} patterns/s on an idle 2-core machine at perfect scaling)")
        print(f"speed-up 1 -> 2 workers: end to end {r2['end_to_end'] / r1['end_to_end']:.2f}x, "
              f"steady state {r2['steady'] / r1['steady']:.2f}x (goal 1.8x)")
        print(f"target >= 100 patterns/s end to end on 2 workers: {'met' if r2['end_to_end'] >= 100 else 'NOT met'}")
        ds_rate, raw_rate = _read(tmp / "w2")
        print(f"read for training (StoreDataset, float32 + label + calibration): {ds_rate:.0f} patterns/s; "
              f"raw Zarr chunks: {raw_rate:.0f} patterns/s; ratio {ds_rate / raw_rate:.2f}")
        print(f"target >= 2000 patterns/s reading: {'met' if ds_rate >= 2000 else 'NOT met'}")
        print(f"load average after: {os.getloadavg()[0]:.1f}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
