"""Hand defected crystals to the simulator as `sadpnet.crystal.specimen.Specimen` objects of the paper's size.

* supercells (point defects, thermal snapshots) are repeated to cover at least ``cells`` (default 40 x 30 x
  20) conventional cells of the parent (the paper repeats them 10 times per axis);
* a strained crystal is its own parent (zone axes are indices of the strained lattice), repeated ``cells``;
* dislocation arrays and twins are built at specimen size: ``repeats=(1, 1, 1)``, no ``unit_in_parent_cells``,
  the parent kept so that zone axes are indices of the parent's conventional lattice.

Snapshots of thermal motion already carry the displacements: simulate them with ``debye_waller=False``.
"""

from __future__ import annotations

from sadpnet.crystal.specimen import DEFAULT_CELLS, Specimen


def supercell_specimen(supercell, parent, supercell_size, cells=DEFAULT_CELLS, name: str = "",
                       metadata: dict | None = None) -> Specimen:
    """A defected ``supercell`` of ``supercell_size`` parent cells, repeated to cover at least ``cells``."""
    return Specimen.from_supercell(supercell, parent, tuple(supercell_size), cells=tuple(cells), name=name,
                                   metadata=metadata)


def strained_specimen(strained_crystal, cells=DEFAULT_CELLS, metadata: dict | None = None) -> Specimen:
    """The strained conventional cell repeated ``cells`` times (zone axes in the strained lattice)."""
    spec = Specimen.from_crystal(strained_crystal, tuple(cells))
    spec.metadata = {"defect": "strain", **(metadata or {})}
    return spec


def block_specimen(atoms, parent, name: str = "", metadata: dict | None = None) -> Specimen:
    """A one-piece specimen built at full size (dislocation array, twin)."""
    return Specimen(unit=atoms, repeats=(1, 1, 1), parent=parent, unit_in_parent_cells=None, name=name,
                    metadata=dict(metadata or {}))
