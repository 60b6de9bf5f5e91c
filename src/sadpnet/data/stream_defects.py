"""Defects drawn on the fly for the training stream of a defect-aware classifier (issue 18).

A drawn cubic training crystal may be given one defect family of the robustness study, made from that crystal
and labelled by its average structure (the parent's space group), as the study labels them:

* ``strain``: uniform normal strain up to 3 % along one cube axis or shear up to 0.03 rad
  (`sadpnet.defects.strain`), cell engine, zone axis in the strained lattice;
* ``thermal``: a snapshot of random Gaussian displacements of a 2x2x2 supercell with an rms
  displacement per axis of sqrt(B / 8 pi^2), B = 0.5-3 A^2 (the Debye model's displacements from 100 K up to
  about 900 K for the study's metals, for any element), repeated through the specimen: cell engine, no
  Debye-Waller factor (the displacements are in the atoms; every supercell reflection is then non-zero, which
  is why the supercell stays small); a cell too large for a supercell of at most
  `MAX_SUPERCELL_ATOMS` atoms gets the Debye-Waller factor of that B instead;
* ``vacancy`` / ``substitution`` / ``interstitial``: one unrelaxed point defect in a 2x2x2-4x4x4 supercell of at most `MAX_SUPERCELL_ATOMS` atoms
  (`sadpnet.defects.point`; substitution by Au, Si, Cu, Ni or Mg (one the crystal does not hold), interstitial C on a tetrahedral site of
  one-element fcc and bcc crystals), repeated: the paper's periodic construction with its superlattice
  reflections, cell engine;
* ``twin``: one (111) twin boundary (fcc, diamond and simple cubic lattices) or (112) boundary (bcc) of
  `sadpnet.defects.twin`, seen edge-on, atoms engine;
* ``dislocation``: an array of 3-5 edge dislocations on line [11-2] (`sadpnet.defects.dislocation`; b = a/2[111]
  in bcc, a/2[1-10] otherwise; one-element crystals with tabulated elastic constants), seen along the line,
  [111] or [1-10], atoms engine.

A family a crystal cannot take (partially occupied sites, no elastic constants, no named interstitial site)
falls back to ``thermal``, which every crystal can take. The atoms-engine families cost 1-4 s a pattern
against about 0.05 s for the cell engine, so they are drawn less often (`FAMILY_WEIGHTS`).

Example:
    >>> drawn = draw_defect(crystal, (0, 0, 1), np.random.default_rng(0), cells_z=20)
    >>> drawn.family, drawn.options
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from sadpnet.errors import SadpnetError

#: Drawing weights of the families (normalised when drawn); "none" leaves the crystal pristine.
FAMILY_WEIGHTS = {"none": 0.30, "strain": 0.15, "thermal": 0.15, "vacancy": 0.10, "substitution": 0.10,
                  "interstitial": 0.06, "twin": 0.07, "dislocation": 0.07}

#: Specimen block of the atoms-engine families, conventional cells (the study's 40 x 30 x 20).
BLOCK_CELLS = (40, 30, 20)


@dataclass
class DrawnDefect:
    """What to simulate: ``source`` (Crystal or Specimen), ``zone_axis`` (parent's indices), simulate keyword
    ``options`` (engine, debye_waller), the ``family`` and its drawn ``params``."""

    source: object
    zone_axis: tuple[int, int, int]
    family: str
    options: dict = field(default_factory=dict)
    params: dict = field(default_factory=dict)


def draw_family(rng: np.random.Generator) -> str:
    """One family name, drawn with `FAMILY_WEIGHTS`."""
    names = list(FAMILY_WEIGHTS)
    p = np.array([FAMILY_WEIGHTS[n] for n in names])
    return names[int(rng.choice(len(names), p=p / p.sum()))]


def draw_defect(crystal, zone_axis, rng: np.random.Generator, *, cells_z: int = 20,
                family: str | None = None) -> DrawnDefect:
    """A defected specimen of ``crystal`` (a cubic `Crystal`) for one training pattern on ``zone_axis``.

    ``family`` (default: drawn) names the family; one the crystal cannot take falls back to "thermal".
    ``cells_z``: specimen thickness in conventional cells (cell-engine families).
    """
    family = family or draw_family(rng)
    zone = tuple(int(v) for v in zone_axis)
    if family == "none":
        return DrawnDefect(crystal, zone, "none")
    try:
        return _BUILDERS[family](crystal, zone, rng, cells_z)
    except (SadpnetError, ValueError, KeyError, RuntimeError):
        return _thermal(crystal, zone, rng, cells_z)


def _strain(crystal, zone, rng, cells_z) -> DrawnDefect:
    from sadpnet.defects.strain import apply_strain

    voigt = np.zeros(6)
    if rng.random() < 0.5:
        voigt[int(rng.integers(3))] = float(rng.uniform(-0.03, 0.03))
    else:
        voigt[3 + int(rng.integers(3))] = float(rng.uniform(-0.03, 0.03))
    return DrawnDefect(apply_strain(crystal, voigt).crystal, zone, "strain", {"engine": "cell"},
                       {"strain_voigt": voigt.tolist()})


#: Most atoms in a cell-engine supercell (the engine's cost grows with atoms x reflections of the supercell).
MAX_SUPERCELL_ATOMS = 128

#: Most atoms x volume (A^3) of a cell-engine supercell: the engine refuses a table of more than
#: `sadpnet.simulate.structure_factor.MAX_TABLE_WORK` (2e8) atoms x reflections, and a drawn pattern reaches
#: out to about 5 1/A (4/3 pi 5^3 V N <= 2e8).
MAX_SUPERCELL_ATOMS_X_VOLUME_A3 = 3.0e5


def _supercell_size(crystal, rng, largest: int = 4) -> tuple[int, int, int]:
    """n x n x n, n drawn from 2..``largest`` with at most `MAX_SUPERCELL_ATOMS` atoms and atoms x volume at
    most `MAX_SUPERCELL_ATOMS_X_VOLUME_A3`; ValueError if none."""
    n_atoms, volume_a3 = len(crystal.atoms), abs(float(crystal.atoms.get_volume()))
    sizes = [n for n in range(2, largest + 1) if n ** 3 * n_atoms <= MAX_SUPERCELL_ATOMS
             and n ** 6 * n_atoms * volume_a3 <= MAX_SUPERCELL_ATOMS_X_VOLUME_A3]
    if not sizes:
        raise ValueError("conventional cell too large for a point-defect supercell")
    n = int(rng.choice(sizes))
    return (n, n, n)


def _periodic(unit, crystal, size, zone, cells_z, family, options, params) -> DrawnDefect:
    from sadpnet.defects.specimen import supercell_specimen

    cells = tuple(max(s, math.ceil(c / s) * s) for s, c in zip(size, (40, 30, cells_z)))
    specimen = supercell_specimen(unit, crystal, size, cells=cells, metadata={"defect": family})
    return DrawnDefect(specimen, zone, family, {"engine": "cell", **options}, {"supercell": list(size), **params})


def _thermal(crystal, zone, rng, cells_z) -> DrawnDefect:
    from sadpnet.defects.point import make_supercell

    b_a2 = float(rng.uniform(0.5, 3.0))
    try:
        size = _supercell_size(crystal, rng, largest=2)
        unit = make_supercell(crystal, size)
    except (SadpnetError, ValueError):  # large or disordered cells: the Debye-Waller factor of that B instead
        return DrawnDefect(crystal, zone, "thermal", {"engine": "cell", "debye_waller": b_a2}, {"b_a2": b_a2})
    unit.positions += rng.standard_normal(unit.positions.shape) * math.sqrt(b_a2 / (8 * math.pi ** 2))
    return _periodic(unit, crystal, size, zone, cells_z, "thermal", {"debye_waller": False}, {"b_a2": b_a2})


def _vacancy(crystal, zone, rng, cells_z) -> DrawnDefect:
    from sadpnet.defects.point import vacancy

    size = _supercell_size(crystal, rng)
    r = vacancy(crystal, size)
    return _periodic(r.atoms, crystal, size, zone, cells_z, "vacancy", {}, {})


def _substitution(crystal, zone, rng, cells_z) -> DrawnDefect:
    from sadpnet.defects.point import substitute

    size = _supercell_size(crystal, rng)
    present = set(crystal.atoms.get_chemical_symbols())
    element = str(rng.choice([e for e in ("Au", "Si", "Cu", "Ni", "Mg") if e not in present]))
    r = substitute(crystal, size, element)
    return _periodic(r.atoms, crystal, size, zone, cells_z, "substitution", {}, {"element": element})


def _interstitial(crystal, zone, rng, cells_z) -> DrawnDefect:
    from sadpnet.defects.point import interstitial

    size = _supercell_size(crystal, rng, largest=3)
    r = interstitial(crystal, size, "C", "tetrahedral")
    return _periodic(r.atoms, crystal, size, zone, cells_z, "interstitial", {}, {"element": "C"})


def _twin(crystal, zone, rng, cells_z) -> DrawnDefect:
    from sadpnet.defects.point import lattice_type
    from sadpnet.defects.specimen import block_specimen
    from sadpnet.defects.twin import build_twin

    if lattice_type(crystal) == "bcc" or crystal.space_group_number == 229:
        plane, direction, axis = (1, 2, 1), (1, -1, 1), (1, 0, -1)
    else:
        plane, direction, axis = (1, 1, 1), (1, 1, -2), (1, -1, 0)
    fraction = float(rng.uniform(0.3, 0.7))
    r = build_twin(crystal, plane=plane, direction=direction, fraction=fraction, cells=BLOCK_CELLS)
    specimen = block_specimen(r.atoms, crystal, metadata={"defect": "twin"})
    return DrawnDefect(specimen, axis, "twin", {"engine": "atoms"}, {"plane": list(plane), "fraction": fraction})


def _dislocation(crystal, zone, rng, cells_z) -> DrawnDefect:
    from sadpnet.defects.dislocation import build_dislocation_array
    from sadpnet.defects.specimen import block_specimen

    count = int(rng.integers(3, 6))
    axis = [(1, 1, -2), (1, 1, 1), (1, -1, 0)][int(rng.integers(3))]
    burgers = (0.5, 0.5, 0.5) if crystal.space_group_number == 229 else (0.5, -0.5, 0.0)  # a/2<111> in bcc, a/2<110>
    r = build_dislocation_array(crystal, line=(1, 1, -2), burgers=burgers, count=count, cells=BLOCK_CELLS)
    specimen = block_specimen(r.atoms, crystal, metadata={"defect": "dislocation"})
    return DrawnDefect(specimen, axis, "dislocation", {"engine": "atoms"}, {"count": count})


_BUILDERS = {"strain": _strain, "thermal": _thermal, "vacancy": _vacancy, "substitution": _substitution,
             "interstitial": _interstitial, "twin": _twin, "dislocation": _dislocation}
