"""Files written by `sadpnet simulate` / `save_pattern` carry their calibration and intensity mapping, and
`load_pattern` reads them back: a simulated file gives a model the same input as the same image in a store."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image
from PIL.PngImagePlugin import PngInfo

from sadpnet.errors import InputError
from sadpnet.io import load_pattern
from sadpnet.model.preprocess import PreprocessSettings, measured_to_model_input, to_input_mapping, to_model_input
from sadpnet.resources import example_cif
from sadpnet.simulate import render, save_pattern, simulate
from sadpnet.simulate.detector import DEFAULT_MAPPING, MEASURED_MAPPING, mapping_tags


@pytest.fixture(scope="module")
def al_pattern():
    return simulate(example_cif("Al"), (0, 1, 1), voltage_kv=200, camera_length_mm=300, size_px=256)


def test_simulate_cli_writes_calibration_and_mapping(tmp_path):
    out = tmp_path / "al.png"
    r = subprocess.run([sys.executable, "-m", "sadpnet", "simulate", str(example_cif("Al")), "--zone", "0", "0", "1",
                        "--size", "128", "--mapping", "gamma", "--gamma", "0.4", "--bits", "16", "-o", str(out)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    side = json.loads(out.with_suffix(".json").read_text())
    p = load_pattern(out)
    assert p.metadata["calibration_source"] == "file"
    assert p.pixel_size_inv_a == pytest.approx(side["pixel_size_inv_a"], rel=1e-12)
    assert p.metadata["render_mapping"] == {"mapping": "gamma", "gamma": 0.4, "full_scale": 65535.0}


@pytest.mark.parametrize("suffix, bits", [(".png", 8), (".tif", 16)])
def test_round_trip_and_default_mapping(tmp_path, al_pattern, suffix, bits):
    img = render(al_pattern, bits=bits)
    path, _ = save_pattern(al_pattern, img, tmp_path / f"al{suffix}")
    p = load_pattern(path)
    assert p.pixel_size_inv_a == pytest.approx(al_pattern.pixel_size_inv_a, rel=1e-12)
    assert p.metadata["render_mapping"] == mapping_tags(bits=bits)
    np.testing.assert_array_equal(p.image, img.astype(np.float32))
    # the raw float intensity carries no mapping
    raw, _ = save_pattern(al_pattern, None, tmp_path / "raw.tif")
    assert "render_mapping" not in load_pattern(raw).metadata


def test_linear_model_decodes_a_simulated_file_as_its_store(tmp_path, al_pattern):
    """The same rendered image, once from a store (converted from its mapping) and once from a file: identical
    model inputs for a linear-intensity model, a stored-value model and a card without a mapping."""
    img = render(al_pattern)
    path, _ = save_pattern(al_pattern, img, tmp_path / "al.png")
    p = load_pattern(path, find_beam_centre=False)
    cal = al_pattern.pixel_size_inv_a
    s = PreprocessSettings()
    for model_mapping in (MEASURED_MAPPING, DEFAULT_MAPPING, None):
        from_store = to_model_input(to_input_mapping(img, DEFAULT_MAPPING, model_mapping), cal, **s.to_dict())
        np.testing.assert_allclose(measured_to_model_input(p, s, model_mapping), from_store, atol=1e-5)
    # a plain PNG of the same values (no mapping tag) is taken as linear intensity: a different input,
    # with the weak reflections much stronger
    Image.fromarray(img).save(tmp_path / "plain.png")
    plain = load_pattern(tmp_path / "plain.png", calibration_inv_a_per_px=cal, find_beam_centre=False)
    a, b = measured_to_model_input(plain, s, MEASURED_MAPPING), measured_to_model_input(p, s, MEASURED_MAPPING)
    assert (a > 0.05).sum() > 2 * (b > 0.05).sum()


@pytest.mark.parametrize("text, problem", [
    ({"sadpnet:render": "not json"}, "intensity-mapping tag"),
    ({"sadpnet:render": json.dumps({"mapping": "cubic", "full_scale": 255})}, "intensity-mapping tag"),
    ({"sadpnet:render": json.dumps({"mapping": "log", "dynamic_range": 1e4, "full_scale": 1000})},
     "intensity-mapping tag"),
    ({"sadpnet:pixel_size_inv_a": "-3"}, "calibration tag"),
])
def test_bad_tags_name_the_file(tmp_path, text, problem):
    info = PngInfo()
    for k, v in text.items():
        info.add_text(k, v)
    img = np.zeros((32, 32), np.uint8)
    img[16, 16], img[16, 24], img[16, 8] = 255, 40, 40
    path = tmp_path / "bad.png"
    Image.fromarray(img).save(path, pnginfo=info)
    with pytest.raises(InputError) as e:
        load_pattern(path)
    assert "bad.png" in str(e.value) and problem in str(e.value)
