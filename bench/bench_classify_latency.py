"""Latency of `sadpnet classify` on one pattern after load, per shipped model (issue 17: <= 150 ms).

Loads each model once (`sadpnet.model.infer.load_model`, what the CLI calls: the shipped default ResNet v1 and
the spot-indexing model "spot-index"), then times `classify_images([pattern])` (the CLI's call after it has
read the file) on:
* a rendered 256 x 256 pattern (Fe [011], 200 kV, 300 mm, the simulator's detector), median of --repeats runs;
* the shipped experimental z2_saed.dm3 (1024 x 1024, calibrated, beam stop), median of --repeats runs;
* with --shots FILE (a held-out test-shot file, e.g. out/v2-test/cubic.npz): one run on each of --n-shots
  test patterns spread over the file (256 px, drawn conditions), median over the patterns: the spot-indexing
  time depends on the number of spots, so one pattern alone does not tell it.
Prints ms per model and input, the ratio spot-index / default measured in the same process, and the load
average (the 2 cores are shared with other work: numbers are noisy; compare ratios, not absolute times).

Usage: .venv/bin/python bench/bench_classify_latency.py [--repeats 20] [--shots out/v2-test/cubic.npz]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

import numpy as np

MODELS = ("default", "spot-index")
TARGET_MS = 150.0


def _median_ms(fn, repeats: int) -> float:
    fn()  # warm-up (templates, caches, first torch call)
    ts = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t)
    return 1e3 * statistics.median(ts)


def _rendered_pattern():
    from sadpnet.io.measured import MeasuredPattern
    from sadpnet.resources import example_cif
    from sadpnet.simulate.api import simulate
    from sadpnet.simulate.detector import DEFAULT_MAPPING, render

    p = simulate(example_cif("Fe"), (0, 1, 1), voltage_kv=200, camera_length_mm=300, size_px=256,
                 inplane_rotation_deg=17.0)
    linear = np.asarray(DEFAULT_MAPPING.decode(render(p)), dtype=np.float32)
    return MeasuredPattern(linear, float(p.pixel_size_inv_a), (128.0, 128.0), None, Path("fe011-rendered"))


def _dm3_pattern():
    from sadpnet.io import load_pattern
    from sadpnet.resources import resource_path

    return load_pattern(resource_path("experimental", "kvmani_pycrystallography", "z2_saed.dm3"))


def _shot_patterns(path: Path, n: int) -> list:
    from sadpnet.data.stream import linear_image_array
    from sadpnet.io.measured import MeasuredPattern
    from sadpnet.model.testshots import load_shots

    shots = load_shots(path)
    rows = np.linspace(0, len(shots["image"]) - 1, n).round().astype(int)
    out = []
    for i in rows:
        img = shots["image"][i]
        out.append(MeasuredPattern(linear_image_array(img), float(shots["pixel_size_inv_a"][i]),
                                   (img.shape[1] / 2, img.shape[0] / 2), shots["mask"][i],
                                   Path(f"{shots['material'][i]}-{''.join(map(str, shots['zone'][i]))}")))
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=20)
    ap.add_argument("--shots", type=Path, default=None, help="held-out test-shot .npz (sadpnet.model.testshots)")
    ap.add_argument("--n-shots", type=int, default=20)
    a = ap.parse_args()
    from sadpnet.model.infer import load_model

    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())} (2 cores, shared)")
    inputs = {"rendered 256 px Fe [011]": _rendered_pattern(), "z2_saed.dm3 (1024 px)": _dm3_pattern()}
    shots = _shot_patterns(a.shots, a.n_shots) if a.shots else []
    ms: dict = {}
    for name in MODELS:
        t = time.perf_counter()
        model = load_model(name)
        print(f"{name}: load {time.perf_counter() - t:.2f} s")
        for what, pat in inputs.items():
            ms[name, what] = _median_ms(lambda: model.classify_images([pat]), a.repeats)
        if shots:
            model.classify_images([shots[0]])  # warm-up
            per = []
            for pat in shots:
                t = time.perf_counter()
                model.classify_images([pat])
                per.append(1e3 * (time.perf_counter() - t))
            ms[name, f"{len(shots)} test shots (median, max)"] = statistics.median(per)
            ms[name, "test shots max"] = max(per)
    for what in [w for n, w in ms if n == MODELS[0]]:
        if what == "test shots max":
            continue
        d, s = ms["default", what], ms["spot-index", what]
        extra = ""
        if what.startswith(f"{len(shots)} test shots"):
            extra = f" (max {ms['default', 'test shots max']:.0f} / {ms['spot-index', 'test shots max']:.0f} ms)"
        print(f"{what}: default {d:.1f} ms ({'met' if d <= TARGET_MS else 'NOT met'}), spot-index {s:.1f} ms "
              f"({'met' if s <= TARGET_MS else 'NOT met'}); RATIO spot-index / default {s / d:.2f}x{extra}")
    print(f"target <= {TARGET_MS:.0f} ms per pattern after load; repeats {a.repeats}")
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
