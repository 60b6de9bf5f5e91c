"""The spot-indexing model: fit, calibrate, files (safetensors + card, checked), and its training command."""

import json
import subprocess
import sys

import numpy as np
import pytest

from sadpnet.errors import InputError
from sadpnet.model.spot_model import FEATURES, LABELS, calibrate, fit_spot_model, load_spot_model, save_spot_model


def _toy(n=600, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(len(LABELS), size=n)
    X = rng.normal(size=(n, len(FEATURES))).astype(np.float32)
    X[np.arange(n), y] += 5.0  # a separable signal in one feature per label
    return X, y


def test_fit_learns_a_separable_toy_problem_and_files_round_trip(tmp_path):
    X, y = _toy()
    model = calibrate(fit_spot_model(X, y, epochs=200), *_toy(300, seed=1))
    Xt, yt = _toy(300, seed=2)
    assert (model.predict_proba(Xt).argmax(1) == yt).mean() > 0.9
    save_spot_model(model, tmp_path / "m", {"name": "toy"})
    back = load_spot_model(tmp_path / "m")
    np.testing.assert_allclose(back.predict_proba(Xt), model.predict_proba(Xt), rtol=1e-6)
    card = json.loads((tmp_path / "m" / "card.json").read_text())
    assert card["labels"] == list(LABELS) and card["architecture"] == "spot-index-mlp"


def test_a_seed_ensemble_is_the_mean_of_its_networks_and_its_files_round_trip(tmp_path):
    """`ensemble` averages the members' calibrated probabilities; one folder holds every network."""
    from sadpnet.model.spot_model import ensemble

    X, y = _toy(400)
    a = calibrate(fit_spot_model(X, y, epochs=30, seed=0), *_toy(200, seed=1))
    b = calibrate(fit_spot_model(X, y, epochs=30, seed=1), *_toy(200, seed=1))
    Xt, _ = _toy(100, seed=2)
    both = ensemble([a, b])
    np.testing.assert_allclose(both.predict_proba(Xt), (a.predict_proba(Xt) + b.predict_proba(Xt)) / 2, rtol=1e-9)
    np.testing.assert_allclose(ensemble([a]).predict_proba(Xt), a.predict_proba(Xt), rtol=1e-9)
    both.temperature = 1.3  # as `calibrate` would set it
    save_spot_model(both, tmp_path / "m", {"name": "pair"})
    back = load_spot_model(tmp_path / "m")
    assert len(back.networks) == 2 and back.card["networks"]["n"] == 2
    np.testing.assert_allclose(back.predict_proba(Xt), both.predict_proba(Xt), rtol=1e-6)


def test_a_card_whose_networks_do_not_match_the_weights_is_refused_with_one_line(tmp_path):
    from sadpnet.model.spot_model import ensemble

    X, y = _toy(100)
    save_spot_model(ensemble([fit_spot_model(X, y, epochs=5, seed=s) for s in (0, 1)]), tmp_path / "m", {})

    def three_networks(card):  # the weights hold two
        card["networks"]["n"] = 3
        card["networks"]["temperatures"].append(1.0)

    _refused_after_editing_card(tmp_path / "m", three_networks, "networks do not match")


def _refused_after_editing_card(folder, edit, match: str) -> InputError:
    """Edit a saved model's card.json in place (``edit(card)``); loading it must then fail with one line."""
    card = json.loads((folder / "card.json").read_text())
    edit(card)
    (folder / "card.json").write_text(json.dumps(card))
    with pytest.raises(InputError, match=match) as err:
        load_spot_model(folder)
    assert "\n" not in str(err.value)
    return err.value


def test_combining_folders_that_are_not_consecutive_seeds_of_one_recipe_is_refused(tmp_path):
    from sadpnet.model.spot_train import combine_spot_models

    X, y = _toy(100)
    for name, seed, examples in (("s0", 0, 2400), ("s2", 2, 2400), ("other", 1, 300)):
        save_spot_model(fit_spot_model(X, y, epochs=5), tmp_path / name,
                        {"training": {"seed": seed}, "command": f"sadpnet train-indexing -o {tmp_path / name} "
                                                                f"--examples {examples} --seed {seed}"})
    with pytest.raises(InputError, match="not consecutive"):
        combine_spot_models([tmp_path / "s0", tmp_path / "s2"], tmp_path / "out")
    with pytest.raises(InputError, match="recipe") as err:
        combine_spot_models([tmp_path / "s0", tmp_path / "other"], tmp_path / "out")
    assert str(tmp_path / "other") in str(err.value) and not (tmp_path / "out").exists()


def test_tampered_weights_are_refused(tmp_path):
    X, y = _toy(100)
    save_spot_model(fit_spot_model(X, y, epochs=5), tmp_path / "m", {})
    with open(tmp_path / "m" / "model.safetensors", "r+b") as fh:
        fh.seek(-4, 2)
        fh.write(b"\0\0\0\1")
    with pytest.raises(InputError, match="SHA-256"):
        load_spot_model(tmp_path / "m")


@pytest.mark.slow
def test_train_indexing_command_writes_a_model(tmp_path):
    out = tmp_path / "spot"
    def train(folder, *extra):
        r = subprocess.run([sys.executable, "-m", "sadpnet", "train-indexing", "-o", str(folder), "--examples", "8",
                            "--val-examples", "4", "--val-sets", "2", "--generated-cubic", "1", "--generated-other",
                            "2", "--workers", "1", *extra], capture_output=True, text=True, timeout=900)
        assert r.returncode == 0, r.stderr
        return load_spot_model(folder)

    model = train(out, "--seeds", "2")
    assert model.card["training"]["n_train"] == 8 and len(model.networks) == 2
    assert [m["seed"] for m in model.card["training"]["members"]] == [0, 1]
    assert model.card["command"].endswith("--seeds 2")
    # each network is its seed's one-seed training: the second one is what --seed 1 alone trains
    alone = train(tmp_path / "seed1", "--seed", "1")
    (net,) = alone.networks
    second = model.networks[1]
    assert second.temperature == pytest.approx(alone.temperature)
    for k, v in net.state.items():
        np.testing.assert_array_equal(second.state[k], v)
    np.testing.assert_array_equal(second.mean, net.mean)
    assert model.card["training"]["held_out"].endswith("classifier-v2-test.csv")
    # --shared-examples: both networks train on the patterns of both seeds (their feature means are the mean
    # of the two one-seed networks' means) and differ in their initial weights only
    shared = train(tmp_path / "shared", "--seeds", "2", "--shared-examples", "--epochs", "20")
    t = shared.card["training"]
    assert t["shared_examples"] and t["n_train_total"] == 16 and t["epochs"] == 20
    assert [m["seed"] for m in t["members"]] == [0, 1]
    assert shared.card["command"].endswith("--seeds 2 --shared-examples --epochs 20")
    pooled_mean = (model.networks[0].mean + model.networks[1].mean) / 2
    for n in shared.networks:
        np.testing.assert_allclose(n.mean, pooled_mean, rtol=1e-5, atol=1e-6)
    assert not np.array_equal(shared.networks[0].state["0.weight"], shared.networks[1].state["0.weight"])


def test_train_indexing_refuses_shared_examples_of_one_seed(tmp_path):
    r = subprocess.run([sys.executable, "-m", "sadpnet", "train-indexing", "-o", str(tmp_path / "x"),
                        "--shared-examples"], capture_output=True, text=True, timeout=300)
    assert r.returncode == 2 and "--shared-examples" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "x").exists()


def test_train_indexing_refuses_zero_examples(tmp_path):
    r = subprocess.run([sys.executable, "-m", "sadpnet", "train-indexing", "-o", str(tmp_path / "x"),
                        "--examples", "0"], capture_output=True, text=True, timeout=300)
    assert r.returncode == 2 and "--examples" in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_classify_command_runs_a_spot_model_on_files(tmp_path):
    """`sadpnet classify --model DIR` loads a spot-indexing folder like a ResNet one: the documented JSON,
    a top list over space groups / "other" / "unknown", and the ensemble's shared lattice parameter."""
    from sadpnet.simulate.api import simulate
    from sadpnet.simulate.detector import render
    from sadpnet.simulate.io import save_pattern

    X, y = _toy(300)
    save_spot_model(fit_spot_model(X, y, epochs=20), tmp_path / "m", {"name": "toy"})
    files = []
    for zone in ((0, 0, 1), (0, 1, 1), (1, 1, 1)):
        p = simulate(_fe(), zone, inplane_rotation_deg=10.0)
        files.append(save_pattern(p, render(p), tmp_path / f"fe_{''.join(map(str, zone))}.png")[0])
    r = subprocess.run([sys.executable, "-m", "sadpnet", "classify", *map(str, files), "--model", str(tmp_path / "m"),
                        "--ensemble", "--json", "--top-k", "7"], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["model"]["architecture"] == "spot-index-mlp" and len(out["images"]) == 3
    for im in out["images"]:
        assert abs(sum(t["probability"] for t in im["top"]) - 1) < 1e-6 and im["calibration"]["source"] == "file"
        assert abs(sum(im["groups"].values()) - 1) < 1e-6
        group = max(im["groups"], key=im["groups"].get)  # the answer lies in the group of largest mass
        answer = im["prediction"]
        assert ("space_group" in answer) == (group == "cubic") and im["unknown"]["verdict"] == (group == "unknown")
        if group == "cubic":  # the most probable of the five classes
            cubic = [t for t in im["top"] if "space_group" in t]
            assert answer["probability"] == max(t["probability"] for t in cubic)
    a = out["ensemble"]["lattice_parameter_a"]["229"]
    assert a == pytest.approx(2.87, rel=0.03)  # the joint fit of bcc reads Fe's lattice parameter
    assert out["ensemble"]["indexing"]["space_group"] == 229  # the no-learning joint answer: bcc


def _fe():
    from sadpnet.crystal.cif import read_cif
    from sadpnet.resources import resource_path

    return read_cif(resource_path("cifs", "crystals_COD", "Fe.cif"))


def test_evaluate_real_refuses_an_unknown_model_before_any_work(tmp_path):
    out = tmp_path / "eval"
    r = subprocess.run([sys.executable, "-m", "sadpnet", "evaluate-real", "-o", str(out), "--model", "nosuch"],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 2 and "nosuch" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert not out.exists()


def test_a_card_of_an_older_joint_rule_is_refused_with_one_line(tmp_path):
    X, y = _toy(100)
    save_spot_model(fit_spot_model(X, y, epochs=5), tmp_path / "m", {})
    _refused_after_editing_card(tmp_path / "m", lambda card: card.pop("joint_rule"), "older joint rule")


def test_a_model_of_other_indexing_evidence_is_refused(tmp_path):
    """A card trained on another evidence version (spot finding, fits) would be fed features it never saw."""
    X, y = _toy(50)
    save_spot_model(fit_spot_model(X, y, epochs=5), tmp_path / "m", {})
    from sadpnet.model.indexing import EVIDENCE_VERSION

    def newer_evidence(card):
        assert card["evidence_version"] == EVIDENCE_VERSION
        card["evidence_version"] = EVIDENCE_VERSION + 1  # e.g. spots found without the relative floor

    err = _refused_after_editing_card(tmp_path / "m", newer_evidence, f"evidence version {EVIDENCE_VERSION + 1}")
    assert "train-indexing" in str(err)


def test_numpy_forward_is_the_torch_network():
    import torch

    from sadpnet.model.spot_model import _network

    X, y = _toy(200)
    (one,) = fit_spot_model(X, y, epochs=20).networks
    net = _network(X.shape[1], len(LABELS), one.state["0.weight"].shape[0])
    net.load_state_dict({k: torch.as_tensor(v) for k, v in one.state.items()})
    with torch.no_grad():
        z = net(torch.as_tensor((X - one.mean) / one.scale)).numpy()
    np.testing.assert_allclose(one.logits(X), z, rtol=1e-4, atol=1e-4)


def test_classifying_with_the_spot_model_does_not_import_torch(tmp_path):
    """torch's import costs about 2 s of every `sadpnet classify --model spot-index` command."""
    from PIL import Image

    img = np.zeros((256, 256), np.uint8)
    for i in range(-3, 4):
        for j in range(-3, 4):
            if i or j:
                img[128 + 20 * j - 1:128 + 20 * j + 2, 128 + 20 * i - 1:128 + 20 * i + 2] = 200
    Image.fromarray(img).save(tmp_path / "p.png")
    code = f"""
import sys
from sadpnet.model.infer import classify_paths
classify_paths([{str(tmp_path / "p.png")!r}], model_dir="spot-index", calibration_inv_a_per_px=0.0133)
print("torch" in sys.modules)
"""
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip().splitlines()[-1] == "False"


def test_the_answer_is_decided_group_first():
    """A pattern whose cubic mass (0.56) is split between two look-alike classes is answered cubic, not
    "other" (0.44); "other" and "unknown" win only by their own mass; one label above one half always wins."""
    from sadpnet.model.spot_model import decide, group_probabilities

    p = np.array([[0.30, 0.26, 0.0, 0.0, 0.0, 0.44, 0.0],   # split cubic mass
                  [0.20, 0.10, 0.0, 0.0, 0.0, 0.70, 0.0],   # other
                  [0.10, 0.10, 0.1, 0.0, 0.0, 0.25, 0.45],  # unknown by its mass (cubic 0.30)
                  [0.05, 0.10, 0.3, 0.2, 0.0, 0.0, 0.35]])  # cubic 0.65 against unknown 0.35: class 225
    assert [LABELS[i] for i in decide(p)] == ["213", "other", "unknown", "225"]
    assert np.allclose(group_probabilities(p).sum(1), 1)
    rng = np.random.default_rng(0)
    q = rng.dirichlet(np.full(len(LABELS), 0.3), size=500)
    sure = q.max(1) > 0.5
    assert (decide(q)[sure] == q[sure].argmax(1)).all()
