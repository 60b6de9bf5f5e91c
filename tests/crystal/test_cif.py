import warnings

import numpy as np
import pytest

from sadpnet.crystal import crystal_system, read_cif, write_cif
from sadpnet.errors import InputError
from sadpnet.resources import EXAMPLE_CIFS, example_cif, resource_path


@pytest.mark.parametrize(
    "name, sg, natoms, a",
    [("Al", 225, 4, 4.0496), ("Fe", 229, 2, 2.8665), ("Si", 227, 8, 5.4307), ("NaCl", 225, 8, 5.6394),
     ("CsCl", 221, 2, 4.0790), ("beta-Mn", 213, 20, 6.315), ("Mg", 194, 2, 3.2094)],
)
def test_examples_standardise_to_conventional_cell(name, sg, natoms, a):
    c = read_cif(example_cif(name))
    assert c.space_group_number == sg
    assert len(c.atoms) == natoms
    assert c.lattice_parameters[0] == pytest.approx(a, abs=2e-3)
    assert np.all(c.occupancy == 1.0)


def test_p1_primitive_cif_becomes_conventional():
    # the AFLOW rock-salt prototype is given as a P1 rhombohedral primitive cell of 2 atoms
    c = read_cif(example_cif("NaCl"))
    assert sorted(c.atoms.get_chemical_symbols()) == ["Cl"] * 4 + ["Na"] * 4
    assert np.allclose(c.atoms.cell.cellpar()[3:], 90.0)


def test_partial_occupancy_kept():
    c = read_cif(resource_path("cifs", "kvmani_pycrystallography", "sigma_FeCr-JB.cif"))
    occ = c.occupancy
    assert occ.min() < 1.0
    # each mixed site's occupancies sum to one
    frac = np.round(c.atoms.get_scaled_positions(), 4) % 1.0
    sums = {}
    for f, o in zip(map(tuple, frac), occ):
        sums[f] = sums.get(f, 0.0) + o
    assert np.allclose(list(sums.values()), 1.0, atol=1e-3)
    assert c.space_group_number == 136


def test_multiple_data_blocks_takes_first_and_says_so(tmp_path):
    text = example_cif("Al").read_text() + "\n" + example_cif("Fe").read_text()
    p = tmp_path / "two.cif"
    p.write_text(text)
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        c = read_cif(p)
    assert c.space_group_number == 225
    assert any("data blocks" in str(x.message) for x in w)
    assert c.notes and "first" in c.notes[0]


@pytest.mark.parametrize("content, problem", [
    (None, "no such file"),
    ("this is not a cif\n", "CIF"),
    ("data_x\n_cell_length_a 4.0\n", "no atom sites (_atom_site_fract_x"),
])
def test_bad_cif_is_one_line_input_error(tmp_path, content, problem):
    p = tmp_path / "bad.cif"
    if content is not None:
        p.write_text(content)
    with pytest.raises(InputError) as err:
        read_cif(p)
    msg = str(err.value)
    assert "\n" not in msg and str(p) in msg and problem in msg


def test_unknown_element_is_input_error(tmp_path):
    text = example_cif("Fe").read_text().replace("\nFe 0.00000", "\nXq 0.00000")
    p = tmp_path / "xq.cif"
    p.write_text(text)
    with pytest.raises(InputError, match="unknown element 'Xq'"):
        read_cif(p)


def test_write_cif_round_trip_with_comments(tmp_path, al_crystal):
    out = write_cif(al_crystal.atoms.repeat((2, 1, 1)), tmp_path / "al2.cif", ["made by a test", "seed 3"])
    text = out.read_text()
    assert text.startswith("# made by a test\n# seed 3\n")
    back = read_cif(out)
    assert back.space_group_number == 225 and len(back.atoms) == 4
    import ase.io
    from pymatgen.core import Structure

    assert len(ase.io.read(out)) == 8
    assert len(Structure.from_file(out)) == 8
    assert not list(tmp_path.glob(".*"))  # no temporary left behind


def test_crystal_system_ranges():
    assert [crystal_system(n) for n in (1, 2, 3, 15, 16, 74, 75, 142, 143, 167, 168, 194, 195, 230)] == [
        "triclinic", "triclinic", "monoclinic", "monoclinic", "orthorhombic", "orthorhombic", "tetragonal",
        "tetragonal", "trigonal", "trigonal", "hexagonal", "hexagonal", "cubic", "cubic"]
    with pytest.raises(InputError):
        crystal_system(231)


def test_all_examples_read():
    for name in EXAMPLE_CIFS:
        assert read_cif(example_cif(name)).space_group_number >= 1


@pytest.mark.parametrize("rel, sg", [("dans_diffraction/Silver.cif", 225), ("dans_diffraction/KCl.cif", 225),
                                     ("dans_diffraction/Vanadium.cif", 229)])
def test_unrecognised_space_group_name_uses_symmetry_operators(rel, sg):
    c = read_cif(resource_path("cifs", *rel.split("/")))
    assert c.space_group_number == sg
    assert any("symmetry operators" in n for n in c.notes)
