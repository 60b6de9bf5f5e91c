"""Specimens handed to the simulator are of the paper's size and keep the parent crystal."""

import numpy as np
import pytest

from sadpnet.defects.point import vacancy
from sadpnet.defects.specimen import block_specimen, strained_specimen, supercell_specimen
from sadpnet.defects.strain import apply_strain
from sadpnet.defects.twin import build_twin


def test_supercell_specimen_covers_40_30_20(al_crystal):
    r = vacancy(al_crystal, (3, 3, 3))
    spec = supercell_specimen(r.atoms, al_crystal, r.supercell_size)
    assert spec.repeats == (14, 10, 7) and spec.unit_in_parent_cells == (3, 3, 3)
    assert all(rep * 3 >= c for rep, c in zip(spec.repeats, (40, 30, 20)))
    assert spec.parent is al_crystal and spec.n_atoms == 107 * 14 * 10 * 7


def test_strained_and_block_specimens(al_crystal):
    s = apply_strain(al_crystal, [0.03, 0, 0, 0, 0, 0])
    spec = strained_specimen(s.crystal)
    assert spec.repeats == (40, 30, 20) and spec.parent is s.crystal and spec.metadata["defect"] == "strain"
    t = build_twin(al_crystal, (1, 1, 1), (1, 1, -2), cells=(40, 30, 20))
    b = block_specimen(t.atoms, al_crystal, name="Al twin")
    assert b.repeats == (1, 1, 1) and b.unit_in_parent_cells is None and b.parent is al_crystal
    # specimen-sized: about 40 x 30 x 20 cells of Al (96,000 atoms)
    assert 0.9 * 96_000 < b.n_atoms < 1.15 * 96_000
    assert np.all(b.size_a > 80)


def _amplitude(atoms, hkl_parent, a0):
    """Kinematic amplitude sum_j exp(2 pi i q.r_j) at q = hkl / a0 (point scatterers, cubic parent)."""
    q = np.asarray(hkl_parent, dtype=float) / a0
    return np.exp(2j * np.pi * atoms.positions @ q).sum()


def test_shuffled_repeats_keep_bragg_peaks_and_remove_the_superlattice(al_crystal):
    """One vacancy per 2x2x2 Al supercell: repeated identically, the vacancies form a simple-cubic superlattice
    and the fcc-forbidden 100 reflection appears with amplitude N_tiles; shuffled, their phases are random and
    the amplitude falls to about sqrt(N_tiles), while the Bragg reflections (200, 220) are unchanged: every tile
    is the same supercell moved by a parent-lattice vector."""
    from sadpnet.defects import point
    from sadpnet.defects.specimen import shuffled_supercell_specimen, supercell_specimen

    a0 = al_crystal.atoms.cell.cellpar()[0]
    unit = point.vacancy(al_crystal, (2, 2, 2)).atoms
    cells = (10, 10, 10)
    periodic = supercell_specimen(unit, al_crystal, (2, 2, 2), cells=cells).all_atoms()
    sh = shuffled_supercell_specimen(unit, al_crystal, (2, 2, 2), cells=cells, seed=3)
    shuffled = sh.unit
    n_tiles = 125
    assert sh.repeats == (1, 1, 1) and sh.metadata["tiling"] == "shuffled" and sh.metadata["tiles"] == [5, 5, 5]
    assert len(shuffled) == len(periodic) == n_tiles * 31
    np.testing.assert_allclose(np.asarray(shuffled.cell), np.asarray(periodic.cell), atol=1e-9)
    for hkl in ((2, 0, 0), (2, 2, 0), (1, 1, 1)):
        assert abs(_amplitude(shuffled, hkl, a0)) == pytest.approx(abs(_amplitude(periodic, hkl, a0)), rel=1e-6)
    sl_periodic = abs(_amplitude(periodic, (1, 0, 0), a0))
    sl_shuffled = abs(_amplitude(shuffled, (1, 0, 0), a0))
    assert sl_periodic == pytest.approx(n_tiles, rel=1e-6)
    assert sl_shuffled < 0.3 * sl_periodic  # about sqrt(125) = 11 against 125
    # every atom sits on a site of the perfect fcc lattice (the unrelaxed vacancy supercell), none twice
    frac = np.round(shuffled.positions / (a0 / 2)).astype(int)
    assert np.allclose(frac * (a0 / 2), shuffled.positions, atol=1e-6)
    assert len({tuple(f) for f in frac}) == len(frac)
    # seeded
    again = shuffled_supercell_specimen(unit, al_crystal, (2, 2, 2), cells=cells, seed=3).unit
    other = shuffled_supercell_specimen(unit, al_crystal, (2, 2, 2), cells=cells, seed=4).unit
    assert np.array_equal(again.positions, shuffled.positions)
    assert not np.array_equal(other.positions, shuffled.positions)
