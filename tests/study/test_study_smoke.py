"""Smoke run of the robustness study on a tiny grid, and the one-table rule for the paper's numbers."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest


def _tiny_grid():
    from sadpnet.study.testsets import Grid

    g = Grid.quick(seed=0)
    # 64 px with 0.4 mm pixels: the field of the 256-px detector; small blocks for crystals, dislocations and
    # twins; supercells repeated 10x10x10 as in the paper (sharper spots: cheaper than small repeats)
    return Grid(g.voltages_kv, g.camera_lengths_mm, g.zone_axes, patterns_per_set=1, size_px=64, cells=(6, 6, 4),
                detector_pixel_size_mm=0.4, seed=0)


def _train_tiny_model(tmp: Path, grid) -> Path:
    """A 2-class (225, 229) ResNet-18 trained for two epochs on pristine Al and Fe patterns of the tiny grid."""
    import pandas as pd

    from sadpnet.crystal import read_cif
    from sadpnet.model.source import MemorySource
    from sadpnet.model.train import TrainConfig, train
    from sadpnet.resources import example_cif
    from sadpnet.study.testsets import simulate_points

    images, rows = [], []
    for name, sg in (("Al", 225), ("Fe", 229)):
        pts = [(z, v, cl) for z in grid.zone_axes[:6] for v in grid.voltages_kv[1:2] for cl in grid.camera_lengths_mm]
        ims, cal = simulate_points(read_cif(example_cif(name)), pts, grid)
        images.append(ims)
        rows += [{"space_group": sg, "zone_axis": "".join(map(str, z)), "pixel_size_inv_a": c}
                 for (z, _, _), c in zip(pts, cal)]
    images = np.concatenate(images)
    table = pd.DataFrame(rows)
    src = MemorySource(images, table)
    val = np.arange(len(src)) % 6 == 0
    cfg = TrainConfig(arch="resnet18", image_size_px=32, target_pixel_size_inv_a=0.11, epochs=2, batch_size=16,
                      threads=1, precision="fp32", patience=5)
    out = tmp / "tiny_model"
    train(src.subset(np.flatnonzero(~val)), src.subset(np.flatnonzero(val)), cfg, out, progress=False)
    return out


@pytest.mark.slow
def test_study_smoke_report_has_every_section_and_row(tmp_path):
    from sadpnet.study.report import SECTIONS
    from sadpnet.study.run import ModelEntry, run_study
    from sadpnet.study.testsets import paper_test_sets

    grid = _tiny_grid()
    model_dir = _train_tiny_model(tmp_path, grid)
    sets = paper_test_sets(quick=True)
    models = [ModelEntry("clean-trained", model_dir), ModelEntry("defect-aware", tmp_path / "no-such-model")]
    out = tmp_path / "report"
    res = run_study(out, quick=True, models=models, seed=0, sets=sets, grid=grid)

    md = (out / "report.md").read_text()
    page = (out / "report.html").read_text()
    for sec in SECTIONS:
        assert f"## {sec}" in md, sec
        assert f">{sec}</h2>" in page, sec
    # self-contained HTML: images embedded, none referenced from disk
    assert "data:image/png;base64," in page and 'src="plots/' not in page
    # every set and every paper row present, none empty
    for s in sets:
        assert s.label in md
    from sadpnet.study.paper import PAPER_ROWS

    for row in PAPER_ROWS:
        assert row.label in md
    for line in md.splitlines():
        if line.startswith("|") and not line.startswith("|---"):
            cells = [c.strip() for c in line.strip().strip("|").split(" | ")]
            assert all(cells), f"empty cell in: {line}"
    # the missing model is reported as such; the tiny model was evaluated on every simulated set
    assert "not available" in md
    ok = [s for s in res["sets"] if s["status"] == "ok"]
    assert ok, "no set could be simulated"
    assert set(res["per_pattern"]["clean-trained"]) == {s["key"] for s in ok}
    assert all(len(v) == s_n for v, s_n in ((res["per_pattern"]["clean-trained"][s["key"]], s["n_patterns"])
                                            for s in ok))
    assert res["models"][1]["status"].startswith("not available")
    # the periodic defect supercells' own space groups (spglib on the repeated supercell)
    own = {s["defect"]: s["specimen_space_group"] for s in ok if "specimen_space_group" in s}
    assert own["vacancy"] == own["substitution"] == 221 and own["interstitial"] == 215 and own["thermal-md"] == 1
    assert not any("specimen_space_group" in s for s in ok if s["defect"].endswith("-shuffled") or
                   s["defect"] in ("pristine", "dislocation", "twin") or s["defect"].startswith("strain"))
    assert "## What the models assign to periodic defect supercells" in md and "specimen's group" in md
    assert (out / "results.json").is_file() and (out / "plots" / "strain_normal.png").is_file()
    # example panels: the stored images on top, what the first available model sees below (a taller figure)
    from PIL import Image

    panels = sorted((out / "plots").glob("example_*.png"))
    assert panels
    with Image.open(panels[0]) as im:
        assert im.height > 1.5 * im.width / 2


def test_paper_numbers_come_from_one_table():
    """The paper's published accuracies appear as literals only in sadpnet/study/paper.py."""
    import sadpnet
    from sadpnet.study.paper import PAPER_ROWS, PAPER_STRAIN_POINTS

    numbers = {f"{r.accuracy_pct:.2f}" for r in PAPER_ROWS if r.accuracy_pct is not None}
    numbers |= {f"{p[2]:g}" for p in PAPER_STRAIN_POINTS if p[3] == "value"}
    assert "98.65" in numbers and "7.97" in numbers
    pkg = Path(sadpnet.__file__).parent
    offenders = []
    for f in pkg.rglob("*.py"):
        if f.name == "paper.py" and f.parent.name == "study":
            continue
        text = f.read_text(encoding="utf-8")
        for n in numbers:
            if re.search(rf"(?<![\d.]){re.escape(n)}(?![\d])", text):
                offenders.append(f"{f.relative_to(pkg)}: {n}")
    assert not offenders, offenders


def test_quick_grid_points_are_seeded_and_shared():
    from sadpnet.study.testsets import Grid, paper_test_sets

    g1, g2 = Grid.quick(seed=1, patterns_per_set=5), Grid.quick(seed=2, patterns_per_set=5)
    assert g1.points(None) == Grid.quick(seed=1, patterns_per_set=5).points(None)
    assert g1.points(None) != g2.points(None)
    pts = g1.points(None)
    assert len({p[0] for p in pts}) == 5  # distinct zone axes before any repeats
    assert len(Grid.full().points(None)) == 3 * 3 * 16
    assert len(Grid.full().points(((1, 1, 0),))) == 9
    one_axis = Grid.quick(seed=1, patterns_per_set=6).points(((1, 1, 0),))
    assert len(set(one_axis)) == 6  # no grid point twice
    sets = paper_test_sets(quick=True)
    keys = [s.key for s in sets]
    assert len(keys) == len(set(keys))
    for defect in ("pristine", "thermal-md", "thermal-debye", "vacancy", "substitution", "interstitial",
                   "dislocation", "twin", "strain-normal", "strain-shear"):
        assert any(s.defect == defect for s in sets), defect
    assert sum(s.defect == "strain-normal" and s.material == "Al" for s in sets) >= 8
    assert sum(s.defect == "strain-shear" and s.material == "Al" for s in sets) >= 8


def test_model_record_names_training_data_and_mixture_parts():
    from sadpnet.study.run import ModelEntry, model_record

    card = {"classes": ["225", "229"], "architecture": "resnet18", "training": {"dataset_id": "paper-five@5b9f"},
            "weights": {"sha256": "ab" * 32},
            "mixture": {"gate_classes": ["thermal", "vacancy"], "gate": {"name": "det"}, "clean": {"name": "plain"}}}
    r = model_record(ModelEntry("defect-aware", None, model=object(), status="ok", card=card))
    assert r["training_data"] == "paper-five@5b9f" and r["weights_sha256"] == "ab" * 32
    assert "P(thermal + vacancy) of det" in r["mixture"] and "plain by 1 - g" in r["mixture"]
    assert model_record(ModelEntry("x", None, status="not available: gone"))["mixture"] is None


def test_model_arguments():
    from sadpnet.errors import InputError
    from sadpnet.study.run import parse_model_args

    e = parse_model_args(["clean=/a/b", "/x/defect-aware"])
    assert [x.name for x in e] == ["clean", "defect-aware"]
    with pytest.raises(InputError):
        parse_model_args(["a=/x", "a=/y"])
