"""Patterns drawn on the fly: one crystal, one zone axis, random microscope and detector conditions.

`draw_conditions` draws everything a pattern depends on besides the crystal and the zone axis (voltage,
camera length, in-plane rotation, small tilt, Debye-Waller temperature, thickness, dose, point spread, beam
stop, calibration error); `render_drawn` simulates with the `cell` engine and renders the detector image.
The training stream and the fixed test sets use the same two functions, so a test pattern differs from a
training pattern only by its crystal.

Example:
    >>> rng = np.random.default_rng(0)
    >>> cond = draw_conditions(rng)
    >>> shot = render_drawn(read_cif("Al.cif"), (0, 1, 1), cond)
    >>> shot.image.shape, shot.pixel_size_inv_a
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from sadpnet.simulate.detector import DEFAULT_MAPPING

#: The detector image's `IntensityMapping` of every drawn pattern (the defaults: log, R = 1e4, 8 bit).
MAPPING = DEFAULT_MAPPING


@dataclass(frozen=True)
class Conditions:
    """Microscope and detector conditions of one drawn pattern.

    Attributes:
        voltage_kv, camera_length_mm: microscope.
        inplane_rotation_deg, tilt_mrad: orientation about the zone axis (degrees) and off it (mrad, x, y).
        cells_z: specimen thickness in conventional cells along the third cell axis (cells 40 x 30 x cells_z).
        debye_waller_b_a2: isotropic Debye-Waller B, A^2 (thermal vibration).
        dose_e: electrons in the whole image (Poisson noise).
        psf_sigma_px: detector point spread, pixels.
        beam_stop_radius_px: beam-stop disc radius, pixels (0: none).
        calibration_error: relative error of the calibration the user gives (the true scale times 1 + this).
        seed: noise seed.
    """

    voltage_kv: float = 200.0
    camera_length_mm: float = 300.0
    inplane_rotation_deg: float = 0.0
    tilt_mrad: tuple[float, float] = (0.0, 0.0)
    cells_z: int = 20
    debye_waller_b_a2: float = 0.5
    dose_e: float = 3e6
    psf_sigma_px: float = 0.7
    beam_stop_radius_px: float = 0.0
    calibration_error: float = 0.0
    seed: int = 0

    def to_dict(self) -> dict:
        return asdict(self)


def draw_conditions(rng: np.random.Generator, *, voltage_kv: float | None = None,
                    camera_length_mm: float | None = None) -> Conditions:
    """Random conditions: 80-300 kV, 200-400 mm, any rotation, tilt <= ~1.5 mrad, 8-40 cells thick,
    B 0.2-1.5 A^2, dose 3e5-1e7 e, point spread 0.5-1.2 px, a beam stop half the time, calibration +-1.5 %.
    ``voltage_kv`` / ``camera_length_mm`` fix those two (test grids)."""
    return Conditions(
        voltage_kv=float(voltage_kv if voltage_kv is not None else rng.choice([80.0, 100.0, 120.0, 200.0, 300.0])),
        camera_length_mm=float(camera_length_mm if camera_length_mm is not None else rng.uniform(200, 400)),
        inplane_rotation_deg=float(rng.uniform(0, 360)),
        tilt_mrad=(float(rng.normal(0, 0.7)), float(rng.normal(0, 0.7))),
        cells_z=int(rng.integers(8, 41)),
        debye_waller_b_a2=float(rng.uniform(0.2, 1.5)),
        dose_e=float(10 ** rng.uniform(5.5, 7.0)),
        psf_sigma_px=float(rng.uniform(0.5, 1.2)),
        beam_stop_radius_px=float(rng.choice([0.0, 0.0, 5.0, 8.0])),
        calibration_error=float(rng.uniform(-0.015, 0.015)),
        seed=int(rng.integers(2**31)),
    )


@dataclass(frozen=True)
class Shot:
    """A rendered pattern as a user would hand it over.

    Attributes:
        image: (N, N) uint8, log-mapped (`MAPPING`).
        pixel_size_inv_a: the calibration given with it (true scale x (1 + calibration error)), 1/A per pixel.
        centre_xy: direct-beam centre (column, row), pixels.
        mask: (N, N) bool, False on the beam stop.
        zone_axis, space_group: what was simulated.
        conditions: the `Conditions`.
    """

    image: np.ndarray
    pixel_size_inv_a: float
    centre_xy: tuple[float, float]
    mask: np.ndarray
    zone_axis: tuple[int, int, int]
    space_group: int | None
    conditions: Conditions


def render_drawn(crystal, zone_axis, cond: Conditions, *, size_px: int = 256, engine: str = "cell",
                 debye_waller=None) -> Shot:
    """Simulate ``crystal`` (a `Crystal`, or a `Specimen` with its own size) on ``zone_axis`` under ``cond`` and
    render the detector image. ``engine``: simulation engine; ``debye_waller``: None = ``cond``'s B (A^2),
    False for specimens whose atoms carry their displacements (`sadpnet.data.stream_defects`)."""
    from sadpnet.simulate.api import simulate
    from sadpnet.simulate.detector import BeamStop, Noise, render

    b_a2 = cond.debye_waller_b_a2 if debye_waller is None else debye_waller
    pat = simulate(crystal, zone_axis, voltage_kv=cond.voltage_kv, camera_length_mm=cond.camera_length_mm,
                   size_px=size_px, engine=engine, cells=(40, 30, cond.cells_z),
                   inplane_rotation_deg=cond.inplane_rotation_deg, tilt_mrad=cond.tilt_mrad, debye_waller=b_a2,
                   oversample=2)
    stop = BeamStop(radius_px=cond.beam_stop_radius_px, arm_width_px=3.0) if cond.beam_stop_radius_px > 0 else None
    img = render(pat, psf_sigma_px=cond.psf_sigma_px, beam_stop=stop, noise=Noise(dose_e=cond.dose_e),
                 mapping=MAPPING, seed=cond.seed)
    mask = np.ones(img.shape, dtype=bool)
    if stop is not None:
        from sadpnet.simulate.detector import _beam_stop_mask

        mask = ~_beam_stop_mask(size_px, stop)
    c = size_px / 2
    return Shot(img, pat.pixel_size_inv_a * (1 + cond.calibration_error), (c, c), mask, tuple(zone_axis),
                pat.space_group, cond)


def linear_image(shot: Shot) -> np.ndarray:
    """The shot's image decoded to linear intensity (float32, brightest pixel 1)."""
    return linear_image_array(shot.image)


def map_workers(fn, items, workers: int = 1, progress=None) -> list:
    """[fn(x) for x in items], in ``workers`` forked processes when > 1 (order kept); ``progress(done,
    total)`` is called as results arrive. ``fn`` must be a module-level function."""
    items = list(items)
    out: list = []
    if workers <= 1:
        for x in items:
            out.append(fn(x))
            if progress:
                progress(len(out), len(items))
        return out
    from multiprocessing import get_context

    with get_context("fork").Pool(workers) as pool:
        for row in pool.imap(fn, items, chunksize=4):
            out.append(row)
            if progress:
                progress(len(out), len(items))
    return out


def linear_image_array(image: np.ndarray) -> np.ndarray:
    """A `MAPPING`-rendered image (uint8) decoded to linear intensity (float32, brightest pixel 1)."""
    return np.asarray(MAPPING.decode(image), dtype=np.float32)
