"""What the simulator's `atoms` engine shows for defected specimens (the paper's fingerprints).

* a twinned Al block on [1 -1 0] (the (111) boundary edge-on) gives the doubled spot set: the mirror image
  of every matrix spot across the (111) trace, where the perfect crystal has nothing;
* an array of edge dislocations spreads intensity off the Bragg spots (diffuse streaks) along the line
  direction [1 1 -2], but hardly on [1 -1 0], where every reflection has g . b = 0 (the invisibility rule);
* a 300 K snapshot weakens high-order spots by the Debye-Waller factor of its own displacements.
"""

import numpy as np
import pytest

from sadpnet.crystal import orientation_matrix, reciprocal_basis
from sadpnet.defects.dislocation import build_dislocation_array
from sadpnet.defects.point import make_supercell
from sadpnet.defects.specimen import block_specimen, supercell_specimen
from sadpnet.defects.thermal import debye_snapshots
from sadpnet.defects.twin import build_twin
from sadpnet.simulate.atoms_engine import simulate_atoms
from sadpnet.simulate.microscope import Microscope
from sadpnet.crystal.specimen import Specimen

MIC = Microscope(voltage_kv=200, camera_length_mm=300)


def _window(image, pixel_xy, r=2):
    c, row = int(round(pixel_xy[0])), int(round(pixel_xy[1]))
    return image[max(row - r, 0):row + r + 1, max(c - r, 0):c + r + 1].sum()


def test_twinned_al_doubles_spots_on_110(al_crystal):
    twin = build_twin(al_crystal, (1, 1, 1), (1, 1, -2), cells=(12, 10, 8))
    zone = (1, -1, 0)
    assert zone in twin.edge_on_zone_axes
    pt = simulate_atoms(block_specimen(twin.atoms, al_crystal), MIC, zone, debye_waller=False)
    p0 = simulate_atoms(Specimen.from_crystal(al_crystal, (12, 10, 8)), MIC, zone, debye_waller=False)
    n = MIC.detector_pixels
    U = orientation_matrix(np.asarray(al_crystal.atoms.cell), zone)
    rec = reciprocal_basis(np.asarray(al_crystal.atoms.cell))
    normal = np.ones(3) / np.sqrt(3)
    mirror = np.eye(3) - 2 * np.outer(normal, normal)
    spots = [s for s in p0.spots if s.intensity > 0.05]
    matrix_px = np.array([s.pixel_xy for s in spots])
    top_t = max(_window(pt.intensity, s.pixel_xy) for s in spots)
    top_0 = max(_window(p0.intensity, s.pixel_xy) for s in spots)
    extra = 0
    for s in spots:
        g = U @ (mirror @ (np.array(s.hkl) @ rec))
        px = (n / 2 + g[0] / MIC.pixel_size_inv_a, n / 2 - g[1] / MIC.pixel_size_inv_a)
        if np.min(np.linalg.norm(matrix_px - np.array(px), axis=1)) < 3:
            continue  # the mirror image falls on a matrix spot (reflections in the boundary plane)
        extra += 1
        twin_spot = _window(pt.intensity, px) / top_t
        matrix_spot = _window(pt.intensity, s.pixel_xy) / top_t
        assert twin_spot > 0.5 * matrix_spot  # the twin spot is about as strong as its matrix partner
        assert _window(p0.intensity, px) / top_0 < 1e-4  # and absent from the perfect crystal
    assert extra >= 8


def _diffuse_fraction(pattern, reference_spots, r=3):
    n = pattern.intensity.shape[0]
    mask = np.zeros((n, n), bool)
    for s in reference_spots:
        c, row = int(round(s.pixel_xy[0])), int(round(s.pixel_xy[1]))
        mask[max(row - r, 0):row + r + 1, max(c - r, 0):c + r + 1] = True
    return pattern.intensity[~mask].sum() / pattern.intensity.sum()


def test_dislocation_array_spreads_intensity_and_obeys_g_dot_b(al_crystal):
    d = build_dislocation_array(al_crystal, (1, 1, -2), (0.5, -0.5, 0), count=4, cells=(20, 14, 6))
    out = {}
    for zone in ((1, 1, -2), (1, -1, 0)):
        pd = simulate_atoms(block_specimen(d.atoms, al_crystal), MIC, zone, debye_waller=False)
        pr = simulate_atoms(block_specimen(d.reference, al_crystal), MIC, zone, debye_waller=False)
        out[zone] = _diffuse_fraction(pd, pr.spots) / _diffuse_fraction(pr, pr.spots)
    assert out[(1, 1, -2)] > 1.5
    assert out[(1, -1, 0)] < 1.3


def test_300k_snapshot_weakens_high_order_spots(al_crystal):
    cell = make_supercell(al_crystal, (3, 3, 3))
    th = debye_snapshots(cell, 300.0, 1, seed=2)
    ps = simulate_atoms(supercell_specimen(th.snapshots[0], al_crystal, (3, 3, 3)), MIC, (0, 0, 1), debye_waller=False)
    pp = simulate_atoms(supercell_specimen(cell, al_crystal, (3, 3, 3)), MIC, (0, 0, 1), debye_waller=False)
    hot = {s.hkl: s.intensity for s in ps.spots}
    cold = {s.hkl: s.intensity for s in pp.spots}
    a = al_crystal.lattice_parameters[0]

    def drop(hkl):  # intensity relative to (200), snapshot over perfect
        return (hot[hkl] / hot[(2, 0, 0)]) / (cold[hkl] / cold[(2, 0, 0)])

    for hkl in ((4, 0, 0), (4, 2, 0)):
        g2 = (np.sum(np.square(hkl)) - 4) / a**2
        expect = np.exp(-th.b_a2 * g2 / 2)  # Debye-Waller factor of the snapshot's own B, relative to (200)
        assert drop(hkl) < 0.85
        assert drop(hkl) == pytest.approx(expect, rel=0.15)
    assert drop((4, 0, 0)) < drop((2, 2, 0))
