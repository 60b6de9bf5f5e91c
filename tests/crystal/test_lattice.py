import itertools

import numpy as np
import pytest

from sadpnet.crystal import (
    STANDARD_CUBIC_ZONE_AXES,
    check_zone_axis,
    d_spacing_a,
    lowest_index_zone_axes,
    orientation_matrix,
    reciprocal_basis,
    reference_reflection,
)
from sadpnet.errors import InputError


def test_sixteen_standard_zone_axes_from_001_to_233():
    axes = STANDARD_CUBIC_ZONE_AXES
    assert len(axes) == 16 and len(set(axes)) == 16
    assert axes[0] == (0, 0, 1) and axes[-1] == (2, 3, 3)
    base = {t for t in itertools.product(range(4), repeat=3) if t[0] <= t[1] <= t[2] and t[2] > 0
            and np.gcd.reduce(t) == 1}
    assert len(base) == 13 and base <= set(axes)
    assert set(axes) - base == {(0, 1, 4), (1, 1, 4), (1, 2, 4)}


def test_reciprocal_basis_and_d_spacing_hexagonal():
    a, c = 3.2094, 5.2103
    cell = np.array([[a, 0, 0], [-a / 2, a * np.sqrt(3) / 2, 0], [0, 0, c]])
    b = reciprocal_basis(cell)
    assert np.allclose(cell @ b.T, np.eye(3))
    # textbook hexagonal d-spacing
    for h, k, l in [(1, 0, 0), (0, 0, 2), (1, 0, 1), (1, 1, 0), (1, 0, 3)]:
        inv_d2 = 4 / 3 * (h * h + h * k + k * k) / a**2 + l * l / c**2
        assert d_spacing_a(cell, (h, k, l)) == pytest.approx(1 / np.sqrt(inv_d2), rel=1e-12)


@pytest.mark.parametrize("uvw", STANDARD_CUBIC_ZONE_AXES)
def test_orientation_puts_zone_axis_on_z_and_reference_on_x(uvw):
    cell = np.eye(3) * 4.05
    U = orientation_matrix(cell, uvw)
    assert np.allclose(U @ U.T, np.eye(3)) and np.linalg.det(U) == pytest.approx(1.0)
    z = U @ (np.array(uvw) @ cell)
    assert np.allclose(z / np.linalg.norm(z), [0, 0, 1])
    h = reference_reflection(cell, uvw)
    assert np.dot(h, uvw) == 0
    g = U @ (np.array(h) @ reciprocal_basis(cell))
    assert g[0] > 0 and abs(g[1]) < 1e-12 and abs(g[2]) < 1e-12


def test_inplane_rotation_and_tilt():
    cell = np.eye(3) * 4.05
    U0 = orientation_matrix(cell, (0, 0, 1))
    U = orientation_matrix(cell, (0, 0, 1), inplane_rotation_deg=30.0)
    g = U @ np.array([1 / 4.05, 0, 0])
    assert np.degrees(np.arctan2(g[1], g[0])) == pytest.approx(30.0)
    Ut = orientation_matrix(cell, (0, 0, 1), tilt_mrad=(10.0, 0.0))
    z = Ut @ np.array([0, 0, 1.0])
    assert np.degrees(np.arccos(z[2])) == pytest.approx(np.degrees(0.010), rel=1e-9)
    assert np.allclose(U0, np.eye(3))


@pytest.mark.parametrize("bad", [(0, 0, 0), (1, 0), (1.5, 0, 0), ("a", 0, 1)])
def test_bad_zone_axis(bad):
    with pytest.raises(InputError):
        check_zone_axis(bad)


def test_lowest_index_zone_axes_any_lattice():
    cell = np.diag([3.0, 4.0, 5.0])
    axes = lowest_index_zone_axes(cell, 6)
    assert axes[:2] == [(1, 0, 0), (0, 1, 0)]
    lengths = [np.linalg.norm(np.array(t) @ cell) for t in axes]
    assert lengths == sorted(lengths) and lengths[2] == 5.0  # [001], [110] and [1-10] all 5 A long
    assert len(set(axes)) == 6 and (0, 0, 1) in axes
