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
  [111] or [1-10], atoms engine;
* ``thermal_random``: thermal snapshots as ``thermal`` (2x2x2 supercell, B = 0.5-3 A^2), but an independent
  snapshot in every supercell block of a `RANDOM_BLOCK_CELLS` specimen, each at a random lattice translation
  (`sadpnet.defects.specimen.random_supercell_specimen`): no repeat period, atoms engine, no Debye-Waller factor;
* ``point_random``: a vacancy, substitution or interstitial supercell as above, tiled through the specimen with
  every block at its own random lattice translation (`shuffled_supercell_specimen`): the defects sit at random
  places, no superlattice reflections; atoms engine. These two are the study's primary thermal and point-defect
  rows (issue 18).

The atoms-engine families (twin, dislocation, thermal_random, point_random) can come from a pre-built cache
(`sadpnet.data.defect_cache`): given ``cache``, `draw_defect` picks one of the crystal's cached blocks with the
draw's generator instead of building one, and draws the families with `CACHE_FAMILY_WEIGHTS` (the random
placements are drawn only with a cache). Without a cache every draw is what it was before they existed.

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

#: Drawing weights with a defect cache: the random placements take part of the periodic rows' share.
CACHE_FAMILY_WEIGHTS = {"none": 0.30, "strain": 0.15, "thermal": 0.05, "thermal_random": 0.10, "vacancy": 0.03,
                        "substitution": 0.03, "interstitial": 0.02, "point_random": 0.18, "twin": 0.07,
                        "dislocation": 0.07}

#: Families simulated with the atoms engine (the ones a `sadpnet.data.defect_cache` holds).
ATOMS_FAMILIES = ("twin", "dislocation", "thermal_random", "point_random")

#: Zone axes a dislocation array is seen along (drawn one per pattern): its line [11-2], [111] and [1-10].
DISLOCATION_VIEW_AXES = ((1, 1, -2), (1, 1, 1), (1, -1, 0))

#: Specimen block of the atoms-engine families, conventional cells (the study's 40 x 30 x 20).
BLOCK_CELLS = (40, 30, 20)

#: Block of the random-placement families, conventional cells. The study's size: smaller blocks render faster
#: (Al, 2 busy cores: 40x30x20 1.1-1.2 s, 20x20x20 0.6 s, 12x12x12 0.35 s a pattern) but widen the spots and
#: raise the diffuse background against them (mean pixel of [001] 1.7 -> 2.7 -> 5.0), unlike the pristine
#: stream's 40 x 30 x cells_z patterns.
RANDOM_BLOCK_CELLS = (40, 30, 20)

#: Most atoms in a random-placement block (render time grows with atoms: about 1.2 s for 96 000); a crystal with
#: more falls back to the periodic ``thermal`` family.
MAX_BLOCK_ATOMS = 200_000


@dataclass
class DrawnDefect:
    """What to simulate: ``source`` (Crystal or Specimen), ``zone_axis`` (parent's indices), simulate keyword
    ``options`` (engine, debye_waller), the ``family`` and its drawn ``params``."""

    source: object
    zone_axis: tuple[int, int, int]
    family: str
    options: dict = field(default_factory=dict)
    params: dict = field(default_factory=dict)


def draw_family(rng: np.random.Generator, weights: dict | None = None) -> str:
    """One family name, drawn with ``weights`` (default `FAMILY_WEIGHTS`)."""
    weights = FAMILY_WEIGHTS if weights is None else weights
    names = list(weights)
    p = np.array([weights[n] for n in names])
    return names[int(rng.choice(len(names), p=p / p.sum()))]


def draw_defect(crystal, zone_axis, rng: np.random.Generator, *, cells_z: int = 20,
                family: str | None = None, cache=None) -> DrawnDefect:
    """A defected specimen of ``crystal`` (a cubic `Crystal`) for one training pattern on ``zone_axis``.

    ``family`` (default: drawn, with `CACHE_FAMILY_WEIGHTS` when ``cache`` is given, else `FAMILY_WEIGHTS`)
    names the family; one the crystal cannot take falls back to "thermal".
    ``cells_z``: specimen thickness in conventional cells (cell-engine families).
    ``cache``: a `sadpnet.data.defect_cache.DefectCache`; atoms-engine families then use one of the crystal's
    cached blocks (built on the fly when the crystal is not in the cache). A corrupt cache file raises
    `InputError` naming it.
    """
    family = family or draw_family(rng, CACHE_FAMILY_WEIGHTS if cache is not None else None)
    zone = tuple(int(v) for v in zone_axis)
    if family == "none":
        return DrawnDefect(crystal, zone, "none")
    if cache is not None and family in ATOMS_FAMILIES:
        blocks = cache.blocks(crystal, family)  # None: crystal not cached; []: the crystal cannot take it
        if blocks == []:
            return _thermal(crystal, zone, rng, cells_z)
        if blocks:
            return cache.load(blocks[int(rng.integers(len(blocks)))], crystal, zone, rng)
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
    _displace(unit, b_a2, rng)
    return _periodic(unit, crystal, size, zone, cells_z, "thermal", {"debye_waller": False}, {"b_a2": b_a2})


def _displace(atoms, b_a2: float, rng):
    """``atoms`` with every position moved by Gaussian displacements of rms sqrt(B / 8 pi^2) per axis (A; B in
    A^2), in place; returns ``atoms``."""
    atoms.positions += rng.standard_normal(atoms.positions.shape) * math.sqrt(b_a2 / (8 * math.pi ** 2))
    return atoms


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
    axis = DISLOCATION_VIEW_AXES[int(rng.integers(len(DISLOCATION_VIEW_AXES)))]
    burgers = (0.5, 0.5, 0.5) if crystal.space_group_number == 229 else (0.5, -0.5, 0.0)  # a/2<111> in bcc, a/2<110>
    r = build_dislocation_array(crystal, line=(1, 1, -2), burgers=burgers, count=count, cells=BLOCK_CELLS)
    specimen = block_specimen(r.atoms, crystal, metadata={"defect": "dislocation"})
    return DrawnDefect(specimen, axis, "dislocation", {"engine": "atoms"}, {"count": count})


def _thermal_random(crystal, zone, rng, cells_z) -> DrawnDefect:
    from sadpnet.defects.point import make_supercell
    from sadpnet.defects.specimen import random_supercell_specimen

    b_a2 = float(rng.uniform(0.5, 3.0))
    _check_block_atoms(crystal)
    size = _supercell_size(crystal, rng, largest=2)
    base = make_supercell(crystal, size)
    n_blocks = int(np.prod([math.ceil(c / s) for c, s in zip(RANDOM_BLOCK_CELLS, size)]))
    shots = [_displace(base.copy(), b_a2, rng) for _ in range(n_blocks)]
    tiling_seed = int(rng.integers(2**31))
    specimen = random_supercell_specimen(shots, crystal, size, cells=RANDOM_BLOCK_CELLS, seed=tiling_seed,
                                         metadata={"defect": "thermal_random"})
    return DrawnDefect(specimen, zone, "thermal_random", {"engine": "atoms", "debye_waller": False},
                       {"b_a2": b_a2, "supercell": list(size), "tiling_seed": tiling_seed})


def _point_random(crystal, zone, rng, cells_z) -> DrawnDefect:
    from sadpnet.defects.specimen import shuffled_supercell_specimen

    _check_block_atoms(crystal)
    kinds = ["vacancy", "substitution"] + (["interstitial"] if _takes_interstitial(crystal) else [])
    kind = str(rng.choice(kinds))
    periodic = _BUILDERS[kind](crystal, zone, rng, cells_z)
    size = tuple(periodic.params["supercell"])
    tiling_seed = int(rng.integers(2**31))
    specimen = shuffled_supercell_specimen(periodic.source.unit, crystal, size, cells=RANDOM_BLOCK_CELLS,
                                           seed=tiling_seed, metadata={"defect": "point_random", "kind": kind})
    return DrawnDefect(specimen, zone, "point_random", {"engine": "atoms"},
                       {"kind": kind, **periodic.params, "tiling_seed": tiling_seed})


def _check_block_atoms(crystal) -> None:
    """ValueError if a `RANDOM_BLOCK_CELLS` block of ``crystal`` would hold more than `MAX_BLOCK_ATOMS` atoms."""
    if int(np.prod(RANDOM_BLOCK_CELLS)) * len(crystal.atoms) > MAX_BLOCK_ATOMS:
        raise ValueError(f"a {RANDOM_BLOCK_CELLS} block of {crystal.name} exceeds {MAX_BLOCK_ATOMS} atoms")


def _takes_interstitial(crystal) -> bool:
    """Whether `interstitial` serves ``crystal`` (named sites: one-element fcc and bcc only)."""
    from sadpnet.defects.point import lattice_type

    return lattice_type(crystal) is not None


_BUILDERS = {"strain": _strain, "thermal": _thermal, "vacancy": _vacancy, "substitution": _substitution,
             "interstitial": _interstitial, "twin": _twin, "dislocation": _dislocation,
             "thermal_random": _thermal_random, "point_random": _point_random}
