"""The optional `dynamical` engine: abTEM multislice of the whole specimen (``pip install sadpnet[dynamical]``).

The specimen's atoms (all repeats spelled out) are rotated into the lab frame (zone axis along the beam,
in-plane rotation and tilt as for the kinematic engines), put in a box with ``padding_a`` of vacuum, and
a plane wave is propagated through them with abTEM's multislice (Lobato potentials, infinite projection,
slices of ``slice_thickness_a``). The diffraction pattern of the exit wave (fraction of the incident
electrons per abTEM pixel) is binned onto the detector. Thermal vibration: with ``debye_waller`` the atoms
are displaced by abTEM's frozen phonons (u_rms = sqrt(B / (8 pi^2)) per element, ``phonon_configs``
configurations averaged, seeded); without it the atoms are static.

Units differ from the kinematic engines: ``Pattern.intensity`` is the fraction of the incident electrons
per detector pixel (the direct beam, which holds most of them, is excluded as usual). Spots are indexed
from the crystal geometry (the `cell` engine's spot list) and their ``intensity`` is the dynamical
intensity summed over the 3 x 3 pixels around each spot, relative to the strongest.

Cost (measured in docs/physics.md): dominated by the multislice grid (lateral extent / sampling)^2 times
the number of slices.
"""

from __future__ import annotations

import math

import numpy as np

from sadpnet.errors import InputError
from sadpnet.simulate.pattern import Pattern


#: Default multislice sampling, A: {220}/{200} of 12 A of Al [001] is within 1.3 % of its converged value
#: (0.05 A) at 0.1 A, 3 % at 0.14 A, 7 % at 0.2 A.
DEFAULT_SAMPLING_A = 0.1


def simulate_dynamical(specimen, microscope, zone_axis, *, inplane_rotation_deg: float = 0.0, tilt_mrad=(0.0, 0.0),
                       debye_waller=True, sampling_a: float | None = None, slice_thickness_a: float = 2.0,
                       padding_a: float = 10.0, phonon_configs: int = 1, seed: int = 0) -> Pattern:
    """Dynamical SADP by abTEM multislice.

    Args:
        specimen: `sadpnet.crystal.specimen.Specimen` (its repeats are spelled out: mind the atom count).
        microscope: `sadpnet.simulate.microscope.Microscope`.
        zone_axis: [uvw] in the parent's conventional direct lattice (the unit's cell without a parent).
        inplane_rotation_deg, tilt_mrad: orientation, as for the kinematic engines.
        debye_waller: True for frozen phonons with the default B per element, False for static atoms, or a
            float / dict symbol -> B (A^2).
        sampling_a: real-space sampling of the multislice grid, A (default: 0.1 A, finer where needed for
            abTEM's 2/3-Nyquist anti-aliasing limit to reach the detector's corners).
        slice_thickness_a: multislice slice thickness, A.
        padding_a: vacuum around the block, A.
        phonon_configs: frozen-phonon configurations averaged (with ``debye_waller``).
        seed: random seed of the frozen phonons.
    """
    try:
        import abtem
    except ImportError:  # pragma: no cover - depends on the optional extra
        raise InputError("the dynamical engine needs abTEM: pip install 'sadpnet[dynamical]'", "engine") from None
    from sadpnet.crystal import check_zone_axis, orientation_matrix
    from sadpnet.simulate.cell_engine import simulate_cell
    from sadpnet.simulate.scattering import debye_waller_b_a2

    uvw = check_zone_axis(zone_axis)
    if not (slice_thickness_a > 0 and padding_a >= 0 and int(phonon_configs) >= 1):
        raise InputError("slice_thickness_a must be > 0, padding_a >= 0 and phonon_configs >= 1", "dynamical")
    ref_cell = specimen.parent.atoms.cell if specimen.parent is not None else specimen.unit.cell
    U = orientation_matrix(np.asarray(ref_cell, dtype=float), uvw, inplane_rotation_deg, tuple(tilt_mrad))
    atoms = specimen.all_atoms()
    # lab frame -> abTEM frame (beam along +z): rotate 180 degrees about lab x
    r = atoms.positions @ U.T
    r[:, 1] *= -1.0
    r[:, 2] *= -1.0
    r -= r.min(axis=0) - padding_a
    box = r.max(axis=0) + padding_a
    atoms.positions = r
    atoms.cell = np.diag(box)
    atoms.pbc = True
    n_px = microscope.detector_pixels
    cal = microscope.pixel_size_inv_a
    g_corner = math.sqrt(2.0) * 0.5 * n_px * cal
    if sampling_a is None:
        sampling_a = min(DEFAULT_SAMPLING_A, 1.0 / (3.0 * g_corner))
    if not sampling_a > 0:
        raise InputError(f"sampling_a must be > 0, got {sampling_a!r}", "sampling_a")
    source = atoms
    if debye_waller is not False and debye_waller is not None:
        syms = sorted(set(atoms.get_chemical_symbols()))
        if isinstance(debye_waller, dict):
            b = {s: debye_waller_b_a2(s, debye_waller.get(s)) for s in syms}
        elif debye_waller is True:
            b = {s: debye_waller_b_a2(s) for s in syms}
        else:
            b = {s: debye_waller_b_a2(s, float(debye_waller)) for s in syms}
        sigmas = {s: math.sqrt(v / (8.0 * math.pi ** 2)) for s, v in b.items()}
        source = abtem.FrozenPhonons(atoms, num_configs=int(phonon_configs), sigmas=sigmas, seed=seed)
    potential = abtem.Potential(source, sampling=sampling_a, slice_thickness=slice_thickness_a,
                                parametrization="lobato", projection="infinite")
    wave = abtem.PlaneWave(energy=microscope.voltage_kv * 1e3, normalize=False)
    with abtem.config.set({"diagnostics.progress_bar": False}):
        exit_wave = wave.multislice(potential)
        dp = exit_wave.diffraction_patterns(max_angle="cutoff", fftshift=True).compute()
    arr = np.asarray(dp.array, dtype=np.float64)
    if arr.ndim == 3:  # frozen-phonon configurations
        arr = arr.mean(axis=0)
    image = _bin_to_detector(arr, dp.sampling, n_px, cal)
    # kinematic geometry for the spot list; intensities from the dynamical image
    kin = simulate_cell(specimen, microscope, uvw, inplane_rotation_deg=inplane_rotation_deg,
                        tilt_mrad=tuple(tilt_mrad), debye_waller=debye_waller)
    spots = []
    sums = []
    for s in kin.spots:
        c, rr = (int(round(v)) for v in s.pixel_xy)
        sums.append(image[max(rr - 1, 0):rr + 2, max(c - 1, 0):c + 2].sum())
    top = max(sums) if sums else 0.0
    for s, v in sorted(zip(kin.spots, sums), key=lambda t: -t[1]):
        s.intensity = float(v / top) if top > 0 else 0.0
        spots.append(s)
    meta = dict(kin.metadata)
    meta.update(engine="dynamical", sampling_a=float(sampling_a), slice_thickness_a=float(slice_thickness_a),
                padding_a=float(padding_a), phonon_configs=int(phonon_configs) if source is not atoms else 0,
                seed=int(seed), n_atoms=len(atoms), intensity_units="fraction of incident electrons per pixel",
                abtem_version=abtem.__version__)
    return Pattern(intensity=image, spots=spots, microscope=microscope, zone_axis=uvw,
                   space_group=kin.space_group, metadata=meta)


def _bin_to_detector(arr: np.ndarray, sampling, n_px: int, cal: float) -> np.ndarray:
    """Sum an fftshifted abTEM diffraction pattern (kx along axis 0, ky along axis 1, 1/A per pixel
    ``sampling``) onto the detector's pixels; the (000) pixel is excluded."""
    nx, ny = arr.shape
    sx, sy = (float(v) for v in sampling)
    kx = (np.arange(nx) - nx // 2) * sx  # abTEM x = lab x
    ky = (np.arange(ny) - ny // 2) * sy  # abTEM y = -lab y
    col = np.rint(n_px / 2 + kx / cal).astype(int)[:, None] + np.zeros((1, ny), dtype=int)
    row = np.rint(n_px / 2 + ky / cal).astype(int)[None, :] + np.zeros((nx, 1), dtype=int)
    a = arr.copy()
    a[nx // 2, ny // 2] = 0.0  # the direct beam
    ok = (col >= 0) & (col < n_px) & (row >= 0) & (row < n_px)
    img = np.bincount((row * n_px + col)[ok], weights=a[ok], minlength=n_px * n_px)
    return img.reshape(n_px, n_px)
