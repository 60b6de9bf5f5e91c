"""Model files: save/load gives identical outputs; tampered, missing or pickle files are refused."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from sadpnet.errors import InputError
from sadpnet.model.card import save_model_files
from sadpnet.model.infer import load_model
from sadpnet.model.labels import LabelScheme
from sadpnet.model.registry import build_model


def _save(tmp_path, half=False, name="m"):
    torch.manual_seed(3)
    net = build_model("resnet18", 5).eval()
    # non-trivial batch-norm statistics, so that loading them matters
    for m in net.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.1, 0.1)
            m.running_var.uniform_(0.5, 1.5)
    s = LabelScheme.from_column([213, 221, 225, 227, 229])
    card = {"architecture": "resnet18", "in_channels": 1, "image_size_px": 64, "target_pixel_size_inv_a": 0.0532,
            "classes": s.classes, "labels": s.to_dict(), "calibration": {"temperature": 1.5},
            "unknown": {"score": "energy", "threshold": 0.0}}
    d = save_model_files(tmp_path / name, {f"net.{k}": v for k, v in net.state_dict().items()}, card, half=half)
    return net, d


def test_save_load_identical_outputs(tmp_path):
    net, d = _save(tmp_path)
    x = np.random.default_rng(0).random((4, 64, 64), dtype=np.float32)
    with torch.no_grad():
        ref = net(torch.from_numpy(x[:, None])).numpy()
    clf = load_model(d)
    logits, feats = clf.forward_inputs(x)
    np.testing.assert_allclose(logits, ref, rtol=0, atol=1e-5)
    again, _ = load_model(d).forward_inputs(x)
    assert np.array_equal(logits, again)  # two loads: bit-identical
    assert feats.shape == (4, 512)
    assert clf.temperature == 1.5


def test_half_weights_close_and_smaller(tmp_path):
    net, d32 = _save(tmp_path, name="f32")
    _, d16 = _save(tmp_path, half=True, name="f16")
    assert (d16 / "model.safetensors").stat().st_size < 0.55 * (d32 / "model.safetensors").stat().st_size
    x = np.random.default_rng(1).random((2, 64, 64), dtype=np.float32)
    a, _ = load_model(d32).forward_inputs(x)
    b, _ = load_model(d16).forward_inputs(x)
    np.testing.assert_allclose(a, b, atol=2e-2 * np.abs(a).max())


def test_tampered_weights_refused(tmp_path):
    _, d = _save(tmp_path)
    w = d / "model.safetensors"
    data = bytearray(w.read_bytes())
    data[-10] ^= 0xFF
    w.write_bytes(bytes(data))
    with pytest.raises(InputError, match="SHA-256"):
        load_model(d)


def test_missing_files_refused(tmp_path):
    _, d = _save(tmp_path)
    (d / "model.safetensors").unlink()
    with pytest.raises(InputError, match="weights file missing"):
        load_model(d)
    (d / "card.json").unlink()
    with pytest.raises(InputError, match="no card.json"):
        load_model(d)
    with pytest.raises(InputError, match="not found"):
        load_model(tmp_path / "nowhere")


def test_pickle_and_foreign_formats_refused(tmp_path):
    net, d = _save(tmp_path)
    torch.save(net.state_dict(), d / "model.pt")
    with pytest.raises(InputError, match="pickle"):
        load_model(d)
    (d / "model.pt").unlink()
    # a pickle renamed to .safetensors with a matching hash in the card: still not safetensors
    from sadpnet.model.card import sha256_file

    w = d / "model.safetensors"
    torch.save(net.state_dict(), w)
    card = json.loads((d / "card.json").read_text())
    card["weights"].update(sha256=sha256_file(w), bytes=w.stat().st_size)
    (d / "card.json").write_text(json.dumps(card))
    with pytest.raises(InputError, match="not a readable safetensors"):
        load_model(d)
    (d / "card.json").write_text("{not json")
    with pytest.raises(InputError, match="not a valid JSON"):
        load_model(d)
    (d / "card.json").write_text(json.dumps({"format": "something-else"}))
    with pytest.raises(InputError, match="not a sadpnet model card"):
        load_model(d)
