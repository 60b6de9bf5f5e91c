"""Speed of the model's preprocessing (sadpnet.model.preprocess), 256-px patterns -> 128-px model inputs.

Baseline: `to_model_input` called once per image (what a per-item data loader does). Against it, in the
same process: `to_model_input_batch` on batches of 64 (torch, the same code), and the reading side
(`load_pattern` of z2_saed.dm3, 1024x1024, with beam-stop masking and the centre search). Prints images/s
and ratios. The machine's 2 cores are shared with teammates: numbers are noisy, ratios less so.

Usage: .venv/bin/python bench/bench_preprocess.py [--n 512] [--threads 1] [--centre-check] [--figure PATH]
``--figure PATH`` also writes the z2_saed.dm3 / simulated Fe [011] side-by-side PNG (raw | preprocessed
real | preprocessed simulated) used in docs/microscope-files.md.
"""

from __future__ import annotations

import argparse
import time

import numpy as np


def simulated_images(n: int, seed: int = 0):
    """n rendered 256-px Fe/Al patterns (uint8, the detector's default log mapping) and their calibrations."""
    from sadpnet.crystal import read_cif
    from sadpnet.resources import example_cif
    from sadpnet.simulate.cell_engine import simulate_cell
    from sadpnet.simulate.detector import render
    from sadpnet.simulate.microscope import Microscope

    rng = np.random.default_rng(seed)
    base = []
    for name in ("Fe", "Al"):
        c = read_cif(example_cif(name))
        for zone in ((0, 0, 1), (0, 1, 1), (1, 1, 1)):
            for kv, cl in ((200.0, 300.0), (300.0, 250.0), (100.0, 350.0)):
                mic = Microscope(kv, cl)
                p = simulate_cell(c, mic, zone, cells=(12, 12, 8), oversample=2)
                base.append((render(p, noise=1e6, seed=int(rng.integers(1 << 30))), mic.pixel_size_inv_a))
    idx = rng.integers(0, len(base), n)
    return np.stack([base[i][0] for i in idx]).astype(np.float32), np.array([base[i][1] for i in idx])


def figure(path: str) -> None:
    from PIL import Image

    from sadpnet.crystal import read_cif
    from sadpnet.io import load_pattern
    from sadpnet.model.preprocess import PreprocessSettings, measured_to_model_input, to_model_input
    from sadpnet.resources import example_cif, resource_path
    from sadpnet.simulate.cell_engine import simulate_cell
    from sadpnet.simulate.detector import BeamStop, Noise, render
    from sadpnet.simulate.microscope import Microscope

    s = PreprocessSettings()
    m = load_pattern(resource_path("experimental/kvmani_pycrystallography/z2_saed.dm3"))
    real = measured_to_model_input(m, s)
    p = simulate_cell(read_cif(example_cif("Fe")), Microscope(200.0, 300.0), (0, 1, 1), cells=(40, 30, 20))
    img = render(p, mapping="gamma", gamma=1.0, bits=16, psf_sigma_px=1.0, noise=Noise(dose_e=2e6, read_noise_e=1.0),
                 beam_stop=BeamStop(radius_px=8, arm_width_px=6, arm_angle_deg=20), seed=1)
    sim = to_model_input(img, p.pixel_size_inv_a, **s.to_dict())
    raw = np.log1p(np.clip(m.image, 0, None))
    raw = np.asarray(Image.fromarray((255 * raw / raw.max()).astype(np.uint8)).resize((256, 256)))
    gap = np.full((256, 4), 128, np.uint8)
    big = [np.asarray(Image.fromarray((255 * x).astype(np.uint8)).resize((256, 256), Image.NEAREST)) for x in (real, sim)]
    Image.fromarray(np.concatenate([raw, gap, big[0], gap, big[1]], 1)).save(path)
    print(f"wrote {path}: z2 centre {m.centre_xy[0]:.2f}, {m.centre_xy[1]:.2f} px, calibration {m.pixel_size_inv_a:.7f} 1/A/px")


def centre_check() -> None:
    """Centre accuracy on simulated patterns with a known, shifted centre (not a speed figure)."""
    from scipy import ndimage as ndi

    from sadpnet.crystal import read_cif
    from sadpnet.io import beam_stop_mask, find_centre
    from sadpnet.resources import example_cif
    from sadpnet.simulate.cell_engine import simulate_cell
    from sadpnet.simulate.detector import BeamStop, Noise, render
    from sadpnet.simulate.microscope import Microscope

    errs = []
    shift = (5.3, -7.8)
    for name, zone in (("Fe", (0, 1, 1)), ("Al", (0, 0, 1)), ("Si", (1, 1, 2)), ("Al", (1, 1, 1))):
        p = simulate_cell(read_cif(example_cif(name)), Microscope(200.0, 300.0), zone, cells=(12, 12, 8),
                          oversample=2, inplane_rotation_deg=17.0)
        for stop in (None, BeamStop(radius_px=7, arm_width_px=5, arm_angle_deg=30)):
            for mapping in ("log", "gamma"):
                img = render(p, mapping=mapping, gamma=1.0, bits=16, psf_sigma_px=1.0,
                             noise=Noise(dose_e=3e6, read_noise_e=2), beam_stop=stop, seed=3).astype(float)
                moved = ndi.shift(img, (shift[1], shift[0]), order=1, mode="nearest")
                x, y = find_centre(moved, ~beam_stop_mask(moved))
                errs.append(float(np.hypot(x - 128 - shift[0], y - 128 - shift[1])))
    print(f"  centre error on {len(errs)} simulated patterns (4 crystals/zones, rotated 17 deg, shifted "
          f"{shift} px, noise, with/without beam stop, log/linear): max {max(errs):.2f} px, "
          f"mean {np.mean(errs):.2f} px")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=512)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--figure", default=None)
    ap.add_argument("--centre-check", action="store_true", help="also print the centre accuracy on simulations")
    a = ap.parse_args()
    import torch

    from sadpnet.model.preprocess import PreprocessSettings, to_model_input, to_model_input_batch

    torch.set_num_threads(a.threads)
    s = PreprocessSettings(target_pixel_size_inv_a=0.0266, size_px=128)
    imgs, cals = simulated_images(a.n)
    to_model_input(imgs[0], cals[0], **s.to_dict())  # warm-up
    n_single = min(a.n, 128)
    t, c = time.perf_counter(), time.process_time()
    single = [to_model_input(imgs[i], cals[i], **s.to_dict()) for i in range(n_single)]
    rate_single = n_single / (time.perf_counter() - t)
    cpu_single = n_single / (time.process_time() - c)
    t, c = time.perf_counter(), time.process_time()
    batch = to_model_input_batch(imgs, cals, settings=s, chunk=64).numpy()
    rate_batch = a.n / (time.perf_counter() - t)
    cpu_batch = a.n / (time.process_time() - c)
    err = float(np.abs(batch[:n_single] - np.stack(single)).max())
    print(f"threads={a.threads}, {a.n} patterns 256 px -> 128 px (calibrations {cals.min():.4f}-{cals.max():.4f} 1/A/px)")
    print("  (images per wall-clock second; per CPU-second of this process in brackets: on a shared, overloaded")
    print("   machine the second is closer to what an idle core gives)")
    print(f"  to_model_input, one image per call (baseline): {rate_single:8.0f} images/s  [{cpu_single:6.0f} per CPU-s]")
    print(f"  to_model_input_batch, chunks of 64           : {rate_batch:8.0f} images/s  [{cpu_batch:6.0f} per CPU-s]"
          f"  ({rate_batch / rate_single:.1f}x baseline)")
    print(f"  max |batch - single|                         : {err:.2e}")
    from sadpnet.io import load_pattern
    from sadpnet.resources import resource_path

    z2 = resource_path("experimental/kvmani_pycrystallography/z2_saed.dm3")
    load_pattern(z2)
    t, c = time.perf_counter(), time.process_time()
    load_pattern(z2)
    print(f"  load_pattern(z2_saed.dm3, 1024x1024) incl. masks + centre: {1e3 * (time.perf_counter() - t):.0f} ms"
          f"  [{1e3 * (time.process_time() - c):.0f} ms CPU]")
    if a.centre_check:
        centre_check()
    if a.figure:
        figure(a.figure)


if __name__ == "__main__":
    main()
