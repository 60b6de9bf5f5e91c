"""Speed of classification: one 256x256 pattern after the model is loaded, and the whole `sadpnet classify` command.

Prints (medians of repeated runs, seconds) and ratios against baselines measured in the same run:
* classify one loaded pattern (`Classifier.classify_images`: preprocess + network + calibration + unknown score),
  and the same plus reading the file (`sadpnet.io.load_pattern`: read, masks, centre), against the
  network forward alone (the floor);
* the whole command `sadpnet classify FILE` (start, imports, load, classify) against `python -c pass` and
  `sadpnet --help`.
Targets (issue 5): <= 0.150 s per image after load, <= 3 s for the command. The machine's 2 cores are shared
with teammates: numbers are noisy. Usage: .venv/bin/python bench/bench_classify.py [--model DIR] [--repeats N]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def _median_time(fn, repeats: int) -> float:
    fn()  # warm-up
    ts = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t)
    return statistics.median(ts)


def _pattern_file(tmp: Path) -> Path:
    from sadpnet.resources import example_cif
    from sadpnet.simulate.api import simulate
    from sadpnet.simulate.detector import render

    p = simulate(example_cif("Fe"), (0, 1, 1), voltage_kv=200, camera_length_mm=300, size_px=256)
    path = tmp / "fe011.npy"
    np.save(path, render(p))
    return path, p.pixel_size_inv_a


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default=None, help="model folder [default: the shipped model]")
    ap.add_argument("--repeats", type=int, default=7)
    a = ap.parse_args()
    from sadpnet.io import load_pattern
    from sadpnet.model.infer import load_model

    with tempfile.TemporaryDirectory() as td:
        path, cal = _pattern_file(Path(td))
        t = time.perf_counter()
        model = load_model(a.model)
        load_s = time.perf_counter() - t
        pat = load_pattern(path, calibration_inv_a_per_px=cal)
        x = model.preprocess_measured(pat, cal)[None]
        forward = _median_time(lambda: model.forward_inputs(x), a.repeats)
        one = _median_time(lambda: model.classify_images([pat]), a.repeats)
        with_read = _median_time(lambda: model.classify_images([load_pattern(path, calibration_inv_a_per_px=cal)]),
                                 a.repeats)
        print(f"model load: {load_s:.3f} s ({model.card['architecture']}, {model.image_size_px} px)")
        print(f"network forward alone: {forward * 1e3:.1f} ms (baseline)")
        print(f"classify one loaded 256x256 pattern: {one * 1e3:.1f} ms ({one / forward:.2f}x the forward)")
        print(f"read file + classify: {with_read * 1e3:.1f} ms ({with_read / forward:.2f}x the forward; "
              f"target <= 150 ms: {'met' if with_read <= 0.150 else 'NOT met'})")
        exe = Path(sys.executable).with_name("sadpnet")
        cmd = [str(exe), "classify", str(path), "--calibration-inv-a-per-px", f"{cal}"]
        if a.model:
            cmd += ["--model", a.model]
        run = lambda c: subprocess.run(c, check=True, capture_output=True)  # noqa: E731
        reps = max(3, a.repeats // 2)
        base = _median_time(lambda: run([sys.executable, "-c", "pass"]), reps)
        helps = _median_time(lambda: run([str(exe), "--help"]), reps)
        whole = _median_time(lambda: run(cmd), reps)
        print(f"python -c pass: {base:.2f} s; sadpnet --help: {helps:.2f} s")
        print(f"sadpnet classify (whole command): {whole:.2f} s ({whole / base:.1f}x python start, "
              f"{whole / helps:.1f}x --help; target <= 3 s: {'met' if whole <= 3.0 else 'NOT met'})")


if __name__ == "__main__":
    main()
