"""The crystal corpus: coverage of the paper's five space groups, traceability, the variant rule."""

import json
import math

import numpy as np
import pytest

from sadpnet.crystal import read_cif
from sadpnet.data.corpus import (PAPER_SPACE_GROUPS, VARIANT_RULE, atomic_volume_a3, load_crystal, load_index,
                                 metallic_radius_a)
from sadpnet.resources import resource_path


@pytest.fixture(scope="module")
def index():
    return load_index()


def test_at_least_30_distinct_materials_per_paper_space_group(index):
    reps = index[index.representative & index.space_group.isin(PAPER_SPACE_GROUPS)]
    counts = reps.groupby("space_group").group_id.nunique()
    assert set(counts.index) == set(PAPER_SPACE_GROUPS)
    assert (counts >= 30).all(), counts.to_dict()
    # one representative per group, and ids unique
    assert not reps.group_id.duplicated().any()
    assert not index.material_id.duplicated().any()


def test_every_row_traceable_to_a_file_or_a_rule(index):
    ids = set(index.material_id)
    for _, r in index.iterrows():
        path = r.source.split("#")[0]
        assert resource_path(*path.split("/")).is_file(), r.source
        if r.material_id.startswith("var/"):
            rule = json.loads(r.rule)
            assert rule["rule"] == VARIANT_RULE and rule["base"] in ids
            assert r.family_id == index.set_index("material_id").at[rule["base"], "group_id"]
        else:
            assert r.rule == "" and r.licence


def test_real_paper_structures_read_back_as_indexed(index):
    rows = index[index.space_group.isin(PAPER_SPACE_GROUPS) & ~index.material_id.str.startswith("var/")]
    for mid in ["cod/Al", "cod/Fe", "aflow/279_A_cP20_213_cd", rows.material_id.iloc[-1]]:
        r = index.set_index("material_id").loc[mid]
        c = load_crystal(mid)
        assert c.space_group_number == r.space_group and c.formula == r.formula
        assert c.lattice_parameters[0] == pytest.approx(r.a_a, abs=1e-4)


def test_variants_keep_space_group_and_follow_zens_law(index):
    var = index[index.material_id.str.startswith("var/")]
    assert len(var) > 0
    by_id = index.set_index("material_id")
    for _, r in var.iterrows():
        c = load_crystal(r.material_id)
        rule = json.loads(r.rule)
        base = load_crystal(rule["base"])
        assert c.space_group_number == base.space_group_number == r.space_group
        assert c.formula == r.formula != base.formula
        # Zen's law: per-formula volume changes by the summed atomic volumes of the substituted atoms
        vol_ratio = c.atoms.cell.volume / base.atoms.cell.volume * len(base.atoms) / len(c.atoms)
        assert vol_ratio == pytest.approx(rule["volume_scale"], rel=1e-4)
        v_base = sum(atomic_volume_a3(s) or 0 for s in base.atoms.get_chemical_symbols())
        v_new = sum(atomic_volume_a3(s) or 0 for s in c.atoms.get_chemical_symbols())
        if all(atomic_volume_a3(s) for s in base.atoms.get_chemical_symbols()):
            assert vol_ratio == pytest.approx(v_new / v_base * len(base.atoms) / len(c.atoms), rel=1e-4)
        # Hume-Rothery: each substituted element within 15 % of the radius it replaced
        old, new = rule["substitution"].split(":")
        base_symbols = set(base.atoms.get_chemical_symbols())
        old_el = old[:2] if old[:2] in base_symbols else old[:1]  # "Mnc" (Mn on orbit c), "Sia", "Fe"
        assert old_el in base_symbols
        assert abs(metallic_radius_a(new) / metallic_radius_a(old_el) - 1) <= 0.15 + 1e-9
        assert by_id.at[rule["base"], "space_group"] == r.space_group


def test_atomic_volumes_against_textbook_lattice_parameters():
    # fcc Al a = 4.05 A (4 atoms), bcc Fe a = 2.87 A (2 atoms), hcp Mg a = 3.21 A, c = 5.21 A (2 atoms)
    assert atomic_volume_a3("Al") == pytest.approx(4.05**3 / 4, rel=0.01)
    assert atomic_volume_a3("Fe") == pytest.approx(2.87**3 / 2, rel=0.01)
    assert atomic_volume_a3("Mg") == pytest.approx(math.sqrt(3) / 2 * 3.21**2 * 5.21 / 2, rel=0.01)
    assert atomic_volume_a3("O") is None  # a gas: no solid reference state


def test_duplicates_share_the_group_of_their_representative(index):
    for formula, sg, ids in (("Fe", 229, {"cod/Fe", "kvmani/Fe"}), ("Cu", 225, {"cod/Cu", "aflow/164_A_cF4_225_a"})):
        rows = index[index.formula.eq(formula) & index.space_group.eq(sg) & ~index.material_id.str.startswith("var/")]
        assert ids <= set(rows.material_id)
        assert rows.group_id.nunique() == 1 and rows.representative.sum() == 1
        assert rows[rows.representative].material_id.iloc[0] == "cod/" + formula  # COD preferred


def test_unphysical_and_unreadable_files_left_out(index):
    ids = set(index.material_id)
    assert "dans/Cubic" not in ids  # a = 1 A: atoms 1 A apart
    assert "kvmani/ZrFeBcc" not in ids  # partially occupied sites


def test_variant_cifs_readable_by_pymatgen(index):
    from pymatgen.core import Structure
    from pymatgen.symmetry.analyzer import SpacegroupAnalyzer

    var = index[index.material_id.str.startswith("var/")].iloc[::7]
    for _, r in var.iterrows():
        s = Structure.from_file(str(resource_path(*r.source.split("/"))))
        assert SpacegroupAnalyzer(s, symprec=1e-3).get_space_group_number() == r.space_group
        c = read_cif(resource_path(*r.source.split("/")))
        assert np.isclose(s.volume / len(s), c.atoms.cell.volume / len(c.atoms), rtol=1e-6)


def test_real_material_rows_keep_one_row_per_material_and_hold_out_whole_materials():
    from sadpnet.data.corpus import real_material_rows
    from sadpnet.errors import InputError

    rows = real_material_rows()
    ids = {r["material_id"] for r in rows}
    assert not any(i.startswith("var/") for i in ids)
    paper = [r for r in rows if r["space_group"] in PAPER_SPACE_GROUPS]
    assert len({r["group_id"] for r in paper}) == len(paper)  # duplicates of a paper material left out
    assert {"aflow/024_A2B_oP12_62_2c_c", "aflow/043_A2B_oP12_62_2c_c"} <= ids  # distinct prototypes, one formula
    held = {r["material_id"] for r in real_material_rows(exclude=["aflow/043_A2B_oP12_62_2c_c"])}
    same_material = {r["material_id"] for r in rows if r["group_id"] == "62-A2B"}
    assert "aflow/024_A2B_oP12_62_2c_c" in same_material and held == ids - same_material
    with pytest.raises(InputError, match="exclude"):
        real_material_rows(exclude=["cod/NoSuchThing"])
