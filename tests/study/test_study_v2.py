"""The study with classifier v2 (issue 18): default models, goal rows per model, "other" and "unknown" verdicts in
every table, and the --size-px option. Hand-made results, no simulation, no model: fast."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

V2_CLASSES = ["213", "221", "225", "227", "229", "other", "unknown"]


def _rec(label: str, true_sg: int, p: float = 0.8, **extra) -> dict:
    """A per-pattern record as `sadpnet.study.run.evaluate_set` writes it; ``label`` a space group, "other" or
    "unknown" (a v2 model's unknown answer is flagged unknown)."""
    sg = int(label) if label.isdigit() else None
    return {"label": label, "space_group": sg, "probability": p, "unknown": label == "unknown",
            "zone_axis": [0, 0, 1], "voltage_kv": 200.0, "camera_length_mm": 300.0, "correct": sg == true_sg,
            "appearance_correct": sg == true_sg, **extra}


def _model(name: str, classes=None, status: str = "ok") -> dict:
    return {"name": name, "dir": f"/models/{name}", "status": status, "classes": classes,
            "architecture": "spot-index-mlp" if classes == V2_CLASSES else "resnet18", "training_data": "test",
            "weights_sha256": "cd" * 32, "mixture": None}


def _set_record(s, **extra) -> dict:
    return {"key": s.key, "label": s.label, "material": s.material, "defect": s.defect, "family": s.family,
            "params": {k: (list(v) if isinstance(v, tuple) else v) for k, v in s.params},
            "paper_row": s.paper_row, "space_group": s.space_group, "status": "ok", "n_patterns": 4,
            "build_s": 0.1, "simulate_s": 0.2, "source": {}, "simulate_options": {"engine": "cell"}, **extra}


def _v2_results(models: list[dict], answers) -> dict:
    """Results of a quick run on pristine, vacancy (periodic, with its specimen's own group), dislocation, twin and
    strained sets; ``answers(model name, set spec)`` -> the four labels of the set's patterns."""
    from sadpnet.study.run import GOALS
    from sadpnet.study.testsets import paper_test_sets

    specs = [s for s in paper_test_sets(quick=True) if s.defect in ("pristine", "dislocation", "twin", "vacancy")
             or s.defect.startswith("strain")]
    per_pattern, ensemble = {}, {}
    for m in (m for m in models if m["status"] == "ok"):
        per_pattern[m["name"]], ensemble[m["name"]] = {}, {}
        for s in specs:
            extra = ({"visible_space_group": s.space_group, "visible_correct": False}
                     if s.defect.startswith("strain") else {})
            recs = [_rec(lab, s.space_group, **extra) for lab in answers(m["name"], s)]
            recs = [{**r, "visible_correct": r["space_group"] == s.space_group} if extra else r for r in recs]
            per_pattern[m["name"]][s.key] = recs
            ensemble[m["name"]][s.key] = {k: recs[0][k] for k in ("label", "space_group", "probability", "unknown",
                                                                   "correct")}
    sets = [_set_record(s, **({"specimen_space_group": 221} if s.defect == "vacancy" else {})) for s in specs]
    return {"mode": "quick", "seed": 0, "started": "now", "command": "sadpnet study --quick --size-px 128",
            "grid": {"voltages_kv": [200.0], "camera_lengths_mm": [300.0], "zone_axes": [[0, 0, 1]],
                     "patterns_per_set": 4, "size_px": 128, "detector_pixel_size_mm": 0.2, "cells": [6, 6, 4],
                     "supercell_repeats": [10, 10, 10]},
            "models": models, "sets": sets, "per_pattern": per_pattern, "ensemble": ensemble,
            "timing_s": {"simulate": 1.0, "classify": 1.0, "per_model": {n: 1.0 for n in per_pattern},
                         "before_report": 2.0},
            "versions": {"python": "3"}, "goals": GOALS}


def _mixed(name, s) -> list[str]:
    """Right, "other", "unknown" and a wrong cubic group: one of each per set."""
    return [str(s.space_group), "other", "unknown", "221" if s.space_group != 221 else "225"]


def _table(md: str, first_header: str) -> list[list[str]]:
    """The rows (cells) of the report table whose header starts with ``first_header``."""
    lines = md.splitlines()
    i = next(i for i, line in enumerate(lines) if line.startswith(f"| {first_header}"))
    rows = []
    for line in lines[i:]:
        if not line.startswith("|"):
            break
        rows.append([c.strip() for c in line.strip().strip("|").split(" | ")])
    return [rows[0]] + rows[2:]


def test_default_models_put_v2_first_and_skip_models_not_shipped(monkeypatch, tmp_path):
    from sadpnet.resources import resource_path
    from sadpnet.study import run

    assert run.DEFAULT_MODELS[0] == ("clean-trained v2", "spot-index")
    assert [n for n, _ in run.DEFAULT_MODELS] == ["clean-trained v2", "defect-aware v2", "clean-trained v1",
                                                  "defect-aware v1", "extended-symmetry"]
    entries = run.default_model_entries()
    shipped = [n for n, d in run.DEFAULT_MODELS if resource_path("models", d).is_dir()]
    assert [e.name for e in entries] == shipped and entries[0].name == "clean-trained v2"
    monkeypatch.setattr(run, "DEFAULT_MODELS", (("here", "default"), ("later", "no-such-model-folder")))
    assert [e.name for e in run.default_model_entries()] == ["here"]  # skipped, not "not available"


def test_goal_rows_name_their_model_v2_first_and_pair_defect_aware_with_its_clean_trained():
    from sadpnet.study.tables import goal_rows, paper_row_keys

    models = [_model("clean-trained v2", V2_CLASSES), _model("defect-aware v2", V2_CLASSES),
              _model("clean-trained v1", ["225", "229"]), _model("defect-aware v1", ["225", "229"])]

    def answers(name, s):  # v1 clean-trained gets pristine all right, the others 3 of 4
        return [str(s.space_group)] * 4 if name == "clean-trained v1" else _mixed(name, s)[:1] * 3 + ["other"]

    res = _v2_results(models, answers)
    rows = goal_rows(res, paper_row_keys(res["sets"])[0])
    pristine = [r for r in rows if r[0].startswith("accuracy >= paper (98.65 %)")]
    assert [r[1] for r in pristine] == ["clean-trained v2", "clean-trained v1"]
    loss = {r[1]: r for r in rows if r[0].startswith("loses at most")}
    assert list(loss) == ["defect-aware v2", "defect-aware v1"]
    assert loss["defect-aware v2"][0].endswith("against clean-trained v2")
    assert loss["defect-aware v2"][2].startswith("+0.0 points")  # 75 % against 75 %
    assert loss["defect-aware v1"][0].endswith("against clean-trained v1")
    assert loss["defect-aware v1"][2].startswith("+25.0 points")  # 75 % against 100 %
    twins = [r[1] for r in rows if r[0].endswith("on twins")]
    assert twins == ["defect-aware v2", "defect-aware v1"]
    flags = [r[1] for r in rows if r[0].startswith("flags <=")]
    assert flags == ["clean-trained v2", "clean-trained v1"]


def test_goal_rows_judge_the_v2_models_even_when_not_in_the_run():
    from sadpnet.stats import NOT_CHECKED
    from sadpnet.study.tables import goal_rows, paper_row_keys

    res = _v2_results([_model("clean-trained v1", ["225"])], lambda n, s: [str(s.space_group)] * 4)
    rows = goal_rows(res, paper_row_keys(res["sets"])[0])
    loss = [r for r in rows if r[0].startswith("loses at most")]
    assert [r[1] for r in loss] == ["defect-aware v2"] and loss[0][3] == NOT_CHECKED
    assert {r[1] for r in rows if r[0].startswith("accuracy >= paper")} == {"clean-trained v2", "clean-trained v1"}


def test_report_with_other_and_unknown_verdicts_renders_every_table(tmp_path):
    from sadpnet.study.report import SECTIONS, write_report

    models = [_model("clean-trained v2", V2_CLASSES), _model("defect-aware v2", status="not available: none"),
              _model("clean-trained v1", ["225", "229"])]
    res = _v2_results(models, lambda n, s: _mixed(n, s) if n.endswith("v2") else [str(s.space_group)] * 4)
    example = {"family": "point", "defect": "vacancy", "set": "Al-vacancy", "label": "Al vacancy",
               "pristine_label": "Al pristine", "point": [[0, 0, 1], 200.0, 300.0],
               "pristine": np.zeros((16, 16), np.uint8), "defected": np.full((16, 16), 9, np.uint8),
               "pixel_size_inv_a": [0.02, 0.02]}
    write_report(tmp_path, res, [example])
    md = (tmp_path / "report.md").read_text()
    for sec in SECTIONS:
        assert f"## {sec}" in md
    for line in md.splitlines():
        if line.startswith("|") and not line.startswith("|---"):
            assert all(c.strip() for c in line.strip().strip("|").split(" | ")), line
    assert "128 x 128 px images (0.2 mm pixels)" in md.split("## Summary")[0]  # the first page's mode line
    assert "128 x 128 px images (0.2 mm pixels)" in md.split("## Reproducibility")[1]
    confusion = _table(md, "clean-trained v2: true \\ predicted")
    assert confusion[0][-3:] == ["other", "unknown", "flagged unknown"]
    unknown = _table(md, "defects |")
    assert unknown[0][1:5] == ["clean-trained v2 unknown %", "clean-trained v2 wrong", "clean-trained v2 wrong "
                               "flagged %", "clean-trained v2 other %"]
    assert "clean-trained v1 other %" not in unknown[0]  # only a model that can answer "other" has the column
    pristine = next(r for r in unknown if r[0] == "pristine")
    assert pristine[1] == "25.0"  # the "unknown" answer counts as unknown
    assert pristine[4].startswith("25.0 [") and pristine[4].endswith("(8)")  # "other": Al and Fe, 2 of 8
    assert "other (p 0.80)" not in md  # the ensemble takes the first record: a right answer
    assert any(line.startswith("| Al vacancy") and "specimen's group" in line for line in md.splitlines())
    assert (tmp_path / "plots" / "strain_lowered.png").is_file()
    assert (tmp_path / "plots" / "confusion_clean-trained v2.png").is_file()
    family = _table(md, "defects | clean-trained v2: accuracy")
    pristine = next(r for r in family if r[0] == "pristine")  # v2: 1 of 4 right per set; v1: all right
    assert pristine[1].startswith("25.0 [") and pristine[1].endswith("(8); 2/2 sets right")
    assert pristine[2] == "not available"
    assert pristine[3].startswith("100.0 [") and pristine[3].endswith("(8); 2/2 sets right")
    everything = next(r for r in family if r[0] == "all sets")
    assert everything[3].endswith(f"{len(res['sets'])}/{len(res['sets'])} sets right")


def test_ensemble_cell_and_strain_curves_take_an_other_verdict():
    from sadpnet.study.tables import ensemble_cell, lowered_curves, specimen_group_rows, strain_curves

    models = [_model("clean-trained v2", V2_CLASSES)]
    res = _v2_results(models, lambda n, s: ["other", "unknown", "other", "other"])
    key = res["sets"][0]["key"]
    assert ensemble_cell(res, models[0], key) == "other wrong (p 0.80)"
    res["ensemble"]["clean-trained v2"][key] = {**res["ensemble"]["clean-trained v2"][key], "label": "unknown",
                                                "unknown": True}
    assert ensemble_cell(res, models[0], key) == "unknown wrong, unknown (p 0.80)"
    curve = next(c for c in lowered_curves(res, "normal") if c["model"] == "clean-trained v2")
    assert curve["share_pct"] == [pytest.approx(75.0)] * len(curve["strain"])  # "other" is non-cubic
    assert all(a == 0 for c in strain_curves(res, "shear") for a in c["accuracy_pct"])
    assert all("other (75 %); specimen's group 0 %" in row[3] for row in specimen_group_rows(res, models)
               if not row[0].startswith("all "))


def test_model_views_come_from_the_first_model_with_an_image_input():
    from sadpnet.study.run import ModelEntry, _add_model_views

    v2 = ModelEntry("clean-trained v2", None, model=SimpleNamespace(), status="ok")  # no preprocess
    v1 = ModelEntry("clean-trained v1", None, model=SimpleNamespace(preprocess=lambda img, cal, mapping: img / 255),
                    status="ok")
    ex = {"pristine": np.zeros((4, 4), np.uint8), "defected": np.full((4, 4), 255, np.uint8),
          "pixel_size_inv_a": [0.02, 0.02]}
    _add_model_views([ex], [v2, v1])
    assert ex["model_view"][0] == "clean-trained v1" and ex["model_view"][2].max() == 1.0
    only_v2 = {k: v for k, v in ex.items() if k != "model_view"}
    _add_model_views([only_v2], [v2])
    assert "model_view" not in only_v2


def test_model_record_reads_a_spot_index_card():
    from sadpnet.study.run import ModelEntry, model_record

    card = {"architecture": "spot-index-mlp", "labels": V2_CLASSES, "weights_sha256": "ef" * 32}
    r = model_record(ModelEntry("clean-trained v2", Path("/m"), model=object(), status="ok", card=card))
    assert r["classes"] == V2_CLASSES and r["weights_sha256"] == "ef" * 32 and r["architecture"] == "spot-index-mlp"


def test_grid_size_px_keeps_the_field_of_view_and_enters_the_cache_key(tmp_path):
    from sadpnet.errors import InputError
    from sadpnet.study.testsets import Grid, paper_test_sets, patterns_file

    g = Grid.quick(0, 6, 128)
    assert g.size_px == 128 and g.detector_pixel_size_mm == pytest.approx(0.2)
    assert Grid.full(0, 1024).detector_pixel_size_mm == pytest.approx(0.025)
    assert Grid.quick() == Grid.quick(0, 6, 256) and Grid.quick().detector_pixel_size_mm == 0.1  # cache keys kept
    spec = paper_test_sets(quick=True)[0]
    assert patterns_file(tmp_path, spec, g, 0) != patterns_file(tmp_path, spec, Grid.quick(), 0)
    for bad in (32, 2048):
        with pytest.raises(InputError, match="size_px"):
            Grid.quick(0, 6, bad)


def test_cli_size_px_is_in_the_help_and_a_bad_value_names_it():
    from typer.testing import CliRunner

    from sadpnet.cli.app import app

    assert "--size-px" in CliRunner().invoke(app, ["study", "--help"], terminal_width=100).output
    r = subprocess.run([sys.executable, "-m", "sadpnet", "study", "--size-px", "32", "-o", "/nonexistent/x"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2
    assert "--size-px" in r.stderr and "64-1024" in r.stderr and len(r.stderr.strip().splitlines()) == 1
