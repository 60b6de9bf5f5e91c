"""The symmetry a strained crystal's pattern can show: a dataset's ``visible_space_group`` label.

A uniform strain lowers a cubic crystal's space group (normal strain along a: Fm-3m -> I4/mmm), but on many
zone axes the pattern does not show it: the zero-order Laue-zone net of the strained cell is the cubic net
up to a scale (hidden by the calibration error) and an in-plane rotation (hidden by the unknown specimen
orientation) within a fraction of a pixel. Labelling every such pattern with the lowered group teaches a
network that cubic-looking patterns are most often *not* cubic (docs/study.md, "Why the extended-symmetry
model answers I4/mmm for everything").

`net_distortion_inv_a` measures what is visible: the same reflections h of the parent and of the deformed
crystal (same cell indexing, `sadpnet.defects.strain` keeps it), projected on their zone-axis planes, are
matched by the best similarity (scale + rotation, a least-squares fit in complex coordinates); the largest
remaining displacement of a reflection inside the field is the distortion, in 1/A. `visible_space_group`
gives the deformed crystal's own space group where that distortion exceeds ``shift_inv_a``, the parent's
elsewhere. Defaults: half the shipped models' pixel (0.0266 1/A) and their field (64 px x 0.0266 1/A).
"""

from __future__ import annotations

import numpy as np

#: A spot moved by more than this (1/A) is visible: half of the shipped models' input pixel, 0.0266 1/A.
VISIBLE_SHIFT_INV_A = 0.0133
#: Reflections beyond this |g| (1/A) are outside the shipped models' input (64 px x 0.0266 1/A).
VISIBLE_G_MAX_INV_A = 1.70


def _plane_coordinates(cell: np.ndarray, zone_axis, hkl: np.ndarray) -> np.ndarray:
    """Complex in-plane coordinates (1/A) of reflections ``hkl`` on the plane normal to [uvw] of ``cell``; x along
    the first reflection, y = beam x x (the same handedness for every cell)."""
    from sadpnet.crystal import reciprocal_basis

    g = hkl @ reciprocal_basis(cell)
    e3 = np.asarray(zone_axis, dtype=float) @ cell
    e3 /= np.linalg.norm(e3)
    e1 = g[0] / np.linalg.norm(g[0])
    e2 = np.cross(e3, e1)
    return g @ e1 + 1j * (g @ e2)


def net_distortion_inv_a(parent, deformed, zone_axis, g_max_inv_a: float = VISIBLE_G_MAX_INV_A, *,
                         min_intensity: float = 0.01) -> float:
    """Largest displacement (1/A) of a zero-order Laue-zone reflection of ``deformed`` from the same reflection
    of ``parent`` on ``zone_axis``, after the best scale and in-plane rotation.

    Args:
        parent, deformed: `sadpnet.crystal.Crystal` with the same cell indexing (e.g. a crystal and its
            `sadpnet.defects.strain.apply_strain` result).
        zone_axis: [uvw] in each crystal's own direct lattice.
        g_max_inv_a: only reflections of ``deformed`` with |g| up to this (1/A) count (the pattern's field).
        min_intensity: reflections weaker than this fraction of the strongest (kinematic, ``deformed``) are
            left out.

    Returns:
        The distortion in 1/A (0.0 when fewer than two reflections are in the field: nothing to compare).
    """
    from sadpnet.simulate.zolz import zolz_reflections

    hkl, _ = zolz_reflections(deformed, zone_axis, g_max_inv_a=g_max_inv_a, min_intensity=min_intensity,
                              debye_waller=False)
    if len(hkl) < 2:
        return 0.0
    zp = _plane_coordinates(np.asarray(parent.atoms.cell, float), zone_axis, hkl)
    zd = _plane_coordinates(np.asarray(deformed.atoms.cell, float), zone_axis, hkl)
    s = np.vdot(zp, zd) / np.vdot(zp, zp)  # the similarity (complex scale x rotation) that fits best
    return float(np.abs(s * zp - zd).max())


def visible_space_group(parent, deformed, zone_axis, *, shift_inv_a: float = VISIBLE_SHIFT_INV_A,
                        g_max_inv_a: float = VISIBLE_G_MAX_INV_A, parent_group: int | None = None) -> int:
    """``deformed.space_group_number`` where its pattern on ``zone_axis`` visibly differs from the parent's
    (`net_distortion_inv_a` > ``shift_inv_a``, 1/A), else the parent's label: ``parent_group`` (e.g. the corpus's
    group, where spglib at the loader's tolerance finds a lower one), by default ``parent.space_group_number``.
    The deformed crystal itself is the parent (same group) when it was not deformed."""
    label = int(parent.space_group_number if parent_group is None else parent_group)
    if int(deformed.space_group_number) == int(parent.space_group_number):
        return label
    visible = net_distortion_inv_a(parent, deformed, zone_axis, g_max_inv_a) > shift_inv_a
    return int(deformed.space_group_number) if visible else label
