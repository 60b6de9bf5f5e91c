"""A defect detector attached to a classifier: thresholds set on clean patterns, verdicts = own score OR
detector, the detector copied into the model folder and checked like any model."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch

from sadpnet.errors import InputError
from sadpnet.model.card import save_model_files
from sadpnet.model.infer import load_model
from sadpnet.model.labels import LabelScheme
from sadpnet.model.registry import build_model


def _model(path, classes, seed, size=64):
    torch.manual_seed(seed)
    net = build_model("resnet18", len(classes)).eval()
    s = LabelScheme.from_column(classes, "space_group" if isinstance(classes[0], int) else "defect_type")
    card = {"architecture": "resnet18", "in_channels": 1, "image_size_px": size, "target_pixel_size_inv_a": 0.0532,
            "classes": s.classes, "labels": s.to_dict(), "calibration": {"temperature": 1.0},
            "unknown": {"score": "energy", "threshold": 0.0}, "name": path.name}
    return save_model_files(path, {f"net.{k}": v for k, v in net.state_dict().items()}, card)


def test_attach_detector_sets_thresholds_and_flags_by_either_score(five_source, tmp_path):
    from sadpnet.model.detector import attach_detector
    from sadpnet.model.evaluate import model_inputs, run_model

    m = _model(tmp_path / "model", [213, 221, 225, 227, 229], 1)
    d = _model(tmp_path / "det", ["dislocation", "none", "twin"], 2)
    u = attach_detector(m, d, five_source, max_clean_flag_rate=0.2)
    assert (m / "detector" / "model.safetensors").is_file() and u["detector"]["classes"] == ["dislocation", "twin"]
    clf = load_model(m)
    det = load_model(d)
    x = model_inputs(clf, five_source)
    lo, fe = clf.forward_inputs(x)
    own = clf.unknown_scores(lo, fe)
    p = det.probabilities(det.forward_inputs(x)[0])
    sig = p[:, 0] + p[:, 2]
    assert u["threshold"] == pytest.approx(np.quantile(own, 0.9))
    assert u["detector"]["threshold"] == pytest.approx(np.quantile(sig, 0.9))
    expected = (own > u["threshold"]) | (sig > u["detector"]["threshold"])
    assert 0 < expected.mean() <= 0.2 + 1e-9
    assert u["detector"]["clean_flag_rate_on_that_split"] == pytest.approx(expected.mean())
    own_verdict, flags, s2 = clf.unknown_verdicts(x, lo, fe)
    np.testing.assert_allclose(s2, sig, rtol=1e-5)
    assert np.array_equal(own_verdict, own > u["threshold"])
    assert np.array_equal(flags, sig > u["detector"]["threshold"])
    assert np.array_equal(run_model(clf, five_source)["unknown_verdict"], expected)
    # the documented result carries the detector's part of the verdict
    from types import SimpleNamespace

    pats = [SimpleNamespace(image=five_source.image(i), pixel_size_inv_a=five_source.pixel_size(i), source=str(i),
                            centre_xy=None, mask=None, metadata={}) for i in range(len(five_source))]
    res = clf.classify_images(pats, top_k=1, ensemble=True)
    # the unknown verdict stays the model's own; the detector's flag is reported beside it
    assert [im["unknown"]["verdict"] for im in res["images"]] == (own > u["threshold"]).tolist()
    assert [im["unknown"]["defect_signature"]["flagged"] for im in res["images"]] == flags.tolist()
    assert res["images"][0]["unknown"]["defect_signature"]["classes"] == ["dislocation", "twin"]
    assert res["ensemble"]["unknown"]["n_defect_flagged"] == int(flags.sum())
    from sadpnet.study.run import predict

    verdicts, _ = predict(clf, np.stack([five_source.image(i) for i in range(len(five_source))]),
                          np.array([five_source.pixel_size(i) for i in range(len(five_source))]))
    assert [v["unknown"] for v in verdicts] == expected.tolist()  # the study counts either as a refusal
    assert res["model"]["unknown_detector"]["threshold"] == u["detector"]["threshold"]
    json.dumps(res)


def test_detector_must_match_and_be_intact(five_source, tmp_path):
    from sadpnet.model.detector import attach_detector

    m = _model(tmp_path / "model", [213, 221, 225, 227, 229], 1)
    with pytest.raises(InputError, match="no class 'twin'"):
        attach_detector(m, _model(tmp_path / "det2", ["dislocation", "none"], 2), five_source)
    assert "detector" not in json.loads((m / "card.json").read_text())["unknown"]  # nothing half-written
    attach_detector(m, _model(tmp_path / "det", ["dislocation", "none", "twin"], 2), five_source)
    # a detector swapped for another one is refused when the model is loaded
    shutil.copy2(tmp_path / "det2" / "model.safetensors", m / "detector" / "model.safetensors")
    shutil.copy2(tmp_path / "det2" / "card.json", m / "detector" / "card.json")
    with pytest.raises(InputError, match="differ from the ones the card names"):
        load_model(m)


def test_detector_folder_must_be_inside_the_model(five_source, tmp_path):
    from sadpnet.model.detector import attach_detector

    m = _model(tmp_path / "model", [213, 221, 225, 227, 229], 1)
    attach_detector(m, _model(tmp_path / "det", ["dislocation", "none", "twin"], 2), five_source)
    card = json.loads((m / "card.json").read_text())
    card["unknown"]["detector"]["dir"] = "../det"
    (m / "card.json").write_text(json.dumps(card))
    with pytest.raises(InputError, match="not a sub-folder"):
        load_model(m)


def test_detector_with_its_own_preprocessing(five_source, tmp_path):
    """A detector whose input differs from the model's (another size, stored intensities taken as they are)
    preprocesses the patterns itself, in attach_detector, evaluate, classify and the study alike."""
    from types import SimpleNamespace

    from sadpnet.model.detector import attach_detector
    from sadpnet.model.evaluate import model_inputs, run_model
    from sadpnet.study.run import predict

    m = _model(tmp_path / "model", [213, 221, 225, 227, 229], 1)
    card = json.loads((m / "card.json").read_text())
    card["preprocessing"] = {"stored_log_range": 1e4}
    (m / "card.json").write_text(json.dumps(card))
    d = _model(tmp_path / "det", ["dislocation", "none", "twin"], 2, size=48)
    u = attach_detector(m, d, five_source, max_clean_flag_rate=0.2)
    clf, det = load_model(m), load_model(d)
    assert not clf.detector_shares_input()
    x, dx = model_inputs(clf, five_source), model_inputs(det, five_source)
    assert x.shape[1] == 64 and dx.shape[1] == 48
    p = det.probabilities(det.forward_inputs(dx)[0])
    sig = p[:, 0] + p[:, 2]
    assert u["detector"]["threshold"] == pytest.approx(np.quantile(sig, 0.9))
    lo, fe = clf.forward_inputs(x)
    with pytest.raises(InputError, match="its own way"):
        clf.defect_flags(x)
    own, flags, s2 = clf.unknown_verdicts(x, lo, fe, dx)
    np.testing.assert_allclose(s2, sig, rtol=1e-5)
    expected = own | flags
    assert np.array_equal(run_model(clf, five_source)["unknown_verdict"], expected)
    images = np.stack([five_source.image(i) for i in range(len(five_source))])
    cals = np.array([five_source.pixel_size(i) for i in range(len(five_source))])
    verdicts, _ = predict(clf, images, cals)
    assert [v["unknown"] for v in verdicts] == expected.tolist()
    pats = [SimpleNamespace(image=images[i], pixel_size_inv_a=cals[i], source=str(i), centre_xy=None, mask=None,
                            metadata={}) for i in range(len(images))]
    res = clf.classify_images(pats, top_k=1)
    assert [im["unknown"]["defect_signature"]["flagged"] for im in res["images"]] == flags.tolist()


def test_a_detector_of_another_input_mapping_preprocesses_files_itself(five_source, tmp_path):
    """A linear-intensity model and a detector that takes images as given (a card made before input_mapping)
    never share inputs; a measured (linear) file reaches both unchanged, a rendered file only the detector."""
    from sadpnet.io import MeasuredPattern
    from sadpnet.model.detector import attach_detector, same_input

    m = _model(tmp_path / "model", [213, 221, 225, 227, 229], 1)
    card = json.loads((m / "card.json").read_text())
    card["preprocessing"] = {"stored_log_range": 1e4}
    (m / "card.json").write_text(json.dumps(card))
    attach_detector(m, _model(tmp_path / "det", ["dislocation", "none", "twin"], 2), five_source,
                    max_clean_flag_rate=0.2)
    clf = load_model(m)
    assert not same_input(clf, clf.detector) and not clf.detector_shares_input()
    img = five_source.image(0).astype(np.float32)
    pat = MeasuredPattern(image=img, pixel_size_inv_a=five_source.pixel_size(0), centre_xy=(128.0, 128.0),
                          mask=np.ones(img.shape, bool), source="m.png", metadata={})
    res = clf.classify_images([pat], top_k=1)
    x = clf.preprocess_measured(pat, pat.pixel_size_inv_a)
    own = clf.detector.preprocess_measured(pat, pat.pixel_size_inv_a)
    np.testing.assert_array_equal(x, own)
    _, sig = clf.defect_flags(x[None], own[None])
    assert res["images"][0]["unknown"]["defect_signature"]["probability"] == pytest.approx(float(sig[0]), rel=1e-6)
    # a rendered (simulated) file carries its mapping: the linear-intensity model decodes it, the detector
    # (stored values) does not, so the detector preprocesses the file itself
    from sadpnet.simulate.detector import mapping_tags

    sim = MeasuredPattern(image=img, pixel_size_inv_a=pat.pixel_size_inv_a, centre_xy=(128.0, 128.0),
                          mask=np.ones(img.shape, bool), source="s.png", metadata={"render_mapping": mapping_tags()})
    xs = clf.preprocess_measured(sim, sim.pixel_size_inv_a)
    own_s = clf.detector.preprocess_measured(sim, sim.pixel_size_inv_a)
    assert not np.allclose(xs, own_s)
    np.testing.assert_array_equal(own_s, own)  # the detector takes the stored values, as in its training
    _, sig_s = clf.defect_flags(xs[None], own_s[None])
    res = clf.classify_images([sim], top_k=1)
    assert res["images"][0]["unknown"]["defect_signature"]["probability"] == pytest.approx(float(sig_s[0]), rel=1e-6)
