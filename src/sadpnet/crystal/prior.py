"""Priors of random crystals: what real crystals of each space group look like, fitted from CIFs.

A `CrystalPrior` holds, per space group (`GroupStats`), counted from real crystals in their conventional
standard cell (spglib, the project's tolerance):

* ``n_atoms``: atoms in the conventional cell;
* ``n_species``: number of elements;
* ``stoichiometries``: the per-element atom counts of each crystal, sorted (``"4,8"`` for CaF2);
* ``elements``: how often each element occurs (once per crystal that contains it);
* ``log_packing_mean`` / ``log_packing_std``: a log-normal of the *packing ratio*: the cell volume divided
  by the summed covalent-sphere volumes of its atoms (``ase.data.covalent_radii``). A random crystal's
  volume is that sum for its own atoms times a ratio drawn from this log-normal.

Fallback: a space group with fewer than ``min_group_examples`` real crystals borrows the statistics of its
crystal system (``systems``); a crystal system with too few borrows those of all crystals (``overall``).
`CrystalPrior.stats` applies the rule.

The shipped prior (``resources/priors/crystal-prior.json``) is fitted from the shipped CIF collections by
``sadpnet crystal prior -o src/sadpnet/resources/priors/crystal-prior.json`` (see docs/synthetic-crystals.md);
`load_prior` reads it without parsing a CIF.

Example:
    >>> from sadpnet.crystal.prior import load_prior
    >>> prior = load_prior()
    >>> prior.stats(225).n_examples > 0
    True
"""

from __future__ import annotations

import dataclasses
import functools
import json
import math
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Mapping

import numpy as np

from sadpnet.atomic_write import write_text_atomic
from sadpnet.crystal.cif import Crystal, crystal_system, read_cif
from sadpnet.errors import InputError

#: Version of the prior's JSON format.
PRIOR_VERSION = 1
#: A space group (or crystal system) with fewer real crystals than this borrows the level above.
MIN_GROUP_EXAMPLES = 5
#: Shipped prior, under resources/.
SHIPPED_PRIOR = ("priors", "crystal-prior.json")

CRYSTAL_SYSTEMS = ("triclinic", "monoclinic", "orthorhombic", "tetragonal", "trigonal", "hexagonal", "cubic")


@dataclass(frozen=True)
class GroupStats:
    """Counts of one space group, crystal system or of all crystals (see the module docstring).

    Attributes:
        n_examples: real crystals counted.
        n_atoms: {atoms in the conventional cell: crystals}.
        n_species: {elements in the crystal: crystals}.
        stoichiometries: {"c1,c2,...": crystals}, the per-element counts of the conventional cell, sorted.
        elements: {symbol: crystals containing it}.
        log_packing_mean, log_packing_std: mean and standard deviation of ln(cell volume / summed
            covalent-sphere volumes), dimensionless.
    """

    n_examples: int
    n_atoms: Mapping[int, int]
    n_species: Mapping[int, int]
    stoichiometries: Mapping[str, int]
    elements: Mapping[str, int]
    log_packing_mean: float
    log_packing_std: float

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["n_atoms"] = {str(k): v for k, v in sorted(self.n_atoms.items())}
        d["n_species"] = {str(k): v for k, v in sorted(self.n_species.items())}
        d["stoichiometries"] = dict(sorted(self.stoichiometries.items()))
        d["elements"] = dict(sorted(self.elements.items()))
        return d

    @classmethod
    def from_dict(cls, d: Mapping) -> "GroupStats":
        return cls(n_examples=int(d["n_examples"]), n_atoms={int(k): int(v) for k, v in d["n_atoms"].items()},
                   n_species={int(k): int(v) for k, v in d["n_species"].items()},
                   stoichiometries={str(k): int(v) for k, v in d["stoichiometries"].items()},
                   elements={str(k): int(v) for k, v in d["elements"].items()},
                   log_packing_mean=float(d["log_packing_mean"]), log_packing_std=float(d["log_packing_std"]))


@dataclass(frozen=True)
class CrystalPrior:
    """Priors of random crystals per space group, with crystal-system and overall fallbacks.

    Attributes:
        groups: {space-group number: stats} for every group with at least one real crystal.
        systems: {crystal system: stats}.
        overall: stats of all crystals.
        min_group_examples: fallback threshold (see `stats`).
        provenance: how it was made: command, counts of files read and skipped, excluded ids.
    """

    groups: Mapping[int, GroupStats]
    systems: Mapping[str, GroupStats]
    overall: GroupStats
    min_group_examples: int = MIN_GROUP_EXAMPLES
    provenance: Mapping[str, object] = field(default_factory=dict)
    version: int = PRIOR_VERSION

    def stats(self, space_group: int) -> GroupStats:
        """Statistics that the generator uses for ``space_group``: its own where it has at least
        ``min_group_examples`` real crystals, else its crystal system's, else all crystals'."""
        own = self.groups.get(int(space_group))
        if own is not None and own.n_examples >= self.min_group_examples:
            return own
        system = self.systems.get(crystal_system(space_group))
        if system is not None and system.n_examples >= self.min_group_examples:
            return system
        return self.overall

    def group_frequencies(self) -> dict[int, int]:
        """{space group: real crystals} over all fitted groups."""
        return {g: s.n_examples for g, s in self.groups.items()}

    def to_json(self) -> str:
        doc = {"version": self.version, "min_group_examples": self.min_group_examples,
               "provenance": dict(self.provenance), "overall": self.overall.to_dict(),
               "systems": {k: self.systems[k].to_dict() for k in CRYSTAL_SYSTEMS if k in self.systems},
               "groups": {str(g): self.groups[g].to_dict() for g in sorted(self.groups)}}
        return json.dumps(doc, indent=1, sort_keys=False) + "\n"

    @classmethod
    def from_json(cls, text: str, where: str | Path = "prior") -> "CrystalPrior":
        try:
            d = json.loads(text)
            if int(d["version"]) != PRIOR_VERSION:
                raise InputError(f"prior format version {d['version']} is not {PRIOR_VERSION}", where)
            return cls(groups={int(g): GroupStats.from_dict(s) for g, s in d["groups"].items()},
                       systems={k: GroupStats.from_dict(s) for k, s in d["systems"].items()},
                       overall=GroupStats.from_dict(d["overall"]), min_group_examples=int(d["min_group_examples"]),
                       provenance=d.get("provenance", {}), version=int(d["version"]))
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            if isinstance(exc, InputError):
                raise
            raise InputError(f"not a crystal prior ({type(exc).__name__}: {exc})", where) from None

    def save(self, path: str | Path) -> Path:
        """Write the prior as JSON, atomically."""
        write_text_atomic(path, self.to_json())
        return Path(path)


def load_prior(path: str | Path | None = None) -> CrystalPrior:
    """The shipped prior (``path=None``; cached) or one saved by `CrystalPrior.save`.

    Raises:
        InputError: the file is missing or is not a prior.
    """
    if path is None:
        return _shipped_prior()
    path = Path(path)
    if not path.is_file():
        raise InputError("no such file", path)
    return CrystalPrior.from_json(path.read_text(), path)


@functools.lru_cache(maxsize=1)
def _shipped_prior() -> CrystalPrior:
    from sadpnet.resources import resource_path

    return load_prior(resource_path(*SHIPPED_PRIOR))


# ------------------------------------------------------------------------------------------------- fitting

def covalent_volume_a3(numbers: Iterable[int]) -> float:
    """Summed volumes of the covalent spheres of atoms (``ase.data.covalent_radii``), A^3.

    Example:
        >>> round(covalent_volume_a3([13] * 4), 1)  # four Al atoms, r = 1.21 A
        29.7
    """
    from ase.data import covalent_radii

    r = covalent_radii[np.asarray(list(numbers), dtype=int)]
    return float(np.sum(4.0 / 3.0 * math.pi * r**3))


@dataclass
class _Sample:
    space_group: int
    n_atoms: int
    counts: tuple[int, ...]
    elements: tuple[str, ...]
    log_packing: float


def _sample_of(c: Crystal) -> _Sample | None:
    """What the prior counts of one crystal; None for disordered (partially occupied) crystals."""
    if len(c.atoms) == 0 or float(c.occupancy.min()) < 1.0:
        return None
    symbols = c.atoms.get_chemical_symbols()
    per_element = Counter(symbols)
    packing = c.atoms.cell.volume / covalent_volume_a3(c.atoms.numbers)
    return _Sample(c.space_group_number, len(symbols), tuple(sorted(per_element.values())),
                   tuple(sorted(per_element)), math.log(packing))


def _stats(samples: list[_Sample]) -> GroupStats:
    logs = np.array([s.log_packing for s in samples])
    return GroupStats(
        n_examples=len(samples), n_atoms=dict(Counter(s.n_atoms for s in samples)),
        n_species=dict(Counter(len(s.counts) for s in samples)),
        stoichiometries=dict(Counter(",".join(map(str, s.counts)) for s in samples)),
        elements=dict(Counter(e for s in samples for e in s.elements)),
        log_packing_mean=round(float(logs.mean()), 6),
        log_packing_std=round(float(logs.std(ddof=1)) if len(logs) > 1 else 0.0, 6))


def _is_excluded(item, exclude: set[str]) -> bool:
    if isinstance(item, Crystal):
        keys = {item.name, str(item.source)}
        if item.source:
            keys |= {Path(item.source).name, str(Path(item.source).resolve())}
    else:
        p = Path(item)
        keys = {str(item), p.name, p.stem, str(p.resolve())}
    return bool(keys & exclude)


def fit_prior(cif_paths: Iterable[str | Path | Crystal], exclude: Iterable[str | Path] = (), *,
              min_group_examples: int = MIN_GROUP_EXAMPLES, command: str = "") -> CrystalPrior:
    """Fit a `CrystalPrior` to real crystals.

    Args:
        cif_paths: CIF files, or `Crystal` objects (e.g. corpus materials, whose ``name`` is the material id).
        exclude: material ids, file names or paths kept out of the fit (held-out test materials). A path
            item is excluded when its path, name, stem or resolved path is listed; a `Crystal` when its
            ``name`` or ``source`` (path, file name or resolved path) is.
        min_group_examples: the fallback threshold (see `CrystalPrior.stats`).
        command: how the fit was called, kept in the provenance.

    Returns:
        The prior. Files that do not read and disordered crystals are skipped and counted in
        ``provenance``.

    Raises:
        InputError: no ordered crystal was left to fit.

    Example:
        >>> from sadpnet.resources import example_cif
        >>> prior = fit_prior([example_cif("Al"), example_cif("Fe")], min_group_examples=1)
        >>> sorted(prior.groups)
        [225, 229]
    """
    excluded_keys = {str(e) for e in exclude} | {str(Path(e).resolve()) for e in exclude if Path(str(e)).suffix}
    samples: list[_Sample] = []
    n_excluded = n_unreadable = n_disordered = 0
    for item in cif_paths:
        if _is_excluded(item, excluded_keys):
            n_excluded += 1
            continue
        try:
            crystal = item if isinstance(item, Crystal) else read_cif(item)
        except InputError:
            n_unreadable += 1
            continue
        sample = _sample_of(crystal)
        if sample is None:
            n_disordered += 1
            continue
        samples.append(sample)
    if not samples:
        raise InputError("no ordered crystal left to fit a prior to", "cif_paths")
    by_group: dict[int, list[_Sample]] = {}
    by_system: dict[str, list[_Sample]] = {}
    for s in samples:
        by_group.setdefault(s.space_group, []).append(s)
        by_system.setdefault(crystal_system(s.space_group), []).append(s)
    provenance = {"command": command, "crystals_fitted": len(samples), "excluded": n_excluded,
                  "unreadable": n_unreadable, "disordered": n_disordered,
                  "exclude_list": sorted(str(e) for e in exclude)}
    return CrystalPrior(groups={g: _stats(v) for g, v in sorted(by_group.items())},
                        systems={k: _stats(v) for k, v in by_system.items()}, overall=_stats(samples),
                        min_group_examples=min_group_examples, provenance=provenance)
