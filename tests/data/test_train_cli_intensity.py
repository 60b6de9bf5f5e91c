"""`sadpnet train --intensity`: linear decodes the dataset's stored log mapping (the card's input_mapping is
linear, and inference converts every image into it); stored keeps the values (the card names the store's
mapping); anything else is a one-line error with exit code 2."""

from __future__ import annotations

import json

import numpy as np
import pytest

from sadpnet.cli.app import main
from sadpnet.errors import InputError


def _run(argv, capsys):
    with pytest.raises(SystemExit) as e:
        main(argv)
    out = capsys.readouterr()
    return e.value.code, out.err


@pytest.fixture
def store_with_val(quick_store, tmp_path):
    """A copy of the quick store with every second pattern in train and the others in val (all classes in both)."""
    import shutil

    import pandas as pd

    out = tmp_path / "store"
    shutil.copytree(quick_store, out)
    t = pd.read_parquet(out / "table.parquet")
    t["split"] = np.where(np.arange(len(t)) % 2 == 0, "train", "val")
    t.to_parquet(out / "table.parquet")
    return out


@pytest.mark.slow
def test_linear_intensity_is_recorded_and_applied(store_with_val, tmp_path, capsys):
    quick_store = store_with_val
    from sadpnet.model.evaluate import model_inputs
    from sadpnet.model.infer import load_model
    from sadpnet.model.preprocess import to_model_input
    from sadpnet.model.source import open_store
    from sadpnet.simulate.detector import DEFAULT_MAPPING, MEASURED_MAPPING

    common = ["--epochs", "1", "--max-patterns", "24", "--image-size", "48", "--target-pixel-size-inv-a", "0.0266",
              "--batch-size", "8", "--seed", "1"]
    code, err = _run(["train", str(quick_store), "-o", str(tmp_path / "lin"), "--intensity", "linear", *common], capsys)
    assert code in (0, None), err
    card = json.loads((tmp_path / "lin" / "card.json").read_text())
    assert card["input_mapping"] == MEASURED_MAPPING.to_tags() == {"mapping": "linear", "full_scale": 1.0}
    assert card["training"]["config"]["augment"]["read_noise_max"] == pytest.approx(0.001)
    code, err = _run(["train", str(quick_store), "-o", str(tmp_path / "sto"), *common], capsys)
    assert code in (0, None), err
    sto = json.loads((tmp_path / "sto" / "card.json").read_text())
    assert sto["input_mapping"] == DEFAULT_MAPPING.to_tags() == {"mapping": "log", "dynamic_range": 1e4,
                                                                 "full_scale": 255.0}
    # inference on stored images decodes them exactly as training did
    clf = load_model(tmp_path / "lin")
    src = open_store(quick_store, "val", max_patterns=2)
    img = src.image(0)
    want = to_model_input(DEFAULT_MAPPING.decode(img), src.pixel_size(0), size_px=48,
                          target_pixel_size_inv_a=clf.target_pixel_size_inv_a)
    np.testing.assert_allclose(model_inputs(clf, src)[0], want, atol=1e-6)


def test_bad_intensity_is_one_line_exit_2(quick_store, tmp_path, capsys):
    code, err = _run(["train", str(quick_store), "-o", str(tmp_path / "m"), "--intensity", "sqrt"], capsys)
    assert code == 2 and "--intensity" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "m" / "card.json").exists()


def test_bad_log_gain_is_refused_before_anything_is_written(store_with_val, tmp_path, capsys):
    code, err = _run(["train", str(store_with_val), "-o", str(tmp_path / "m"), "--log-gain", "0",
                      "--max-patterns", "24"], capsys)
    assert code == 2 and "--log-gain" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "m").exists()


def test_init_any_scale_without_init_from_is_one_line_exit_2(quick_store, tmp_path, capsys):
    code, err = _run(["train", str(quick_store), "-o", str(tmp_path / "m"), "--init-any-scale"], capsys)
    assert code == 2 and "--init-any-scale" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "m").exists()


def test_recipe_pools_stores_and_checks_options_before_reading(store_with_val, tmp_path):
    """`sadpnet.model.recipe` (what `sadpnet train` calls): --also pools the splits of several stores (a seeded
    subset of the pooled validation patterns), the appearance label builds the paper's groups, and bad options
    are refused before any store is opened."""
    from sadpnet.model.augment import LINEAR_NOISE, AugmentConfig
    from sadpnet.model.recipe import _config, _scheme, _splits, train_on_stores

    tr, va = _splits([store_with_val, store_with_val], None, 5, seed=0)
    one_tr, one_va = _splits([store_with_val], None, None, seed=0)
    assert len(tr) == 2 * len(one_tr) and len(va) == 5
    assert _scheme(tr, "appearance").kind == "appearance"
    with pytest.raises(InputError, match="no column"):
        _scheme(tr, "nope")
    cfg = _config({"image_size_px": 64}, "space_group", "linear", 100.0, None, False)
    assert cfg.target_pixel_size_inv_a == pytest.approx(0.0266 * 2) and cfg.preprocess == {}
    assert cfg.augment == AugmentConfig(**LINEAR_NOISE).to_dict()
    for kw, where in (({"precision": "fp16"}, "--precision"), ({"intensity": "sqrt"}, "--intensity"),
                      ({"init_any_scale": True}, "--init-any-scale")):
        with pytest.raises(InputError) as e:
            train_on_stores(tmp_path / "missing-store", tmp_path / "m", **kw)
        assert e.value.where == where
