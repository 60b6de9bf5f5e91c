"""The microscope: electron wavelength, camera length and detector, and the calibration they give.

Conventions (see ``docs/conventions.md``):

* reciprocal-space lengths are in 1/A *without* the 2 pi (g = 1/d);
* a spot at reciprocal vector g lands at r = L * lambda * g on the detector (small-angle geometry,
  r in mm when the camera length L is in mm and lambda in A), so one detector pixel of side p mm spans
  ``p / (L * lambda)`` 1/A.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

from sadpnet.errors import InputError
from sadpnet.ranges import CAMERA_LENGTH_MM, VOLTAGE_KV

# CODATA 2018 (exact SI values where defined), as in scipy.constants; written out to keep imports light.
_H = 6.62607015e-34  # Planck constant, J s
_M0 = 9.1093837015e-31  # electron rest mass, kg
_E = 1.602176634e-19  # elementary charge, C
_C = 299792458.0  # speed of light, m/s

#: Voltages, camera lengths and zone axes of the default grid (the paper's 3 x 3 x 16; values are ours,
#: see docs/conventions.md): at 200 kV the 256-px detector reaches 2.04, 1.70 and 1.46 1/A.
DEFAULT_VOLTAGES_KV: tuple[float, ...] = (100.0, 200.0, 300.0)
DEFAULT_CAMERA_LENGTHS_MM: tuple[float, ...] = (250.0, 300.0, 350.0)
DEFAULT_DETECTOR_PIXELS = 256
DEFAULT_DETECTOR_PIXEL_SIZE_MM = 0.1


def wavelength_a(voltage_kv: float) -> float:
    """Relativistic electron wavelength in A for an acceleration voltage in kV.

    lambda = h / sqrt(2 m0 e V (1 + e V / (2 m0 c^2))); 200 kV gives 0.025079 A.
    """
    if not (isinstance(voltage_kv, (int, float)) and math.isfinite(voltage_kv) and voltage_kv > 0):
        raise InputError(f"acceleration voltage must be a positive number of kV, got {voltage_kv!r}", "voltage_kv")
    v = voltage_kv * 1e3
    p = math.sqrt(2.0 * _M0 * _E * v * (1.0 + _E * v / (2.0 * _M0 * _C**2)))
    return _H / p * 1e10


def interaction_parameter_rad_per_v_a(voltage_kv: float) -> float:
    """Interaction parameter sigma (rad / (V A)) for a voltage in kV (Kirkland, eq. 5.6)."""
    v = voltage_kv * 1e3
    lam = wavelength_a(voltage_kv)
    m = _M0 * (1.0 + _E * v / (_M0 * _C**2))
    return 2.0 * math.pi * m * _E * (lam * 1e-10) / _H**2 * 1e-10


@dataclass(frozen=True)
class Microscope:
    """A TEM in diffraction mode with a square pixelated detector.

    Attributes:
        voltage_kv: acceleration voltage, kV (> 0).
        camera_length_mm: camera length, mm (> 0).
        detector_pixels: detector side, pixels (the image is ``detector_pixels`` square).
        detector_pixel_size_mm: side of one detector pixel, mm.
    """

    voltage_kv: float = 200.0
    camera_length_mm: float = 300.0
    detector_pixels: int = DEFAULT_DETECTOR_PIXELS
    detector_pixel_size_mm: float = DEFAULT_DETECTOR_PIXEL_SIZE_MM
    extra: dict = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        VOLTAGE_KV.check(self.voltage_kv)
        CAMERA_LENGTH_MM.check(self.camera_length_mm)
        if int(self.detector_pixels) != self.detector_pixels or self.detector_pixels < 8:
            raise InputError(f"detector size must be an integer of at least 8 pixels, got {self.detector_pixels!r}", "size")
        if not (math.isfinite(self.detector_pixel_size_mm) and self.detector_pixel_size_mm > 0):
            raise InputError(f"detector pixel size must be positive, got {self.detector_pixel_size_mm!r}", "detector_pixel_size_mm")

    @property
    def wavelength_a(self) -> float:
        """Electron wavelength, A."""
        return wavelength_a(self.voltage_kv)

    @property
    def k_inv_a(self) -> float:
        """Radius of the Ewald sphere, 1/A (= 1 / wavelength)."""
        return 1.0 / self.wavelength_a

    @property
    def pixel_size_inv_a(self) -> float:
        """Calibration: reciprocal-space width of one detector pixel, 1/A per pixel."""
        return self.detector_pixel_size_mm / (self.camera_length_mm * self.wavelength_a)

    @property
    def g_max_inv_a(self) -> float:
        """Reciprocal distance from the centre to the edge of the detector, 1/A."""
        return 0.5 * self.detector_pixels * self.pixel_size_inv_a

    def to_dict(self) -> dict:
        d = asdict(self)
        d.pop("extra")
        d.update(wavelength_a=self.wavelength_a, pixel_size_inv_a=self.pixel_size_inv_a)
        return d
