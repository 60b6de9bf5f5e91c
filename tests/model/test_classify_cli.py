"""sadpnet classify / evaluate: bad input is one line on stderr and exit code 2; the JSON result's shape."""

from __future__ import annotations

import json

import numpy as np
import pytest

from sadpnet.cli.app import main


def _run(argv, capsys):
    with pytest.raises(SystemExit) as e:
        main(argv)
    out = capsys.readouterr()
    return e.value.code, out.out, out.err


def _one_line_error(code, err):
    assert code == 2
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("sadpnet: error:"), err
    return lines[0]


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    """An untrained 64-px model directory (enough to check input handling)."""
    import torch

    from sadpnet.model.card import save_model_files
    from sadpnet.model.labels import LabelScheme
    from sadpnet.model.registry import build_model

    torch.manual_seed(0)
    net = build_model("resnet18", 5).eval()
    s = LabelScheme.from_column([213, 221, 225, 227, 229])
    card = {"architecture": "resnet18", "in_channels": 1, "image_size_px": 64, "target_pixel_size_inv_a": 0.0532,
            "classes": s.classes, "labels": s.to_dict(), "calibration": {"temperature": 1.0},
            "unknown": {"score": "msp", "threshold": 0.5}}
    return save_model_files(tmp_path_factory.mktemp("m") / "tiny", {f"net.{k}": v for k, v in net.state_dict().items()},
                            card)


def test_bad_images_exit_2(tmp_path, tiny_model, capsys):
    text = tmp_path / "notes.png"
    text.write_text("this is not an image")
    line = _one_line_error(*_run(["classify", "--model", str(tiny_model), str(text)], capsys)[::2])
    assert "notes.png" in line
    stack = tmp_path / "stack.npy"
    np.save(stack, np.ones((3, 32, 32), np.float32))
    line = _one_line_error(*_run(["classify", "--model", str(tiny_model), str(stack)], capsys)[::2])
    assert "stack.npy" in line
    empty = tmp_path / "empty.npy"
    np.save(empty, np.zeros((0, 0), np.float32))
    _one_line_error(*_run(["classify", "--model", str(tiny_model), str(empty)], capsys)[::2])
    # a plain array has no calibration: the option is required
    flat = tmp_path / "flat.npy"
    rng = np.random.default_rng(0)
    np.save(flat, rng.random((256, 256)).astype(np.float32))
    line = _one_line_error(*_run(["classify", "--model", str(tiny_model), str(flat)], capsys)[::2])
    assert "calibration" in line
    # a calibration the model cannot resample to (scale change 0.0532 / 0.001 = 53x)
    line = _one_line_error(*_run(["classify", "--model", str(tiny_model), "--calibration-inv-a-per-px", "0.001",
                                  str(flat)], capsys)[::2])
    assert "flat.npy" in line and "0.001" in line
    _one_line_error(*_run(["classify", "--model", str(tiny_model), "--top-k", "0", "--calibration-inv-a-per-px",
                           "0.05", str(flat)], capsys)[::2])


def test_bad_model_dirs_exit_2(tmp_path, tiny_model, capsys):
    import shutil

    flat = tmp_path / "flat.npy"
    np.save(flat, np.random.default_rng(0).random((256, 256)).astype(np.float32))
    line = _one_line_error(*_run(["classify", "--model", str(tmp_path / "nope"), str(flat)], capsys)[::2])
    assert "nope" in line
    bad = tmp_path / "tampered"
    shutil.copytree(tiny_model, bad)
    w = bad / "model.safetensors"
    b = bytearray(w.read_bytes())
    b[len(b) // 2] ^= 1
    w.write_bytes(bytes(b))
    line = _one_line_error(*_run(["classify", "--model", str(bad), "--calibration-inv-a-per-px", "0.05", str(flat)],
                                 capsys)[::2])
    assert "model.safetensors" in line
    line = _one_line_error(*_run(["evaluate", str(bad), str(tmp_path / "no-dataset")], capsys)[::2])


def test_json_output_is_documented_shape(tmp_path, tiny_model, capsys):
    flat = tmp_path / "a.npy"
    np.save(flat, np.random.default_rng(0).random((256, 256)).astype(np.float32))
    code, out, _ = _run(["classify", "--model", str(tiny_model), "--json", "--ensemble", "--top-k", "2",
                         "--calibration-inv-a-per-px", "0.0266", str(flat), str(flat)], capsys)
    assert code in (0, None)
    res = json.loads(out)
    assert res["result_version"] == 1
    assert set(res) == {"result_version", "model", "images", "ensemble"}
    im = res["images"][0]
    assert set(im) == {"source", "top", "prediction", "unknown", "centre_xy", "calibration"}
    assert len(im["top"]) == 2 and set(im["top"][0]) == {"space_group", "symbol", "crystal_system", "probability"}
    assert im["calibration"] == {"pixel_size_inv_a": 0.0266, "source": "option"}
    assert set(im["unknown"]) == {"verdict", "score", "threshold", "score_name"}
    assert res["ensemble"]["n_images"] == 2
    p = [t["probability"] for t in im["top"]]
    assert p == sorted(p, reverse=True) and 0 < sum(p) <= 1 + 1e-9
