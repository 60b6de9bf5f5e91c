"""Point defects: atom counts, species on the right sites, spacing, relaxation with a classical potential."""

import numpy as np
import pytest

from sadpnet.defects.block import min_distance_a
from sadpnet.defects.point import interstitial, make_supercell, relax_defect, substitute, vacancy
from sadpnet.errors import InputError


def _lattice_sites(crystal, size):
    return make_supercell(crystal, size)


@pytest.mark.parametrize("name,size,count", [("Al", 2, 31), ("Al", 3, 107), ("Fe", 3, 53), ("Fe", 4, 127)])
def test_vacancy_counts(name, size, count, al_crystal, fe_crystal):
    crystal = {"Al": al_crystal, "Fe": fe_crystal}[name]
    r = vacancy(crystal, (size,) * 3)
    assert len(r.atoms) == count
    assert min_distance_a(r.atoms) > 1.5
    # the removed site is empty and every other site is still occupied
    perfect = _lattice_sites(crystal, (size,) * 3)
    d = np.linalg.norm(perfect.positions - r.site_position_a, axis=1)
    assert d.min() < 1e-9
    assert np.min(np.linalg.norm(r.atoms.positions - r.site_position_a, axis=1)) > 2.0


def test_substitutions_on_lattice_sites(al_crystal, fe_crystal):
    for crystal, el, host, n in ((al_crystal, "Si", "Al", 3), (fe_crystal, "Au", "Fe", 3), (al_crystal, "Si", "Al", 2)):
        r = substitute(crystal, (n,) * 3, el)
        symbols = np.array(r.atoms.get_chemical_symbols())
        assert (symbols == el).sum() == 1 and (symbols == host).sum() == len(r.atoms) - 1
        perfect = _lattice_sites(crystal, (n,) * 3)
        assert np.allclose(perfect.positions, r.atoms.positions)  # same sites, one species changed
    assert "1/54" in substitute(fe_crystal, (3, 3, 3), "Au").description


def test_carbon_on_tetrahedral_site_of_al(al_crystal):
    r = interstitial(al_crystal, (3, 3, 3), "C", "tetrahedral")
    assert len(r.atoms) == 109 and r.atoms[-1].symbol == "C"
    a = al_crystal.lattice_parameters[0]
    d = np.sort(r.atoms.get_distances(len(r.atoms) - 1, list(range(108)), mic=True))
    # a tetrahedral site of fcc: four Al at sqrt(3)/4 a, the next six at sqrt(11)/4 a
    assert np.allclose(d[:4], np.sqrt(3) / 4 * a) and d[4] == pytest.approx(np.sqrt(11) / 4 * a)
    o = interstitial(al_crystal, (3, 3, 3), "C", "octahedral")
    d = np.sort(o.atoms.get_distances(len(o.atoms) - 1, list(range(108)), mic=True))
    assert np.allclose(d[:6], a / 2)
    fe = interstitial(al_crystal, (2, 2, 2), "H", "0.25,0.25,0.25")
    assert len(fe.atoms) == 33


def test_bad_point_defect_input(al_crystal):
    with pytest.raises(InputError, match="supercell"):
        vacancy(al_crystal, (0, 3, 3))
    with pytest.raises(InputError, match="unknown element"):
        substitute(al_crystal, (2, 2, 2), "Qq")
    with pytest.raises(InputError, match="does not exist"):
        vacancy(al_crystal, (2, 2, 2), site=32)
    with pytest.raises(InputError, match="does not exist"):
        interstitial(al_crystal, (2, 2, 2), "C", "hexagonal")
    with pytest.raises(InputError, match="occupied"):
        interstitial(al_crystal, (2, 2, 2), "C", "0,0,0")
    with pytest.raises(InputError, match="no Fe atom"):
        vacancy(al_crystal, (2, 2, 2), element="Fe")


def test_relaxation_eam_lowers_energy_and_moves_neighbours_little(al_crystal, fe_crystal):
    al = relax_defect(vacancy(al_crystal, (2, 2, 2)), "eam")
    fe = relax_defect(vacancy(fe_crystal, (3, 3, 3)), "eam")
    for r, lo, hi in ((al, 0.005, 0.06), (fe, 0.03, 0.2)):  # paper (DFT): 0.036 A and 0.14 A
        x = r.relax
        assert x.converged and x.energy_after_ev < x.energy_before_ev
        assert lo < x.max_displacement_a < hi
        assert min_distance_a(r.atoms) > 1.5
        # the atoms that move most are the vacancy's first neighbours
        moved = np.argmax(np.linalg.norm(x.displacements_a, axis=1))
        d = np.linalg.norm(r.atoms.positions[moved] - r.site_position_a)
        assert d < 3.0
    again = relax_defect(vacancy(fe_crystal, (3, 3, 3)), "eam")
    assert np.array_equal(again.atoms.positions, fe.atoms.positions)


def test_unknown_or_uncovered_potential(al_crystal):
    with pytest.raises(InputError, match="unknown potential"):
        relax_defect(vacancy(al_crystal, (2, 2, 2)), "lj")
    with pytest.raises(InputError, match="EAM"):
        relax_defect(substitute(al_crystal, (2, 2, 2), "Si"), "eam")


@pytest.mark.slow
def test_sevennet_relaxes_al_vacancy(al_crystal):
    pytest.importorskip("sevenn")
    r = relax_defect(vacancy(al_crystal, (2, 2, 2)), "sevennet", fmax_ev_a=0.02)
    x = r.relax
    assert x.potential == "sevennet" and x.converged
    assert x.energy_after_ev < x.energy_before_ev
    assert 0.01 < x.max_displacement_a < 0.06  # paper (DFT): about 0.036 A


def test_vacancy_of_one_species_in_a_compound():
    from sadpnet.crystal import read_cif
    from sadpnet.resources import example_cif

    nacl = read_cif(example_cif("NaCl"))
    species = sorted(set(nacl.atoms.get_chemical_symbols()))
    for el in species:
        r = vacancy(nacl, (2, 2, 2), element=el)
        symbols = r.atoms.get_chemical_symbols()
        assert len(r.atoms) == 63 and symbols.count(el) == 31
        assert r.description.endswith(f"1/32 of the {el} sites")
