"""Edge-dislocation arrays: index resolution, Burgers circuits, displacement field against matscipy, spacing."""

from fractions import Fraction

import numpy as np
import pytest

from sadpnet.defects.block import min_distance_a
from sadpnet.defects.dislocation import VACUUM_A, build_dislocation_array, burgers_circuit, resolve_indices
from sadpnet.errors import InputError

F = Fraction


def test_paper_index_set_resolves_to_consistent_edge(al_crystal):
    line, b, plane, requested = resolve_indices(al_crystal, (1, 1, 2), (0.5, 0.5, 0))
    assert line == (1, 1, -2) and b == (F(1, 2), F(-1, 2), F(0)) and plane == (1, 1, 1)
    assert requested == ((1, 1, 2), (F(1, 2), F(1, 2), F(0)))
    # a consistent set is kept as given
    line, b, plane, requested = resolve_indices(al_crystal, (1, 1, -2), (0.5, -0.5, 0))
    assert requested is None and line == (1, 1, -2) and plane == (1, 1, 1)


def test_inconsistent_sets_are_refused(al_crystal, fe_crystal):
    with pytest.raises(InputError, match="not a lattice translation"):
        resolve_indices(al_crystal, (1, 1, -2), (0.5, 0, 0))
    with pytest.raises(InputError, match="cannot form an edge dislocation"):
        resolve_indices(al_crystal, (1, 1, 0), (0.5, 0.5, 0))  # a screw set: no edge resolution on {111}
    with pytest.raises(InputError, match="cubic"):
        from sadpnet.crystal import read_cif
        from sadpnet.resources import example_cif

        build_dislocation_array(read_cif(example_cif("Mg")), cells=(4, 4, 2))
    with pytest.raises(InputError, match="count"):
        build_dislocation_array(al_crystal, count=0, cells=(8, 6, 2))


def test_al_array_burgers_circuits_close_with_b(al_crystal):
    r = build_dislocation_array(al_crystal, (1, 1, 2), (0.5, 0.5, 0), count=4, cells=(20, 14, 3))
    assert len(r.cores_a) == 4
    for k in range(4):
        assert np.allclose(burgers_circuit(al_crystal, r, k), [0.5, -0.5, 0.0], atol=1e-9)
    assert min_distance_a(r.atoms) > 1.5
    assert len(r.atoms) == len(r.reference)
    # the reference block is perfect fcc: every atom has 12 neighbours at a/sqrt(2) inside the block
    a = al_crystal.lattice_parameters[0]
    assert min_distance_a(r.reference) == pytest.approx(a / np.sqrt(2), abs=1e-6)


def test_displacement_field_is_matscipy_superposition(al_crystal):
    from matscipy.dislocation import AnisotropicDislocation

    r = build_dislocation_array(al_crystal, (1, 1, -2), (0.5, -0.5, 0), count=2, cells=(12, 8, 2))
    pad = np.array([VACUUM_A, VACUUM_A, 0.0])
    p0 = r.reference.positions @ r.frame.T - pad
    cores = r.cores_a @ r.frame.T - pad
    a = al_crystal.lattice_parameters[0]
    c11, c12, c44 = r.info["elastic_gpa"]
    solver = AnisotropicDislocation(r.frame, r.plane, r.line, np.array([0.5, -0.5, 0]) * a, C11=c11, C12=c12, C44=c44)
    u = sum(solver.displacement(p0, center=c) for c in cores)
    assert np.allclose((r.atoms.positions - r.reference.positions) @ r.frame.T, u, atol=1e-9)
    # far from the cores the field is that of an isotropic-like edge: u_e1 jumps by b across the cut
    assert np.abs(u[:, 0]).max() > 0.4 * np.linalg.norm(np.array([0.5, -0.5, 0]) * a)


def test_bcc_edge_dislocation_closes(fe_crystal):
    r = build_dislocation_array(fe_crystal, (1, -1, 0), (0.5, 0.5, 0.5), count=1, cells=(16, 10, 2))
    assert r.plane == (1, 1, -2) or r.plane == (-1, -1, 2) or sorted(map(abs, r.plane)) == [1, 1, 2]
    assert np.allclose(burgers_circuit(fe_crystal, r, 0), [0.5, 0.5, 0.5], atol=1e-9)
    assert min_distance_a(r.atoms) > 1.5
