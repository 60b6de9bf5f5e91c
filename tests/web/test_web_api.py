"""The JSON API with FastAPI's TestClient and a fake classifier: each format, each error code, temporary
files, concurrency, OpenAPI. (The real model is used in test_web_browser.py.)"""

from __future__ import annotations

import re
import tempfile
import threading
import time

import numpy as np
import pytest
from fastapi.testclient import TestClient
from web_helpers import DM3, FakeModel, ServerThread, spot_pattern, write_formats

from sadpnet.io import load_pattern
from sadpnet.web.app import create_app

DM3_CAL_INV_A = 0.0035337  # 0.035337 1/nm per pixel in the file's tags


@pytest.fixture(scope="module")
def model():
    return FakeModel()


@pytest.fixture(scope="module")
def client(model):
    return TestClient(create_app(model=model, max_upload_mb=8))


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    return write_formats(tmp_path_factory.mktemp("formats"), spot_pattern(96))


@pytest.fixture
def temp_root(tmp_path, monkeypatch):
    """Point tempfile at an empty folder so the test can see every temporary file the app leaves behind."""
    root = tmp_path / "tmproot"
    root.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(root))
    return root


def post_files(client, paths, url="/api/classify", **form):
    handles = [open(p, "rb") for p in paths]
    try:
        return client.post(url, files=[("file", (p.name, h)) for p, h in zip(paths, handles)],
                           data={k: str(v) for k, v in form.items()})
    finally:
        for h in handles:
            h.close()


@pytest.mark.parametrize("kind", ["png8", "png16", "jpeg", "tiff", "mrc", "npy"])
def test_each_image_format_is_classified_and_inspected(client, files, kind, temp_root):
    path = files[kind]
    r = post_files(client, [path], calibration_inv_a_per_px=0.01)
    assert r.status_code == 200, r.text
    res = r.json()
    assert res["images"][0]["source"] == path.name  # the uploaded name, not the temporary file
    assert res["images"][0]["shape"] == [96, 96]
    assert res["images"][0]["calibration"]["pixel_size_inv_a"] == pytest.approx(0.01)
    assert res["ensemble"] is None
    r = post_files(client, [path], url="/api/inspect")
    assert r.status_code == 200, r.text
    ins = r.json()
    assert (ins["width_px"], ins["height_px"]) == (96, 96)
    assert ins["pixel_size_inv_a"] is None and ins["calibration_source"] is None  # no calibration in these files
    assert ins["preview_png"].startswith("data:image/png;base64,")
    assert ins["centre_xy"] == pytest.approx(list(load_pattern(path).centre_xy))  # as sadpnet.io finds it
    # the strongest spots found lie on the written lattice: 14 px spacing around the direct beam at pixel (48, 48)
    # (8-bit and JPEG files add weak quantisation peaks after them)
    assert len(ins["spots"]) >= 8
    for s in ins["spots"][:16]:
        assert abs((s["x"] - 48.0) / 14.0 - round((s["x"] - 48.0) / 14.0)) < 0.1
        assert abs((s["y"] - 48.0) / 14.0 - round((s["y"] - 48.0) / 14.0)) < 0.1
    assert list(temp_root.iterdir()) == []  # temporary files removed


@pytest.fixture(scope="module")
def simulated_png(tmp_path_factory):
    """A pattern written by sadpnet: log-mapped 8-bit PNG with its calibration (1/A per pixel) in its tags."""
    from sadpnet.resources import example_cif
    from sadpnet.simulate import render, save_pattern, simulate

    pattern = simulate(example_cif("Al"), (0, 0, 1), voltage_kv=200, camera_length_mm=300, size_px=128)
    path, _ = save_pattern(pattern, render(pattern), tmp_path_factory.mktemp("simulated") / "al.png")
    return path


@pytest.mark.parametrize("kind", ["npy", "png8", "simulated", "dm3"])
def test_inspect_shows_the_spots_the_classifier_reads(client, files, simulated_png, kind):
    """The page's spots are `sadpnet.model.spots.find_spots` on the file's decoded (linear) image, with the
    pattern's centre and mask, as the spot-indexing classifier calls it: same order, positions, intensities."""
    from sadpnet.io.measured import pattern_mapping
    from sadpnet.model.spots import find_spots

    path = {"simulated": simulated_png, "dm3": DM3}.get(kind) or files[kind]
    ins = post_files(client, [path], url="/api/inspect", calibration_inv_a_per_px=0.01).json()
    p = load_pattern(path)
    cal = p.pixel_size_inv_a or 0.01
    assert ins["pixel_size_inv_a"] == pytest.approx(cal)
    expected = find_spots(pattern_mapping(p).decode(p.image), cal, p.centre_xy, p.mask)
    got = ins["spots"]
    assert len(got) == len(expected) >= 4
    cx, cy = p.centre_xy
    np.testing.assert_allclose([s["g_inv_a"] for s in got], expected.g_inv_a, atol=1e-6)
    np.testing.assert_allclose([[s["x"], s["y"]] for s in got],
                               np.c_[cx + expected.g_inv_a[:, 0] / cal, cy - expected.g_inv_a[:, 1] / cal], atol=0.01)
    np.testing.assert_allclose([s["intensity"] for s in got], expected.intensity, atol=1e-5)


def test_dm3_calibration_read_and_spots_in_inverse_angstrom(client):
    r = post_files(client, [DM3], url="/api/inspect")
    assert r.status_code == 200, r.text
    ins = r.json()
    assert (ins["width_px"], ins["height_px"]) == (1024, 1024)
    assert ins["pixel_size_inv_a"] == pytest.approx(DM3_CAL_INV_A, rel=1e-4)
    assert ins["calibration_source"] == "file" and ins["voltage_kv"] == pytest.approx(200.0)
    assert len(ins["spots"]) >= 10
    cx, cy = ins["centre_xy"]
    tol = 0.006 * DM3_CAL_INV_A  # x and y are rounded to 0.01 px
    for s in ins["spots"]:
        assert s["g_inv_a"][0] == pytest.approx((s["x"] - cx) * DM3_CAL_INV_A, rel=1e-3, abs=tol)
        assert s["g_inv_a"][1] == pytest.approx(-(s["y"] - cy) * DM3_CAL_INV_A, rel=1e-3, abs=tol)
    r = post_files(client, [DM3])
    assert r.status_code == 200, r.text
    assert r.json()["images"][0]["calibration"]["pixel_size_inv_a"] == pytest.approx(DM3_CAL_INV_A, rel=1e-4)


def test_several_files_are_one_ensemble(client, files):
    r = post_files(client, [files["png8"], files["tiff"], files["npy"]], calibration_inv_a_per_px=0.01)
    assert r.status_code == 200, r.text
    res = r.json()
    assert [im["source"] for im in res["images"]] == ["pattern8.png", "pattern.tif", "pattern.npy"]
    assert res["ensemble"]["n_images"] == 3
    r = post_files(client, [files["png8"], files["tiff"]], calibration_inv_a_per_px=0.01, ensemble="false", top_k=1)
    assert r.status_code == 200 and r.json()["ensemble"] is None


def test_unknown_type_is_415(client, tmp_path, temp_root):
    txt = tmp_path / "notes.txt"
    txt.write_text("not a pattern")
    r = post_files(client, [txt])
    assert r.status_code == 415
    assert "notes.txt" in r.json()["detail"] and "\n" not in r.json()["detail"]
    r = client.post("/api/inspect", files={"file": ("noextension", b"\x00\x01")})
    assert r.status_code == 415
    assert list(temp_root.iterdir()) == []


@pytest.mark.parametrize("name,content,words", [
    ("broken.png", b"\x89PNG\r\n\x1a\n this is not really a png", "broken.png"),
    ("truncated.dm3", DM3.read_bytes()[:5000], "truncated.dm3"),
    ("stack.npy", None, "stack.npy"),
])
def test_unreadable_content_is_422_with_one_line(client, tmp_path, temp_root, name, content, words):
    path = tmp_path / name
    if content is None:
        np.save(path, np.zeros((3, 32, 32), np.float32))
    else:
        path.write_bytes(content)
    for url in ("/api/classify", "/api/inspect"):
        r = post_files(client, [path], url=url, calibration_inv_a_per_px=0.01)
        assert r.status_code == 422, r.text
        detail = r.json()["detail"]
        assert isinstance(detail, str) and "\n" not in detail and words in detail
        assert "sadpnet-web-" not in detail  # the temporary name is not shown
    assert list(temp_root.iterdir()) == []


def test_missing_calibration_and_bad_parameters_are_422(client, files):
    r = post_files(client, [files["png8"]])  # no calibration anywhere
    assert r.status_code == 422 and "calibration" in r.json()["detail"]
    r = post_files(client, [files["png8"]], calibration_inv_a_per_px=-1)
    assert r.status_code == 422 and "calibration_inv_a_per_px" in r.json()["detail"]
    r = post_files(client, [files["png8"]], calibration_inv_a_per_px=0.01, top_k=0)
    assert r.status_code == 422
    r = client.post("/api/classify")  # no file at all
    assert r.status_code == 422


def test_upload_over_the_limit_is_413(model, temp_root):
    client = TestClient(create_app(model=model, max_upload_mb=0.5))
    big = np.random.default_rng(0).integers(0, 255, 700_000, dtype=np.uint8).tobytes()
    calls = model.calls
    r = client.post("/api/classify", files={"file": ("big.npy", big)})  # Content-Length says too much
    assert r.status_code == 413 and "0.5 MB" in r.json()["detail"]

    def chunks():  # no Content-Length: the body streams in chunks and is counted
        head = (b"--xyz\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.npy\"\r\n"
                b"Content-Type: application/octet-stream\r\n\r\n")
        yield head
        for i in range(0, len(big), 65536):
            yield big[i:i + 65536]
        yield b"\r\n--xyz--\r\n"

    r = client.post("/api/classify", content=chunks(), headers={"content-type": "multipart/form-data; boundary=xyz"})
    assert r.status_code == 413
    assert model.calls == calls  # the model never saw it
    assert list(temp_root.iterdir()) == []


def test_concurrent_requests_do_not_mix(tmp_path):
    model = FakeModel(delay_s=0.05)
    client = TestClient(create_app(model=model))
    paths = []
    for i in range(6):  # different sizes and brightness: each answer can be traced to its file
        img = spot_pattern(64 + 8 * i, seed=i) * (1.0 + i)
        p = tmp_path / f"p{i}.npy"
        np.save(p, img.astype(np.float32))
        paths.append((p, img))
    results: dict[int, dict] = {}
    errors: list[BaseException] = []

    def worker(i):
        try:
            r = post_files(client, [paths[i][0]], calibration_inv_a_per_px=0.01)
            assert r.status_code == 200, r.text
            results[i] = r.json()
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(6) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
    for i, (p, img) in enumerate(paths):
        im = results[i]["images"][0]
        assert im["source"] == p.name
        assert im["shape"] == list(img.shape)
        assert im["mean"] == pytest.approx(float(img.mean()), rel=1e-5)


def test_cpu_work_does_not_block_the_server(files):
    """With a real uvicorn server: while a slow classification runs, /api/health still answers at once."""
    import httpx2 as httpx  # starlette prefers httpx2, the maintained fork of httpx

    model = FakeModel(delay_s=1.5)
    with ServerThread(create_app(model=model)) as server:
        slow_result = {}

        def slow():
            with open(files["npy"], "rb") as fh:
                slow_result["r"] = httpx.post(server.url + "/api/classify", files={"file": ("p.npy", fh)},
                                              data={"calibration_inv_a_per_px": "0.01"}, timeout=30)

        t = threading.Thread(target=slow)
        t.start()
        time.sleep(0.4)
        t0 = time.perf_counter()
        h = httpx.get(server.url + "/api/health", timeout=10)
        health_s = time.perf_counter() - t0
        t.join(30)
    assert h.status_code == 200 and h.json()["status"] == "ok"
    assert health_s < 0.5, f"/api/health took {health_s:.2f} s while a classification ran"
    assert slow_result["r"].status_code == 200


def test_health_model_card_page_and_openapi(client, model):
    h = client.get("/api/health").json()
    assert h["status"] == "ok" and h["model"] == model.card["name"] and h["max_upload_mb"] == 8
    assert ".dm3" in h["accepted_suffixes"] and ".mrc" in h["accepted_suffixes"]
    assert client.get("/api/model").json() == model.card
    page = client.get("/")
    assert page.status_code == 200 and 'id="file-input"' in page.text and "<label" in page.text
    assert client.get("/static/app.js").status_code == 200
    assert client.get("/static/style.css").status_code == 200
    spec = client.get("/openapi.json").json()
    for path in ("/api/classify", "/api/inspect", "/api/match", "/api/health", "/api/model"):
        assert path in spec["paths"]
    body = spec["paths"]["/api/classify"]["post"]["requestBody"]["content"]
    assert "multipart/form-data" in body
    assert {"413", "415", "422"} <= set(spec["paths"]["/api/classify"]["post"]["responses"])
    # the interactive API page works offline: its scripts and styles are served here, not from a CDN
    docs = client.get("/docs")
    assert docs.status_code == 200 and "cdn" not in docs.text.lower()
    assets = re.findall(r'(?:src|href)="(/[^"]+\.(?:js|css))"', docs.text)
    assert assets and all(client.get(a).status_code == 200 for a in assets)


def test_bad_factory_arguments():
    from sadpnet.errors import InputError

    with pytest.raises(InputError, match="max-upload-mb"):
        create_app(model=FakeModel(), max_upload_mb=0)
    with pytest.raises(InputError):
        create_app(model_dir="/nonexistent/model/dir")


def test_form_calibration_applies_only_to_files_without_one(client, files):
    r = post_files(client, [files["png8"]], url="/api/inspect", calibration_inv_a_per_px=0.01)
    ins = r.json()
    assert ins["pixel_size_inv_a"] == pytest.approx(0.01) and ins["calibration_source"] == "option"
    cx, cy = ins["centre_xy"]
    s = ins["spots"][0]
    assert s["g_inv_a"] == pytest.approx([(s["x"] - cx) * 0.01, -(s["y"] - cy) * 0.01], abs=0.006 * 0.01)
    r = post_files(client, [DM3], url="/api/inspect", calibration_inv_a_per_px=0.01)
    assert r.json()["pixel_size_inv_a"] == pytest.approx(DM3_CAL_INV_A, rel=1e-4)  # the file's own wins
    assert r.json()["calibration_source"] == "file"


def test_pattern_cache_reads_once_and_stays_bounded(tmp_path):
    from types import SimpleNamespace

    from sadpnet.web.app import PatternCache

    cache = PatternCache(max_items=3, max_bytes=10_000)
    loads = []

    def loader(n, nbytes=1000):
        def load():
            loads.append(n)
            time.sleep(0.05)
            return SimpleNamespace(image=np.zeros(nbytes, np.uint8), mask=None, saturated=None)
        return load

    threads = [threading.Thread(target=cache.get_or_load, args=(("a",), loader("a"))) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert loads == ["a"]  # overlapping requests for one file read it once
    for k in "bcd":
        cache.get_or_load((k,), loader(k))
    assert cache.get_or_load(("a",), loader("a2")) is not None and loads[-1] == "a2"  # "a" was evicted (3 items)
    cache.get_or_load(("big",), loader("big", 20_000))  # over max_bytes alone: kept, everything else evicted
    cache.get_or_load(("big",), loader("big-again"))
    assert loads[-1] == "big" and len(cache._items) == 1
