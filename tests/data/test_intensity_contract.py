"""One intensity contract (`sadpnet.simulate.detector.IntensityMapping`): encode/decode round trips, tags
through PNG/TIFF files and dataset stores, measured files (linear), and a model card whose mapping no input
can be converted into (one line, exit 2)."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from sadpnet.errors import InputError
from sadpnet.simulate.detector import DEFAULT_MAPPING, MEASURED_MAPPING, IntensityMapping

MAPPINGS = [IntensityMapping(kind, dynamic_range=r, gamma=g, bits=b)
            for kind, r, g in (("log", 1e4, 0.5), ("log", 1e2, 0.5), ("gamma", 1e4, 0.4), ("linear", 1e4, 0.5))
            for b in (8, 16)]


def _intensity(seed: int = 0) -> np.ndarray:
    """(64, 64) linear intensities spanning 1 .. 1e-6 of the brightest, and zeros."""
    rng = np.random.default_rng(seed)
    img = 10.0 ** rng.uniform(-6, 0, (64, 64))
    img[rng.random((64, 64)) < 0.2] = 0.0
    img[5, 7] = 1.0
    return 37.0 * img  # any unit: encode works relative to the brightest pixel


@pytest.mark.parametrize("m", MAPPINGS, ids=lambda m: f"{m.kind}-{m.bits}")
def test_encode_decode_round_trip_within_one_quantisation_step(m):
    linear = _intensity()
    stored = m.encode(linear)
    assert stored.dtype == m.dtype and stored.max() == m.full_scale
    v = linear / linear.max()
    back = m.decode(stored)
    assert back.dtype == np.float32
    # the true value lies in the interval of intensities that quantise to the stored value
    lo = m.decode(np.clip(stored.astype(np.float64) - 0.5, 0, None))
    hi = m.decode(np.clip(stored.astype(np.float64) + 0.5, None, m.full_scale))
    assert np.all((v >= lo - 1e-6) & (v <= hi + 1e-6))
    assert np.all((back >= lo - 1e-7) & (back <= hi + 1e-7))
    np.testing.assert_array_equal(m.encode(back), stored)  # quantised values survive decode + encode


def test_float_mappings_round_trip_and_linear_float_is_the_identity():
    linear = _intensity(1)
    for kind in ("log", "gamma"):
        m = IntensityMapping(kind, bits=32)
        np.testing.assert_allclose(m.decode(m.encode(linear)), linear / linear.max(), rtol=2e-4, atol=1e-9)
    np.testing.assert_array_equal(MEASURED_MAPPING.encode(linear), linear.astype(np.float32))
    np.testing.assert_array_equal(MEASURED_MAPPING.decode(linear), linear.astype(np.float32))


def test_convert_is_the_identity_between_equal_mappings_and_decodes_once_otherwise():
    stored = DEFAULT_MAPPING.encode(_intensity())
    assert DEFAULT_MAPPING.convert(stored, IntensityMapping()) is stored
    np.testing.assert_array_equal(DEFAULT_MAPPING.convert(stored, MEASURED_MAPPING), DEFAULT_MAPPING.decode(stored))
    g = IntensityMapping("gamma", gamma=0.5, bits=16)
    np.testing.assert_array_equal(DEFAULT_MAPPING.convert(stored, g), g.encode(DEFAULT_MAPPING.decode(stored)))


def test_tags_round_trip_old_tags_and_bad_tags():
    for m in MAPPINGS + [MEASURED_MAPPING]:
        assert IntensityMapping.from_tags(json.dumps(m.to_tags())) == m
    # tags written before the contract (render's mapping_tags) are read into the same object
    assert IntensityMapping.from_tags({"mapping": "log", "dynamic_range": 1e4, "full_scale": 255.0}) == DEFAULT_MAPPING
    # unused parameters do not make two mappings differ
    assert IntensityMapping("linear", dynamic_range=7.0) == IntensityMapping("linear")
    for bad in ({"mapping": "sqrt"}, {"mapping": "log", "full_scale": 1000}, {"mapping": "log", "dynamic_range": 0.5},
                {"mapping": "gamma", "gamma": 0.5, "bits": 8}, "not json"):
        with pytest.raises(InputError, match="intensity mapping"):
            IntensityMapping.from_tags(bad, "card.json")


def test_render_encodes_with_the_mapping_object_exactly_as_with_keywords(al_crystal):
    from sadpnet.simulate import render, simulate

    p = simulate(al_crystal, (0, 1, 1), size_px=128)
    for m in MAPPINGS:
        kw = {"mapping": m.kind, "dynamic_range": m.dynamic_range, "gamma": m.gamma, "bits": m.bits}
        np.testing.assert_array_equal(render(p, mapping=m), render(p, **kw))
    np.testing.assert_array_equal(render(p), render(p, mapping=DEFAULT_MAPPING))


@pytest.mark.parametrize("suffix", [".png", ".tif"])
def test_tags_travel_through_png_and_tiff_files(al_crystal, tmp_path, suffix):
    from sadpnet.io import load_pattern
    from sadpnet.simulate import render, save_pattern, simulate

    p = simulate(al_crystal, (0, 0, 1), size_px=128)
    for i, m in enumerate(MAPPINGS):
        img = render(p, mapping=m)
        path, _ = save_pattern(p, img, tmp_path / f"m{i}{suffix}", mapping=m)
        back = load_pattern(path, find_beam_centre=False)
        assert back.intensity_mapping == m
        np.testing.assert_array_equal(back.intensity_mapping.decode(back.image), m.decode(img))
    # a raw float intensity (TIFF) and a file of another program carry no tags: measured, linear
    path, _ = save_pattern(p, None, tmp_path / f"raw{suffix}") if suffix == ".tif" else (None, None)
    if path is not None:
        assert load_pattern(path).intensity_mapping == MEASURED_MAPPING


def test_a_file_holding_values_beyond_its_mapping_is_refused(al_crystal, tmp_path):
    from PIL import Image
    from PIL.PngImagePlugin import PngInfo

    from sadpnet.io import load_pattern
    from sadpnet.model.preprocess import measured_to_model_input
    from sadpnet.simulate import render, simulate

    p = simulate(al_crystal, (0, 0, 1), size_px=128)
    img16 = render(p, bits=16)
    info = PngInfo()
    info.add_text("sadpnet:render", json.dumps(DEFAULT_MAPPING.to_tags()))  # says 8 bit
    info.add_text("sadpnet:pixel_size_inv_a", repr(p.pixel_size_inv_a))
    Image.fromarray(img16).save(tmp_path / "wrong.png", pnginfo=info)
    pat = load_pattern(tmp_path / "wrong.png")
    with pytest.raises(InputError, match="beyond the full scale 255") as e:
        measured_to_model_input(pat, None, MEASURED_MAPPING)
    assert "wrong.png" in str(e.value)


def test_a_measured_file_is_linear_and_converted_into_the_models_mapping(tmp_path):
    from sadpnet.io import load_pattern
    from sadpnet.model.preprocess import PreprocessSettings, measured_to_model_input, to_model_input

    linear = _intensity(2).astype(np.float32)
    linear[30:34, 30:34] = linear.max() * 0.5  # something to centre on
    np.save(tmp_path / "counts.npy", linear)
    pat = load_pattern(tmp_path / "counts.npy", calibration_inv_a_per_px=0.02, find_beam_centre=False)
    assert pat.intensity_mapping == MEASURED_MAPPING
    s = PreprocessSettings(size_px=32, target_pixel_size_inv_a=0.04)
    for model_mapping in (DEFAULT_MAPPING, IntensityMapping("gamma", bits=16), MEASURED_MAPPING):
        want = to_model_input(model_mapping.encode(pat.image), 0.02, centre_xy=pat.centre_xy,
                              mask=pat.mask, **s.to_dict())
        np.testing.assert_array_equal(measured_to_model_input(pat, s, model_mapping), want)


def test_a_store_records_its_mapping_and_old_or_per_pattern_stores_are_read(quick_store, tmp_path):
    from sadpnet.data.store import read_meta, store_mapping
    from sadpnet.model.source import MAPPING_COLUMN, open_store, stored_mapping

    assert read_meta(quick_store)["intensity_mapping"] == DEFAULT_MAPPING.to_tags()
    src = open_store(quick_store, max_patterns=4)
    assert src.mapping == DEFAULT_MAPPING and src.mapping_of(0) == DEFAULT_MAPPING
    # a store built before the mapping was recorded: read from its spec
    old = tmp_path / "old"
    shutil.copytree(quick_store, old)
    meta = json.loads((old / "store.json").read_text())
    del meta["intensity_mapping"]
    (old / "store.json").write_text(json.dumps(meta))
    assert store_mapping(old) == DEFAULT_MAPPING
    # a store whose spec draws the mapping per pattern: each row's own, from its augment column
    import pandas as pd

    spec = json.loads((old / "spec.json").read_text())
    spec["augment"]["render_choices"] = {"mapping": ["log", "gamma"]}
    (old / "spec.json").write_text(json.dumps(spec))
    t = pd.read_parquet(old / "table.parquet")
    kinds = ["gamma" if i % 2 else "log" for i in range(len(t))]
    t["augment"] = [json.dumps({**json.loads(a), "render": {"mapping": k}}) for a, k in zip(t["augment"], kinds)]
    t.to_parquet(old / "table.parquet")
    assert store_mapping(old) is None
    src = open_store(old)
    assert MAPPING_COLUMN in src.table.columns
    assert [src.mapping_of(i).kind for i in range(len(src))] == kinds
    with pytest.raises(InputError, match="drawn per pattern"):
        stored_mapping([old])


def _model_with_mapping(tmp_path, tags):
    from sadpnet.model.infer import default_model_dir

    m = tmp_path / "model"
    m.mkdir(parents=True)
    for name in ("model.safetensors", "card.json"):
        shutil.copy2(default_model_dir() / name, m / name)
    card = json.loads((m / "card.json").read_text())
    card.pop("unknown", None)  # without the default model's detector sub-folder
    card["input_mapping"] = tags
    (m / "card.json").write_text(json.dumps(card))
    return m


def _classify(argv, capsys):
    from sadpnet.cli.app import main

    with pytest.raises(SystemExit) as e:
        main(["classify", *argv])
    out = capsys.readouterr()
    return e.value.code, out


def test_card_mapping_errors_are_one_line_exit_2(al_crystal, tmp_path, capsys):
    from PIL import Image
    from PIL.PngImagePlugin import PngInfo

    from sadpnet.simulate import render, save_pattern, simulate

    p = simulate(al_crystal, (0, 0, 1))
    good, _ = save_pattern(p, render(p), tmp_path / "al.png")
    # a card naming a mapping that does not exist
    bad = _model_with_mapping(tmp_path / "a", {"mapping": "sqrt", "full_scale": 255.0})
    code, out = _classify([str(good), "--model", str(bad)], capsys)
    assert code == 2 and len(out.err.strip().splitlines()) == 1 and "input_mapping" in out.err, out.err
    code, out = _classify([str(good), "--model", str(bad), "--table", str(tmp_path / "t.csv")], capsys)
    assert code == 2 and len(out.err.strip().splitlines()) == 1 and str(bad) in out.err, out.err
    assert not (tmp_path / "t.csv").exists()  # refused on load, before any row is written
    # an input that says it holds the card's 8-bit mapping but holds 16-bit values cannot be converted
    m = _model_with_mapping(tmp_path / "b", {"mapping": "linear", "full_scale": 1.0})
    info = PngInfo()
    info.add_text("sadpnet:render", json.dumps(DEFAULT_MAPPING.to_tags()))
    info.add_text("sadpnet:pixel_size_inv_a", repr(p.pixel_size_inv_a))
    Image.fromarray(render(p, bits=16)).save(tmp_path / "wrong.png", pnginfo=info)
    code, out = _classify([str(tmp_path / "wrong.png"), "--model", str(m)], capsys)
    assert code == 2 and len(out.err.strip().splitlines()) == 1 and "wrong.png" in out.err, out.err
    # the same card takes the well-tagged file (decoded once into its linear input)
    code, out = _classify([str(good), "--model", str(m), "--json"], capsys)
    assert code in (0, None), out.err
    assert json.loads(out.out)["images"][0]["prediction"]["space_group"] in (213, 221, 225, 227, 229)


def test_simulate_cli_help_states_the_default_mapping():
    """`sadpnet simulate` leaves its mapping options unset (the defaults live in DEFAULT_MAPPING only, and the
    CLI must not import numpy to show them); its help text names the same values."""
    import inspect

    from sadpnet.cli.simulate import simulate_command

    opts = {p.name: p.default for p in inspect.signature(simulate_command).parameters.values()}
    d = DEFAULT_MAPPING
    for name, text in (("mapping", f"default {d.kind}"), ("gamma", f"default {d.gamma:g}"),
                       ("dynamic_range", f"default {d.dynamic_range:.0e}".replace("e+0", "e")),
                       ("bits", f"default {d.bits}")):
        assert opts[name].default is None and text in opts[name].help, (name, opts[name].help)
