"""The `atoms` engine: kinematic SADP of any set of atoms (defected crystals, dislocations, MD snapshots).

Physics (the same quantity as the `cell` engine, see docs/physics.md and docs/atoms-engine.md):

    intensity[row, col] = integral over the pixel of I(q) d^2q,
    I(q) = |sum_j occ_j f_j(|q|) DW_j(|q|) exp(2 pi i q . r_j)|^2 x prod_i |D_{N_i}(q . A_i)|^2,

with q = (q_x, q_y, q_z) on the Ewald sphere above each detector point (q_z = k - sqrt(k^2 - q_x^2 - q_y^2),
lab frame, 1/A without 2 pi), r_j the lab-frame positions of the specimen's repeating unit (A), f_j the
Lobato electron scattering factors and DW_j = exp(-B_j |q|^2 / 4) (`sadpnet.simulate.scattering`), and
D_N(x) = sin(pi N x) / sin(pi x) the lattice sum of the unit's repeats along its lab-frame cell vectors A_i
(so a defected supercell repeated to 40 x 30 x 20 cells costs only the supercell's atoms). The pixel
integral is a midpoint rule on ``oversample`` x ``oversample`` sub-pixels. Units: A^2 x 1/A^2 per pixel.

The sum over atoms is one NUFFT per species (atoms grouped by element and Debye-Waller B) on the
Ewald sphere (`sadpnet.simulate.ewald_nufft`), multiplied by f(|q|) DW(|q|) afterwards.
The direct beam is excluded as in the cell engine: the pixels of the (000) spot's stencil (the same
half-width as the cell engine's spot stencils) are set to 0; `sadpnet.simulate.detector.render` adds it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from sadpnet.errors import InputError
from sadpnet.simulate.pattern import Pattern, Spot


@dataclass
class _Setup:
    """Everything an intensity evaluation needs, in the lab frame."""

    U: np.ndarray  # (3, 3) orientation, r_lab = U @ r_cart
    positions_a: np.ndarray  # (n, 3) lab-frame positions of the unit's atoms, A
    occupancy: np.ndarray  # (n,)
    groups: np.ndarray  # (n,) species index
    numbers: np.ndarray  # (n_groups,) atomic numbers
    b_a2: np.ndarray  # (n_groups,) Debye-Waller B, A^2
    cell_lab_a: np.ndarray  # (3, 3) rows: the unit's cell vectors in the lab frame, A
    repeats: tuple[int, int, int]
    edge_a: np.ndarray  # (3,) edge lengths of the whole block, A
    qx_inv_a: np.ndarray  # (M,) fine grid along detector x (columns), increasing
    qy_inv_a: np.ndarray  # (M,) fine grid along detector y (up = decreasing row), increasing
    stencil_px: int  # half-width (pixels) of spot windows and of the excluded direct-beam region


def _setup(specimen, microscope, zone_axis, inplane_rotation_deg, tilt_mrad, debye_waller, oversample) -> _Setup:
    from sadpnet.crystal import check_zone_axis, orientation_matrix
    from sadpnet.simulate.cell_engine import STENCIL_LOBES
    from sadpnet.simulate.structure_factor import _occupancy, _species_b

    uvw = check_zone_axis(zone_axis)
    if int(oversample) != oversample or oversample < 1:
        raise InputError(f"oversample must be a positive integer, got {oversample!r}", "oversample")
    unit = specimen.unit
    ref_cell = np.asarray(specimen.parent.atoms.cell if specimen.parent is not None else unit.cell, dtype=float)
    if abs(np.linalg.det(ref_cell)) < 1e-9:  # no parent and no cell: [uvw] is a Cartesian direction
        ref_cell = np.eye(3)
    U = orientation_matrix(ref_cell, uvw, float(inplane_rotation_deg),
                           tuple(float(t) for t in tilt_mrad))
    # Debye-Waller B per element (the same rule as the structure factors), mapped onto the atoms
    elements, first, inverse = np.unique(unit.numbers, return_index=True, return_inverse=True)
    b = _species_b(unit[first.tolist()], debye_waller)[inverse.ravel()]
    keys = sorted(set(zip(unit.numbers.tolist(), b.tolist())))
    groups = np.empty(len(unit), dtype=int)
    for i, (z, bz) in enumerate(keys):
        groups[(unit.numbers == z) & (b == bz)] = i
    cell_lab = np.asarray(unit.cell, dtype=float) @ U.T
    reps = tuple(int(r) for r in specimen.repeats)
    if reps != (1, 1, 1) and abs(np.linalg.det(cell_lab)) < 1e-9:
        raise InputError("a repeated specimen needs a unit with a 3D cell", "specimen")
    edge = np.linalg.norm(cell_lab, axis=1) * np.array(reps)
    if reps == (1, 1, 1) and abs(np.linalg.det(cell_lab)) < 1e-9:
        # one piece without a cell: its size is the spread of the atoms
        edge = np.maximum(np.ptp(unit.positions, axis=0), 1.0)
    n, os_ = int(microscope.detector_pixels), int(oversample)
    m = n * os_
    dq = microscope.pixel_size_inv_a / os_
    # fine sample i of pixel column c sits at c - 1/2 + (i + 1/2)/os pixels; q_x = (that - N/2) cal
    qx = dq * (np.arange(m) - m / 2 + (1 - os_) / 2)
    # fine rows run downwards; index iy = M - 1 - fine_row makes q_y increase with iy
    qy = dq * (np.arange(m) - m / 2 + (1 + os_) / 2)
    lateral = np.sort(edge)[1]
    stencil = int(max(2, min(32, math.ceil(STENCIL_LOBES / (lateral * microscope.pixel_size_inv_a) - 0.5))))
    return _Setup(U=U, positions_a=unit.positions @ U.T, occupancy=_occupancy(unit), groups=groups,
                  numbers=np.array([k[0] for k in keys]), b_a2=np.array([k[1] for k in keys]),
                  cell_lab_a=cell_lab, repeats=reps, edge_a=edge, qx_inv_a=qx, qy_inv_a=qy, stencil_px=stencil)


def _lattice_sum_sq(setup: _Setup, qx, qy, qz) -> np.ndarray | None:
    """prod_i |sin(pi N_i q.A_i) / sin(pi q.A_i)|^2 on a (mx, my) grid (qx (mx, 1), qy (1, my)), or None
    when the unit is not repeated. The sines run in float32 on the argument reduced to [-1/2, 1/2]
    (relative error ~1e-6 near the peaks, where it matters)."""
    if setup.repeats == (1, 1, 1):
        return None
    out = None
    for i in range(3):
        n_i = setup.repeats[i]
        if n_i == 1:
            continue
        ax, ay, az = setup.cell_lab_a[i]
        x = qx * ax + qy * ay + qz * az
        e = (np.pi * (x - np.rint(x))).astype(np.float32)  # D_N is periodic up to a sign
        s = np.sin(e)
        small = np.abs(s) < 1e-6
        d = np.sin(e * np.float32(n_i)) / np.where(small, np.float32(1.0), s)
        d = np.where(small, np.float32(n_i), d)
        d *= d
        out = d if out is None else out * d
    return out


class _FormFactors:
    """f_e(|q|) DW(|q|) of each species, tabulated on a fine |q| grid and interpolated (the functions are
    smooth: the interpolation error is below 1e-7 relative)."""

    def __init__(self, numbers, b_a2, q_max_inv_a: float, n: int = 4096):
        from sadpnet.simulate.scattering import debye_waller_factor, electron_scattering_factor_a

        self.q = np.linspace(0.0, q_max_inv_a * 1.001 + 1e-6, n)
        self.table = electron_scattering_factor_a(numbers, self.q) * debye_waller_factor(
            np.asarray(b_a2)[:, None], self.q[None, :])

    def __call__(self, q_inv_a: np.ndarray) -> np.ndarray:
        """(n_species, q.size) values at ``q_inv_a`` (flattened)."""
        q = np.ravel(q_inv_a)
        return np.stack([np.interp(q, self.q, row) for row in self.table])


def _tile_intensity(setup: _Setup, qx, qy, qz, amplitudes, form: "_FormFactors") -> np.ndarray:
    """I(q) (A^2) on a tile from per-species amplitudes (n_groups, mx, my), qx (mx,), qy (my,), qz (mx, my)."""
    q = np.sqrt(qx[:, None] ** 2 + qy[None, :] ** 2 + qz ** 2)
    fe = form(q)
    total = np.einsum("gp,gp->p", fe, amplitudes.reshape(len(setup.numbers), -1)).reshape(q.shape)
    inten = total.real ** 2 + total.imag ** 2
    lat = _lattice_sum_sq(setup, qx[:, None], qy[None, :], qz)
    return inten if lat is None else inten * lat


def _form_factors(setup: _Setup, microscope) -> _FormFactors:
    q_max = math.hypot(np.abs(setup.qx_inv_a).max(), np.abs(setup.qy_inv_a).max())
    q_max = math.hypot(q_max, q_max * q_max / microscope.k_inv_a)  # q_z <= q_perp^2 / k
    return _FormFactors(setup.numbers, setup.b_a2, q_max)


def _bin(sub: np.ndarray, oversample: int) -> np.ndarray:
    mx, my = sub.shape
    return sub.reshape(mx // oversample, oversample, my // oversample, oversample).sum(axis=(1, 3))


def atoms_intensity_xy(setup: _Setup, microscope, oversample: int, eps: float, n_tiles: int | None,
                       nthreads: int | None) -> tuple[np.ndarray, dict]:
    """Pixel-integrated intensity indexed [column, N - 1 - row] (x right, y up), and transform details."""
    from sadpnet.simulate.ewald_nufft import iter_sphere_amplitudes

    n = int(microscope.detector_pixels)
    img = np.zeros((n, n))
    area = (microscope.pixel_size_inv_a / oversample) ** 2
    info: dict = {}
    form = _form_factors(setup, microscope)
    for tile, qz, amp in iter_sphere_amplitudes(
            setup.positions_a, setup.occupancy.astype(complex), setup.groups, len(setup.numbers),
            setup.qx_inv_a, setup.qy_inv_a, microscope.k_inv_a, oversample, eps=eps, n_tiles=n_tiles,
            nthreads=nthreads, info=info):
        inten = _tile_intensity(setup, setup.qx_inv_a[tile.ix0:tile.ix1], setup.qy_inv_a[tile.iy0:tile.iy1], qz, amp,
                               form)
        img[tile.ix0 // oversample:tile.ix1 // oversample, tile.iy0 // oversample:tile.iy1 // oversample] = \
            _bin(inten, oversample) * area
    return img, info


def direct_sum_pixels(specimen, microscope, zone_axis, pixels_rc, *, inplane_rotation_deg=0.0,
                      tilt_mrad=(0.0, 0.0), debye_waller=True, oversample: int = 4,
                      chunk: int = 2048) -> np.ndarray:
    """Reference: the same pixel-integrated intensity as `simulate_atoms` (before the direct beam is
    excluded) for selected pixels, by a float64 direct sum over the unit's atoms (vectorised NumPy).

    Args:
        pixels_rc: (p, 2) integer (row, column) pixel indices.

    Returns:
        (p,) float64 intensities, A^2 x 1/A^2.
    """
    setup = _setup(specimen, microscope, zone_axis, inplane_rotation_deg, tilt_mrad, debye_waller, oversample)
    os_ = int(oversample)
    n = int(microscope.detector_pixels)
    rc = np.atleast_2d(np.asarray(pixels_rc, dtype=int))
    k = microscope.k_inv_a
    area = (microscope.pixel_size_inv_a / os_) ** 2
    pos = setup.positions_a
    form = _form_factors(setup, microscope)
    out = np.zeros(len(rc))
    for p, (row, col) in enumerate(rc):
        iy0 = (n - 1 - row) * os_
        qx = setup.qx_inv_a[col * os_:(col + 1) * os_]
        qy = setup.qy_inv_a[iy0:iy0 + os_]
        qz = qx[:, None] ** 2 + qy[None, :] ** 2
        qz = k - np.sqrt(k * k - qz)
        q = np.stack(np.broadcast_arrays(qx[:, None], qy[None, :], qz), axis=-1).reshape(-1, 3)
        amp = np.zeros((len(setup.numbers), len(q)), dtype=complex)
        for i0 in range(0, len(pos), chunk):
            ph = np.exp(2j * np.pi * (q @ pos[i0:i0 + chunk].T))  # (os^2, chunk)
            w = setup.occupancy[i0:i0 + chunk]
            g = setup.groups[i0:i0 + chunk]
            for gi in range(len(setup.numbers)):
                amp[gi] += ph[:, g == gi] @ w[g == gi]
        inten = _tile_intensity(setup, qx, qy, qz, amp.reshape(-1, os_, os_), form)
        out[p] = inten.sum() * area
    return out


def simulate_atoms(specimen, microscope, zone_axis, *, inplane_rotation_deg: float = 0.0,
                   tilt_mrad=(0.0, 0.0), debye_waller=True, oversample: int = 4, eps: float = 1e-6,
                   n_tiles: int | None = None, nthreads: int | None = None) -> Pattern:
    """Kinematic SADP of a specimen of atoms on the Ewald sphere, pixel-integrated, by NUFFT.

    Args:
        specimen: `sadpnet.crystal.specimen.Specimen`: ``unit`` atoms (lab positions from their Cartesian
            coordinates) repeated ``repeats`` times along the unit's cell vectors; ``parent`` (or None)
            defines the zone-axis lattice and the indexed spots.
        microscope: `sadpnet.simulate.microscope.Microscope`.
        zone_axis: [uvw] in the parent's conventional direct lattice (the unit's cell without a parent;
            a Cartesian direction when the unit has no cell either).
        inplane_rotation_deg: in-plane rotation about the beam, degrees.
        tilt_mrad: tilt off the zone axis about lab x then lab y, mrad.
        debye_waller: True (per-element defaults), False, a float B (A^2) or a dict symbol -> B.
        oversample: sub-pixels per pixel side for the pixel-area integral (>= 1).
        eps: relative accuracy of the transforms (finufft tolerance and Ewald-expansion truncation); the
            transforms run in single precision for eps >= 1e-5.
        n_tiles: detector tiles per side for the Ewald expansion (None: chosen by a cost model).
        nthreads: finufft threads (None: OMP_NUM_THREADS, else 1).

    Returns:
        `Pattern`: ``intensity`` (N, N) float64 (A^2 x 1/A^2 per pixel, direct beam excluded) and, with a
        parent, ``spots`` (the parent's reflections near the sphere, intensities read from the image,
        strongest first); no spots without a parent.
    """
    from sadpnet.crystal import check_zone_axis

    uvw = check_zone_axis(zone_axis)
    if not (isinstance(eps, (int, float)) and 1e-12 <= eps < 1):
        raise InputError(f"eps must be a number in [1e-12, 1), got {eps!r}", "eps")
    setup = _setup(specimen, microscope, uvw, inplane_rotation_deg, tilt_mrad, debye_waller, oversample)
    img_xy, info = atoms_intensity_xy(setup, microscope, int(oversample), float(eps), n_tiles, nthreads)
    image = np.ascontiguousarray(img_xy.T[::-1, :])  # [row, column]: rows grow downwards, y points up
    n = image.shape[0]
    centre = n // 2  # the direct beam sits on pixel (N/2, N/2)
    r = setup.stencil_px
    image[max(0, centre - r):centre + r + 1, max(0, centre - r):centre + r + 1] = 0.0
    meta = {"engine": "atoms", "repeats": [int(x) for x in setup.repeats], "specimen": specimen.name,
            "n_atoms": int(specimen.n_atoms), "n_atoms_unit": len(specimen.unit),
            "inplane_rotation_deg": float(inplane_rotation_deg), "tilt_mrad": [float(t) for t in tilt_mrad],
            "debye_waller": debye_waller if isinstance(debye_waller, (bool, float, int)) else dict(debye_waller),
            "oversample": int(oversample), "eps": float(eps), "ewald_tiles": int(info.get("n_tiles", 0)),
            "ewald_terms": int(info.get("n_terms", 0)), "direct_beam_excluded_px": int(r)}
    spots = _spots(specimen, microscope, setup, image, debye_waller) if specimen.parent is not None else []
    return Pattern(intensity=image, spots=spots, microscope=microscope, zone_axis=uvw,
                   space_group=specimen.parent.space_group_number if specimen.parent is not None else None,
                   metadata=meta)


def _spots(specimen, microscope, setup: _Setup, image: np.ndarray, debye_waller) -> list[Spot]:
    """The parent's reflections near the sphere, with intensities summed over each spot's stencil window
    in ``image`` (relative to the strongest); listed like the cell engine's spots."""
    from sadpnet.simulate.cell_engine import S_MAX_LOBES, SPOT_LIST_REL
    from sadpnet.simulate.structure_factor import reflections

    n = image.shape[0]
    cal = microscope.pixel_size_inv_a
    refl = reflections(specimen.parent, microscope, U=setup.U, s_max_inv_a=S_MAX_LOBES / setup.edge_a.min(),
                       debye_waller=debye_waller)
    if len(refl.hkl) == 0:
        return []
    gx, gy = refl.g_lab[:, 0], refl.g_lab[:, 1]
    px, py = n / 2 + gx / cal, n / 2 - gy / cal
    inside = (px >= -0.5) & (px < n - 0.5) & (py >= -0.5) & (py < n - 0.5)
    r = setup.stencil_px
    cum = np.pad(image, ((1, 0), (1, 0))).cumsum(0).cumsum(1)  # summed-area table
    col, row = np.rint(px).astype(int), np.rint(py).astype(int)
    r0, r1 = np.clip(row - r, 0, n), np.clip(row + r + 1, 0, n)
    c0, c1 = np.clip(col - r, 0, n), np.clip(col + r + 1, 0, n)
    win = cum[r1, c1] - cum[r0, c1] - cum[r1, c0] + cum[r0, c0]
    win = np.where(inside, win, 0.0)
    if win.max() <= 0:
        return []
    rel = win / win.max()
    listed = np.flatnonzero(inside & (rel >= SPOT_LIST_REL))
    out = []
    for i in listed[np.argsort(-win[listed], kind="stable")]:
        out.append(Spot(hkl=tuple(int(v) for v in refl.hkl[i]), g_inv_a=(float(gx[i]), float(gy[i])),
                        d_a=float(refl.d_a[i]), excitation_error_inv_a=float(refl.excitation_error_inv_a[i]),
                        structure_factor_sq=float(refl.structure_factor_sq[i]), intensity=float(rel[i]),
                        pixel_xy=(float(px[i]), float(py[i]))))
    return out
