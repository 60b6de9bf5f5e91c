"""CIFs read with gemmi (issue 19: ``sadpnet simulate Al.cif`` without ASE's CIF reader and its 0.5 s of imports):
the same atoms as ASE's reader on every shipped CIF, ASE's reader for what gemmi's path leaves aside, and no
scipy nor ase.io on the way."""

import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

from sadpnet.crystal import cif as cif_module
from sadpnet.crystal import read_cif, write_cif
from sadpnet.errors import InputError
from sadpnet.resources import example_cif, resource_path

SHIPPED = sorted(resource_path().rglob("*.cif"))

#: Shipped CIFs that go through ASE's reader: gemmi refuses their syntax (a duplicated _chemical_formula_sum,
#: an unquoted value with a quote in it, a loop with a missing value), or they name elements that are none
#: (Ya, Bz: ASE's reader says so).
ASE_ONLY = {"NaCoO2_stripe_supercell.cif", "Sapphire.cif", "Vanadium.cif", "AMS_DATA(4).cif", "AMS_DATA(4)_mani.cif",
            "AMS_DATA(5).cif", "AMS_DATA(6).cif", "vestGadolinite.cif", "zrBeta.cif"}


def _read_with_ase(path, **kw):
    """`read_cif` as it was: ASE's reader only."""
    original = cif_module._gemmi_atoms
    cif_module._gemmi_atoms = lambda path, notes: None
    try:
        return read_cif(path, **kw)
    finally:
        cif_module._gemmi_atoms = original


def test_there_are_shipped_cifs():
    assert len(SHIPPED) > 500


def test_gemmi_gives_the_atoms_of_ases_reader_on_every_shipped_cif():
    """Atom by atom (species, occupancy, position, order) and the same notes, before standardising."""
    left = set()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for path in SHIPPED:
            notes = []
            g = cif_module._gemmi_atoms(path, notes)
            if g is None:
                left.add(path.name)
                continue
            a, ase_notes = cif_module._ase_atoms(path)
            assert len(g) == len(a), path
            assert np.allclose(g.cell.cellpar(), a.cell.cellpar(), atol=1e-9, rtol=0), path
            assert np.array_equal(g.numbers, a.numbers), path
            assert np.allclose(g.arrays["occupancy"], a.arrays["occupancy"], atol=1e-12), path
            d = g.get_scaled_positions(wrap=False) - a.get_scaled_positions(wrap=False)
            assert np.abs(d - np.rint(d)).max() < 1e-9, path
            assert notes == ase_notes, path
    assert left <= ASE_ONLY, f"read by ASE's reader only (slow start-up): {sorted(left - ASE_ONLY)}"
    assert len(left) < 0.02 * len(SHIPPED)


@pytest.mark.parametrize("rel", ["cifs/crystals_COD/Al.cif", "cifs/kvmani_pycrystallography/sigma_FeCr-JB.cif",
                                 "cifs/crystals_COD/BaTiO3_cubic.cif", "cifs/dans_diffraction/Silver.cif",
                                 "cifs/dans_diffraction/Rutile.cif",
                                 "cifs/pymatgen_aflow/cif_p1/279_A_cP20_213_cd.cif"])
def test_read_cif_agrees_with_ases_reader(rel):
    """The `Crystal`: space group, formula with occupancies, lattice parameters, atoms, notes."""
    path = resource_path(*rel.split("/"))
    g, a = read_cif(path), _read_with_ase(path)
    assert g.space_group_number == a.space_group_number and g.space_group_symbol == a.space_group_symbol
    assert g.formula == a.formula and len(g.atoms) == len(a.atoms)
    assert np.allclose(g.lattice_parameters, a.lattice_parameters, atol=1e-4)
    assert sorted(zip(g.atoms.symbols, g.occupancy)) == sorted(zip(a.atoms.symbols, a.occupancy))
    assert g.notes == a.notes


def test_reading_a_cif_imports_neither_scipy_nor_ase_io():
    code = ("import sys\nfrom sadpnet.crystal import read_cif\nc = read_cif(sys.argv[1])\n"
            "print(c.space_group_number, len(c.atoms), sorted(m for m in ('scipy', 'ase.io', 'ase.spacegroup') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code, str(example_cif("Al"))], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["225", "4", "[]"]


def test_simulate_al_cif_imports_neither_scipy_nor_ase_io(tmp_path):
    """Issue 19's command (smaller block)."""
    code = ("import sys\nfrom sadpnet.cli.app import main\n"
            "try:\n    main(sys.argv[1:])\nexcept SystemExit as e:\n    assert not e.code, e.code\n"
            "print(sorted(m for m in ('scipy', 'ase.io', 'ase.spacegroup') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code, "simulate", str(example_cif("Al")), "--zone", "0", "0", "1",
                          "--engine", "atoms", "--cells", "8", "8", "8", "--size", "64", "-o",
                          str(tmp_path / "p.png")], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "[]" and (tmp_path / "p.png").exists()


CELL = """data_t
_cell_length_a 5.0
_cell_length_b 5.0
_cell_length_c 5.0
_cell_angle_alpha 90
_cell_angle_beta 90
_cell_angle_gamma 90
"""


SITES = """loop_
_atom_site_label
_atom_site_type_symbol
_atom_site_fract_x
_atom_site_fract_y
_atom_site_fract_z
_atom_site_occupancy
"""


def _write(tmp_path, text, name="t.cif") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_charged_type_symbols_uncertainties_and_labels(tmp_path):
    text = CELL + """_symmetry_space_group_name_H-M 'F m -3 m'
""" + SITES + """Fe1 Fe3+ 0 0 0 1.0
O1 O2- 0.5 0.5 0.5(2) 1.00(1)
"""
    path = _write(tmp_path, text)
    notes = []
    atoms = cif_module._gemmi_atoms(path, notes)
    assert atoms is not None and sorted(set(atoms.get_chemical_symbols())) == ["Fe", "O"] and len(atoms) == 8
    assert read_cif(path).formula == _read_with_ase(path).formula == "FeO"
    # without a type symbol, the element comes from the label
    no_type = "\n".join(line for line in text.splitlines() if "type_symbol" not in line).replace(" Fe3+", "").replace(
        " O2-", "")
    atoms = cif_module._gemmi_atoms(_write(tmp_path, no_type, "label.cif"), [])
    assert atoms is not None and sorted(set(atoms.get_chemical_symbols())) == ["Fe", "O"]


def test_mixed_site_and_sites_on_special_positions(tmp_path):
    text = CELL + """_symmetry_space_group_name_H-M 'P m -3 m'
_space_group_IT_number 221
""" + SITES + """Fe1 Fe 0 0 0 0.6
Co1 Co 0 0 0 0.4
Ni1 Ni 0.5 0.5 0.5 1
Al1 Al 0.2 0 0 0.5
"""
    path = _write(tmp_path, text)
    atoms = cif_module._gemmi_atoms(path, [])
    ase_atoms, _ = cif_module._ase_atoms(path)
    assert np.array_equal(atoms.numbers, ase_atoms.numbers)
    assert np.allclose(atoms.arrays["occupancy"], ase_atoms.arrays["occupancy"])
    assert sorted(zip(atoms.get_chemical_symbols(), atoms.arrays["occupancy"]))[:3] == [
        ("Al", 0.5), ("Al", 0.5), ("Al", 0.5)]
    assert list(atoms.get_chemical_symbols()).count("Al") == 6
    c = read_cif(path)
    assert c.space_group_number == 221 and c.formula == _read_with_ase(path).formula


def test_what_gemmi_leaves_to_ases_reader(tmp_path):
    sites = """loop_
_atom_site_label
_atom_site_fract_x
_atom_site_fract_y
_atom_site_fract_z
{el}1 0 0 0
"""
    fm3m = CELL + "_symmetry_space_group_name_H-M 'F m -3 m'\n"
    # deuterium (ASE gives it its mass), an unknown element, an unknown space-group name without operators
    for text in (fm3m + sites.format(el="D"), fm3m + sites.format(el="Xq"),
                 CELL + "_symmetry_space_group_name_H-M 'Q 9'\n" + sites.format(el="Al")):
        assert cif_module._gemmi_atoms(_write(tmp_path, text), []) is None
    assert read_cif(_write(tmp_path, fm3m + sites.format(el="D"))).formula == "H"
    with pytest.raises(InputError, match="unknown element 'Xq'"):
        read_cif(_write(tmp_path, fm3m + sites.format(el="Xq")))
    with pytest.raises(InputError, match="cannot build the structure"):
        read_cif(_write(tmp_path, CELL + "_symmetry_space_group_name_H-M 'Q 9'\n" + sites.format(el="Al")))
    # two structure blocks: ASE's reader takes the first and says so
    two = _write(tmp_path, example_cif("Al").read_text() + "\n" + example_cif("Fe").read_text())
    assert cif_module._gemmi_atoms(two, []) is None


def test_operators_without_a_name_and_hall_symbol(tmp_path):
    sites = """loop_
_atom_site_label
_atom_site_fract_x
_atom_site_fract_y
_atom_site_fract_z
Cu1 0 0 0
"""
    ops = "loop_\n_symmetry_equiv_pos_as_xyz\nx,y,z\nx+1/2,y+1/2,z\nx+1/2,y,z+1/2\nx,y+1/2,z+1/2\n"
    c = read_cif(_write(tmp_path, CELL + ops + sites))  # ASE's reader refused this (no name nor number)
    assert c.space_group_number == 225 and len(c.atoms) == 4
    assert any("symmetry operators" in n for n in c.notes)
    c = read_cif(_write(tmp_path, CELL + "_symmetry_space_group_name_Hall '-F 4 2 3'\n" + sites))
    assert c.space_group_number == 225 and len(c.atoms) == 4  # ASE's reader took it as P1: one atom


def test_ase_setting_one_is_gemmis_default_for_every_space_group_number():
    """Without listed operators, a number means ASE's setting 1 (origin choice 1, hexagonal axes)."""
    import gemmi
    from ase.spacegroup import Spacegroup

    def key(rot, trans):
        return tuple(np.rint(rot).astype(int).ravel()) + tuple(np.rint(np.mod(trans, 1) * 24).astype(int) % 24)

    for n in range(1, 231):
        seitz = [np.array(op.float_seitz()) for op in gemmi.find_spacegroup_by_number(n).operations()]
        assert {key(s[:3, :3], s[:3, 3]) for s in seitz} == {key(r, t) for r, t in Spacegroup(n, 1).get_symop()}, n


def test_large_p1_block_is_read_directly_and_fast(tmp_path, al_crystal):
    """A block written by `sadpnet defect` (P1, occupancy column of ones) keeps its atoms in their order."""
    import time

    big = al_crystal.atoms.repeat((12, 12, 12))  # 6912 atoms > LARGE_P1_ATOMS
    path = write_cif(big, tmp_path / "big.cif")
    t = time.perf_counter()
    c = read_cif(path, standardize_cell=False)
    took = time.perf_counter() - t
    assert len(c.atoms) == len(big) and c.space_group_number == 1 and np.all(c.occupancy == 1.0)
    assert np.allclose(c.atoms.positions, big.positions, atol=1e-5)
    assert took < 2.0  # ASE's reader took about 0.5 s here (and 7 s for a 97,000-atom twin block)


def test_an_elements_entries_on_one_site_add_up(tmp_path):
    """Fe2+ 0.5 and Fe3+ 0.21 on one site are Fe 0.71 (ASE's reader kept the last entry: Fe 0.21)."""
    text = CELL + """_symmetry_space_group_name_H-M 'P 1'
""" + SITES + """Fe2 Fe2+ 0 0 0 0.5
Li1 Li 0 0 0 0.23
Fe3 Fe3+ 0 0 0 0.21
"""
    path = _write(tmp_path, text)
    atoms = cif_module._gemmi_atoms(path, [])
    assert list(atoms.get_chemical_symbols()) == ["Fe", "Li"]
    assert np.allclose(atoms.arrays["occupancy"], [0.71, 0.23])
    ase_atoms, _ = cif_module._ase_atoms(path)
    assert np.allclose(ase_atoms.arrays["occupancy"], [0.21, 0.23])
