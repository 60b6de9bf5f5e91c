"""The specimen: what is "put in the TEM". The hand-off from crystals and defects to the simulator.

It lives in the crystal stage (the lowest), so that defects build specimens and the simulator reads them
without either importing the other.

A `Specimen` is a block of atoms made of a repeating unit (a conventional cell, or a defected supercell)
repeated ``repeats`` times along its three cell vectors; ``repeats=(1, 1, 1)`` with a non-periodic unit is
any set of atoms (a dislocation array, a twin, an MD snapshot) built at full size. The simulator never
needs the repeated atoms spelled out: the lattice sum of the repeats factorises (see
``docs/physics.md``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from sadpnet.errors import InputError

#: The paper's specimen: 40 x 30 x 20 conventional cells along a, b, c.
DEFAULT_CELLS: tuple[int, int, int] = (40, 30, 20)


@dataclass
class Specimen:
    """A virtual TEM specimen.

    Attributes:
        unit: ``ase.Atoms`` of the repeating unit (Cartesian positions in A, ``cell`` rows in A). May carry
            an ``occupancy`` array (default 1). For a one-piece specimen (``repeats == (1, 1, 1)``), the
            cell is only its bounding box.
        repeats: how many times the unit is repeated along its cell vectors (N1, N2, N3).
        parent: the perfect `sadpnet.crystal.Crystal` the specimen derives from (used to index spots and to
            express zone axes), or None.
        unit_in_parent_cells: how many parent conventional cells the unit spans along each parent axis
            (e.g. (3, 3, 3) for a 3x3x3 supercell); the unit's cell must equal that multiple of the parent's.
            None for specimens not built on the parent's axes (dislocation arrays, twins).
        name: short description, e.g. "Al vacancy 1/108".
        metadata: how it was made (defect type, parameters, seed, potential, versions): JSON-serialisable.
    """

    unit: "ase.Atoms"  # noqa: F821
    repeats: tuple[int, int, int] = (1, 1, 1)
    parent: "Crystal | None" = None  # noqa: F821
    unit_in_parent_cells: tuple[int, int, int] | None = None
    name: str = ""
    metadata: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        reps = tuple(int(r) for r in self.repeats)
        if len(reps) != 3 or min(reps) < 1:
            raise InputError(f"specimen repeats must be three positive integers, got {self.repeats!r}", "cells")
        self.repeats = reps  # type: ignore[assignment]
        if len(self.unit) == 0:
            raise InputError("the specimen has no atoms")

    @property
    def n_atoms(self) -> int:
        """Number of atoms in the whole specimen."""
        return len(self.unit) * int(np.prod(self.repeats))

    @property
    def size_a(self) -> np.ndarray:
        """Edge lengths of the block along its three cell vectors, A."""
        return np.linalg.norm(np.asarray(self.unit.cell), axis=1) * np.array(self.repeats)

    @classmethod
    def from_crystal(cls, crystal, cells: tuple[int, int, int] = DEFAULT_CELLS) -> "Specimen":
        """A perfect specimen: the conventional cell of ``crystal`` repeated ``cells`` times."""
        return cls(unit=crystal.atoms, repeats=tuple(cells), parent=crystal, unit_in_parent_cells=(1, 1, 1),
                   name=crystal.name, metadata={"defect": "none"})

    @classmethod
    def from_supercell(cls, supercell, parent, supercell_size: tuple[int, int, int],
                       cells: tuple[int, int, int] = DEFAULT_CELLS, name: str = "",
                       metadata: dict | None = None) -> "Specimen":
        """A defected supercell of ``supercell_size`` parent cells, repeated to cover at least ``cells``."""
        size = tuple(int(s) for s in supercell_size)
        reps = tuple(max(1, -(-int(c) // s)) for c, s in zip(cells, size))
        return cls(unit=supercell, repeats=reps, parent=parent, unit_in_parent_cells=size, name=name,
                   metadata=dict(metadata or {}))

    def all_atoms(self):
        """The whole specimen as one ``ase.Atoms`` (spells out the repeats; large)."""
        return self.unit.repeat(self.repeats)
