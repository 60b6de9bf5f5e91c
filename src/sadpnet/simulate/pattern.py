"""The simulator's output: a `Pattern` (intensity image, indexed spots, calibration, provenance)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np


@dataclass
class Spot:
    """One diffraction spot.

    Attributes:
        hkl: Miller indices in the parent crystal's conventional cell.
        g_inv_a: (g_x, g_y) in the detector plane, 1/A (lab frame, see docs/conventions.md).
        d_a: interplanar spacing, A.
        excitation_error_inv_a: s_g, 1/A (positive inside the Ewald sphere).
        structure_factor_sq: |F_hkl|^2 of the conventional cell, A^2 (Debye-Waller as configured, no shape factor).
        intensity: rendered intensity relative to the strongest diffracted spot (0..1].
        pixel_xy: (column, row) of the spot's centre on the detector, pixels.
    """

    hkl: tuple[int, int, int]
    g_inv_a: tuple[float, float]
    d_a: float
    excitation_error_inv_a: float
    structure_factor_sq: float
    intensity: float
    pixel_xy: tuple[float, float]

    def to_dict(self) -> dict:
        d = asdict(self)
        d["hkl"] = [int(x) for x in self.hkl]
        d["g_inv_a"] = [float(x) for x in self.g_inv_a]
        d["pixel_xy"] = [float(x) for x in self.pixel_xy]
        for k in ("d_a", "excitation_error_inv_a", "structure_factor_sq", "intensity"):
            d[k] = float(d[k])
        return d


@dataclass
class Pattern:
    """A simulated SADP before detector effects.

    Attributes:
        intensity: (N, N) float64, diffracted intensity integrated over each detector pixel, direct beam
            excluded (the detector model adds it); row 0 at the top, see docs/conventions.md.
        spots: indexed spots (strongest first), may be empty for specimens without a parent crystal.
        microscope: the `sadpnet.simulate.microscope.Microscope` used.
        zone_axis: [uvw] in the parent's conventional direct lattice.
        space_group: the parent crystal's space-group number, or None.
        metadata: engine, specimen, orientation, Debye-Waller and other parameters, JSON-serialisable.
    """

    intensity: np.ndarray
    spots: list[Spot]
    microscope: "Microscope"  # noqa: F821
    zone_axis: tuple[int, int, int]
    space_group: int | None = None
    metadata: dict = field(default_factory=dict)

    @property
    def pixel_size_inv_a(self) -> float:
        return self.microscope.pixel_size_inv_a

    @property
    def wavelength_a(self) -> float:
        return self.microscope.wavelength_a

    def spots_json(self) -> dict:
        """The documented spots JSON of ``sadpnet simulate --spots``."""
        return {
            "wavelength_a": self.wavelength_a,
            "pixel_size_inv_a": self.pixel_size_inv_a,
            "voltage_kv": self.microscope.voltage_kv,
            "camera_length_mm": self.microscope.camera_length_mm,
            "image_size_px": int(self.intensity.shape[0]),
            "zone_axis": [int(x) for x in self.zone_axis],
            "space_group": self.space_group,
            "metadata": self.metadata,
            "spots": [s.to_dict() for s in self.spots],
        }
