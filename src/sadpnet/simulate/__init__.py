"""sadpnet.simulate: kinematic (and optionally dynamical) SADP simulation.

Main names (imported lazily, so ``import sadpnet.simulate`` stays light):

* `simulate` (api): CIF / Crystal / Specimen -> `Pattern`;
* `simulate_cell` (cell_engine), `simulate_atoms` (atoms_engine);
* `render`, `BeamStop`, `Noise` (detector): Pattern -> uint8/uint16 image; `IntensityMapping`,
  `DEFAULT_MAPPING`, `MEASURED_MAPPING` (detector): what an image's values are (docs/conventions.md);
* `save_pattern` (io): image + JSON sidecar;
* `Microscope`, `wavelength_a` (microscope); `Specimen` (specimen); `Pattern`, `Spot` (pattern);
* `electron_scattering_factor_a`, `debye_waller_factor`, `DEFAULT_B_A2` (scattering);
* `structure_factors`, `reflections` (structure_factor).
"""

from __future__ import annotations

import importlib

_NAMES = {
    "simulate": "api", "load_source": "api", "ENGINES": "api",
    "simulate_cell": "cell_engine",
    "simulate_atoms": "atoms_engine",
    "render": "detector", "BeamStop": "detector", "Noise": "detector", "IntensityMapping": "detector",
    "DEFAULT_MAPPING": "detector", "MEASURED_MAPPING": "detector",
    "save_pattern": "io",
    "Microscope": "microscope", "wavelength_a": "microscope",
    "Specimen": "specimen", "Pattern": "pattern", "Spot": "pattern",
    "electron_scattering_factor_a": "scattering", "debye_waller_factor": "scattering",
    "debye_waller_b_a2": "scattering", "DEFAULT_B_A2": "scattering",
    "structure_factors": "structure_factor", "reflections": "structure_factor",
}

__all__ = sorted(_NAMES)


def __getattr__(name: str):
    mod = _NAMES.get(name)
    if mod is None:
        raise AttributeError(f"module 'sadpnet.simulate' has no attribute {name!r}")
    return getattr(importlib.import_module(f"sadpnet.simulate.{mod}"), name)
