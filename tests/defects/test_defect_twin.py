"""Twin boundaries: mirror images across the plane, coherence, Sigma 3, refusals."""

import numpy as np
import pytest
from scipy.spatial import cKDTree

from sadpnet.defects.block import min_distance_a
from sadpnet.defects.twin import build_twin, reflection_sigma
from sadpnet.errors import InputError


def _check_mirror(crystal, r):
    frame = r.frame
    p = r.atoms.positions @ frame.T  # frame coordinates: e3 normal to the plane
    zb = r.boundary_a
    a_side = p[r.grain == 0]
    b_side = p[r.grain == 1]
    # every atom of grain B, mirrored back across the plane, sits on a site of the perfect parent lattice
    back = b_side.copy()
    back[:, 2] = 2 * zb - back[:, 2]
    frac = (back @ frame) @ np.linalg.inv(np.asarray(crystal.atoms.cell))
    sp = crystal.atoms.get_scaled_positions()
    d = ((frac[:, None, :] - sp[None, :, :]) + 0.5) % 1.0 - 0.5
    assert np.abs(d).max(axis=2).min(axis=1).max() < 1e-6
    # near the boundary the two sides are mirror images of each other, atom for atom
    near = 6.0
    a_near = a_side[(a_side[:, 2] > zb - near) & (a_side[:, 2] < zb - 1e-6)]
    b_near = b_side[b_side[:, 2] < zb + near]
    mirrored = b_near.copy()
    mirrored[:, 2] = 2 * zb - mirrored[:, 2]
    dist, _ = cKDTree(a_near).query(mirrored)
    assert len(b_near) > 20 and dist.max() < 1e-6
    # the boundary layer itself is shared: it belongs to grain A and lies on the plane
    assert np.sum(np.abs(a_side[:, 2] - zb) < 1e-6) > 0


def test_al_sigma3_twin(al_crystal):
    r = build_twin(al_crystal, (1, 1, 1), (1, 1, 2), cells=(10, 8, 8))
    assert r.direction == (1, 1, -2) and r.requested == ((1, 1, 1), (1, 1, 2)) and r.sigma == 3
    _check_mirror(al_crystal, r)
    assert min_distance_a(r.atoms) > 1.5
    # fcc (111) twin: stacking ABC|CBA; the nearest-neighbour distance is kept across the boundary
    assert min_distance_a(r.atoms) == pytest.approx(al_crystal.lattice_parameters[0] / np.sqrt(2), abs=1e-6)
    assert (1, -1, 0) in r.edge_on_zone_axes


@pytest.mark.parametrize("plane,direction", [((1, 1, 2), (1, 1, -1)), ((1, 2, 1), (1, 1, 1))])
def test_fe_bcc_twin(fe_crystal, plane, direction):
    r = build_twin(fe_crystal, plane, direction, cells=(8, 6, 8))
    assert r.sigma == 3 and sum(p * d for p, d in zip(r.plane, r.direction)) == 0
    _check_mirror(fe_crystal, r)
    assert min_distance_a(r.atoms) > 1.5


def test_fraction_moves_the_boundary(al_crystal):
    r = build_twin(al_crystal, (1, 1, 1), (1, -1, 0), fraction=0.3, cells=(6, 6, 10))
    height = r.info["block_a"][2]
    assert abs(r.boundary_a / height - 0.3) < 0.05
    _check_mirror(al_crystal, r)
    assert min_distance_a(r.atoms) > 1.5


def test_twin_refusals(al_crystal):
    assert reflection_sigma((1, 1, 1)) == 3 and reflection_sigma((1, 0, 0)) == 1
    with pytest.raises(InputError, match="mirror plane of the crystal"):
        build_twin(al_crystal, (1, 1, 0), (0, 0, 1), cells=(4, 4, 4))
    with pytest.raises(InputError, match="not a twin mirror"):
        build_twin(al_crystal, (5, 7, 9), (1, 1, -4), cells=(4, 4, 4))
    with pytest.raises(InputError, match="fraction"):
        build_twin(al_crystal, fraction=1.0)
    from sadpnet.crystal import read_cif
    from sadpnet.resources import example_cif

    with pytest.raises(InputError, match="cubic"):
        build_twin(read_cif(example_cif("Mg")), (0, 0, 1), (1, 0, 0))
