"""The web server under load and bad uploads: 400 requests, 8 at a time, on 127.0.0.1 only.

Starts ``sadpnet serve`` (the real CLI, shipped default model, ``--max-upload-mb 4``) on a free loopback port
in a subprocess, and sends a fixed, seeded mix of requests to ``POST /api/classify`` from 8 client threads:

* valid: simulated patterns (Al and Fe on low-index zone axes) saved by `sadpnet.simulate.save_pattern` as
  PNG and TIFF (calibration in the file) and as NPY (calibration in the form); some ask for the shipped
  ``defect-aware`` model by name (the model choice, loaded once and cached);
* invalid: corrupt files (random bytes named .png / .dm3 / .tif, a truncated DM3), a wrong type (.txt), a
  file over the 4 MB limit, zero-byte files, an unknown model name.

Prints the count per status code (and per kind of request against the code it should get), whether any 5xx
came back, p50/p95 latency under load and, as the baseline in the same run, the median latency of the same
valid requests sent one at a time to the warm server (ratio = under load / one at a time), and the server
process's peak resident memory (VmHWM from /proc, or psutil) after start-up and after the load.

Usage: ``python bench/bench_web_load.py [--requests 400] [--concurrency 8] [--seed 19]``. Exit code 1 if any
5xx or any request got a code other than its kind's. Numbers are noisy when other work shares the machine
(the load average is printed).
"""

from __future__ import annotations

import argparse
import collections
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

os.environ.setdefault("OMP_NUM_THREADS", "1")

LIMIT_MB = 4
DM3 = Path(__file__).resolve().parents[1] / "src/sadpnet/resources/experimental/kvmani_pycrystallography/z2_saed.dm3"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def valid_files(folder: Path) -> list[tuple[str, bytes, dict]]:
    """(upload name, bytes, form) of simulated patterns: PNG/TIFF with their calibration, NPY with the form's."""
    from sadpnet.resources import example_cif
    from sadpnet.simulate.api import simulate
    from sadpnet.simulate.detector import render
    from sadpnet.simulate.io import save_pattern

    out = []
    for name, zone in (("Al", (0, 0, 1)), ("Al", (0, 1, 1)), ("Fe", (0, 0, 1)), ("Fe", (1, 1, 1))):
        p = simulate(example_cif(name), zone, voltage_kv=200, camera_length_mm=300, size_px=256)
        stem = f"{name}_{''.join(map(str, zone))}"
        for suffix in (".png", ".tif"):
            path, _ = save_pattern(p, render(p), folder / f"{stem}{suffix}")
            out.append((path.name, path.read_bytes(), {}))
        npy = folder / f"{stem}.npy"
        np.save(npy, render(p))
        out.append((npy.name, npy.read_bytes(), {"calibration_inv_a_per_px": f"{p.pixel_size_inv_a:.8g}"}))
    return out


def invalid_files(rng: np.random.Generator) -> list[tuple[str, str, bytes, dict, int]]:
    """(kind, upload name, bytes, form, expected status) of bad uploads."""
    junk = lambda n: rng.integers(0, 256, n, dtype=np.uint8).tobytes()  # noqa: E731
    return [
        ("corrupt", "noise.png", b"\x89PNG\r\n\x1a\n" + junk(3000), {}, 422),
        ("corrupt", "noise.dm3", junk(5000), {}, 422),
        ("corrupt", "noise.tif", b"II*\x00" + junk(5000), {}, 422),
        ("corrupt", "truncated.dm3", DM3.read_bytes()[:20000], {}, 422),
        ("wrong type", "notes.txt", b"spot list, not a pattern\n", {}, 415),
        ("too large", "huge.npy", junk((LIMIT_MB + 1) << 20), {}, 413),
        ("zero bytes", "empty.png", b"", {}, 422),
        ("zero bytes", "empty.dm3", b"", {}, 422),
        ("unknown model", "Al_001.png", None, {"model": "/etc/passwd"}, 422),
    ]


def request_plan(n: int, seed: int, folder: Path) -> list[tuple[str, str, bytes, dict, int]]:
    """n requests (kind, name, bytes, form, expected status), about 60 % valid, shuffled with ``seed``."""
    rng = np.random.default_rng(seed)
    good = valid_files(folder)
    bad = invalid_files(rng)
    plan = []
    for i in range(n):
        if rng.random() < 0.6:
            name, data, form = good[int(rng.integers(len(good)))]
            if rng.random() < 0.25:
                form = {**form, "model": "defect-aware"}
            plan.append(("valid", name, data, form, 200))
        else:
            kind, name, data, form, code = bad[int(rng.integers(len(bad)))]
            if data is None:  # a valid file with a bad form field
                data = next(d for nm, d, _ in good if nm == name)
            plan.append((kind, name, data, form, code))
    return plan


def start_server(port: int) -> subprocess.Popen:
    import httpx2 as httpx

    proc = subprocess.Popen([sys.executable, "-m", "sadpnet", "serve", "--host", "127.0.0.1", "--port", str(port),
                             "--max-upload-mb", str(LIMIT_MB)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while True:
        try:
            httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=2).raise_for_status()
            return proc
        except httpx.TransportError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise SystemExit(f"server did not start: {proc.stderr.read().decode()[-2000:]}")
            time.sleep(0.2)


def peak_rss_mb(pid: int) -> float:
    """Peak resident memory of process ``pid`` so far, MiB (VmHWM)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    import psutil  # not Linux: the current resident size, sampled (a lower bound of the peak)

    return psutil.Process(pid).memory_info().rss / 2**20


def send(client, url: str, item) -> tuple[int, float, str]:
    kind, name, data, form, _ = item
    t0 = time.perf_counter()
    r = client.post(url, files={"file": (name, data)}, data=form)
    return r.status_code, time.perf_counter() - t0, r.text[:200]


def pct(xs, q) -> float:
    return float(np.percentile(xs, q))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=400)
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--seed", type=int, default=19)
    args = ap.parse_args()
    import httpx2 as httpx  # starlette prefers httpx2, the maintained fork of httpx

    with tempfile.TemporaryDirectory(prefix="bench-web-load-") as tmp:
        plan = request_plan(args.requests, args.seed, Path(tmp))
    port = free_port()
    url = f"http://127.0.0.1:{port}/api/classify"
    proc = start_server(port)
    try:
        limits = httpx.Limits(max_connections=args.concurrency, max_keepalive_connections=args.concurrency)
        with httpx.Client(timeout=120, limits=limits) as client:
            valid = [it for it in plan if it[0] == "valid"]
            for item in {(it[1], tuple(it[3].items())): it for it in valid}.values():  # first-call costs, each model
                send(client, url, item)
            rss_warm = peak_rss_mb(proc.pid)
            one_at_a_time = [send(client, url, it)[1] for it in valid[:16]]  # the baseline
            t0 = time.perf_counter()
            with ThreadPoolExecutor(args.concurrency) as pool:
                results = list(pool.map(lambda it: send(client, url, it), plan))
            wall = time.perf_counter() - t0
        rss_peak = peak_rss_mb(proc.pid)
        alive = proc.poll() is None
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    return report(plan, results, one_at_a_time, wall, rss_warm, rss_peak, alive, args)


def report(plan, results, baseline, wall, rss_warm, rss_peak, alive, args) -> int:
    codes = collections.Counter(code for code, _, _ in results)
    by_kind = collections.defaultdict(collections.Counter)
    wrong = []
    for item, (code, _, text) in zip(plan, results):
        by_kind[(item[0], item[4])][code] += 1
        if code != item[4]:
            wrong.append(f"{item[1]} ({item[0]}): expected {item[4]}, got {code}: {text}")
    lat = [t for _, t, _ in results]
    lat_valid = [t for it, (_, t, _) in zip(plan, results) if it[0] == "valid"]
    lat_bad = [t for it, (_, t, _) in zip(plan, results) if it[0] != "valid"]
    n5xx = sum(n for c, n in codes.items() if c >= 500)
    base = statistics.median(baseline)
    print(f"bench_web_load: {len(plan)} requests to POST /api/classify, {args.concurrency} at a time, on 127.0.0.1 "
          f"(sadpnet serve, shipped default model, --max-upload-mb {LIMIT_MB}); {wall:.1f} s in all, "
          f"{len(plan) / wall:.1f} requests/s")
    print("  status codes: " + ", ".join(f"{c}: {n}" for c, n in sorted(codes.items())))
    for (kind, expected), got in sorted(by_kind.items()):
        print(f"    {kind:<14} expected {expected}: " + ", ".join(f"{c}: {n}" for c, n in sorted(got.items())))
    print(f"  5xx: {n5xx} ({'none' if n5xx == 0 else 'FAIL'}); server still running after the load: {alive}")
    print(f"  latency, all:     p50 {pct(lat, 50):.3f} s  p95 {pct(lat, 95):.3f} s  max {max(lat):.3f} s")
    print(f"  latency, valid:   p50 {pct(lat_valid, 50):.3f} s  p95 {pct(lat_valid, 95):.3f} s")
    print(f"  latency, invalid: p50 {pct(lat_bad, 50):.3f} s  p95 {pct(lat_bad, 95):.3f} s")
    print(f"  baseline: a valid request alone on the warm server, median {base:.3f} s (n={len(baseline)}); valid "
          f"p50 under load / alone = {pct(lat_valid, 50) / base:.2f}, p95 / alone = {pct(lat_valid, 95) / base:.2f}")
    print(f"  server peak RSS: {rss_warm:.0f} MiB after start-up and warm-up (both models loaded), "
          f"{rss_peak:.0f} MiB after the load")
    print(f"  (load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores at the end)")
    for line in wrong[:10]:
        print("  unexpected: " + line)
    return 1 if (n5xx or wrong or not alive) else 0


if __name__ == "__main__":
    raise SystemExit(main())
