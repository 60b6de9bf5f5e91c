"""End to end in a real headless browser: Debian's chromium driven by Playwright, against a uvicorn server
started here with the real model. `make test` installs chromium first (Makefile target ``browser``)."""

from __future__ import annotations

import io
import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from web_helpers import DM3, SI_TIF, ServerThread

CHROMIUM = os.environ.get("SADPNET_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def _browser_or_skip():
    try:
        from playwright.sync_api import sync_playwright  # noqa: F401
    except ImportError:
        pytest.skip("playwright is not installed (pip install -e '.[test]')")
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        pytest.skip(f"no browser at {CHROMIUM}: `make test` installs Debian's chromium when run as root "
                    "with apt-get; here it could not be installed")


@pytest.fixture(scope="module")
def server():
    _browser_or_skip()
    from sadpnet.web.app import create_app

    with ServerThread(create_app()) as srv:  # the real API with the shipped default model, loaded once
        yield srv


@pytest.fixture(scope="module")
def page(server):
    _browser_or_skip()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1200, "height": 1400}, accept_downloads=True)
        pg = context.new_page()
        pg.set_default_timeout(60_000)
        yield pg
        context.close()
        browser.close()


def test_upload_dm3_shows_space_group_229(page, server, tmp_path):
    from PIL import Image

    page.goto(server.url + "/")
    page.wait_for_function("document.getElementById('model-line').textContent.startsWith('Model:')")
    page.set_input_files("#file-input", str(DM3))
    page.wait_for_function("document.getElementById('status').textContent.startsWith('Done')", timeout=90_000)
    verdict = page.inner_text("#verdict")
    assert "space group 229" in verdict, verdict
    assert "229" in page.inner_text("#top-list")
    # calibration read from the file and shown; the spots and the direct-beam centre drawn on the pattern
    files = page.inner_text("#file-list")
    assert "0.0035337 1/\u00c5 per pixel (from the file)" in files, files
    assert page.locator("#measured-plot svg circle.spot").count() >= 10
    assert page.locator("#measured-plot svg path.centre").count() == 1
    caption = page.inner_text("#simulated-caption")
    assert "space group" in caption and "zone axis [" in caption, caption
    assert page.locator("#simulated-plot svg image").count() == 1
    # JSON download: the same result as the API
    with page.expect_download() as dl:
        page.click("#download-json")
    saved = tmp_path / "result.json"
    dl.value.save_as(saved)
    result = json.loads(saved.read_text())
    assert result["images"][0]["source"] == "z2_saed.dm3"
    assert result["images"][0]["prediction"]["space_group"] == 229
    # screenshot: not blank (the pattern, bars and simulated image give it real contrast)
    shot = tmp_path / "page.png"
    page.screenshot(path=str(shot), full_page=True)
    pixels = np.asarray(Image.open(io.BytesIO(shot.read_bytes())).convert("L"), dtype=np.float64)
    assert pixels.shape[0] > 600 and pixels.std() > 20.0, f"screenshot looks blank (std {pixels.std():.1f})"
    keep = os.environ.get("SADPNET_WEB_SCREENSHOT")
    if keep:  # to LOOK at it: SADPNET_WEB_SCREENSHOT=out/web-page.png pytest tests/web/test_web_browser.py
        Path(keep).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shot, keep)


def test_keyboard_only_and_labels(page, server):
    page.goto(server.url + "/")
    # every form control has a label
    unlabelled = page.evaluate("""() => Array.from(document.querySelectorAll('input, select, button'))
        .filter(el => el.tagName === 'BUTTON' ? !el.textContent.trim() : el.labels.length === 0)
        .map(el => el.id)""")
    assert unlabelled == []
    # Tab order reaches the file input first, then the options and the button
    order = []
    page.keyboard.press("Tab")  # the skip link
    for _ in range(5):
        page.keyboard.press("Tab")
        order.append(page.evaluate("document.activeElement.id"))
    assert order[0] == "file-input" and {"calibration", "ensemble", "top-k"} <= set(order), order
    # without the mouse: Space on the focused file input opens the chooser; then Enter on the Classify button
    page.focus("#file-input")
    with page.expect_file_chooser(timeout=10_000) as fc:
        page.keyboard.press("Space")
    fc.value.set_files(str(DM3))
    page.wait_for_function("document.getElementById('status').textContent.startsWith('Done')", timeout=90_000)
    page.focus("#classify-button")
    page.evaluate("document.getElementById('status').textContent = ''")
    page.keyboard.press("Enter")
    page.wait_for_function("document.getElementById('status').textContent.startsWith('Done')", timeout=90_000)
    assert "space group 229" in page.inner_text("#verdict")


def test_unreadable_file_gives_a_clear_message(page, server):
    page.goto(server.url + "/")
    page.set_input_files("#file-input", files=[{"name": "notes.txt", "mimeType": "text/plain",
                                                "buffer": b"not a diffraction pattern"}])
    page.wait_for_selector("#error:not([hidden])")
    assert "notes.txt" in page.inner_text("#error") and "cannot be read" in page.inner_text("#error")
    page.set_input_files("#file-input", files=[{"name": "broken.png", "mimeType": "image/png",
                                                "buffer": b"\x89PNG\r\n\x1a\nbroken"}])
    page.wait_for_function("document.getElementById('error').textContent.includes('broken.png')")
    assert page.is_disabled("#classify-button")


def test_missing_calibration_is_asked_for_and_files_are_combined(page, server):
    page.goto(server.url + "/")
    page.set_input_files("#file-input", [str(DM3), str(SI_TIF)])
    # the TIFF figure has no calibration: the page says so, focuses the field and waits for it
    page.wait_for_function("document.getElementById('status').textContent.startsWith('Enter the calibration')")
    assert "no calibration in the file" in page.inner_text("#file-list")
    assert page.evaluate("document.activeElement.id") == "calibration"
    assert page.is_disabled("#classify-button")
    page.keyboard.type("0.012")
    assert page.is_enabled("#classify-button")
    assert page.is_checked("#ensemble")  # two files: combined by default
    page.keyboard.press("Enter")  # submits the form
    page.wait_for_function("document.getElementById('status').textContent.startsWith('Done')", timeout=90_000)
    assert "ensemble of 2 patterns" in page.inner_text("#verdict")
    per_image = page.inner_text("#per-image")
    assert "z2_saed.dm3" in per_image and SI_TIF.name in per_image
    assert page.locator("#show-file option").count() == 2
    page.select_option("#show-file", "1")
    page.wait_for_function("document.getElementById('status').textContent.startsWith('Showing')", timeout=60_000)
    assert SI_TIF.name in page.inner_text("#measured-caption")


def test_model_choice_and_top_k_default(page, server, tmp_path):
    """The page offers the shipped models by name and starts top-k at the one default; the chosen model answers."""
    from sadpnet.model import DEFAULT_TOP_K
    from sadpnet.model.infer import shipped_model_names

    page.goto(server.url + "/")
    page.wait_for_function("document.getElementById('model').options.length > 1")
    names = page.evaluate("Array.from(document.getElementById('model').options).map(o => o.value)")
    assert names == shipped_model_names() and page.input_value("#model") == "default"
    assert page.input_value("#top-k") == str(DEFAULT_TOP_K)
    page.select_option("#model", "extended-symmetry")
    page.wait_for_function("document.getElementById('model-line').textContent.includes('extended-symmetry')")
    page.set_input_files("#file-input", str(DM3))
    page.wait_for_function("document.getElementById('status').textContent.startsWith('Done')", timeout=90_000)
    with page.expect_download() as dl:
        page.click("#download-json")
    saved = tmp_path / "result.json"
    dl.value.save_as(saved)
    result = json.loads(saved.read_text())
    assert result["model"]["name"] == "extended-symmetry" and result["model"]["dir"] == "extended-symmetry"
    assert len(result["images"][0]["top"]) == DEFAULT_TOP_K


def test_spot_index_model_shows_the_cubic_mass(page, server):
    """With the spot-indexing model the page also says how much probability the five cubic classes share
    (its answer is decided group first): bcc Fe [011] in z2_saed.dm3 is a cubic crystal, split among classes."""
    page.goto(server.url + "/")
    page.wait_for_function("document.getElementById('model').options.length > 1")
    page.select_option("#model", "spot-index")
    page.wait_for_function("document.getElementById('model-line').textContent.includes('spot-index')")
    page.set_input_files("#file-input", str(DM3))
    page.wait_for_function("document.getElementById('status').textContent.startsWith('Done')", timeout=90_000)
    text = page.inner_text("#verdict")
    assert "A cubic crystal of the five:" in text
    share = float(text.split("A cubic crystal of the five:")[1].split("%")[0])
    answer = float(text.split("Most likely")[1].split("%")[0].split(":")[-1])
    assert share > answer


def test_drag_and_drop_and_the_unknown_verdict(page):
    """A classifier that calls the pattern unknown (fake, to force the verdict): the page says so. The file
    arrives by drag and drop (a DataTransfer dropped on the drop zone)."""
    import base64

    from web_helpers import FakeModel

    from sadpnet.web.app import create_app

    with ServerThread(create_app(model=FakeModel(unknown=True))) as srv:
        page.goto(srv.url + "/")
        data = base64.b64encode(DM3.read_bytes()).decode("ascii")
        transfer = page.evaluate_handle("""(b64) => {
            const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
            const dt = new DataTransfer();
            dt.items.add(new File([bytes], "z2_saed.dm3", { type: "application/octet-stream" }));
            return dt; }""", data)
        page.dispatch_event("#dropzone", "dragenter", {"dataTransfer": transfer})
        page.dispatch_event("#dropzone", "drop", {"dataTransfer": transfer})
        page.wait_for_function("document.getElementById('status').textContent.startsWith('Done')", timeout=90_000)
        verdict = page.inner_text("#verdict")
        assert verdict.startswith("Unknown") and "closest class is space group" in verdict, verdict
        assert "z2_saed.dm3" in page.inner_text("#file-list")
