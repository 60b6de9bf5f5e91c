"""Oriented blocks of a crystal: lattice translations, periods along directions, atoms inside a rotated box.

Shared by `sadpnet.defects.dislocation` and `sadpnet.defects.twin`. A *frame* is a (3, 3) array whose rows
are orthonormal axes e1, e2, e3 written in the crystal's Cartesian frame; frame coordinates are
p = r @ frame.T.
"""

from __future__ import annotations

import itertools
import math
from fractions import Fraction

import numpy as np

#: Closest approach accepted between two atoms, A.
MIN_DISTANCE_A = 1.5


def reduce_int(v) -> tuple[int, ...]:
    """Integer vector divided by the gcd of its entries."""
    g = 0
    for x in v:
        g = math.gcd(g, abs(int(x)))
    return tuple(int(x) // max(g, 1) for x in v)


def integer_direction(unit_vector, max_index: int = 12) -> tuple[int, int, int]:
    """Smallest integer [uvw] parallel to ``unit_vector`` (cubic crystal frame), up to ``max_index``."""
    v = np.asarray(unit_vector, dtype=float)
    for scale in range(1, max_index * 4):
        w = v / np.abs(v).max() * scale
        r = np.round(w)
        if np.allclose(w, r, atol=1e-6):
            return reduce_int(r.astype(int))  # type: ignore[return-value]
    raise ValueError(f"no small integer direction along {v}")


def is_translation(crystal, frac, tol: float = 1e-4) -> bool:
    """Whether ``frac`` (conventional-cell fractions) maps the structure of ``crystal`` onto itself."""
    sp = crystal.atoms.get_scaled_positions()
    shifted = (sp + np.asarray(frac, dtype=float)) % 1.0
    nums = crystal.atoms.numbers
    for p, z in zip(shifted, nums):
        d = (sp[nums == z] - p + 0.5) % 1.0 - 0.5
        if np.min(np.abs(d).max(axis=1)) > tol:
            return False
    return True


def period_along(crystal, direction) -> float:
    """Shortest lattice translation along integer ``direction`` [uvw], as a multiple k of [uvw] (k = 1/6 ... 1)."""
    for k in (Fraction(1, 6), Fraction(1, 4), Fraction(1, 3), Fraction(1, 2), Fraction(1)):
        if is_translation(crystal, [float(k * x) for x in direction]):
            return float(k)
    return 1.0


def period_length_a(crystal, direction) -> float:
    """Length in A of the shortest lattice translation along integer ``direction``."""
    v = np.asarray(direction, dtype=float) @ np.asarray(crystal.atoms.cell)
    return period_along(crystal, direction) * float(np.linalg.norm(v))


def perfect_block(crystal, frame, lengths_a, origin_a=(0.0, 0.0, 0.0)):
    """Atoms of the perfect crystal in the box origin + [0, L1) x [0, L2) x [0, L3) (frame coordinates).

    Returns:
        (positions, numbers): positions (N, 3) in frame coordinates relative to ``origin_a``, A; atomic numbers (N,).
    """
    origin_a = np.asarray(origin_a, dtype=float)
    cell = np.asarray(crystal.atoms.cell)
    corners = np.array(list(itertools.product(*[(0.0, L) for L in lengths_a]))) + origin_a
    frac = corners @ frame @ np.linalg.inv(cell)
    lo = np.floor(frac.min(0)).astype(int) - 1
    hi = np.ceil(frac.max(0)).astype(int) + 1
    grid = np.stack(np.meshgrid(*[np.arange(a, b) for a, b in zip(lo, hi)], indexing="ij"), -1).reshape(-1, 3)
    sp = crystal.atoms.get_scaled_positions()
    pos_frac = (grid[:, None, :] + sp[None, :, :]).reshape(-1, 3)
    nums = np.tile(crystal.atoms.numbers, len(grid))
    p = pos_frac @ cell @ frame.T - origin_a
    eps = 1e-6
    inside = np.all((p >= -eps) & (p < np.asarray(lengths_a) - eps), axis=1)
    p, nums = p[inside], nums[inside]
    order = np.lexsort((p[:, 0], p[:, 1], p[:, 2]))
    return p[order], nums[order]


def min_distance_a(atoms, cutoff_a: float = 2 * MIN_DISTANCE_A) -> float:
    """Closest distance between two atoms (periodic images along periodic axes included), A."""
    from matscipy.neighbours import neighbour_list

    d = neighbour_list("d", atoms, cutoff_a)
    return float(d.min()) if len(d) else float("inf")
