"""The visible_space_group label: a strained crystal's lowered symmetry only where its pattern shows it."""

import json

import numpy as np
import pytest

from sadpnet.crystal import read_cif
from sadpnet.data.plan import plan_table
from sadpnet.data.spec import normalize_spec, spec_hash
from sadpnet.data.visible import net_distortion_inv_a, visible_space_group
from sadpnet.defects.strain import apply_strain
from sadpnet.errors import InputError
from sadpnet.resources import example_cif
from sadpnet.simulate.zolz import zolz_reflections


@pytest.fixture(scope="module")
def al():
    return read_cif(example_cif("Al"))


def test_distortion_of_a_normal_strain_on_001_is_the_analytic_one(al):
    # e_xx = 5 %: g = (h / (a (1 + e)), k / a). For a net symmetric under h <-> k the best similarity is the
    # real scale s = (1 / (1 + e) + 1) / 2, and every spot is left e / (2 (1 + e)) |g_parent| away from its
    # place, so the largest residual belongs to the longest parent g in the field.
    e, g_max = 0.05, 1.2
    strained = apply_strain(al, [e, 0, 0, 0, 0, 0]).crystal
    hkl, _ = zolz_reflections(strained, (0, 0, 1), g_max_inv_a=g_max, debye_waller=False)
    assert {tuple(abs(h) for h in x[:2]) for x in hkl} == {(2, 0), (0, 2), (2, 2), (4, 0), (0, 4), (4, 2), (2, 4)}
    a = al.atoms.cell.lengths()[0]
    expected = e / (2 * (1 + e)) * np.sqrt(4 ** 2 + 2 ** 2) / a
    assert net_distortion_inv_a(al, strained, (0, 0, 1), g_max) == pytest.approx(expected, rel=1e-9)


def test_hidden_strains_keep_the_parent_label(al):
    strained = apply_strain(al, [0.05, 0, 0, 0, 0, 0]).crystal
    assert strained.space_group_number == 139
    assert net_distortion_inv_a(al, al, (0, 1, 1)) == 0.0
    # beam along the stretched a: the (0kl) net does not change at all
    assert net_distortion_inv_a(al, strained, (1, 0, 0)) == pytest.approx(0.0, abs=1e-12)
    assert visible_space_group(al, strained, (1, 0, 0)) == 225
    # [023]: inside 1.7 1/A only the 200 row is bright, and a row cannot show a shape
    assert np.all(zolz_reflections(strained, (0, 2, 3), g_max_inv_a=1.7, debye_waller=False)[0][:, 1:] == 0)
    assert visible_space_group(al, strained, (0, 2, 3)) == 225
    assert visible_space_group(al, strained, (0, 0, 1)) == 139
    # 1 % is below half a model pixel at the edge of the field on [001]
    small = apply_strain(al, [0.01, 0, 0, 0, 0, 0]).crystal
    assert net_distortion_inv_a(al, small, (0, 0, 1)) < 0.0133 < net_distortion_inv_a(al, strained, (0, 0, 1))
    assert visible_space_group(al, small, (0, 0, 1)) == 225


SPEC = {"name": "visible", "seed": 1, "crystals": {"ids": ["cod/Cu"]}, "splits": {"fractions": {"train": 1.0}},
        "microscope": {"voltages_kv": [300], "camera_lengths_mm": [250]},
        "zone_axes": [[0, 0, 1], [1, 0, 0], [0, 2, 3]],
        "variants": [{"type": "none"}, {"type": "strain", "normal_pct": [1, 5]}]}


def test_plan_writes_the_visible_label_per_zone_axis():
    _, t = plan_table(normalize_spec(SPEC))
    t = t.assign(pct=[100 * json.loads(p)["strain_voigt"][0] if d == "strain" else 0
                      for d, p in zip(t.defect_type, t.defect_params)])
    got = {(round(p), z): (s, v) for p, z, s, v in zip(t.pct, t.zone_axis, t.specimen_space_group,
                                                       t.visible_space_group)}
    assert got[(0, "[0 0 1]")] == (225, 225)
    assert got[(1, "[0 0 1]")] == (139, 225)   # strained, but not visibly
    assert got[(5, "[0 0 1]")] == (139, 139)
    assert got[(5, "[1 0 0]")] == (139, 225)   # the stretched axis along the beam
    assert got[(5, "[0 2 3]")] == (139, 225)   # one row of spots
    # a threshold no strain reaches: every pattern keeps the parent's label
    strict = normalize_spec({**SPEC, "labels": {"visible_shift_inv_a": 1.0}})
    assert set(plan_table(strict)[1].visible_space_group) == {225}


def test_label_keys_at_their_defaults_leave_the_spec_hash_alone():
    spec = normalize_spec(SPEC)
    bare = {k: v for k, v in spec.items() if k != "labels"}  # a spec written before the section existed
    assert spec_hash(spec) == spec_hash(bare)
    assert spec_hash(normalize_spec({**SPEC, "labels": {"visible_shift_inv_a": 0.02}})) != spec_hash(spec)
    with pytest.raises(InputError, match="labels.visible_g_max_inv_a"):
        normalize_spec({**SPEC, "labels": {"visible_g_max_inv_a": -1}})


def test_unstrained_rows_take_the_corpus_group():
    """mp20/mp-1183839 is C2/m (12) in the corpus (Materials Project, symprec 0.1 A) but Cm (8) to spglib at the
    loader's 1e-3 A: its unstrained patterns are labelled 12 in every label column, not 8."""
    from sadpnet.data.corpus import load_crystal

    assert load_crystal("mp20/mp-1183839").space_group_number == 8
    spec = {**SPEC, "crystals": {"ids": ["mp20/mp-1183839"]}, "variants": [{"type": "none"}], "zone_axes": [[0, 0, 1]]}
    _, t = plan_table(normalize_spec(spec))
    assert set(t.space_group) == set(t.specimen_space_group) == set(t.visible_space_group) == {12}
