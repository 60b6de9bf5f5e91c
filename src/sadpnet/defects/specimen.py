"""Hand defected crystals to the simulator as `sadpnet.crystal.specimen.Specimen` objects of the paper's size.

* supercells (point defects, thermal snapshots) are repeated to cover at least ``cells`` (default 40 x 30 x
  20) conventional cells of the parent (the paper repeats them 10 times per axis). Identical repeats make
  the defect arrangement periodic, and a periodic arrangement diffracts into superlattice reflections that
  a crystal with randomly placed defects (or uncorrelated thermal motion) does not show.
  `shuffled_supercell_specimen` breaks that periodicity: every repeat is the same supercell translated by
  its own random parent-lattice vector (wrapped back into the supercell), so the concentration, the local
  relaxation and the displacement statistics are the paper's, but the defects sit at random places;
  `random_supercell_specimen` also draws each block from several realisations (independent snapshots);
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


def shuffled_supercell_specimen(supercell, parent, supercell_size, cells=DEFAULT_CELLS, seed: int = 0,
                                name: str = "", metadata: dict | None = None) -> Specimen:
    """Repeats of ``supercell`` (``supercell_size`` parent cells) covering at least ``cells``, each translated
    by a random parent-lattice vector and wrapped into the supercell: defects at random, uncorrelated places.

    `random_supercell_specimen` with one realisation; see there.
    """
    return random_supercell_specimen([supercell], parent, supercell_size, cells, seed, name, metadata)


def random_supercell_specimen(realisations, parent, supercell_size, cells=DEFAULT_CELLS, seed: int = 0,
                              name: str = "", metadata: dict | None = None) -> Specimen:
    """Blocks of ``supercell_size`` parent cells covering at least ``cells``, each one of ``realisations`` (same
    cell and atom count: thermal snapshots, or defected supercells) drawn at random and translated by a random
    parent-lattice vector, wrapped into the block: no repeat period, defects and displacements at random places.

    The translations are the parent's pure lattice translations (`centring_translations`), so every block is a
    realisation itself, moved. With at least as many realisations as blocks, every block gets its own (an
    independent snapshot per block); with fewer, they are drawn with repeats.
    The whole specimen is spelled out atom by atom (simulate it with engine "atoms"); ``seed`` fixes the draws.
    The metadata records ``tiling: shuffled``, the seed, the blocks and the number of realisations.

    Examples
    --------
    >>> from sadpnet.crystal import read_cif
    >>> from sadpnet.resources import example_cif
    >>> from sadpnet.defects.point import make_supercell
    >>> al = read_cif(example_cif("Al"))
    >>> sp = random_supercell_specimen([make_supercell(al, (2, 2, 2))] * 2, al, (2, 2, 2), cells=(4, 4, 2))
    >>> len(sp.unit), sp.metadata["tiles"], sp.metadata["realisations"]
    (128, [2, 2, 1], 2)
    """
    import numpy as np
    from ase import Atoms

    size = np.array([int(x) for x in supercell_size])
    reps = np.array([max(1, -(-int(c) // s)) for c, s in zip(cells, size)])
    first = realisations[0]
    sc_cell = np.asarray(first.cell, dtype=float)
    frac = np.stack([r.get_scaled_positions(wrap=False) for r in realisations])  # (K, atoms, 3)
    rng = np.random.default_rng(seed)
    grid = np.stack(np.meshgrid(*[np.arange(r) for r in reps], indexing="ij"), -1).reshape(-1, 3)
    # a random lattice translation of the parent per tile: conventional cells plus a centring vector (fcc, bcc,
    # ...): without the centring vectors the superlattice reflections at centring-forbidden hkl (fcc 100)
    # would stay coherent
    cent = centring_translations(parent)
    shifts = (rng.integers(0, size, size=(len(grid), 3)) + cent[rng.integers(0, len(cent), len(grid))]) / size
    k = len(realisations)  # as many as blocks: each block its own realisation; fewer: drawn with repeats
    pick = (np.zeros(len(grid), int) if k == 1 else rng.permutation(k)[:len(grid)] if k >= len(grid)
            else rng.integers(0, k, len(grid)))
    f = (frac[pick] + shifts[:, None, :]) % 1.0 + grid[:, None, :]  # (tiles, atoms, 3) in supercells
    pos = f.reshape(-1, 3) @ sc_cell
    atoms = Atoms(numbers=np.tile(first.numbers, len(grid)), positions=pos, cell=sc_cell * reps[:, None], pbc=True)
    meta = {**(metadata or {}), "tiling": "shuffled", "tiling_seed": int(seed), "tiles": [int(r) for r in reps],
            "realisations": len(realisations)}
    return block_specimen(atoms, parent, name=name, metadata=meta)


def centring_translations(parent) -> "np.ndarray":
    """(K, 3) pure translations of a crystal in fractions of its conventional cell, within one cell: (0, 0, 0)
    and the centring vectors (fcc: 3 more, bcc: 1; spglib, symprec 1e-3 A)."""
    import numpy as np
    import spglib

    a = parent.atoms
    sym = spglib.get_symmetry((np.asarray(a.cell), a.get_scaled_positions(), a.numbers), symprec=1e-3)
    ident = np.all(sym["rotations"] == np.eye(3, dtype=int), axis=(1, 2))
    t = np.round(np.asarray(sym["translations"])[ident] % 1.0, 6) % 1.0
    return np.unique(t, axis=0)
