"""Defect variants in a dataset spec: thermal (Debye) snapshots, vacancies, strain, made through sadpnet.defects."""

import json

import numpy as np
import pytest
import yaml

from sadpnet.data.build import build_dataset
from sadpnet.data.plan import plan_table
from sadpnet.data.spec import normalize_spec
from sadpnet.data.store import open_images, read_table
from sadpnet.errors import InputError

SPEC = {
    "name": "defects", "seed": 5, "crystals": {"ids": ["cod/Cu"]}, "splits": {"fractions": {"train": 1.0}},
    "microscope": {"voltages_kv": [200], "camera_lengths_mm": [300], "image_size_px": 128},
    "zone_axes": [[0, 0, 1], [0, 1, 1]], "simulation": {"cells": [20, 20, 10]},
    "variants": [{"type": "none"}, {"type": "thermal", "temperature_k": [300, 900], "supercell": [2, 2, 2],
                                    "snapshots": 2},
                 {"type": "vacancy", "supercell": [[2, 2, 2]]}, {"type": "strain", "normal_pct": [3]}],
    "storage": {"chunk_patterns": 4},
}


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    d = tmp_path_factory.mktemp("var")
    (d / "spec.yaml").write_text(yaml.safe_dump(SPEC))
    build_dataset(d / "spec.yaml", d / "store", workers=0, progress=False)
    return d / "store"


def test_defect_rows_and_images(store):
    t = read_table(store)
    imgs = open_images(store)[:].astype(float)
    assert list(t.defect_type.value_counts().sort_index().items()) == [("none", 2), ("strain", 2),
                                                                        ("thermal", 8), ("vacancy", 2)]
    perfect = {z: imgs[i] for i, z in enumerate(t.zone_axis) if t.defect_type[i] == "none"}
    change = {}
    for i, r in t.iterrows():
        d = np.abs(imgs[i] - perfect[r.zone_axis]).mean()
        p = json.loads(r.defect_params)
        key = (r.defect_type, p.get("temperature_k"))
        change.setdefault(key, []).append(d)
    assert change[("none", None)] == [0.0, 0.0]
    for key in (("vacancy", None), ("strain", None), ("thermal", 300.0)):
        assert min(change[key]) > 0, key
    # hotter crystals: larger displacements, patterns further from the perfect one
    assert np.mean(change[("thermal", 900.0)]) > np.mean(change[("thermal", 300.0)])


def test_thermal_row_remade_through_the_defects_api(store):
    from sadpnet.crystal import read_cif
    from sadpnet.defects.point import make_supercell
    from sadpnet.defects.specimen import supercell_specimen
    from sadpnet.defects.thermal import debye_snapshots
    from sadpnet.resources import resource_path
    from sadpnet.simulate.api import simulate
    from sadpnet.simulate.detector import render

    t = read_table(store)
    i = int(np.flatnonzero(t.defect_type == "thermal")[0])
    r, p = t.iloc[i], json.loads(t.defect_params[i])
    cu = read_cif(resource_path(*r.source.split("/")))
    snap = debye_snapshots(make_supercell(cu, tuple(p["supercell"])), p["temperature_k"], 1, seed=p["seed"])
    spec = supercell_specimen(snap.snapshots[0], cu, tuple(p["supercell"]), (20, 20, 10),
                              metadata={"defect": "thermal"})
    pat = simulate(spec, (r.zone_u, r.zone_v, r.zone_w), voltage_kv=r.voltage_kv,
                   camera_length_mm=r.camera_length_mm, size_px=128, inplane_rotation_deg=r.inplane_rotation_deg)
    assert np.array_equal(render(pat, seed=int(r.seed), bits=8), open_images(store)[i])


def test_snapshot_seeds_fixed_by_spec_seed_and_bad_variants_named():
    spec = normalize_spec(SPEC)
    seeds = lambda s: sorted(set(plan_table(s)[1].defect_params[lambda d: d.str.contains("seed")]))
    assert seeds(spec) == seeds(normalize_spec(SPEC)) and len(seeds(spec)) == 4
    assert seeds(spec) != seeds(normalize_spec({**SPEC, "seed": 6}))
    for bad, msg in (({"type": "thermal", "temperature_k": [-5]}, r"variants\[0\].temperature_k"),
                     ({"type": "vacancy", "supercell": [[2, 2]]}, r"variants\[0\].supercell"),
                     ({"type": "thermal", "temperature_k": [300], "size": 3}, r"unknown keys \['size'\]")):
        with pytest.raises(InputError, match=msg):
            plan_table(normalize_spec({**SPEC, "variants": [bad]}))


def test_variants_that_cannot_be_made_are_skipped_and_listed(tmp_path):
    spec = {**SPEC, "crystals": {"ids": ["cod/Cu", "aflow/279_A_cP20_213_cd", "mp20/mp-14305"]},
            "zone_axes": [[0, 0, 1]], "variants": [{"type": "none"}, {"type": "thermal", "temperature_k": [300],
                                                                         "supercell": [2, 2, 2]}]}
    (tmp_path / "s.yaml").write_text(yaml.safe_dump(spec))
    card = build_dataset(tmp_path / "s.yaml", tmp_path / "st", workers=0, progress=False)
    t = read_table(tmp_path / "st")
    assert set(t[t.defect_type == "thermal"].material_id) == {"cod/Cu", "aflow/279_A_cP20_213_cd"}
    skipped = {s["material_id"]: s["reason"] for s in card["skipped_variants"]}
    assert skipped == {"mp20/mp-14305": "no Debye temperature for Lu"}  # Lu2MnS4
    assert "Variants skipped" in (tmp_path / "st" / "card.md").read_text()


def test_size_rule_agrees_with_the_cell_engine():
    from sadpnet.data.corpus import load_crystal
    from sadpnet.data.variants import make_source, why_not
    from sadpnet.simulate.api import simulate
    from sadpnet.simulate.microscope import Microscope

    g_half = Microscope(200, 300, 256).g_max_inv_a
    v = {"type": "vacancy", "supercell": [3, 3, 3]}
    beta_mn, cu = load_crystal("aflow/279_A_cP20_213_cd"), load_crystal("cod/Cu")
    assert "too large for the cell engine" in why_not(beta_mn, v, g_half)
    with pytest.raises(InputError, match="too large for the cell engine"):
        simulate(make_source(beta_mn, v), (0, 0, 1), voltage_kv=200, camera_length_mm=300)
    assert why_not(cu, v, g_half) is None
    simulate(make_source(cu, v), (0, 0, 1), voltage_kv=200, camera_length_mm=300, size_px=256)


def test_strained_rows_carry_the_strained_symmetry(store):
    t = read_table(store)
    perfect = t[t.defect_type != "strain"]
    assert (perfect.specimen_space_group == 225).all() and (perfect.specimen_crystal_system == "cubic").all()
    strained = t[t.defect_type == "strain"]  # 3 % normal strain along a: Fm-3m -> I4/mmm (139), tetragonal
    assert (strained.space_group == 225).all()
    assert set(strained.specimen_space_group) == {139} and set(strained.specimen_crystal_system) == {"tetragonal"}
