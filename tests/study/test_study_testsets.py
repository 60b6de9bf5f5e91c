"""The study's test sets: what `build_source` hands the simulator, and that the shipped specimens are what
their names say (checked against the parent crystal, not against stored numbers)."""

from __future__ import annotations

import numpy as np
import pytest

from sadpnet.study.testsets import SHIPPED_SPECIMENS, Grid, build_source, cached_unit, paper_test_sets


def _sets():
    return {s.key: s for s in paper_test_sets(quick=True)}


def test_strained_crystal_has_the_strain_and_lower_symmetry(al_crystal):
    sets = _sets()
    src, opts = build_source(sets["Al-strain-normal-0.0500"], Grid.quick())
    a0 = al_crystal.atoms.cell.cellpar()[0]
    a, b, c = src.atoms.cell.cellpar()[:3]
    assert a == pytest.approx(1.05 * a0, rel=1e-9) and b == pytest.approx(a0, rel=1e-9)
    assert src.crystal_system == "tetragonal" and opts["engine"] == "cell"
    src, _ = build_source(sets["Al-strain-shear-0.0350"], Grid.quick())
    gamma = src.atoms.cell.cellpar()[5]
    assert 90 - gamma == pytest.approx(np.degrees(0.035), rel=0.02)  # engineering shear ~ change of angle


@pytest.mark.parametrize("key,kind", [("Al-vacancy-2x2x2", "vacancy"), ("Fe-vacancy-4x4x4", "vacancy"),
                                      ("Al-substitution-3x3x3", "Si"), ("Fe-substitution-3x3x3", "Au"),
                                      ("Al-interstitial-3x3x3", "C")])
def test_shipped_point_defect_supercells_match_their_names(key, kind, al_crystal, fe_crystal):
    spec = _sets()[key]
    assert (SHIPPED_SPECIMENS / f"{key}.seed0.extxyz").is_file()
    parent = al_crystal if spec.material == "Al" else fe_crystal
    atoms, meta = cached_unit(spec, parent, 0, None)
    n = np.array(spec.param["supercell"])
    n_sites = len(parent.atoms) * int(np.prod(n))
    assert meta["origin"].startswith("shipped")
    np.testing.assert_allclose(np.asarray(atoms.cell), np.asarray(parent.atoms.cell) * n[:, None], atol=1e-6)
    symbols = atoms.get_chemical_symbols()
    if kind == "vacancy":
        assert len(atoms) == n_sites - 1 and set(symbols) == {spec.material}
    elif kind == "C":
        assert len(atoms) == n_sites + 1 and symbols.count("C") == 1
    else:
        assert len(atoms) == n_sites and symbols.count(kind) == 1
    assert meta["converged"] and 0 < meta["max_displacement_a"] < 0.3


@pytest.mark.parametrize("key", ["Al-thermal-md-100K", "Al-thermal-md-300K", "Fe-thermal-md-300K"])
def test_shipped_md_snapshots_are_thermal(key, al_crystal, fe_crystal):
    from sadpnet.defects.point import make_supercell
    from sadpnet.defects.thermal import debye_sigma_a, displacements_a

    spec = _sets()[key]
    parent = al_crystal if spec.material == "Al" else fe_crystal
    atoms, meta = cached_unit(spec, parent, 0, None)
    ref = make_supercell(parent, (3, 3, 3))
    d = displacements_a(ref, atoms)
    u_rms = float(np.sqrt(np.mean(d**2)))
    assert u_rms == pytest.approx(meta["u_rms_a"], rel=1e-3)
    # an MD snapshot is about as disordered as the Debye model says (same order, not equal: anharmonic EAM)
    debye = float(np.sqrt(np.mean(debye_sigma_a(ref.numbers, spec.param["temperature_k"]) ** 2)))
    assert 0.5 * debye < u_rms < 2.0 * debye


def test_supercell_specimens_use_the_paper_repeats_and_no_debye_waller_for_snapshots():
    sets = _sets()
    spec, opts = build_source(sets["Al-thermal-md-300K"], Grid.quick())
    assert spec.repeats == (10, 10, 10) and opts == {"engine": "cell", "debye_waller": False}
    spec, opts = build_source(sets["Fe-vacancy-3x3x3"], Grid.quick())
    assert spec.repeats == (10, 10, 10) and opts["debye_waller"] is True
    assert spec.unit_in_parent_cells == (3, 3, 3)


def test_shuffled_sets_reuse_the_supercell_and_simulate_atom_by_atom():
    sets = _sets()
    shuffled = [s for s in sets.values() if s.shuffled]
    periodic = [s for s in sets.values()
                if s.defect in ("thermal-md", "thermal-debye", "vacancy", "substitution", "interstitial")]
    assert {s.base.key for s in shuffled} == {s.key for s in periodic}
    # the random blocks answer the same paper row as the periodic set they are made from
    assert all(s.paper_row == s.base.paper_row and s.family.endswith("-shuffled") for s in shuffled)
    assert all(s.periodic_construction for s in periodic) and not any(s.periodic_construction for s in shuffled)
    base, _ = build_source(sets["Fe-vacancy-3x3x3"], Grid.quick())
    spec, opts = build_source(sets["Fe-vacancy-3x3x3-shuffled"], Grid.quick())
    assert opts == {"engine": "atoms", "debye_waller": True} and spec.metadata["tiling"] == "shuffled"
    assert spec.n_atoms == base.n_atoms == 53 * 1000
    assert spec.metadata["origin"].startswith("shipped")  # the same relaxed supercell as the periodic set
    _, opts = build_source(sets["Al-thermal-md-300K-shuffled"], Grid.quick())
    assert opts["debye_waller"] is False


def test_random_debye_blocks_are_independent_snapshots():
    """Every 3x3x3 block of the random-blocks Debye set is its own Debye snapshot: no two blocks alike."""
    sets = _sets()
    g = Grid.quick()
    grid = Grid(g.voltages_kv, g.camera_lengths_mm, g.zone_axes, 1, supercell_repeats=(2, 2, 2))
    spec, opts = build_source(sets["Fe-thermal-debye-300K-shuffled"], grid)
    assert opts == {"engine": "atoms", "debye_waller": False}
    assert spec.metadata["realisations"] == 8 and spec.metadata["tiles"] == [2, 2, 2]
    n = 54  # Fe 3x3x3 atoms per block
    blocks = spec.unit.positions.reshape(8, n, 3)
    # displacements from the nearest bcc site: Debye-sized everywhere, and different in every block
    a0 = float(spec.parent.atoms.cell[0, 0])
    d = blocks - np.round(blocks / (a0 / 2)) * (a0 / 2)
    rms = float(np.sqrt(np.mean(d ** 2)))
    assert 0.03 < rms < 0.2
    sorted_d = np.sort(np.linalg.norm(d, axis=2), axis=1)
    assert len({tuple(np.round(x, 6)) for x in sorted_d}) == 8


def test_patterns_are_cached_per_set_grid_and_seed(tmp_path):
    from sadpnet.study.testsets import simulate_set

    spec = _sets()["Fe-strain-shear-0.0200"]
    g = Grid.quick(seed=0, patterns_per_set=2)
    grid = Grid(g.voltages_kv, g.camera_lengths_mm, g.zone_axes, 2, size_px=64, cells=(6, 6, 4),
                detector_pixel_size_mm=0.4)
    first = simulate_set(spec, grid, 0, tmp_path)
    again = simulate_set(spec, grid, 0, tmp_path)
    assert not first.from_cache and again.from_cache
    np.testing.assert_array_equal(first.images, again.images)
    assert again.points == first.points and again.options == first.options
    other_seed = simulate_set(spec, grid, 1, tmp_path)
    assert not other_seed.from_cache
    assert not simulate_set(spec, grid, 0, tmp_path, rebuild=True).from_cache
