"""Physical ranges of user inputs, with the likely unit mistake when a value falls outside.

The one place where sadpnet says what a sensible voltage, camera length, calibration, temperature,
specimen thickness or strain is. The Python API functions call these checks, so Python, CLI and web users
get the same message; the error names the Python parameter (``voltage_kv``) and the CLI shows it as the
option the user typed (``--voltage-kv``).

Examples
--------
>>> VOLTAGE_KV.check(200)
200.0
>>> VOLTAGE_KV.check(200000)
Traceback (most recent call last):
...
sadpnet.errors.InputError: voltage_kv: 200000 kV: electron microscopes run at 10-1000 kV; did you give volts?
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

from sadpnet.errors import InputError


@dataclass(frozen=True)
class Range:
    """A closed range [low, high] of a physical input and the unit mistakes that explain a value outside it.

    Attributes:
        name: Python parameter name reported in the error (``"voltage_kv"``).
        unit: unit of the value, as printed (``"kV"``; ``""`` for a dimensionless value).
        low, high: the sensible range, in ``unit``.
        what: the sentence start before the range, e.g. ``"electron microscopes run at"``.
        mistakes: (unit name, function turning a value given in that unit into ``unit``); a mistake is
            suggested when the converted value falls inside the range.
        strict: the bounds themselves are outside the range.
    """

    name: str
    unit: str
    low: float
    high: float
    what: str
    mistakes: tuple[tuple[str, Callable[[float], float]], ...] = ()
    strict: bool = False

    def contains(self, value: float) -> bool:
        """Whether ``value`` (in ``unit``) is inside the range."""
        if self.strict:
            return self.low < value < self.high
        return self.low <= value <= self.high

    def check(self, value, name: str | None = None) -> float:
        """``value`` as a float; `InputError` with the range and the likely unit mistake if it is outside.

        ``name`` replaces `name` in the error where the value comes from another parameter (a specimen's
        thickness from its ``cells``).
        """
        name = name or self.name
        try:
            v = float(value)
        except (TypeError, ValueError):
            raise InputError(f"expected a number of {self.unit or 'units'}, got {value!r}", name) from None
        if math.isfinite(v) and self.contains(v):
            return v
        unit = f" {self.unit}" if self.unit else ""
        guesses = [u for u, to_unit in self.mistakes if math.isfinite(v) and self.contains(to_unit(v))]
        hint = f"; did you give {' or '.join(guesses)}?" if guesses else ""
        span = f"{self.low:g}{' to ' if self.low < 0 else '-'}{self.high:g}"
        raise InputError(f"{v:g}{unit}: {self.what} {span}{unit}{hint}", name)


#: Acceleration voltage, kV.
VOLTAGE_KV = Range("voltage_kv", "kV", 10.0, 1000.0, "electron microscopes run at",
                   (("volts", lambda v: v / 1e3), ("MV", lambda v: v * 1e3)))
#: Camera length in diffraction mode, mm.
CAMERA_LENGTH_MM = Range("camera_length_mm", "mm", 10.0, 10000.0, "diffraction camera lengths are",
                         (("metres", lambda v: v * 1e3), ("cm", lambda v: v * 10.0),
                          ("micrometres", lambda v: v / 1e3)))
#: Calibration of a pattern, 1/A per pixel (reciprocal lengths are 1/d, no 2 pi).
CALIBRATION_INV_A_PER_PX = Range("calibration_inv_a_per_px", "1/A per px", 1e-4, 0.5,
                                 "SAED calibrations are", (("1/nm per px", lambda v: v / 10.0),
                                                           ("1/m per px", lambda v: v / 1e10)))
#: Temperature of thermal snapshots, K.
TEMPERATURE_K = Range("temperature_k", "K", 0.0, 5000.0, "crystals exist at",
                      (("degrees Celsius", lambda v: v + 273.15),))
#: Specimen thickness and width (its extent along each axis), A. No unit guess: sadpnet takes the size in
#: cells, where the likely mistake is a count, not a unit.
THICKNESS_A = Range("thickness_a", "A", 1.0, 1e5, "SAED specimens (thickness and width) are")
#: One component of a uniform strain (dimensionless; 0.01 = 1 %).
STRAIN = Range("strain", "", -0.5, 0.5, "too large; uniform strains are strictly within",
               (("percent", lambda v: v / 100.0),), strict=True)
#: Detector image side of the robustness study (`sadpnet study --size-px`), pixels.
STUDY_SIZE_PX = Range("size_px", "px", 64, 1024, "the study's detector images are")
