"""Specimens handed to the simulator are of the paper's size and keep the parent crystal."""

import numpy as np

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
