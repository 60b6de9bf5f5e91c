"""Web page speed: from upload to result for a 1024x1024 DM3 (z2_saed.dm3), target <= 2 s.

Measured in one process, against the bare Python API call as the baseline:

* baseline: ``sadpnet.model.infer.classify_paths([dm3])`` (reads the file, loads the model, classifies);
* api: what the page does over real HTTP (uvicorn on 127.0.0.1, model loaded once): POST /api/inspect
  (calibration, centre, preview, spots) and POST /api/classify at the same time, then POST /api/match (best
  simulated pattern),
  "cold" (pattern and simulation caches emptied: a file never seen) and "warm";
* page: the same in headless chromium (Playwright), from the file being chosen to the "Done" status, by the
  page's own clock (performance.now() from the input's change event) and as seen by the test driver (which
  adds Playwright's transfer of the file into the browser), when /usr/bin/chromium is there.

Usage: ``python bench/bench_web.py [--model DIR] [--repeats N]``. The machine's 2 cores are shared: numbers
are noisy when others run.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "web"))

TARGET_S = 2.0


def timed(fn, repeats):
    out = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", type=Path, default=None, help="model directory (default: the shipped model)")
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()

    import httpx2 as httpx  # starlette prefers httpx2, the maintained fork of httpx
    from web_helpers import DM3, ServerThread

    from sadpnet.model.infer import classify_paths
    from sadpnet.web import match
    from sadpnet.web.app import create_app

    from sadpnet.io import load_pattern

    classify_paths([DM3], model_dir=args.model)  # imports and first-call costs out of the way
    base = timed(lambda: classify_paths([DM3], model_dir=args.model), args.repeats)
    read = timed(lambda: load_pattern(DM3), args.repeats)  # the part of every path spent in sadpnet.io

    app = create_app(model_dir=args.model)
    data = DM3.read_bytes()

    pool = ThreadPoolExecutor(2)

    def page_sequence(client, base_url):  # as the page: inspect and classify at once, then match
        files = {"file": ("z2_saed.dm3", data, "application/octet-stream")}
        f_ins = pool.submit(lambda: client.post(base_url + "/api/inspect", files=files).raise_for_status().json())
        f_res = pool.submit(lambda: client.post(base_url + "/api/classify", files=files).raise_for_status().json())
        ins, res = f_ins.result(), f_res.result()
        best = res["images"][0]["prediction"]
        cal, (cx, cy) = ins["pixel_size_inv_a"], ins["centre_xy"]
        g = [[(s["x"] - cx) * cal, -(s["y"] - cy) * cal] for s in ins["spots"]]
        client.post(base_url + "/api/match", json={
            "space_group": best["space_group"], "spots_g_inv_a": g, "pixel_size_inv_a": cal,
            "voltage_kv": ins["voltage_kv"] or 200.0, "field_radius_inv_a": 512 * cal}).raise_for_status()
        return best

    def cold(client, url):
        app.state.pattern_cache.clear()
        match._simulated.cache_clear()
        return page_sequence(client, url)

    page_times = None
    with ServerThread(app) as server, httpx.Client(timeout=60) as client:
        best = page_sequence(client, server.url)  # first-call costs (imports of the simulator, ...)
        api_cold = timed(lambda: cold(client, server.url), args.repeats)
        api_warm = timed(lambda: page_sequence(client, server.url), args.repeats)
        if os.access("/usr/bin/chromium", os.X_OK):
            page_times = browser_times(server.url, DM3, app, args.repeats)

    med = statistics.median
    print(f"bench_web: z2_saed.dm3 (1024x1024 DM3) -> space group {best['space_group']} ({best['probability']:.3f})")
    print(f"  baseline classify_paths (read + load model + classify): median {med(base):.3f} s  {fmt(base)}")
    print(f"  API, page's 3 requests, cold caches:  median {med(api_cold):.3f} s  {fmt(api_cold)}"
          f"  ratio to baseline {med(api_cold) / med(base):.2f}")
    print(f"  API, page's 3 requests, warm caches:  median {med(api_warm):.3f} s  {fmt(api_warm)}"
          f"  ratio to baseline {med(api_warm) / med(base):.2f}")
    print(f"  of which sadpnet.io.load_pattern (read, mask, centre): median {med(read):.3f} s  {fmt(read)}")
    measured, what = med(api_cold), "API, cold"
    if page_times:
        own, wall = [t[0] for t in page_times], [t[1] for t in page_times]
        print(f"  browser, page's own clock, file chosen -> 'Done' (cold caches): median {med(own):.3f} s  {fmt(own)}"
              f"  ratio to baseline {med(own) / med(base):.2f}")
        print(f"  browser, as seen by the test driver (adds Playwright's file transfer): median {med(wall):.3f} s"
              f"  {fmt(wall)}")
        measured, what = med(own), "browser"
    verdict = "PASS" if measured <= TARGET_S else "FAIL"
    print(f"  target: upload to result on the page <= {TARGET_S:.1f} s -> {verdict} ({what}: median {measured:.3f} s)")
    print(f"  (load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores while measuring)")
    return 0


def fmt(xs):
    return "[" + ", ".join(f"{x:.3f}" for x in xs) + "]"


def browser_times(url, dm3, app, repeats):
    from playwright.sync_api import sync_playwright

    from sadpnet.web import match

    out = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync"])
        page = browser.new_page()
        for _ in range(repeats):
            app.state.pattern_cache.clear()
            match._simulated.cache_clear()
            page.goto(url + "/")
            page.wait_for_function("document.getElementById('model-line').textContent.startsWith('Model:')")
            t0 = time.perf_counter()
            page.set_input_files("#file-input", str(dm3))
            page.wait_for_function("document.getElementById('status').textContent.startsWith('Done')",
                                   timeout=60_000)
            wall = time.perf_counter() - t0
            status = page.inner_text("#status")  # "Done in X s (from choosing the file)." by the page's clock
            out.append((float(status.split("Done in ")[1].split(" s")[0]), wall))
        browser.close()
    return out


if __name__ == "__main__":
    raise SystemExit(main())
