"""The `cell` engine: kinematic SADP of a periodic block of N1 x N2 x N3 cells, rendered spot by spot.

Physics (the same quantity as the `atoms` engine, see docs/physics.md):

    intensity[row, col] = integral over the pixel of I(q) d^2q,   I(q) = |F_cell(g)|^2 |D(q)|^2,

with q on the Ewald sphere (q_z = k - sqrt(k^2 - q_x^2 - q_y^2), lab frame), g the reciprocal-lattice point
nearest to q, F_cell(q) ~ F(g) A(|q|) / A(|g|) (A = sum_j occ_j f_j DW_j: the atoms' fall-off with |q|, some
7 % per pixel at (200) of Al, taken to first order in |q| - |g|; the phases within the cell vary much more
slowly), and D(q) = prod_i sin(pi N_i q.a_i) / sin(pi q.a_i) the lattice
sum of the block (its lateral size and thickness). Units: |F|^2 in A^2 times a pixel area in 1/A^2; the
direct beam (000) is excluded (`sadpnet.simulate.detector.render` adds it).

Each reflection within a few 1/(N a) of the sphere is integrated on ``oversample`` x ``oversample``
sub-pixels of a small stencil of pixels around its spot (spots of a 160 A block are about half a pixel
wide: pixel-centre sampling would be off by 2x). A sample counts for a reflection only when that
reflection is its nearest lattice point, so stencils never count a neighbour twice. The stencil reaches
about 4 side-lobes of the lattice sum (at least 2 pixels) from the spot's pixel: the far tails of the
sinc^2 (about 5 % of each spot for the default block, nearly the same fraction for every spot) are left
out, so relative intensities are unaffected (docs/physics.md gives the numbers).
"""

from __future__ import annotations

import math

import numpy as np

from sadpnet.errors import InputError
from sadpnet.simulate.pattern import Pattern, Spot
from sadpnet.crystal.specimen import DEFAULT_CELLS, Specimen
from sadpnet.simulate.structure_factor import reflections

#: Units (cells, supercells) with at most this many atoms get the exact variation of F_cell across each spot
#: (atom phases); larger ones only the scattering-factor fall-off (cost grows as atoms x stencil samples).
MAX_ATOMS_PHASED = 512
#: Spots fainter than this fraction of the strongest spot are rendered but not listed.
SPOT_LIST_REL = 1e-4
#: The stencil reaches this many side-lobes of the lattice sum (units of 1/(N_i |a_i|)) from the spot.
STENCIL_LOBES = 4.0
#: Reflections whose peak estimate |F|^2 / max(1, (pi t s / 2)^2) is below this fraction of the largest
#: are not rendered (t: the block's shortest edge).
RENDER_REL = 1e-5
#: Reflections up to this many 1/t of excitation error are rendered (t: the block's shortest edge).
S_MAX_LOBES = 10.0


def _as_specimen(crystal_or_specimen, cells) -> Specimen:
    if isinstance(crystal_or_specimen, Specimen):
        return crystal_or_specimen
    if hasattr(crystal_or_specimen, "atoms") and hasattr(crystal_or_specimen, "space_group_number"):
        return Specimen.from_crystal(crystal_or_specimen, cells=tuple(cells))
    raise InputError(f"simulate_cell needs a Crystal or a Specimen, got {type(crystal_or_specimen).__name__}")


_BASE_U: dict = {}
_SLOPES: dict = {}


def _log_slope(envelope: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """d ln A / dg on the grid (cached per cached structure-factor table)."""
    hit = _SLOPES.get(id(envelope))
    if hit is not None and hit[0] is envelope:
        return hit[1]
    if len(_SLOPES) > 64:
        _SLOPES.clear()
    slope = np.gradient(np.log(np.maximum(envelope, 1e-30)), grid)
    _SLOPES[id(envelope)] = (envelope, slope)
    return slope


def _orientation(cell: np.ndarray, uvw, inplane_rotation_deg: float, tilt_mrad) -> np.ndarray:
    """`sadpnet.crystal.orientation_matrix`, with the zone-axis frame cached per (cell, uvw) so that
    sweeping rotations and tilts is cheap; the rotations are composed exactly as orientation_matrix does
    (tested equal in tests/simulate/test_cell_engine.py)."""
    from sadpnet.crystal.lattice import orientation_matrix, rotate_and_tilt

    key = (cell.tobytes(), tuple(uvw))
    u0 = _BASE_U.get(key)
    if u0 is None:
        if len(_BASE_U) > 256:
            _BASE_U.clear()
        u0 = _BASE_U[key] = orientation_matrix(cell, uvw)
    return rotate_and_tilt(u0, inplane_rotation_deg, tilt_mrad)


def _subpixel_offsets(oversample: int) -> np.ndarray:
    """Sub-pixel centres in pixel units, symmetric about 0: shape (oversample,)."""
    return (np.arange(oversample) + 0.5) / oversample - 0.5


def simulate_cell(crystal_or_specimen, microscope, zone_axis, *, cells=DEFAULT_CELLS,
                  inplane_rotation_deg: float = 0.0, tilt_mrad=(0.0, 0.0), debye_waller=True,
                  oversample: int = 4) -> Pattern:
    """Kinematic SADP of a perfect crystal or a periodic (super)cell specimen.

    Args:
        crystal_or_specimen: a `sadpnet.crystal.Crystal` (repeated ``cells`` times) or a
            `sadpnet.crystal.specimen.Specimen` (its unit repeated ``specimen.repeats`` times; ``cells``
            is then ignored). The unit must be periodic (a cell or supercell).
        microscope: `sadpnet.simulate.microscope.Microscope` (wavelength, camera length, detector).
        zone_axis: [uvw] in the direct lattice of the parent crystal's conventional cell (of the unit
            when the specimen has no parent).
        cells: (N1, N2, N3) repeats of the conventional cell along a, b, c (default 40 x 30 x 20).
        inplane_rotation_deg: in-plane rotation about the beam, degrees.
        tilt_mrad: tilt off the zone axis about lab x then lab y, mrad.
        debye_waller: True (per-element defaults), False, a float B (A^2) or a dict symbol -> B.
        oversample: sub-pixels per pixel side for the area integral (>= 1).

    Returns:
        `Pattern` with ``intensity`` (N, N) float64 (A^2 x 1/A^2 per pixel, direct beam excluded) and
        ``spots`` (strongest first; intensities relative to the strongest diffracted spot).
    """
    from sadpnet.crystal import check_zone_axis

    spec = _as_specimen(crystal_or_specimen, cells)
    uvw = check_zone_axis(zone_axis)
    if int(oversample) != oversample or oversample < 1:
        raise InputError(f"oversample must be a positive integer, got {oversample!r}", "oversample")
    oversample = int(oversample)
    try:
        tilt_mrad = tuple(float(t) for t in tilt_mrad)
        inplane_rotation_deg = float(inplane_rotation_deg)
    except (TypeError, ValueError):
        raise InputError(f"tilt must be two numbers (mrad) and rotation one (deg), got {tilt_mrad!r}, "
                         f"{inplane_rotation_deg!r}", "tilt_mrad") from None
    if len(tilt_mrad) != 2 or not all(map(math.isfinite, (*tilt_mrad, inplane_rotation_deg))):
        raise InputError(f"tilt must be two finite numbers (mrad), got {tilt_mrad!r}", "tilt_mrad")
    unit = spec.unit
    ref_cell = spec.parent.atoms.cell if spec.parent is not None else unit.cell
    U = _orientation(np.asarray(ref_cell, dtype=float), uvw, float(inplane_rotation_deg), tuple(tilt_mrad))
    n_rep = np.array(spec.repeats, dtype=float)
    a_lab = np.asarray(unit.cell, dtype=float) @ U.T  # rows: unit cell vectors in the lab frame, A
    edge_a = np.linalg.norm(a_lab, axis=1) * n_rep
    n_px = int(microscope.detector_pixels)
    cal = microscope.pixel_size_inv_a
    k = microscope.k_inv_a
    s_max = S_MAX_LOBES / edge_a.min()
    half = 0.5 * n_px * cal
    lateral_a = np.sort(edge_a)[1]  # the block's middle edge: sets the spots' width on the detector
    stencil_r = int(max(2, min(32, math.ceil(STENCIL_LOBES / (lateral_a * cal) - 0.5))))
    refl = reflections(unit, microscope, U=U, g_max_inv_a=half + (stencil_r + 1) * cal, s_max_inv_a=s_max,
                       debye_waller=debye_waller)
    image = np.zeros(n_px * n_px)
    spots: list[Spot] = []
    meta = {"engine": "cell", "cells": [int(x) for x in spec.repeats], "specimen": spec.name,
            "inplane_rotation_deg": float(inplane_rotation_deg), "tilt_mrad": [float(t) for t in tilt_mrad],
            "debye_waller": debye_waller if isinstance(debye_waller, (bool, float, int)) else dict(debye_waller),
            "oversample": oversample, "n_atoms_unit": len(unit)}
    pattern = Pattern(intensity=image.reshape(n_px, n_px), spots=spots, microscope=microscope, zone_axis=uvw,
                      space_group=spec.parent.space_group_number if spec.parent is not None else None,
                      metadata=meta)
    if len(refl.hkl) == 0:
        return pattern
    f_sq = refl.structure_factor_sq
    # skip reflections whose peak (|F|^2 times the thickness envelope 1/(pi t s)^2) is negligible
    env = f_sq / np.maximum(1.0, (np.pi * 0.5 * edge_a.min() * refl.excitation_error_inv_a) ** 2)
    live = env >= RENDER_REL * env.max()
    gl = refl.g_lab[live]
    h_unit = refl.hkl[live].astype(float)
    f_sq = f_sq[live]
    gx, gy = gl[:, 0], gl[:, 1]
    col0 = np.rint(n_px / 2 + gx / cal).astype(int)
    row0 = np.rint(n_px / 2 - gy / cal).astype(int)
    # stencil: (2r+1)^2 pixels x oversample^2 sub-samples around each spot's pixel
    offs = np.arange(-stencil_r, stencil_r + 1)
    sub = _subpixel_offsets(oversample)
    d1 = (offs[:, None] + sub[None, :]).ravel()  # (P,) offsets in pixels, sub-pixel included
    p1 = np.repeat(offs, oversample)  # (P,) pixel offset of each sub-sample
    n_s, n_p = len(gl), len(d1)
    f32 = np.float32
    # everything below is small offsets from the lattice point: float32 is ample (checked against float64 sums)
    qx = (col0[:, None] + d1[None, :] - n_px / 2) * cal  # (n, P): varies along columns
    qy = (n_px / 2 - row0[:, None] - d1[None, :]) * cal  # (n, P): varies along rows
    dqx = (qx - gx[:, None]).astype(f32)[:, None, :]
    dqy = (qy - gy[:, None]).astype(f32)[:, :, None]
    q2 = qx.astype(f32)[:, None, :] ** 2 + qy.astype(f32)[:, :, None] ** 2  # (n, P_row, P_col)
    qz = q2 / (f32(k) + np.sqrt(f32(k * k) - q2))  # = k - sqrt(k^2 - q^2), without cancellation
    dqz = qz - gl[:, 2].astype(f32)[:, None, None]
    # a sample belongs to its nearest lattice point: test only when a stencil could reach a neighbour
    reach = ((stencil_r + 1) * cal * math.sqrt(2.0) + float(np.abs(refl.excitation_error_inv_a[live]).max())
             + 1.5 * cal) * np.linalg.norm(a_lab, axis=1)
    nearest = None
    amp = None
    for i in range(3):
        ax, ay, az = (f32(v) for v in a_lab[i])
        delta = dqx * ax + dqy * ay + dqz * az  # q.a_i - h_i, (n, P, P)
        if reach[i] >= 0.5:
            near_i = np.abs(delta) < 0.5
            nearest = near_i if nearest is None else nearest & near_i
        x = delta * f32(np.pi) + f32(1e-12)  # the tiny offset keeps sin(N x)/sin(x) -> N at x = 0
        ratio = np.sin(x * f32(n_rep[i])) / np.sin(x)
        amp = ratio if amp is None else amp * ratio
    # F falls with |q| across a spot: the atoms' amplitudes as exp(kappa (|q| - |g|)), kappa = d ln A / dg at |g|
    # with A = sum_j occ_j f_j DW_j (first order in |q| - |g|)
    grid = refl.envelope_g_inv_a
    dlna = _log_slope(refl.envelope_a, grid)
    g_abs = 1.0 / refl.d_a[live]
    kappa = np.interp(g_abs, grid, dlna).astype(f32)
    q_abs = np.sqrt(q2 + qz * qz)
    lattice_sq = amp * amp * np.exp(f32(2.0) * kappa[:, None, None] * (q_abs - g_abs.astype(f32)[:, None, None]))
    if len(unit) <= MAX_ATOMS_PHASED:
        lattice_sq *= _cell_phase_factor(unit, U, refl.hkl[live], g_abs, dqx[:, 0, :], dqy[:, :, 0],
                                         dqz[:, n_p // 2, n_p // 2], f_sq, debye_waller)
        meta["f_across_spot"] = "atom phases + scattering-factor fall-off"
    else:
        meta["f_across_spot"] = "scattering-factor fall-off only"
    cols = col0[:, None, None] + p1[None, None, :]
    rows = row0[:, None, None] + p1[None, :, None]
    inside = (cols >= 0) & (cols < n_px) & (rows >= 0) & (rows < n_px)
    if nearest is not None:
        inside = inside & nearest
    w = lattice_sq.astype(np.float64) * (f_sq * (cal * cal / (oversample * oversample)))[:, None, None]
    w *= inside
    flat = (rows * n_px + cols)[inside]
    image += np.bincount(flat, weights=w[inside], minlength=n_px * n_px)
    spot_int = w.reshape(n_s, -1).sum(axis=1)
    if spot_int.max() <= 0:
        return pattern
    pxy_x = n_px / 2 + gx / cal
    pxy_y = n_px / 2 - gy / cal
    hkl_parent, per_cell, integral = _parent_indices(spec, refl.hkl[live])
    candidates = integral & (pxy_x >= -0.5) & (pxy_x < n_px - 0.5) & (pxy_y >= -0.5) & (pxy_y < n_px - 0.5)
    if not candidates.any() or spot_int[candidates].max() <= 0:
        return pattern
    rel = spot_int / spot_int[candidates].max()  # relative to the strongest spot on the detector
    listed = candidates & (rel >= SPOT_LIST_REL)
    d_a = refl.d_a[live]
    s_err = refl.excitation_error_inv_a[live]
    for i in np.flatnonzero(listed)[np.argsort(-spot_int[listed], kind="stable")]:
        spots.append(Spot(hkl=tuple(int(v) for v in hkl_parent[i]), g_inv_a=(float(gx[i]), float(gy[i])),
                          d_a=float(d_a[i]), excitation_error_inv_a=float(s_err[i]),
                          structure_factor_sq=float(f_sq[i] / per_cell), intensity=float(rel[i]),
                          pixel_xy=(float(pxy_x[i]), float(pxy_y[i]))))
    return pattern


def _cell_phase_factor(unit, U, hkl, g_abs, dqx, dqy, dqz0, f_sq, debye_waller) -> np.ndarray:
    """|F_cell(q)|^2 / |F_cell(g)|^2 across each stencil, from the atoms' phases: (n, P, P) float32.

    F_cell(g + dq) = sum_j c_j exp(2 pi i dq.r_j), c_j = occ_j f_j DW_j exp(2 pi i h.x_j) (at |g|; the fall-off
    of f with |q| is applied separately), r_j the atoms' lab positions. dq_x varies along a stencil's
    columns, dq_y along its rows; dq_z changes by only ~|g| dq / k across a stencil and is taken at its centre
    (``dqz0``), so F is a product of (rows x atoms) and (atoms x columns) matrices per spot.
    """
    from sadpnet.simulate.structure_factor import atom_amplitudes

    frac = unit.get_scaled_positions(wrap=False)
    r = unit.positions @ U.T  # (m, 3) lab positions, A
    c = atom_amplitudes(unit, g_abs, debye_waller).T * np.exp(2j * np.pi * (hkl @ frac.T))  # (n, m)
    c = c * np.exp(2j * np.pi * dqz0.astype(float)[:, None] * r[None, :, 2])
    two_pi_i = np.complex64(2j * np.pi)
    xs = np.exp(two_pi_i * dqx[:, :, None] * r[None, None, :, 0].astype(np.float32))  # (n, P, m)
    ys = np.exp(two_pi_i * dqy[:, :, None] * r[None, None, :, 1].astype(np.float32))  # (n, P, m)
    f_q = np.matmul(ys * c.astype(np.complex64)[:, None, :], xs.transpose(0, 2, 1))  # (n, P_row, P_col)
    ratio = (f_q.real ** 2 + f_q.imag ** 2) / np.maximum(f_sq, 1e-30).astype(np.float32)[:, None, None]
    return ratio


def _parent_indices(spec: Specimen, hkl: np.ndarray):
    """(hkl in the parent's conventional cell (n, 3) int, factor turning |F_unit|^2 into |F|^2 per
    conventional cell (the square of the number of parent cells in the unit), (n,) bool: integral in the
    parent). Without a parent the unit's own indices are used."""
    if spec.parent is None or spec.unit_in_parent_cells is None:
        return hkl, 1.0, np.ones(len(hkl), dtype=bool)
    m = np.array(spec.unit_in_parent_cells, dtype=int)
    return hkl // m, float(np.prod(m)) ** 2, np.all(hkl % m == 0, axis=1)
