"""Training: fixed-seed repeatability, resume from a checkpoint, a calibrated card at the end."""

from __future__ import annotations

import json

import numpy as np
import pytest
from safetensors.numpy import load_file

from sadpnet.errors import InputError
from sadpnet.model.train import TrainConfig, train

TINY = dict(image_size_px=64, target_pixel_size_inv_a=0.0532, batch_size=10, samples_per_epoch=20, threads=1)
FIN = dict(n_feature_fit=30, n_ood=8)


def _weights(path):
    return load_file(str(path))


def test_fixed_seed_training_is_repeatable(five_source, tmp_path):
    cfg = TrainConfig(epochs=1, seed=5, **TINY)
    train(five_source, five_source, cfg, tmp_path / "a", progress=False, finalize=False)
    train(five_source, five_source, cfg, tmp_path / "b", progress=False, finalize=False)
    wa, wb = _weights(tmp_path / "a" / "best.safetensors"), _weights(tmp_path / "b" / "best.safetensors")
    assert wa.keys() == wb.keys()
    assert all(np.array_equal(wa[k], wb[k]) for k in wa)
    ma = (tmp_path / "a" / "metrics.csv").read_text().splitlines()
    mb = (tmp_path / "b" / "metrics.csv").read_text().splitlines()
    strip = lambda rows: [r.split(",")[:6] for r in rows]  # noqa: E731  (drop timing columns)
    assert strip(ma) == strip(mb)
    cfg2 = TrainConfig(epochs=1, seed=6, **TINY)
    train(five_source, five_source, cfg2, tmp_path / "c", progress=False, finalize=False)
    wc = _weights(tmp_path / "c" / "best.safetensors")
    assert not all(np.array_equal(wa[k], wc[k]) for k in wa)  # the seed matters


def test_resume_continues_and_card_is_written(five_source, tmp_path):
    out = tmp_path / "run"
    cfg1 = TrainConfig(epochs=1, seed=1, **TINY)
    train(five_source, five_source, cfg1, out, progress=False, finalize=False)
    with pytest.raises(InputError, match="already holds a training run"):
        train(five_source, five_source, cfg1, out, progress=False, finalize=False)
    cfg2 = TrainConfig(epochs=2, seed=1, **TINY)
    summary = train(five_source, five_source, cfg2, out, resume=True, progress=False, finalize_kwargs=FIN)
    rows = (out / "metrics.csv").read_text().splitlines()
    assert [r.split(",")[0] for r in rows[1:]] == ["1", "2"]  # epoch 1 kept, only epoch 2 run
    # the same numbers as TensorBoard scalars, one step per epoch
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    ev = EventAccumulator(str(out / "tensorboard"))
    ev.Reload()
    val = ev.Scalars("accuracy/val")
    assert [e.step for e in val] == [1, 2]
    assert np.allclose([e.value for e in val], [float(r.split(",")[4]) for r in rows[1:]], atol=2e-5)
    assert {"loss/train", "loss/val", "accuracy/train", "lr", "images_per_s"} <= set(ev.Tags()["scalars"])
    assert summary["epochs_run"] == 2
    card = json.loads((out / "card.json").read_text())
    assert card["classes"] == ["213", "221", "225", "227", "229"]
    assert card["calibration"]["temperature"] > 0
    assert card["unknown"]["score"] in ("msp", "energy", "mahalanobis")
    assert set(card["unknown"]["auroc"]["energy"]) == {"amorphous_rings", "noise_only", "all"}
    with pytest.raises(InputError, match="different configuration"):
        train(five_source, five_source, TrainConfig(epochs=3, seed=2, **TINY), out, resume=True, progress=False)


def test_bad_training_settings(five_source, tmp_path):
    with pytest.raises(InputError, match="--arch"):
        train(five_source, five_source, TrainConfig(arch="vgg", epochs=1, **TINY), tmp_path / "x", progress=False)
    with pytest.raises(InputError, match="--label"):
        train(five_source, five_source, TrainConfig(label="colour", epochs=1, **TINY), tmp_path / "y", progress=False)
    with pytest.raises(InputError, match="--balance"):
        train(five_source, five_source, TrainConfig(balance="colour", epochs=1, **TINY), tmp_path / "b", progress=False)
    assert not (tmp_path / "b").exists()  # refused before anything is written
    with pytest.raises(InputError, match="empty"):
        train(five_source.subset([]), five_source, TrainConfig(epochs=1, **TINY), tmp_path / "z", progress=False)
