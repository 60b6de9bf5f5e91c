"""Reflection conditions of a space group: which hkl are systematically absent, whatever the atoms.

A reflection h is systematically absent when some symmetry operation (R, t) of the group (standard setting,
centring translations included) leaves it invariant (h R = h) while h . t is not an integer: the two atoms
the operation relates then scatter in antiphase. These are the International Tables' conditions (fcc: h, k,
l unmixed; bcc: h + k + l even; Fd-3m: 0kl with k + l = 4n; P4_132: h00 with h = 4n ...), derived from the
operations that spglib's database holds, so they hold for any of the 230 groups.

Example:
    >>> allowed_reflections(225, [[1, 0, 0], [1, 1, 1], [2, 0, 0]])
    array([False,  True,  True])
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from sadpnet.errors import InputError


@lru_cache(maxsize=None)
def _standard_hall_number(space_group: int) -> int:
    """spglib's first Hall number of a space group (its standard setting)."""
    import spglib
    import spglib.error

    spglib.error.OLD_ERROR_HANDLING = False  # spglib raises instead of warning (as sadpnet.crystal.cif sets it)
    for hall in range(1, 531):
        if spglib.get_spacegroup_type(hall).number == space_group:
            return hall
    raise InputError(f"space group {space_group} is not one of 1-230", "space_group")


@lru_cache(maxsize=None)
def _operations(space_group: int) -> tuple[np.ndarray, np.ndarray]:
    import spglib
    import spglib.error

    if not 1 <= int(space_group) <= 230:
        raise InputError(f"space group {space_group} is not one of 1-230", "space_group")
    spglib.error.OLD_ERROR_HANDLING = False
    sym = spglib.get_symmetry_from_database(_standard_hall_number(int(space_group)))
    # float rotations: h R as a float matrix product is exact for Miller indices and 10x faster than an
    # integer einsum (the spot indexing builds 110 zone templates per process)
    return np.asarray(sym["rotations"], dtype=float), np.asarray(sym["translations"], dtype=float)


def allowed_reflections(space_group: int, hkl) -> np.ndarray:
    """Which reflections the space group allows (not systematically absent).

    Args:
        space_group: International number, 1-230 (standard setting; for cubic groups the conventional cell).
        hkl: (N, 3) integer Miller indices in the conventional cell.

    Returns:
        (N,) bool, True where the reflection is allowed. The origin (000) counts as allowed.
    """
    rot, trans = _operations(int(space_group))
    h = np.atleast_2d(np.asarray(hkl, dtype=int))
    invariant = np.all(h.astype(float) @ rot == h[None], axis=2)  # (ops, N): h R = h
    phase = trans @ h.T
    return ~np.any(invariant & (np.abs(phase - np.round(phase)) > 1e-6), axis=0)
