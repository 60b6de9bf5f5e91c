"""Write defected structures (P1 CIF, extended XYZ or LAMMPS data, by suffix) whose comments say how they
were made.

The comments record the sadpnet version, the defect and its parameters (JSON), the seed, the parent
crystal (name, space group, conventional cell), how the written cell relates to it (a supercell of
N1 x N2 x N3 parent cells, or a block whose axes e1, e2, e3 are given in the parent's Cartesian frame), and
one ``parent site:`` line per atom of the parent's conventional cell (symbol, fractional x y z, occupancy).
``sadpnet simulate`` indexes the spots of such a file in its parent: a supercell's zone axes are the file's
own cell axes (parallel to the parent's); a block's are the parent's conventional axes, the parent being
rebuilt from the site lines and turned into the block's frame.

Contract with the simulator (`sadpnet.simulate.api.load_source` parses these lines): the first line is
``sadpnet VERSION defect KIND``; the ``cell:`` line of a supercell contains ``spans AxBxC parent
conventional cells``, and that of a one-piece block (dislocations, twins) starts with ``block`` and names its
axes ``e1=(x y z); e2=(x y z); e3=(x y z)``.

`write_defect_file` writes the same comment lines into extended XYZ (``.extxyz``, ``.xyz``) and LAMMPS data
(``.lmp``, ``.data``) files, chosen by the suffix (`sadpnet.crystal.atom_files`): the formats for blocks of
10^5 atoms, which ASE, OVITO and LAMMPS read quickly. ``sadpnet simulate`` reads all of them alike.
"""

from __future__ import annotations

import json
from pathlib import Path


def defect_comments(kind: str, parameters: dict, parent, relation: str, seed: int | None = None) -> list[str]:
    """Comment lines for a defect CIF (see module docstring)."""
    from sadpnet import __version__

    a, b, c, al, be, ga = parent.lattice_parameters
    lines = [
        f"sadpnet {__version__} defect {kind}",
        f"parameters: {json.dumps(parameters, sort_keys=True, default=str)}",
        f"seed: {seed if seed is not None else 'none (deterministic)'}",
        f"parent: {parent.name} {parent.formula}, space group {parent.space_group_number} ({parent.space_group_symbol}), "
        f"conventional cell a={a:.6f} b={b:.6f} c={c:.6f} A alpha={al:.4f} beta={be:.4f} gamma={ga:.4f} deg"
        + (f", from {parent.source}" if parent.source else ""),
        f"cell: {relation}",
        *parent_site_lines(parent),
    ]
    return lines


def parent_site_lines(parent) -> list[str]:
    """One ``parent site: SYMBOL x y z occupancy`` line per atom of the parent's conventional cell (fractional
    coordinates): enough to rebuild the parent that a block's spots are indexed in."""
    occ = parent.occupancy
    return [f"parent site: {sym} {x:.6f} {y:.6f} {z:.6f} {o:.4f}"
            for sym, (x, y, z), o in zip(parent.atoms.get_chemical_symbols(), parent.atoms.get_scaled_positions(), occ)]


def write_defect_file(atoms, path: str | Path, kind: str, parameters: dict, parent, relation: str,
                      seed: int | None = None) -> Path:
    """Write ``atoms`` (atomically) with `defect_comments`, as a P1 CIF, extended XYZ or LAMMPS data file by the
    suffix of ``path`` (`sadpnet.crystal.atom_files.write_atom_file`).

    Example::

        >>> write_defect_file(r.atoms, "twin.extxyz", "twin", r.info, crystal, relation)   # doctest: +SKIP
    """
    from sadpnet.crystal.atom_files import write_atom_file

    return write_atom_file(atoms, path, defect_comments(kind, parameters, parent, relation, seed))


#: the name it had when CIF was the only format
write_defect_cif = write_defect_file
