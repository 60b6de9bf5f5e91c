"""Lattice geometry: reciprocal lattice, zone axes, and the orientation of a crystal in the microscope.

Conventions (also in ``docs/conventions.md``):

* Reciprocal vectors carry no 2 pi: the rows of ``reciprocal_basis(cell)`` are b_i with a_i . b_j = delta_ij,
  and |g_hkl| = 1/d_hkl in 1/A.
* The *lab frame* has z along the zone axis [uvw] (u a + v b + w c), pointing from the specimen towards
  the electron source; the beam travels along -z. The Ewald sphere passes through the origin with its
  centre at +k z, so a point g is excited when its excitation error ``s = g_z - |g|^2 / (2 k)`` is 0.
* The lab x axis (detector "right") lies along the *reference reflection*: the shortest reciprocal-lattice
  vector h (integer hkl, of the lattice, not of the structure) with h . [uvw] = 0; ties are broken by taking the
  largest (h, k, l) in lexicographic order. y = z x x. An optional in-plane rotation turns the crystal
  about z (counter-clockwise seen from the source), and an optional tilt (mrad, about lab x then lab y) tips
  the zone axis off the beam.
"""

from __future__ import annotations

import itertools
import math
from functools import reduce

import numpy as np

from sadpnet.errors import InputError


def reciprocal_basis(cell) -> np.ndarray:
    """Rows b1, b2, b3 (1/A, no 2 pi) of the reciprocal lattice of ``cell`` (rows a1, a2, a3 in A)."""
    return np.linalg.inv(np.asarray(cell, dtype=float)).T


def d_spacing_a(cell, hkl) -> np.ndarray:
    """Interplanar spacing d_hkl in A for Miller indices ``hkl`` (shape (3,) or (n, 3))."""
    g = np.asarray(hkl, dtype=float) @ reciprocal_basis(cell)
    return 1.0 / np.linalg.norm(g, axis=-1)


def _gcd3(uvw) -> int:
    return reduce(math.gcd, (abs(int(x)) for x in uvw))


def check_zone_axis(uvw) -> tuple[int, int, int]:
    """Validate a zone axis [uvw] (three integers, not all zero); returns it as a tuple of ints."""
    try:
        vals = [float(x) for x in uvw]
    except (TypeError, ValueError):
        raise InputError(f"zone axis must be three integers, got {uvw!r}", "zone") from None
    if len(vals) != 3 or any(v != int(v) for v in vals):
        raise InputError(f"zone axis must be three integers, got {list(uvw)!r}", "zone")
    t = tuple(int(v) for v in vals)
    if t == (0, 0, 0):
        raise InputError("zone axis [0 0 0] is not a direction", "zone")
    return t  # type: ignore[return-value]


def _standard_cubic_zone_axes() -> tuple[tuple[int, int, int], ...]:
    """The 13 primitive [uvw] with 0 <= u <= v <= w <= 3, plus the 3 next-lowest-index ones, sorted by
    u^2 + v^2 + w^2 (then lexicographically): 16 axes from [001] to [233]."""
    axes = [t for t in itertools.product(range(4), repeat=3)
            if t[0] <= t[1] <= t[2] and t[2] > 0 and _gcd3(t) == 1]
    extra = [t for t in itertools.product(range(5), repeat=3)
             if t[0] <= t[1] <= t[2] == 4 and _gcd3(t) == 1]
    extra.sort(key=lambda t: (sum(x * x for x in t), t))
    axes += extra[:3]
    axes.sort(key=lambda t: (sum(x * x for x in t), t))
    return tuple(axes)


#: The default 16 zone axes of the cubic grid, [001] ... [233] (see `_standard_cubic_zone_axes`).
STANDARD_CUBIC_ZONE_AXES: tuple[tuple[int, int, int], ...] = _standard_cubic_zone_axes()


def lowest_index_zone_axes(cell, n: int = 16) -> list[tuple[int, int, int]]:
    """The ``n`` shortest distinct zone axes [uvw] (|u|,|v|,|w| <= 4, primitive, one of each +-pair) of
    any lattice, sorted by the length of u a + v b + w c (ties: lexicographic, larger first)."""
    cell = np.asarray(cell, dtype=float)
    cands = []
    for t in itertools.product(range(-4, 5), repeat=3):
        if t == (0, 0, 0) or _gcd3(t) != 1:
            continue
        if tuple(-x for x in t) > t:  # keep one of each pair, the lexicographically larger
            continue
        cands.append((round(float(np.linalg.norm(np.array(t) @ cell)), 6), tuple(-x for x in t), t))
    cands.sort()
    return [c[2] for c in cands[:n]]


def reference_reflection(cell, uvw) -> tuple[int, int, int]:
    """The shortest lattice vector h in the zero-order Laue zone of [uvw] (h . uvw = 0); ties broken by
    the largest (h, k, l) lexicographically. It defines the detector x axis."""
    uvw = np.array(check_zone_axis(uvw))
    b = reciprocal_basis(cell)
    r = 6
    hkl = np.array(list(itertools.product(range(-r, r + 1), repeat=3)))
    hkl = hkl[(hkl @ uvw == 0) & np.any(hkl != 0, axis=1)]
    g = np.linalg.norm(hkl @ b, axis=1)
    gmin = g.min()
    best = hkl[g <= gmin * (1 + 1e-6)]
    return tuple(int(x) for x in max(map(tuple, best)))  # type: ignore[return-value]


def rotation_matrix(axis, angle_rad: float) -> np.ndarray:
    """Right-handed rotation by ``angle_rad`` about ``axis`` (Rodrigues)."""
    axis = np.asarray(axis, dtype=float)
    axis = axis / np.linalg.norm(axis)
    x, y, z = axis
    c, s = math.cos(angle_rad), math.sin(angle_rad)
    C = 1 - c
    return np.array([[c + x * x * C, x * y * C - z * s, x * z * C + y * s],
                     [y * x * C + z * s, c + y * y * C, y * z * C - x * s],
                     [z * x * C - y * s, z * y * C + x * s, c + z * z * C]])


def orientation_matrix(cell, uvw, inplane_rotation_deg: float = 0.0,
                       tilt_mrad: tuple[float, float] = (0.0, 0.0)) -> np.ndarray:
    """3x3 rotation U taking Cartesian crystal coordinates to the lab frame (``r_lab = U @ r_cart``).

    Args:
        cell: rows a1, a2, a3 in A (Cartesian crystal frame).
        uvw: zone axis [uvw] in the direct lattice of ``cell``; it becomes lab +z.
        inplane_rotation_deg: rotation of the crystal about lab z, degrees (counter-clockwise from the source).
        tilt_mrad: tilt of the crystal about lab x, then about lab y, mrad.
    """
    cell = np.asarray(cell, dtype=float)
    uvw = check_zone_axis(uvw)
    z = np.array(uvw, dtype=float) @ cell
    z /= np.linalg.norm(z)
    x = np.array(reference_reflection(cell, uvw), dtype=float) @ reciprocal_basis(cell)
    x -= z * (x @ z)
    x /= np.linalg.norm(x)
    y = np.cross(z, x)
    U = np.vstack([x, y, z])  # rows: lab axes in crystal Cartesian coordinates
    return rotate_and_tilt(U, inplane_rotation_deg, tilt_mrad)


def rotate_and_tilt(U: np.ndarray, inplane_rotation_deg: float = 0.0,
                    tilt_mrad: tuple[float, float] = (0.0, 0.0)) -> np.ndarray:
    """Compose a zone-axis frame ``U`` with an in-plane rotation about lab z (degrees, counter-clockwise
    from the source), then a tilt about lab x and lab y (mrad), as `orientation_matrix` does."""
    if inplane_rotation_deg:
        U = rotation_matrix([0, 0, 1], math.radians(inplane_rotation_deg)) @ U
    tx, ty = tilt_mrad
    if tx:
        U = rotation_matrix([1, 0, 0], tx * 1e-3) @ U
    if ty:
        U = rotation_matrix([0, 1, 0], ty * 1e-3) @ U
    return U


def integer_triple(v, what: str) -> tuple[int, int, int]:
    """Three integers, not all zero (Miller indices, directions); `InputError` naming ``what`` otherwise."""
    try:
        t = tuple(float(x) for x in v)
    except (TypeError, ValueError):
        t = ()
    if len(t) != 3 or any(x != int(x) for x in t) or not any(t):
        raise InputError(f"{what} must be three integers, not all zero, got {v!r}", what)
    return tuple(int(x) for x in t)  # type: ignore[return-value]
