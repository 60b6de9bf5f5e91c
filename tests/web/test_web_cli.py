"""``sadpnet serve``: serves the page with a model directory; bad options end with one line and exit 2."""

from __future__ import annotations

import subprocess
import sys
import time

import httpx2 as httpx  # the maintained fork of httpx (starlette prefers it)
import pytest
from web_helpers import free_port


def run(*args, timeout=60):
    return subprocess.run([sys.executable, "-m", "sadpnet", *args], capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def tiny_model_dir(tmp_path_factory):
    """An untrained ResNet-18 saved as a model directory (safetensors + card): enough to start a server."""
    import torch

    from sadpnet.model.card import save_model_files
    from sadpnet.model.registry import build_model

    torch.manual_seed(0)
    net = build_model("resnet18", 5)
    card = {"name": "untrained-cli-test", "architecture": "resnet18", "classes": ["213", "221", "225", "227", "229"],
            "image_size_px": 64, "target_pixel_size_inv_a": 0.03}
    out = tmp_path_factory.mktemp("model")
    save_model_files(out, {"net." + k: v for k, v in net.state_dict().items()}, card, half=True)
    return out


@pytest.mark.parametrize("args,words", [
    (["--port", "0"], "--port"),
    (["--port", "70000"], "--port"),
    (["--max-upload-mb", "-1"], "--max-upload-mb"),
    (["--model", "/nonexistent/model"], "/nonexistent/model"),
])
def test_bad_options_exit_2_with_one_line(args, words):
    r = run("serve", *args)
    assert r.returncode == 2, (r.stdout, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and words in lines[0]


def test_serve_answers_on_localhost(tiny_model_dir):
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "sadpnet", "serve", "--port", str(port), "--model",
                             str(tiny_model_dir), "--max-upload-mb", "3"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=2)
                break
            except httpx.TransportError:
                assert proc.poll() is None, proc.communicate()[1]
                assert time.monotonic() < deadline, "server did not come up"
                time.sleep(0.2)
        assert health.json()["model"] == "untrained-cli-test" and health.json()["max_upload_mb"] == 3
        card = httpx.get(f"http://127.0.0.1:{port}/api/model", timeout=5).json()
        assert card["architecture"] == "resnet18" and card["weights"]["dtype"] == "float16"
        page = httpx.get(f"http://127.0.0.1:{port}/", timeout=5)
        assert page.status_code == 200 and "sadpnet" in page.text
        big = httpx.post(f"http://127.0.0.1:{port}/api/classify", files={"file": ("x.dm3", b"\0" * (4 << 20))}, timeout=10)
        assert big.status_code == 413
    finally:
        proc.terminate()
        proc.wait(timeout=20)
