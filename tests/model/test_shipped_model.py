"""The shipped default model: the real z2_saed.dm3 pattern (bcc alpha-Fe type on [011], beam stop, calibrated
file) comes out as space group 229 from `sadpnet classify` with no options."""

from __future__ import annotations

import json

import pytest

from sadpnet.cli.app import main
from sadpnet.resources import resource_path

DM3 = resource_path("experimental", "kvmani_pycrystallography", "z2_saed.dm3")


def test_shipped_model_classifies_dm3_as_229(capsys):
    from sadpnet.model.infer import default_model_dir

    if not (default_model_dir() / "card.json").exists():
        pytest.fail("the shipped default model is missing from sadpnet/resources/models/default")
    with pytest.raises(SystemExit) as e:
        main(["classify", str(DM3), "--json"])
    assert e.value.code in (0, None)
    res = json.loads(capsys.readouterr().out)
    assert res["images"][0]["prediction"]["space_group"] == 229
    assert res["images"][0]["calibration"]["source"] == "file"


@pytest.mark.parametrize("name, must_have", [("defect-aware", {"213", "221", "225", "227", "229"}),
                                             ("extended-symmetry", {"225", "229", "139", "71", "69", "12"})])
def test_shipped_study_models_load_with_their_classes(name, must_have):
    """The study's second and third models ship beside the default one (hash-checked on load)."""
    from sadpnet.model.infer import load_model

    m = load_model(resource_path("models", name))
    card = json.loads((resource_path("models", name) / "card.json").read_text())
    assert must_have <= set(card["classes"])
    assert card["training"]["config"]["init_from"]  # fine-tuned from the default model (docs/study.md)
    assert m is not None


def test_shipped_defect_aware_model_is_gated_by_the_default_models_detector():
    """The study's defect-aware model hands clean-looking patterns to the clean-trained default network
    (sadpnet.model.mixture); its parts are exactly the shipped default network and its defect detector."""
    from sadpnet.model.infer import load_model

    m = load_model(resource_path("models", "defect-aware"))
    clean, gate, classes = m.mixture
    default = json.loads((resource_path("models", "default") / "card.json").read_text())
    assert clean.card["weights"]["sha256"] == default["weights"]["sha256"]
    assert gate.card["weights"]["sha256"] == default["unknown"]["detector"]["weights_sha256"]
    assert set(classes) == {"dislocation", "interstitial", "substitute", "thermal", "twin", "vacancy"}
    assert m.card["weights"]["sha256"] != default["weights"]["sha256"]  # its own network is the defect-trained one


def test_shipped_mixture_gives_clean_patterns_to_the_clean_network_and_defected_ones_to_v3():
    """On simulated Fe of the study (held out from every training set): the gate's weight is low on pristine
    patterns and near 1 on the periodic 3x3x3 vacancy specimen, and the mixture's ensemble names bcc (229)."""
    from types import SimpleNamespace

    from sadpnet.model.infer import load_model
    from sadpnet.study.testsets import Grid, build_source, paper_test_sets, simulate_points

    grid = Grid.quick(0)
    sets = {s.key: s for s in paper_test_sets(quick=True)}
    model = load_model(resource_path("models", "defect-aware"))
    gates = {}
    for key in ("Fe-pristine", "Fe-vacancy-3x3x3"):
        source, options = build_source(sets[key], grid, 0)
        images, cals = simulate_points(source, grid.points(sets[key].zone_axes)[:3], grid, options)
        pats = [SimpleNamespace(image=im, pixel_size_inv_a=float(c), source=f"{key} {i}", centre_xy=None, mask=None,
                                metadata={}) for i, (im, c) in enumerate(zip(images, cals))]
        res = model.classify_images(pats, top_k=1, ensemble=True)
        gates[key] = [im["defect_gate"]["probability"] for im in res["images"]]
        assert res["ensemble"]["prediction"]["space_group"] == 229, key
    assert max(gates["Fe-pristine"]) < 0.5 and min(gates["Fe-vacancy-3x3x3"]) > 0.9, gates


def test_shipped_extended_symmetry_model_names_unstrained_al_cubic():
    """Labelled by the symmetry a pattern can show (`visible_space_group`), the extended-symmetry model calls
    unstrained Al (held out from its training set) Fm-3m; its first version, labelled by the strained
    specimen's group, answered I4/mmm for everything (docs/study.md)."""
    from types import SimpleNamespace

    from sadpnet.model.infer import load_model
    from sadpnet.study.testsets import Grid, build_source, paper_test_sets, simulate_points

    model = load_model(resource_path("models", "extended-symmetry"))
    assert model.card["labels"]["column"] == "visible_space_group"
    grid = Grid.quick(0)
    spec = next(s for s in paper_test_sets(quick=True) if s.key == "Al-pristine")
    source, options = build_source(spec, grid, 0)
    points = [(z, 200.0, 300.0) for z in ((0, 0, 1), (0, 1, 1), (1, 1, 1))]
    images, cals = simulate_points(source, points, grid, options)
    pats = [SimpleNamespace(image=im, pixel_size_inv_a=float(c), source=f"Al {i}", centre_xy=None, mask=None,
                            metadata={}) for i, (im, c) in enumerate(zip(images, cals))]
    res = model.classify_images(pats, top_k=1, ensemble=True)
    assert [im["prediction"]["space_group"] for im in res["images"]] == [225, 225, 225]
    assert res["ensemble"]["prediction"]["space_group"] == 225


def test_shipped_models_by_name(tmp_path, monkeypatch, capsys):
    """`--model defect-aware` names the shipped model unless a folder of that name exists here; an unknown name
    is one line listing the shipped ones, exit 2."""
    from sadpnet.errors import InputError
    from sadpnet.model.infer import load_model, resolve_model_dir, shipped_model_names

    monkeypatch.chdir(tmp_path)
    assert {"default", "defect-aware", "extended-symmetry"} <= set(shipped_model_names())
    assert resolve_model_dir("defect-aware") == resource_path("models", "defect-aware")
    assert load_model("default").card["weights"]["sha256"] == load_model(None).card["weights"]["sha256"]
    (tmp_path / "default").mkdir()  # a local folder of that name wins (and here is not a model)
    assert resolve_model_dir("default").resolve() == (tmp_path / "default").resolve()
    with pytest.raises(InputError, match="shipped: .*defect-aware"):
        resolve_model_dir("no-such-model")
    from sadpnet.study.run import load_models, parse_model_args

    entries = load_models(parse_model_args(["da=defect-aware", "gone=no-such-model"]))
    assert entries[0].status == "ok" and entries[1].status.startswith("not available")
    with pytest.raises(SystemExit) as e:
        main(["classify", str(DM3), "--model", "defect-aware", "--json"])
    assert e.value.code in (0, None)
    res = json.loads(capsys.readouterr().out)
    assert "defect_gate" in res["images"][0] and res["model"]["mixture"]["clean"] == "default-v2"
    with pytest.raises(SystemExit) as e:
        main(["classify", str(DM3), "--model", "no-such-model"])
    assert e.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no-such-model" in err[0]
