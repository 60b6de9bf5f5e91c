"""Uniform strain: exact lattice parameters, Hooke's law against hand-computed compliances, lowered symmetry."""

import numpy as np
import pytest

from sadpnet.defects.elastic import CUBIC_ELASTIC_CONSTANTS_GPA, cubic_stiffness_gpa, voigt_to_tensor
from sadpnet.defects.strain import apply_strain
from sadpnet.errors import InputError


def test_normal_strain_gives_requested_lattice_and_tetragonal(al_crystal):
    a0 = al_crystal.lattice_parameters[0]
    r = apply_strain(al_crystal, [0.05, 0, 0, 0, 0, 0])
    a, b, c, al, be, ga = r.crystal.lattice_parameters
    assert a == pytest.approx(1.05 * a0, abs=1e-12) and b == pytest.approx(a0, abs=1e-12)
    assert c == pytest.approx(a0, abs=1e-12) and (al, be, ga) == pytest.approx((90, 90, 90))
    assert r.crystal.crystal_system == "tetragonal" and r.crystal.space_group_number == 139  # I4/mmm
    assert len(r.crystal.atoms) == len(al_crystal.atoms)
    # fractional coordinates are kept
    assert np.allclose(r.crystal.atoms.get_scaled_positions(), al_crystal.atoms.get_scaled_positions())


def test_shear_strain_deforms_cell_and_lowers_symmetry(al_crystal):
    gxy = 0.035
    r = apply_strain(al_crystal, [0, 0, 0, 0, 0, gxy])
    cell0 = np.asarray(al_crystal.atoms.cell)
    eps = voigt_to_tensor([0, 0, 0, 0, 0, gxy])
    assert np.allclose(np.asarray(r.crystal.atoms.cell), cell0 @ (np.eye(3) + eps).T, atol=1e-12)
    gamma = r.crystal.lattice_parameters[5]
    # the angle between a and b closes by the engineering shear (to first order) and exactly by its formula
    assert np.deg2rad(90 - gamma) == pytest.approx(gxy, rel=1e-3)
    assert np.cos(np.deg2rad(gamma)) == pytest.approx(gxy / (1 + gxy**2 / 4), rel=1e-9)
    # a pure xy shear of a cubic F lattice leaves an orthorhombic (centred) lattice: no longer cubic
    assert r.crystal.crystal_system == "orthorhombic"
    r2 = apply_strain(al_crystal, [0.01, 0, 0, 0.02, 0, 0.03])
    assert r2.crystal.crystal_system in ("monoclinic", "triclinic")


@pytest.mark.parametrize("element", ["Al", "Fe"])
def test_stress_to_strain_matches_hand_compliance(element, al_crystal, fe_crystal):
    crystal = {"Al": al_crystal, "Fe": fe_crystal}[element]
    c11, c12, c44, _ = CUBIC_ELASTIC_CONSTANTS_GPA[element]
    det = (c11 - c12) * (c11 + 2 * c12)
    s11, s12, s44 = (c11 + c12) / det, -c12 / det, 1 / c44  # cubic compliances, 1/GPa
    stress = np.array([1.0, -0.5, 0.2, 0.3, -0.1, 0.4])
    r = apply_strain(crystal, stress_gpa=stress)
    expect = np.array([s11 * stress[0] + s12 * (stress[1] + stress[2]),
                       s11 * stress[1] + s12 * (stress[0] + stress[2]),
                       s11 * stress[2] + s12 * (stress[0] + stress[1]),
                       s44 * stress[3], s44 * stress[4], s44 * stress[5]])
    assert np.allclose(r.strain_voigt, expect, rtol=1e-10, atol=0)
    # uniaxial stress along x of Al: Poisson contraction on y and z, tetragonal
    u = apply_strain(crystal, stress_gpa=[1, 0, 0, 0, 0, 0])
    assert u.strain_voigt[1] < 0 and u.strain_voigt[1] == pytest.approx(u.strain_voigt[2])
    assert u.crystal.crystal_system == "tetragonal"


def test_explicit_elastic_constants_and_bad_input(al_crystal, fe_crystal):
    r = apply_strain(al_crystal, stress_gpa=[1, 0, 0, 0, 0, 0], elastic_gpa=(100, 50, 30))
    assert r.strain_voigt[0] == pytest.approx(150 / (50 * 200))
    with pytest.raises(InputError, match="too large"):
        apply_strain(al_crystal, [0.5, 0, 0, 0, 0, 0])
    with pytest.raises(InputError, match="too large"):
        apply_strain(al_crystal, [0, 0, 0, 0, 0, -0.7])
    with pytest.raises(InputError, match="six numbers"):
        apply_strain(al_crystal, [0.01, 0.0])
    with pytest.raises(InputError, match="not mechanically stable"):
        cubic_stiffness_gpa(100, 120, 30)
    with pytest.raises(InputError, match="either"):
        apply_strain(al_crystal)
