"""The web API's model choice (shipped names only, loaded once), one top-k default in the Python API, the CLI
and the web API, and API errors worded for a web user (no server paths, no CLI flags)."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from fastapi.testclient import TestClient
from web_helpers import DM3, FakeModel, spot_pattern

from sadpnet.model import DEFAULT_TOP_K
from sadpnet.model.infer import default_model_dir, shipped_model_names
from sadpnet.web.app import create_app


class RecordingModel(FakeModel):
    """A fake classifier that remembers the top_k each call got and lists that many classes."""

    def __init__(self, name="fake-test-model"):
        super().__init__()
        self.card = {**FakeModel.card, "name": name}
        self.top_ks = []

    def classify_images(self, patterns, *, calibration_inv_a_per_px=None, top_k=DEFAULT_TOP_K, ensemble=False):
        self.top_ks.append(top_k)
        res = super().classify_images(patterns, calibration_inv_a_per_px=calibration_inv_a_per_px, top_k=top_k,
                                      ensemble=ensemble)
        res["model"]["dir"] = "/srv/secret/models/" + self.card["name"]  # as Classifier.summary: a server folder
        return res


@pytest.fixture
def loaded():
    """model folder -> loads, recorded by the fake loader."""
    return []


@pytest.fixture
def client(loaded):
    def loader(folder):
        loaded.append(folder)
        return RecordingModel(folder.name)

    return TestClient(create_app(model=RecordingModel(), model_loader=loader))


@pytest.fixture(scope="module")
def npy(tmp_path_factory):
    path = tmp_path_factory.mktemp("choice") / "pattern.npy"
    np.save(path, spot_pattern(96).astype(np.float32))
    return path


def post(client, path, **form):
    with open(path, "rb") as fh:
        return client.post("/api/classify", files={"file": (path.name, fh)}, data={k: str(v) for k, v in form.items()})


def test_shipped_models_are_offered_and_loaded_once_by_name(client, loaded, npy):
    offer = client.get("/api/models").json()
    assert offer["shipped"] == shipped_model_names() and len(offer["shipped"]) >= 2
    assert offer["default_top_k"] == DEFAULT_TOP_K and offer["field"] == "model"
    assert offer["default"] is None and offer["default_card_name"] == "fake-test-model"  # an injected model
    name = offer["shipped"][1]
    for _ in range(3):
        r = post(client, npy, calibration_inv_a_per_px=0.01, model=name)
        assert r.status_code == 200, r.text
        assert r.json()["model"]["name"] == name
        assert r.json()["model"]["dir"] == name  # the model's name, not the server's folder
    assert loaded == [default_model_dir().parent / name]  # loaded on first use, then cached
    assert client.get("/api/model", params={"model": name}).json()["name"] == name
    r = post(client, npy, calibration_inv_a_per_px=0.01)  # no model field: the server's own
    assert r.json()["model"]["name"] == "fake-test-model" and r.json()["model"]["dir"] == "fake-test-model"


@pytest.mark.parametrize("name", ["no-such-model", "../default", str(default_model_dir()), "/etc", "default/"])
def test_a_model_is_chosen_by_shipped_name_only(client, loaded, npy, name):
    for r in (post(client, npy, calibration_inv_a_per_px=0.01, model=name),
              client.get("/api/model", params={"model": name})):
        assert r.status_code == 422, r.text
        detail = r.json()["detail"]
        assert "\n" not in detail and detail.startswith("model field: unknown model")
        assert all(n in detail for n in shipped_model_names())
        assert str(default_model_dir().parent) not in detail
    assert loaded == []  # nothing was read from what the request named


def test_the_server_default_model_is_not_loaded_twice():
    """A server started on a shipped model gives that same object when a request names it."""
    from sadpnet.web.models import ModelChoice, shipped_name_of

    assert shipped_name_of(None) == "default" and shipped_name_of("defect-aware") == "defect-aware"
    assert shipped_name_of(default_model_dir()) == "default"
    server_model = RecordingModel("default")
    choice = ModelChoice(server_model, "default", loader=lambda folder: pytest.fail(f"loaded {folder}"))
    assert choice.get("default") is server_model and choice.get(None) is server_model
    assert choice.describe()["default"] == "default"


@pytest.fixture(scope="module")
def tiny_model_dir(tmp_path_factory):
    """An untrained 64-px ResNet-18 model folder with five classes (real inference, cheap)."""
    import torch

    from sadpnet.model.card import save_model_files
    from sadpnet.model.labels import LabelScheme
    from sadpnet.model.registry import build_model

    torch.manual_seed(0)
    net = build_model("resnet18", 5).eval()
    scheme = LabelScheme.from_column([213, 221, 225, 227, 229])
    card = {"name": "tiny-top-k", "architecture": "resnet18", "in_channels": 1, "image_size_px": 64,
            "target_pixel_size_inv_a": 0.0532, "classes": scheme.classes, "labels": scheme.to_dict(),
            "calibration": {"temperature": 1.0}}
    out = tmp_path_factory.mktemp("tiny-model")
    save_model_files(out, {"net." + k: v for k, v in net.state_dict().items()}, card)
    return out


def test_one_top_k_default_in_python_cli_and_web(tiny_model_dir, npy, capsys):
    """Without top-k, the Python API, `sadpnet classify` and POST /api/classify list the same number."""
    from sadpnet.cli.app import main
    from sadpnet.model.infer import classify_paths, load_model

    assert 1 <= DEFAULT_TOP_K < 5  # the tiny model has 5 classes: the default is visible in the answer
    python = classify_paths([npy], model_dir=tiny_model_dir, calibration_inv_a_per_px=0.04)
    with pytest.raises(SystemExit) as stop:
        main(["classify", str(npy), "--model", str(tiny_model_dir), "--calibration-inv-a-per-px", "0.04", "--json"])
    assert stop.value.code in (0, None)
    cli = json.loads(capsys.readouterr().out)
    web = post(TestClient(create_app(model=load_model(tiny_model_dir))), npy, calibration_inv_a_per_px=0.04)
    assert web.status_code == 200, web.text
    lengths = [len(res["images"][0]["top"]) for res in (python, cli, web.json())]
    assert lengths == [DEFAULT_TOP_K] * 3
    page = TestClient(create_app(model=RecordingModel())).get("/").text  # the page's field starts there too
    assert re.search(r'id="top-k"[^>]*value="(\d+)"', page).group(1) == str(DEFAULT_TOP_K)


def _error_cases(tmp_path, npy):
    """(file name, bytes, form) of uploads that fail in each way the API reports."""
    png = tmp_path / "plain.png"
    from PIL import Image

    Image.fromarray((255 * spot_pattern(64) / spot_pattern(64).max()).astype(np.uint8)).save(png)
    return [
        ("my pattern.png", b"\x89PNG\r\n\x1a\n not really a png", {"calibration_inv_a_per_px": 0.01}),  # corrupt
        ("empty.dm3", b"", {}),  # zero bytes
        ("cut.dm3", DM3.read_bytes()[:3000], {}),  # truncated
        ("stack.npy", _npy_bytes(np.zeros((3, 32, 32), np.float32)), {"calibration_inv_a_per_px": 0.01}),
        ("tiny.npy", _npy_bytes(np.ones((4, 4), np.float32)), {"calibration_inv_a_per_px": 0.01}),
        ("plain.png", png.read_bytes(), {}),  # no calibration anywhere
        ("plain.png", png.read_bytes(), {"calibration_inv_a_per_px": -1}),
        ("plain.png", png.read_bytes(), {"calibration_inv_a_per_px": 0.01, "top_k": 0}),
        ("plain.png", png.read_bytes(), {"calibration_inv_a_per_px": 0.01, "model": "../../etc"}),
        ("notes.txt", b"hello", {}),  # wrong type
        ("huge.npy", b"\0" * (2 << 20), {}),  # over the 1 MB limit of this app
    ]


def _npy_bytes(array) -> bytes:
    import io

    buf = io.BytesIO()
    np.save(buf, array)
    return buf.getvalue()


def test_api_errors_name_the_upload_and_the_field_never_a_server_path_or_flag(tmp_path, npy):
    import sadpnet

    from sadpnet.model.infer import load_model

    server_dirs = [str(tmp_path), "/tmp", str(default_model_dir().parent), str(sadpnet.__file__).rsplit("/", 2)[0]]
    for model in (RecordingModel(), load_model("default")):  # the fake, and the real classifier's own messages
        client = TestClient(create_app(model=model, max_upload_mb=1))
        statuses = set()
        for name, content, form in _error_cases(tmp_path, npy):
            for url in ("/api/classify", "/api/inspect"):
                if url == "/api/inspect" and name == "plain.png" and form.get("calibration_inv_a_per_px") != -1:
                    continue  # the file is fine: only classifying it fails (calibration, top_k, model)
                r = client.post(url, files={"file": (name, content)}, data={k: str(v) for k, v in form.items()})
                assert 400 <= r.status_code < 500, (name, url, r.status_code, r.text)
                detail = r.json()["detail"]
                assert isinstance(detail, str) and "\n" not in detail, (name, detail)
                assert not any(d in detail for d in server_dirs), (name, detail)
                assert "sadpnet-web-" not in detail and "--" not in detail, (name, detail)
                if r.status_code != 413:  # the size limit is checked before the file name is read
                    assert name in detail or "field" in detail, (name, detail)
                statuses.add(r.status_code)
        assert statuses == {413, 415, 422}
    r = client.post("/api/classify", files={"file": ("plain.png", (tmp_path / "plain.png").read_bytes())})
    assert r.json()["detail"] == ("plain.png: the image has no reciprocal-space calibration; set the "
                                  "calibration_inv_a_per_px field (1/A per pixel)")  # the real model's message


def test_public_message_rewrites_paths_and_flags_and_keeps_units():
    from pathlib import Path

    from sadpnet.web.messages import public_message, validation_message

    saved = Path("/tmp/sadpnet-web-abc/000_my_file.png")
    assert public_message(f"{saved}: bad; also {saved.name} in /tmp/sadpnet-web-abc", {saved: "my file.png"}) == \
        "my file.png: bad; also my file.png in the upload"
    assert public_message("/srv/x/models/default: weights differ") == "default: weights differ"
    assert public_message("0.01 1/A per pixel, 0.1 1/nm, 200 kV") == "0.01 1/A per pixel, 0.1 1/nm, 200 kV"
    assert public_message("pass --calibration-inv-a-per-px (1/A per pixel)") == \
        "set the calibration_inv_a_per_px field (1/A per pixel)"
    assert public_message("--top-k: must be at least 1") == "the top_k field: must be at least 1"
    assert public_message("over the limit (sadpnet serve --max-upload-mb)") == \
        "over the limit (the server's max_upload_mb setting)"
    assert validation_message([{"loc": ("body", "top_k"), "msg": "Input should be greater than or equal to 1"},
                               {"loc": ("body", "file"), "msg": "Field required"}]) == \
        "top_k field: Input should be greater than or equal to 1; file field: Field required"
