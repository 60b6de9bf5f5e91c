"""Random, physically sensible crystals of any space group (pyxtal), drawn from a fitted `CrystalPrior`.

One crystal is made in three draws, all from the caller's ``numpy.random.Generator``:

1. a composition: with probability 1/2 a real stoichiometry of the group (``stoichiometries`` of its
   prior), else a number of atoms and of species from the prior's histograms, split at random; elements
   drawn without replacement by their frequency in the group. Compositions that no combination of the
   group's Wyckoff positions allows (pyxtal's ``Group.check_compatible``) are drawn again;
2. a cell volume: the summed covalent-sphere volumes of the atoms times a packing ratio drawn from the
   prior's log-normal (cut at 2 standard deviations);
3. a pyxtal structure of the group at that volume (random cell shape, random Wyckoff positions).

The result is kept only if no two atoms are closer than ``min_distance_scale`` times the sum of their
covalent radii (``ase.data.covalent_radii``, periodic images included) and spglib (the project's
tolerance, `sadpnet.crystal.cif.DEFAULT_SYMPREC_A`) finds the requested group; else another structure
is drawn, up to ``max_tries``. The same generator state gives the same crystal.

Example:
    >>> import numpy as np
    >>> from sadpnet.crystal.synthetic import random_crystal
    >>> c = random_crystal(225, np.random.default_rng(3))
    >>> c.space_group_number
    225
"""

from __future__ import annotations

import functools
import math
import warnings
from typing import Iterable, Iterator, Mapping

import numpy as np

from sadpnet.crystal.cif import Crystal, crystal_from_atoms, crystal_system
from sadpnet.crystal.prior import CrystalPrior, GroupStats, covalent_volume_a3, load_prior
from sadpnet.errors import InputError, SadpnetError

#: Default cap on the atoms of the primitive cell.
DEFAULT_MAX_ATOMS = 24
#: Default minimum distance, as a fraction of the sum of the two atoms' covalent radii.
DEFAULT_MIN_DISTANCE_SCALE = 0.7
#: Default number of structures drawn before giving up.
DEFAULT_MAX_TRIES = 30
#: Compositions drawn before falling back to one element on one Wyckoff orbit.
_COMPOSITION_TRIES = 40


class GenerationError(SadpnetError, RuntimeError):
    """No structure passed the checks within ``max_tries`` (the inputs were possible, the luck was not)."""


@functools.lru_cache(maxsize=256)
def _group(space_group: int):
    from pyxtal.symmetry import Group

    return Group(int(space_group))


def _check_group(space_group) -> int:
    if isinstance(space_group, bool) or not isinstance(space_group, (int, np.integer)) or not 1 <= space_group <= 230:
        raise InputError(f"space group must be an integer 1-230, got {space_group!r}", "space_group")
    return int(space_group)


def _compatible(space_group: int, counts) -> bool:
    ok, _ = _group(space_group).check_compatible([int(c) for c in counts])
    return bool(ok)


def _weighted_choice(rng: np.random.Generator, table: Mapping, limit=None):
    keys = sorted(k for k in table if limit is None or limit(k))  # an order that JSON round trips keep
    if not keys:
        return None
    w = np.array([table[k] for k in keys], dtype=float)
    return keys[int(rng.choice(len(keys), p=w / w.sum()))]


def _draw_elements(rng: np.random.Generator, stats: GroupStats, overall: GroupStats, k: int) -> list[str]:
    table = stats.elements if len(stats.elements) >= k else overall.elements
    keys = sorted(table)
    w = np.array([table[e] for e in keys], dtype=float)
    idx = rng.choice(len(keys), size=k, replace=False, p=w / w.sum())
    return [keys[int(i)] for i in idx]


def _draw_counts(rng: np.random.Generator, stats: GroupStats, cap: int) -> list[int] | None:
    """Per-element atom counts of the conventional cell (at most ``cap`` atoms in all)."""
    if rng.random() < 0.5:
        key = _weighted_choice(rng, stats.stoichiometries, lambda s: sum(map(int, s.split(","))) <= cap)
        if key is not None:
            counts = [int(c) for c in key.split(",")]
            return [counts[int(i)] for i in rng.permutation(len(counts))]
    n = _weighted_choice(rng, stats.n_atoms, lambda n: n <= cap)
    if n is None:
        return None
    k = _weighted_choice(rng, stats.n_species, lambda k: k <= n) or 1
    return [1 + int(x) for x in rng.multinomial(n - k, rng.dirichlet(np.ones(k)))]


def _orbit_counts(rng: np.random.Generator, space_group: int, cap: int) -> list[int] | None:
    """Fallback: one element on one random Wyckoff orbit of at most ``cap`` sites."""
    mult = sorted({len(wp) for wp in _group(space_group).Wyckoff_positions if len(wp) <= cap})
    return [int(rng.choice(mult))] if mult else None


def _draw_composition(rng, space_group: int, prior: CrystalPrior, cap: int) -> dict[str, int]:
    stats = prior.stats(space_group)
    counts = None
    for _ in range(_COMPOSITION_TRIES):
        c = _draw_counts(rng, stats, cap)
        if c is not None and _compatible(space_group, c):
            counts = c
            break
    if counts is None:
        counts = _orbit_counts(rng, space_group, cap)
    if counts is None:
        raise InputError(f"no composition of at most {cap} atoms in the conventional cell fits space group "
                         f"{space_group}; raise max_atoms", "max_atoms")
    return dict(zip(_draw_elements(rng, stats, prior.overall, len(counts)), counts))


def _check_composition(composition: Mapping[str, int], space_group: int) -> dict[str, int]:
    from ase.data import atomic_numbers

    comp = {}
    for symbol, count in composition.items():
        if symbol not in atomic_numbers or symbol == "X":
            raise InputError(f"unknown element {symbol!r}", "composition")
        if isinstance(count, bool) or not isinstance(count, (int, np.integer)) or count < 1:
            raise InputError(f"atom count of {symbol} must be a positive integer, got {count!r}", "composition")
        comp[symbol] = int(count)
    if not comp:
        raise InputError("empty composition", "composition")
    if not _compatible(space_group, list(comp.values())):
        text = " ".join(f"{s}{n}" for s, n in comp.items())
        raise InputError(f"{text} (atoms in the conventional cell) fits no combination of Wyckoff positions "
                         f"of space group {space_group}", "composition")
    return comp


def too_close(atoms, min_distance_scale: float = DEFAULT_MIN_DISTANCE_SCALE) -> bool:
    """True if two atoms (periodic images included) are closer than ``min_distance_scale`` times the sum
    of their covalent radii (``ase.data.covalent_radii``, A).

    Example:
        >>> from ase.build import bulk
        >>> too_close(bulk("Al", "fcc", a=4.05)), too_close(bulk("Al", "fcc", a=2.0))
        (False, True)
    """
    from ase.data import covalent_radii
    from ase.neighborlist import neighbor_list

    r = covalent_radii[atoms.numbers]
    cutoff = float(2 * min_distance_scale * r.max())
    i, j, d = neighbor_list("ijd", atoms, cutoff)
    return bool(np.any(d < min_distance_scale * (r[i] + r[j])))


#: Cell shapes, and Wyckoff placements per shape, that one pyxtal draw tries (pyxtal's own defaults, 40 x 10,
#: spend a minute on a composition that does not fit the volume; a new draw is cheaper).
_PYXTAL_SHAPES = 2
_PYXTAL_PLACEMENTS = 2


def _share_pyxtal_default_tolerance() -> None:
    """Make ``pyxtal.operations`` build its default ``Tol_matrix(prototype="atomic")`` once, not per call.

    pyxtal's ``check_images`` and ``check_distance`` build that table (a Python loop over all element
    pairs, about 30 ms) each time they are called without one, which Wyckoff merging does for every
    trial point, even where it passes its own tolerance and never reads the table: 2/3 of the time of a
    random crystal (cProfile, bench/bench_synthetic.py). Both only read the table, so one shared copy is
    equivalent.
    """
    import pyxtal.operations
    from pyxtal.tolerance import Tol_matrix

    if getattr(pyxtal.operations.Tol_matrix, "sadpnet_shared", False):
        return

    @functools.lru_cache(maxsize=8)
    def shared(prototype="atomic", factor=1.0):
        return Tol_matrix(prototype=prototype, factor=factor)

    def tol_matrix(*tuples, prototype="atomic", factor=1.0):
        return Tol_matrix(*tuples, prototype=prototype, factor=factor) if tuples else shared(prototype, factor)

    tol_matrix.sadpnet_shared = True
    pyxtal.operations.Tol_matrix = tol_matrix


@functools.lru_cache(maxsize=8)
def _tolerance(min_distance_scale: float):
    """pyxtal's pair tolerances for our distance rule (its "atomic" table is 0.5 x factor x (r_i + r_j))."""
    from pyxtal.tolerance import Tol_matrix

    return Tol_matrix(prototype="atomic", factor=2 * min_distance_scale)


@functools.lru_cache(maxsize=1)
def _bounded_random_crystal():
    """pyxtal's ``random_crystal`` with its attempt loop bounded (`_PYXTAL_SHAPES` x `_PYXTAL_PLACEMENTS`)."""
    from pyxtal.crystal import random_crystal as pyxtal_random_crystal

    _share_pyxtal_default_tolerance()

    class BoundedRandomCrystal(pyxtal_random_crystal):
        def set_crystal(self):  # pyxtal's loop (crystal.py), with fewer attempts
            self.numattempts = 0
            for self.cycle1 in range(_PYXTAL_SHAPES):
                self.set_volume()
                self.set_lattice(self.lattice0)
                for self.cycle2 in range(_PYXTAL_PLACEMENTS):
                    sites = self._set_coords()
                    if sites:
                        self.atom_sites = sites
                        return
                self.lattice.reset_matrix()

    return BoundedRandomCrystal


def _pyxtal_atoms(space_group: int, composition: Mapping[str, int], volume_a3: float, seed: int,
                  min_distance_scale: float):
    """ASE atoms of one pyxtal structure at ``volume_a3`` (A^3), or None where pyxtal placed none."""
    from ase import Atoms
    from pyxtal.lattice import Lattice

    group = _group(space_group)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            lattice = Lattice(group.lattice_type, volume_a3, random_state=seed)
            s = _bounded_random_crystal()(3, group, list(composition), list(composition.values()),
                                          lattice=lattice, random_state=seed, tm=_tolerance(min_distance_scale))
    except Exception:  # pyxtal raises RuntimeError, ValueError and its own errors on a failed draw
        return None
    if not s.valid:
        return None
    symbols = [site.specie for site in s.atom_sites for _ in range(site.multiplicity)]
    frac = np.concatenate([site.coords for site in s.atom_sites]) % 1.0
    return Atoms(symbols, scaled_positions=frac, cell=s.lattice.matrix, pbc=True)


def _log_packing(rng: np.random.Generator, stats: GroupStats) -> float:
    z = float(np.clip(rng.standard_normal(), -2.0, 2.0))  # a log-normal cut at 2 sigma
    return stats.log_packing_mean + z * stats.log_packing_std


def random_crystal(space_group: int, rng: np.random.Generator, prior: CrystalPrior | None = None, *,
                   max_atoms: int = DEFAULT_MAX_ATOMS, min_distance_scale: float = DEFAULT_MIN_DISTANCE_SCALE,
                   composition: Mapping[str, int] | None = None, max_tries: int = DEFAULT_MAX_TRIES) -> Crystal:
    """A random crystal of ``space_group`` in its conventional standard cell.

    Args:
        space_group: International Tables number, 1-230.
        rng: numpy generator; the same state gives the same crystal.
        prior: `CrystalPrior` (default: the shipped one, `load_prior`).
        max_atoms: most atoms in the primitive cell (drawn compositions only).
        min_distance_scale: no two atoms closer than this times the sum of their covalent radii.
        composition: {element: atoms in the conventional cell}; default: drawn from the prior.
        max_tries: structures drawn before giving up.

    Returns:
        `Crystal` whose spglib space group is ``space_group``; ``name`` is its formula, ``notes`` say how
        many structures were drawn.

    Raises:
        InputError: space group outside 1-230, an unknown element, a composition that no combination of
            the group's Wyckoff positions allows, or a ``max_atoms`` that no composition fits.
        GenerationError: no structure passed the checks in ``max_tries`` draws.

    Example:
        >>> import numpy as np
        >>> c = random_crystal(194, np.random.default_rng(0), composition={"Mg": 2})
        >>> c.formula, c.space_group_number
        ('Mg', 194)
    """
    space_group = _check_group(space_group)
    if max_atoms < 1:
        raise InputError(f"max_atoms must be at least 1, got {max_atoms}", "max_atoms")
    if not 0.0 <= min_distance_scale <= 2.0:
        raise InputError(f"min_distance_scale must be 0-2, got {min_distance_scale}", "min_distance_scale")
    prior = load_prior() if prior is None else prior
    stats = prior.stats(space_group)
    fixed = None if composition is None else _check_composition(composition, space_group)
    cap = max_atoms * _group(space_group).cellsize()
    rejected: list[str] = []
    for attempt in range(1, max_tries + 1):
        comp = fixed or _draw_composition(rng, space_group, prior, cap)
        volume = covalent_volume_a3(_numbers(comp)) * math.exp(_log_packing(rng, stats))
        atoms = _pyxtal_atoms(space_group, comp, volume, int(rng.integers(2**63 - 1)), min_distance_scale)
        if atoms is None:
            rejected.append("pyxtal")
            continue
        if too_close(atoms, min_distance_scale):
            rejected.append("distance")
            continue
        try:
            c = crystal_from_atoms(atoms, standardize_cell=True)
        except InputError:
            rejected.append("spglib")
            continue
        if c.space_group_number != space_group:
            rejected.append(f"spglib {c.space_group_number}")
            continue
        c.notes.append(f"random crystal of space group {space_group}: accepted on draw {attempt}"
                       + (f" (rejected: {', '.join(rejected)})" if rejected else ""))
        return c
    raise GenerationError(f"space group {space_group}: no structure passed the checks in {max_tries} draws "
                          f"({', '.join(sorted(set(rejected)))})")


def _numbers(composition: Mapping[str, int]) -> list[int]:
    from ase.data import atomic_numbers

    return [atomic_numbers[s] for s, n in composition.items() for _ in range(n)]


def sample_crystals(groups: Iterable[int] | Mapping[int, float], n: int, seed: int,
                    prior: CrystalPrior | None = None, **options) -> Iterator[Crystal]:
    """``n`` random crystals, reproducible for a ``seed``.

    Space groups are drawn uniformly from ``groups``, or by weight where ``groups`` maps group -> weight
    (e.g. `non_cubic_groups`). ``options`` go to `random_crystal`. A draw that fails (`GenerationError`)
    is made again with a new group.

    Example:
        >>> [c.space_group_number for c in sample_crystals([221], 2, seed=0)]
        [221, 221]
    """
    weights = dict(groups) if isinstance(groups, Mapping) else {g: 1.0 for g in groups}
    keys = [_check_group(g) for g in weights]
    if not keys:
        raise InputError("no space group to sample", "groups")
    p = np.array(list(weights.values()), dtype=float)
    rng = np.random.default_rng(seed)
    prior = load_prior() if prior is None else prior
    made = failed = 0
    while made < n:
        g = keys[int(rng.choice(len(keys), p=p / p.sum()))]
        try:
            c = random_crystal(g, rng, prior, **options)
        except GenerationError:
            failed += 1
            if failed > 10 * n + 10:
                raise
            continue
        made += 1
        yield c


def non_cubic_groups(prior: CrystalPrior | None = None, per_system: int = 4) -> dict[int, float]:
    """Representative non-cubic space groups with sampling weights.

    The ``per_system`` most common groups of each non-cubic crystal system in the prior's real crystals
    (ties by number), each weighted by its share of all real non-cubic crystals; every system keeps at least
    one group. Weights sum to 1.

    Example:
        >>> weights = non_cubic_groups()
        >>> sorted({crystal_system(g) for g in weights})  # doctest: +NORMALIZE_WHITESPACE
        ['hexagonal', 'monoclinic', 'orthorhombic', 'tetragonal', 'triclinic', 'trigonal']
    """
    prior = load_prior() if prior is None else prior
    freq = prior.group_frequencies()
    chosen: dict[int, int] = {}
    for system in ("triclinic", "monoclinic", "orthorhombic", "tetragonal", "trigonal", "hexagonal"):
        members = sorted((g for g in freq if crystal_system(g) == system), key=lambda g: (-freq[g], g))
        if not members:
            raise InputError(f"the prior has no {system} crystal", "prior")
        chosen.update({g: freq[g] for g in members[:per_system]})
    total = sum(chosen.values())
    return {g: v / total for g, v in sorted(chosen.items())}
