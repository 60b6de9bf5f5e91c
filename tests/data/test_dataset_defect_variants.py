"""Point-defect variants in a dataset spec: substitutions, interstitials, relaxed vacancies (sadpnet.defects)."""

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
    "name": "point-defects", "seed": 3, "crystals": {"ids": ["cod/Cu"]}, "splits": {"fractions": {"train": 1.0}},
    "microscope": {"voltages_kv": [200], "camera_lengths_mm": [300], "image_size_px": 64},
    "zone_axes": [[0, 0, 1]], "simulation": {"cells": [12, 12, 6]},
    "variants": [{"type": "none"},
                 {"type": "substitute", "element": ["Au"], "site": ["centre", "random"], "supercell": [2, 2, 2]},
                 {"type": "substitute", "element": "Au", "supercell": [[2, 2, 2]], "relax": {"potential": "emt"}},
                 {"type": "interstitial", "element": "Cu", "site": "octahedral", "supercell": [2, 2, 2],
                  "relax": {"potential": "emt"}},
                 {"type": "vacancy", "supercell": [[2, 2, 2]], "relax": {"potential": "emt"}}],
    "storage": {"chunk_patterns": 3},
}


def _build(tmp_path, name, spec=SPEC):
    (tmp_path / f"{name}.yaml").write_text(yaml.safe_dump(spec))
    card = build_dataset(tmp_path / f"{name}.yaml", tmp_path / name, workers=0, progress=False)
    return card, read_table(tmp_path / name), open_images(tmp_path / name)[:]


def test_point_defect_variants_build_record_parameters_and_repeat_exactly(tmp_path):
    card, t, imgs = _build(tmp_path, "a")
    params = [(r.defect_type, json.loads(r.defect_params)) for r in t.itertuples()]
    assert [p[0] for p in params] == ["none", "substitute", "substitute", "substitute", "interstitial", "vacancy"]
    assert params[1][1] == {"element": "Au", "site": "centre", "supercell": [2, 2, 2]}
    assert params[2][1]["site"] == "random" and isinstance(params[2][1]["seed"], int)
    assert params[3][1] == {"element": "Au", "relax": "emt", "site": "centre", "supercell": [2, 2, 2]}
    assert params[4][1] == {"element": "Cu", "relax": "emt", "site": "octahedral", "supercell": [2, 2, 2]}
    assert params[5][1] == {"relax": "emt", "supercell": [2, 2, 2]}
    assert (t.space_group == 225).all() and (t.specimen_space_group == 225).all()
    # every defect changes the pattern of the perfect crystal; relaxation changes it further
    diff = [np.abs(imgs[i].astype(float) - imgs[0]).sum() for i in range(len(t))]
    assert diff[0] == 0 and min(diff[1:]) > 0, diff
    assert not np.array_equal(imgs[1], imgs[3])
    assert card["skipped_variants"] == []
    # the three relaxed variants, once each, with their convergence (EMT, fmax 0.01 eV/A)
    rel = card["relaxation"]
    assert rel["n_relaxed"] == 3 and rel["potentials"] == ["emt"]
    assert sorted(v["defect_type"] for v in rel["variants"]) == ["interstitial", "substitute", "vacancy"]
    assert rel["n_converged"] == sum(v["relax_converged"] for v in rel["variants"])
    assert all(v["relax_converged"] == (v["relax_max_force_ev_a"] < 0.01) for v in rel["variants"])
    assert "Relaxed point-defect variants: 3 (emt)" in (tmp_path / "a" / "card.md").read_text()
    # same spec and seed: byte-identical images; another seed draws another random site
    _, t2, imgs2 = _build(tmp_path, "b")
    assert imgs.tobytes() == imgs2.tobytes() and list(t.defect_params) == list(t2.defect_params)
    seeds = {s: json.loads(plan_table(normalize_spec({**SPEC, "seed": s}))[1].defect_params[2])["seed"]
             for s in (3, 4)}
    assert seeds[3] == params[2][1]["seed"] and seeds[3] != seeds[4]


def test_relaxed_substitution_remade_through_the_defects_api(tmp_path):
    from sadpnet.data.corpus import load_crystal
    from sadpnet.defects.point import relax_defect, substitute
    from sadpnet.defects.specimen import supercell_specimen
    from sadpnet.simulate.api import simulate
    from sadpnet.simulate.detector import render

    spec = {**SPEC, "variants": [SPEC["variants"][2]]}
    card, t, imgs = _build(tmp_path, "c", spec)
    r = t.iloc[0]
    cu = load_crystal("cod/Cu")
    res = relax_defect(substitute(cu, (2, 2, 2), "Au"), "emt")
    assert res.relax.max_displacement_a > 0.01  # Au is larger than Cu: its neighbours move out
    rec = card["relaxation"]["variants"][0]
    assert rec["relax_steps"] == res.relax.steps and rec["relax_converged"] == res.relax.converged
    assert rec["relax_max_displacement_a"] == pytest.approx(res.relax.max_displacement_a, rel=1e-12)
    spm = supercell_specimen(res.atoms, cu, (2, 2, 2), (12, 12, 6))
    pat = simulate(spm, (0, 0, 1), voltage_kv=r.voltage_kv, camera_length_mm=r.camera_length_mm, size_px=64,
                   inplane_rotation_deg=r.inplane_rotation_deg)
    assert np.array_equal(render(pat, seed=int(r.seed), bits=8), imgs[0])


def test_point_variants_that_cannot_be_made_are_skipped_and_bad_ones_named():
    spec = normalize_spec({**SPEC, "crystals": {"ids": ["cod/Cu", "cod/Fe"]},
                           "variants": [{"type": "substitute", "element": ["Cu"], "supercell": [2, 2, 2]},
                                        {"type": "vacancy", "supercell": [2, 2, 2], "relax": {"potential": "emt"}}]})
    _, t = plan_table(spec)
    skipped = {(s["material_id"], s["type"]): s["reason"] for s in t.attrs["skipped_variants"]}
    assert "already holds Cu" in skipped[("cod/Cu", "substitute")]
    assert skipped[("cod/Fe", "vacancy")] == "potential emt has no parameters for Fe"
    assert set(zip(t.material_id, t.defect_type)) == {("cod/Fe", "substitute"), ("cod/Cu", "vacancy")}
    for bad, msg in (({"type": "substitute", "supercell": [2, 2, 2]}, r"variants\[0\].element"),
                     ({"type": "substitute", "element": "Xx"}, r"variants\[0\].element: unknown element"),
                     ({"type": "interstitial", "element": "H", "relax": {"potential": "lj"}}, r"variants\[0\].relax"),
                     ({"type": "substitute", "element": "Ni", "site": "edge"}, r"variants\[0\].site"),
                     ({"type": "interstitial", "element": "H", "size": 2}, r"unknown keys \['size'\]")):
        with pytest.raises(InputError, match=msg):
            plan_table(normalize_spec({**SPEC, "variants": [bad]}))


BLOCKS = {**SPEC, "crystals": {"ids": ["cod/Cu", "aflow/279_A_cP20_213_cd"]}, "zone_axes": [[0, 1, 1]],
          "simulation": {"cells": [8, 8, 6]},
          "variants": [{"type": "none"}, {"type": "twin", "fraction": [0.3, 0.5]},
                       {"type": "dislocation", "line": [1, 1, -2], "count": [1]}]}


def test_twin_and_dislocation_variants_build_with_the_atoms_engine(tmp_path):
    card, t, imgs = _build(tmp_path, "blk", BLOCKS)
    cu = t.material_id == "cod/Cu"
    assert list(t[cu].defect_type) == ["none", "twin", "twin", "dislocation"]
    params = [json.loads(p) for p in t[cu].defect_params]
    # the material's usual twin and edge dislocation are filled in and recorded
    assert params[1] == {"plane": [1, 1, 1], "direction": [1, 1, -2], "fraction": 0.3}
    assert params[3] == {"line": [1, 1, -2], "burgers": [0.5, -0.5, 0.0], "count": 1}
    idx = list(t.index[cu])
    assert all(np.abs(imgs[i].astype(float) - imgs[idx[0]]).sum() > 0 for i in idx[1:])
    assert not np.array_equal(imgs[idx[1]], imgs[idx[2]])
    # beta-Mn (cubic P4_132, not a one-element fcc/bcc metal with tabulated elastic constants) is skipped
    skipped = {s["type"]: s["reason"] for s in card["skipped_variants"]}
    assert set(t[~cu].defect_type) == {"none"}
    assert "not a coherent twin" in skipped["twin"] and "elastic constants" in skipped["dislocation"]
    _, _, imgs2 = _build(tmp_path, "blk2", BLOCKS)
    assert imgs.tobytes() == imgs2.tobytes()
    for bad, msg in (({"type": "twin", "fraction": [0.95]}, r"variants\[0\].fraction"),
                     ({"type": "twin", "plane": [1, 1]}, r"variants\[0\].plane"),
                     ({"type": "dislocation", "count": [0]}, r"variants\[0\].count"),
                     ({"type": "dislocation", "cores": 2}, r"unknown keys \['cores'\]")):
        with pytest.raises(InputError, match=msg):
            plan_table(normalize_spec({**BLOCKS, "variants": [bad]}))


def test_twin_row_remade_through_the_defects_api(tmp_path):
    from sadpnet.data.corpus import load_crystal
    from sadpnet.defects.specimen import block_specimen
    from sadpnet.defects.twin import build_twin
    from sadpnet.simulate.api import simulate
    from sadpnet.simulate.detector import render

    spec = {**BLOCKS, "crystals": {"ids": ["cod/Cu"]}, "variants": [{"type": "twin"}]}
    _, t, imgs = _build(tmp_path, "tw", spec)
    r = t.iloc[0]
    cu = load_crystal("cod/Cu")
    res = build_twin(cu, (1, 1, 1), (1, 1, -2), 0.5, (8, 8, 6))
    pat = simulate(block_specimen(res.atoms, cu), (0, 1, 1), voltage_kv=r.voltage_kv, engine="atoms",
                   camera_length_mm=r.camera_length_mm, size_px=64, inplane_rotation_deg=r.inplane_rotation_deg)
    assert np.array_equal(render(pat, seed=int(r.seed), bits=8), imgs[0])


def test_shipped_defects_quick_spec_plans_every_variant_type():
    from pathlib import Path

    from sadpnet.data.spec import load_spec

    spec = load_spec(Path(__file__).resolve().parents[2] / "specs" / "defects-quick.yaml")
    _, t = plan_table(spec)
    assert set(t.defect_type) == {"none", "vacancy", "substitute", "interstitial", "twin", "dislocation"}
    skipped = {(s["material_id"], s["type"]) for s in t.attrs["skipped_variants"]}
    assert ("cod/Cu", "vacancy") in skipped and ("cod/Al", "vacancy") not in skipped  # EAM file covers Al, not Cu


def test_variant_entries_can_name_their_own_zone_axes_and_materials():
    spec = normalize_spec({
        "crystals": {"ids": ["cod/Cu", "cod/W"]}, "splits": {"fractions": {"train": 1.0}},
        "microscope": {"voltages_kv": [200], "camera_lengths_mm": [300], "image_size_px": 64},
        "zone_axes": [[0, 0, 1], [0, 1, 1], [1, 1, 1]],
        "variants": [{"type": "none"},
                     {"type": "strain", "normal_pct": [4.0], "materials": ["cod/Cu"]},
                     {"type": "twin", "zone_axes": [[1, 1, 0], [1, 0, 1]]}]})
    _, table = plan_table(spec)
    none = table[table.defect_type == "none"]
    assert set(none.material_id) == {"cod/Cu", "cod/W"} and set(none.zone_axis) == {"[0 0 1]", "[0 1 1]", "[1 1 1]"}
    strain = table[table.defect_type == "strain"]
    assert set(strain.material_id) == {"cod/Cu"} and len(strain) == 3
    assert set(strain.specimen_space_group) == {139}  # tetragonal, its own label column
    twin = table[table.defect_type == "twin"]
    assert set(twin.zone_axis) == {"[1 1 0]", "[1 0 1]"} and set(twin.material_id) == {"cod/Cu", "cod/W"}
    assert "zone_axes" not in twin.defect_params.iloc[0]  # the table's zone_axis column says it
    for bad, key in (({"type": "none", "zone_axes": [[1, 1]]}, "variants[0].zone_axes"),
                     ({"type": "none", "zone_axes": [[0, 0, 0]]}, "variants[0].zone_axes"),
                     ({"type": "none", "materials": "cod/Cu"}, "variants[0].materials")):
        with pytest.raises(InputError, match=key.replace("[", r"\[").replace("]", r"\]")):
            plan_table(normalize_spec({**spec, "variants": [bad]}))


def test_md_thermal_variant_builds_seeded_snapshots_and_skips_uncovered_materials(tmp_path):
    spec = {"name": "md", "seed": 5, "crystals": {"ids": ["cod/Cu", "cod/W"]}, "splits": {"fractions": {"train": 1.0}},
            "microscope": {"voltages_kv": [200], "camera_lengths_mm": [300], "image_size_px": 64},
            "zone_axes": [[0, 0, 1]], "simulation": {"cells": [10, 10, 6]},
            "variants": [{"type": "none"},
                         {"type": "thermal", "method": "md", "potential": "emt", "temperature_k": [300],
                          "supercell": [2, 2, 2], "snapshots": 2, "equilibration_steps": 40}],
            "storage": {"chunk_patterns": 3}}
    card, t, imgs = _build(tmp_path, "md", spec)
    assert list(t[t.defect_type == "thermal"].material_id) == ["cod/Cu"] * 2  # W: EMT has no parameters for it
    t = t[t.material_id == "cod/Cu"]
    imgs = imgs[t.index.to_numpy()]
    params = [json.loads(p) for p in t.defect_params]
    assert [p.get("method") for p in params] == [None, "md", "md"] and params[1]["potential"] == "emt"
    assert params[1]["seed"] != params[2]["seed"]  # independent runs per snapshot
    assert card["skipped_variants"] and all("emt" in s["reason"] for s in card["skipped_variants"])
    assert not np.array_equal(imgs[0], imgs[1]) and not np.array_equal(imgs[1], imgs[2])
    _, _, again = _build(tmp_path, "md2", spec)
    assert imgs.tobytes() == again[t.index.to_numpy()].tobytes()
    with pytest.raises(InputError, match=r"variants\[1\]: potential and equilibration_steps need method: md"):
        plan_table(normalize_spec({**spec, "variants": [{"type": "none"},
                                                        {"type": "thermal", "temperature_k": [300], "potential": "emt"}]}))
