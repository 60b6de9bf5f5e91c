"""A defect-gated mixture: p = g p_model + (1 - g) p_clean, with g the gate's probability of the defect
classes; its parts are copied into the model folder and checked like any model."""

from __future__ import annotations

import json
import shutil
from types import SimpleNamespace

import numpy as np
import pytest

from sadpnet.errors import InputError
from sadpnet.model.infer import load_model

from test_detector import _model  # tests/model is on sys.path (pytest prepend import mode)

FIVE = [213, 221, 225, 227, 229]
GATE = ["dislocation", "none", "strain", "thermal", "twin", "vacancy"]


def test_mix_is_the_gate_weighted_average():
    from sadpnet.model.mixture import mix

    a = np.array([[0.7, 0.2, 0.1], [0.1, 0.1, 0.8], [1.0, 0.0, 0.0]])
    b = np.array([[0.1, 0.1, 0.8], [0.6, 0.3, 0.1], [0.0, 0.0, 1.0]])
    out = mix(a, b, np.array([1.0, 0.0, 0.25]))
    np.testing.assert_allclose(out[0], a[0])
    np.testing.assert_allclose(out[1], b[1])
    np.testing.assert_allclose(out[2], [0.25, 0.0, 0.75])
    np.testing.assert_allclose(out.sum(1), 1.0)


def test_attached_mixture_weighs_both_networks_by_the_gate(five_source, tmp_path):
    from sadpnet.model.evaluate import model_inputs, run_model
    from sadpnet.model.mixture import attach_mixture
    from sadpnet.study.run import predict

    m = _model(tmp_path / "model", FIVE, 1)
    c = _model(tmp_path / "clean", FIVE, 2)
    g = _model(tmp_path / "gate", GATE, 3)
    plain = shutil.copytree(m, tmp_path / "plain")  # the model's own network, before it becomes a mixture
    entry = attach_mixture(m, c, g, classes=["thermal", "vacancy"])
    assert (m / "clean" / "model.safetensors").is_file() and (m / "gate" / "model.safetensors").is_file()
    assert entry["gate_classes"] == ["thermal", "vacancy"] and entry["clean"]["name"] == "clean"
    mix_clf, own, clean, gate = load_model(m), load_model(plain), load_model(c), load_model(g)
    x = model_inputs(mix_clf, five_source)
    p_own = own.probabilities(own.forward_inputs(x)[0])
    p_clean = clean.probabilities(clean.forward_inputs(x)[0])
    pg = gate.probabilities(gate.forward_inputs(x)[0])
    w = pg[:, GATE.index("thermal")] + pg[:, GATE.index("vacancy")]
    assert 0 < w.min() and w.max() < 1  # both networks count
    expected = w[:, None] * p_own + (1 - w[:, None]) * p_clean
    probs, weight = mix_clf.class_probabilities(x, mix_clf.forward_inputs(x)[0])
    np.testing.assert_allclose(weight, w, rtol=1e-5)
    np.testing.assert_allclose(probs, expected, rtol=1e-4, atol=1e-6)
    # evaluation, the documented classify result and the study all see the mixed probabilities
    np.testing.assert_allclose(run_model(mix_clf, five_source)["class_probs"], expected, rtol=1e-4, atol=1e-6)
    pats = [SimpleNamespace(image=five_source.image(i), pixel_size_inv_a=five_source.pixel_size(i), source=str(i),
                            centre_xy=None, mask=None, metadata={}) for i in range(len(five_source))]
    res = mix_clf.classify_images(pats, top_k=5)
    for i, im in enumerate(res["images"]):
        assert im["defect_gate"]["probability"] == pytest.approx(w[i], rel=1e-5)
        top = {t["space_group"]: t["probability"] for t in im["top"]}
        np.testing.assert_allclose([top[s] for s in FIVE], expected[i], rtol=1e-4, atol=1e-6)
    assert res["model"]["mixture"]["gate_classes"] == ["thermal", "vacancy"]
    json.dumps(res)
    verdicts, _ = predict(mix_clf, np.stack([five_source.image(i) for i in range(len(five_source))]),
                          np.array([five_source.pixel_size(i) for i in range(len(five_source))]))
    assert [v["space_group"] for v in verdicts] == [FIVE[j] for j in expected.argmax(1)]
    np.testing.assert_allclose([v["defect_gate"] for v in verdicts], w, rtol=1e-5)  # recorded in results.json
    # a plain model has no gate
    assert own.class_probabilities(x, own.forward_inputs(x)[0])[1] is None
    assert "defect_gate" not in own.classify_images(pats[:1])["images"][0]


def test_mixture_parts_must_fit_and_stay_intact(five_source, tmp_path):
    from sadpnet.model.mixture import attach_mixture

    m = _model(tmp_path / "model", FIVE, 1)
    g = _model(tmp_path / "gate", GATE, 3)
    with pytest.raises(InputError, match="classes"):
        attach_mixture(m, _model(tmp_path / "four", FIVE[:4], 2), g)
    with pytest.raises(InputError, match="another input"):
        attach_mixture(m, _model(tmp_path / "big", FIVE, 2, size=96), g)
    with pytest.raises(InputError, match="no class 'interstitial'"):
        attach_mixture(m, _model(tmp_path / "clean", FIVE, 2), g)  # default gate classes
    assert "mixture" not in json.loads((m / "card.json").read_text())  # nothing half-written
    with pytest.raises(InputError, match="the model itself"):
        attach_mixture(m, m, g, classes=["thermal"])
    attach_mixture(m, tmp_path / "clean", g, classes=["thermal"])
    with pytest.raises(InputError, match="already a mixture"):
        attach_mixture(m, tmp_path / "clean", g, classes=["thermal"])
    # a part swapped for another network is refused when the model is loaded
    other = _model(tmp_path / "other", FIVE, 7)
    shutil.copy2(other / "model.safetensors", m / "clean" / "model.safetensors")
    shutil.copy2(other / "card.json", m / "clean" / "card.json")
    with pytest.raises(InputError, match="differ from the ones the card names"):
        load_model(m)
    shutil.copy2(tmp_path / "clean" / "model.safetensors", m / "clean" / "model.safetensors")
    shutil.copy2(tmp_path / "clean" / "card.json", m / "clean" / "card.json")
    card = json.loads((m / "card.json").read_text())
    card["mixture"]["gate"]["dir"] = "../gate"
    (m / "card.json").write_text(json.dumps(card))
    with pytest.raises(InputError, match="not a sub-folder"):
        load_model(m)


def test_attach_mixture_cli(five_source, tmp_path):
    from typer.testing import CliRunner

    from sadpnet.cli.app import app

    m = _model(tmp_path / "model", FIVE, 1)
    c = _model(tmp_path / "clean", FIVE, 2)
    g = _model(tmp_path / "gate", GATE, 3)
    r = CliRunner().invoke(app, ["attach-mixture", str(m), str(c), str(g), "--classes", "thermal,vacancy"])
    assert r.exit_code == 0, r.output
    assert "P(thermal + vacancy)" in r.output
    assert load_model(m).mixture[2] == ["thermal", "vacancy"]
