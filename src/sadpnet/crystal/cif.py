"""Read and write CIFs; standardise to the conventional cell with spglib.

`read_cif` is the one entry point from a file to a `Crystal`. It applies the CIF's symmetry operators
(through ASE's CIF parser), keeps partial occupancies, takes the first data block that holds a structure
(and says so when there are several), and standardises the cell with spglib so that every later stage
sees the conventional cell in spglib's standard setting (cubic axes along x, y, z).
"""

from __future__ import annotations

import io
import logging
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from sadpnet.atomic_write import atomic_path
from sadpnet.errors import InputError

log = logging.getLogger(__name__)

#: Symmetry tolerance of spglib, A.
DEFAULT_SYMPREC_A = 1e-3


@dataclass
class Crystal:
    """A crystal structure in its conventional standard cell.

    Attributes:
        atoms: ``ase.Atoms`` of the conventional cell (periodic). ``atoms.arrays["occupancy"]`` holds the
            occupancy of each site (1.0 for ordered sites; a partially occupied site appears once per species).
        space_group_number: International Tables number (1-230) found by spglib.
        space_group_symbol: Hermann-Mauguin symbol found by spglib.
        name: short name (the CIF's file stem, or the formula).
        source: where it came from (a path), or None.
        notes: what the reader did that a user should know (first of several data blocks, ...).
    """

    atoms: "ase.Atoms"  # noqa: F821
    space_group_number: int
    space_group_symbol: str
    name: str = ""
    source: str | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def occupancy(self) -> np.ndarray:
        occ = self.atoms.arrays.get("occupancy")
        return np.ones(len(self.atoms)) if occ is None else np.asarray(occ, dtype=float)

    @property
    def formula(self) -> str:
        return self.atoms.get_chemical_formula(mode="metal", empirical=True)

    @property
    def crystal_system(self) -> str:
        return crystal_system(self.space_group_number)

    @property
    def lattice_parameters(self) -> tuple[float, float, float, float, float, float]:
        """(a, b, c) in A and (alpha, beta, gamma) in degrees."""
        return tuple(float(x) for x in self.atoms.cell.cellpar())  # type: ignore[return-value]


def crystal_system(space_group_number: int) -> str:
    """Crystal system of a space-group number (1-230)."""
    n = int(space_group_number)
    if not 1 <= n <= 230:
        raise InputError(f"space group number must be 1-230, got {n}")
    for upper, name in ((2, "triclinic"), (15, "monoclinic"), (74, "orthorhombic"), (142, "tetragonal"),
                        (167, "trigonal"), (194, "hexagonal"), (230, "cubic")):
        if n <= upper:
            return name
    raise AssertionError  # pragma: no cover


_CELL_TAGS = ("_cell_length_a", "_cell_length_b", "_cell_length_c", "_cell_angle_alpha", "_cell_angle_beta",
              "_cell_angle_gamma")
_SITE_TAGS = (("_atom_site_fract_x", "_atom_site_fract_y", "_atom_site_fract_z"),
              ("_atom_site_cartn_x", "_atom_site_cartn_y", "_atom_site_cartn_z"))


def _missing_parts(blocks) -> str:
    """What a CIF lacks to describe a structure, e.g. ``"no cell parameters (_cell_length_a ...)"``."""
    tags = set().union(*(b._tags for b in blocks)) if blocks else set()
    missing = []
    if not all(t in tags for t in _CELL_TAGS):
        absent = [t for t in _CELL_TAGS if t not in tags]
        missing.append(f"no cell parameters ({', '.join(absent[:2])}{' ...' if len(absent) > 2 else ''})")
    if not any(all(t in tags for t in group) for group in _SITE_TAGS):
        missing.append("no atom sites (_atom_site_fract_x ...)")
    elif not any(t in tags for t in ("_atom_site_type_symbol", "_atom_site_label")):
        missing.append("no atom site element (_atom_site_type_symbol or _atom_site_label)")
    return "; ".join(missing)


def _parse_blocks(path: Path) -> list:
    """ASE's CIF blocks of ``path``; `InputError` saying what is wrong where the file is not a CIF."""
    from ase.io.cif import parse_cif

    text = path.read_bytes()
    if not text.strip():
        raise InputError("the file is empty", path)
    if not any(line.strip().lower().startswith(b"data_") for line in text.splitlines()):
        raise InputError("not a CIF: no data block (a CIF starts its structure with a 'data_NAME' line)", path)
    try:
        return list(parse_cif(str(path)))
    except Exception as exc:  # ASE raises many kinds of errors on malformed files
        detail = str(exc).strip() or "the parser stopped on a line it could not read"
        raise InputError(f"not a readable CIF ({type(exc).__name__}: {detail})", path) from None


def _first_structure_block(path: Path):
    all_blocks = _parse_blocks(path)
    blocks = [b for b in all_blocks if b.has_structure()]
    if not blocks:
        raise InputError(_missing_parts(all_blocks) or "no crystal structure (cell and atom sites) in any data "
                         "block", path)
    notes = []
    if len(blocks) > 1:
        msg = f"{path}: {len(blocks)} data blocks hold structures; took the first ('{blocks[0].name}')"
        warnings.warn(msg, stacklevel=3)
        notes.append(msg)
    return blocks[0], notes


def _expand_occupancies(atoms):
    """Atoms with one entry per (site, species) and an 'occupancy' array."""
    from ase import Atoms

    occ_info = atoms.info.get("occupancy")
    if not occ_info:
        out = atoms.copy()
        out.set_array("occupancy", np.ones(len(atoms)))
        return out
    kinds = atoms.arrays.get("spacegroup_kinds", atoms.get_tags())
    symbols, positions, occ = [], [], []
    for atom, kind in zip(atoms, kinds):
        species = occ_info.get(str(kind)) or {atom.symbol: 1.0}
        for sym, o in species.items():
            symbols.append(sym)
            positions.append(atom.position)
            occ.append(float(o))
    out = Atoms(symbols=symbols, positions=positions, cell=atoms.cell, pbc=True)
    out.set_array("occupancy", np.array(occ))
    return out


def _spglib_dataset(cell, symprec_a: float):
    """spglib's symmetry dataset, or None where spglib finds none (new-style error handling)."""
    import spglib
    import spglib.error

    spglib.error.OLD_ERROR_HANDLING = False
    try:
        return spglib.get_symmetry_dataset(cell, symprec=symprec_a)
    except spglib.error.SpglibError:
        return None


def standardize(atoms, symprec_a: float = DEFAULT_SYMPREC_A):
    """Conventional standard cell of ``atoms`` (spglib); returns (atoms, number, symbol).

    Sites shared by several species (partial occupancy) are standardised as one site.
    """
    from ase import Atoms

    occ = atoms.arrays.get("occupancy", np.ones(len(atoms)))
    frac = atoms.get_scaled_positions(wrap=True)
    # group atoms that share a position into sites; a site's kind is its set of (species, occupancy)
    keys = np.round(frac, 4) % 1.0
    site_of: dict[tuple, int] = {}
    site_members: list[list[int]] = []
    for i, k in enumerate(map(tuple, keys)):
        if k not in site_of:
            site_of[k] = len(site_members)
            site_members.append([])
        site_members[site_of[k]].append(i)
    kinds: dict[tuple, int] = {}
    site_types = []
    for members in site_members:
        kind = tuple(sorted((atoms.numbers[i], round(float(occ[i]), 4)) for i in members))
        site_types.append(kinds.setdefault(kind, len(kinds) + 1))
    site_frac = np.array([frac[m[0]] for m in site_members])
    cell = (np.asarray(atoms.cell), site_frac, np.array(site_types))
    ds = _spglib_dataset(cell, symprec_a)
    if ds is None:
        raise InputError("spglib could not find the symmetry (atoms too close or cell degenerate?)")
    kind_of_type = {t: k for k, t in kinds.items()}
    numbers, positions, occupancy = [], [], []
    for f, t in zip(ds.std_positions, ds.std_types):
        for z, o in kind_of_type[int(t)]:
            numbers.append(z)
            positions.append(f)
            occupancy.append(o)
    std = Atoms(numbers=numbers, scaled_positions=np.array(positions) % 1.0, cell=ds.std_lattice, pbc=True)
    std.set_array("occupancy", np.array(occupancy, dtype=float))
    return std, int(ds.number), str(ds.international)


#: P1 cells with more sites than this are read directly (ASE's symmetry expansion costs O(N^2)).
P1_DIRECT_ATOMS = 200

#: P1 cells with more atoms than this are not searched for symmetry (spglib would not finish).
LARGE_P1_ATOMS = 5000


def _large_p1_atoms(block):
    """Atoms of an ordered P1 block of many sites without ASE's O(N^2) symmetry expansion, else None."""
    from ase.io.cif import NoStructureData

    try:
        n_sites = len(block.get_symbols())
        if n_sites <= P1_DIRECT_ATOMS or block.get_spacegroup(True).no != 1:
            return None
        occ = block.get("_atom_site_occupancy")
        if occ is not None and any(abs(float(o) - 1.0) > 1e-9 for o in occ):
            return None
        atoms = block.get_unsymmetrized_structure()
    except (NoStructureData, ValueError, TypeError):
        return None
    atoms.pbc = True
    return atoms


_SYMOP_TAGS = ("_space_group_symop_operation_xyz", "_symmetry_equiv_pos_as_xyz")
_SG_NAME_TAGS = ("_symmetry_space_group_name_h-m", "_space_group_name_h-m_alt", "_space_group_name_hall",
                 "_symmetry_space_group_name_hall", "_space_group_it_number", "_symmetry_int_tables_number")


def _atoms_from_block(block, notes: list[str]):
    """ASE atoms from a CIF block; where ASE does not know the space-group name (e.g. "F m 3 m") but the
    block lists its symmetry operators, build from the operators alone."""
    from ase.spacegroup.spacegroup import SpacegroupNotFoundError

    try:
        return block.get_atoms(fractional_occupancies=True)
    except SpacegroupNotFoundError:
        if not any(block._tags.get(t) for t in _SYMOP_TAGS):
            raise
    for tag in _SG_NAME_TAGS:
        block._tags.pop(tag, None)
    block._tags["_symmetry_space_group_name_h-m"] = "P 1"  # a base group; the listed operators replace its own
    notes.append("space-group name not recognised; built from the CIF's symmetry operators")
    return block.get_atoms(fractional_occupancies=True)


def read_cif(path: str | Path, *, standardize_cell: bool = True, symprec_a: float = DEFAULT_SYMPREC_A) -> Crystal:
    """Read a CIF into a `Crystal` (conventional standard cell unless ``standardize_cell=False``).

    Raises:
        InputError: the file is missing, is not a CIF, holds no structure, or names an unknown element.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError("no such file", path)
    block, notes = _first_structure_block(path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            atoms = _large_p1_atoms(block)
            if atoms is None:
                atoms = _atoms_from_block(block, notes)
    except KeyError as exc:  # ASE looks element symbols up in a dict
        raise InputError(f"unknown element {exc.args[0]!r} in the atom sites", path) from None
    except Exception as exc:
        raise InputError(f"cannot build the structure from the CIF ({type(exc).__name__}: {exc})", path) from None
    if len(atoms) == 0:
        raise InputError("the CIF lists no atoms", path)
    if atoms.cell.rank != 3 or atoms.cell.volume < 1.0:
        raise InputError(_missing_parts([block]) or f"the cell is degenerate (volume {atoms.cell.volume:.3g} A^3)",
                         path)
    atoms = _expand_occupancies(atoms)
    if len(atoms) > LARGE_P1_ATOMS:  # a defect block written by `sadpnet defect`: spglib's search would not end
        notes.append(f"{len(atoms)} atoms: symmetry not searched, taken as P1 in the file's own cell")
        number, symbol = 1, "P1"
    elif standardize_cell:
        try:
            atoms, number, symbol = standardize(atoms, symprec_a)
        except InputError as exc:
            raise InputError(exc.problem, path) from None
    else:
        ds = _spglib_dataset((np.asarray(atoms.cell), atoms.get_scaled_positions(), atoms.numbers), symprec_a)
        number, symbol = (int(ds.number), str(ds.international)) if ds is not None else (1, "P1")
    return Crystal(atoms=atoms, space_group_number=number, space_group_symbol=symbol, name=path.stem,
                   source=str(path), notes=notes)


def crystal_from_atoms(atoms, name: str = "", source: str | None = None, *, standardize_cell: bool = False,
                       symprec_a: float = DEFAULT_SYMPREC_A) -> Crystal:
    """Wrap ASE atoms (e.g. a defected supercell) as a `Crystal`, finding its space group with spglib."""
    atoms = atoms.copy()
    if "occupancy" not in atoms.arrays:
        atoms.set_array("occupancy", np.ones(len(atoms)))
    if standardize_cell:
        atoms, number, symbol = standardize(atoms, symprec_a)
    else:
        ds = _spglib_dataset((np.asarray(atoms.cell), atoms.get_scaled_positions(), atoms.numbers), symprec_a)
        number, symbol = (int(ds.number), str(ds.international)) if ds is not None else (1, "P1")
    return Crystal(atoms=atoms, space_group_number=number, space_group_symbol=symbol,
                   name=name or atoms.get_chemical_formula(mode="metal", empirical=True), source=source)


def write_cif(atoms, path: str | Path, comments: list[str] | tuple[str, ...] = ()) -> Path:
    """Write ``atoms`` as a P1 CIF, atomically, with ``comments`` as ``#`` lines at the top.

    The file reads back with `read_cif`, ASE and pymatgen.
    """
    import ase.io

    path = Path(path)
    buf = io.BytesIO()
    a = atoms.copy()
    for key in list(a.arrays):
        if key not in ("numbers", "positions"):
            del a.arrays[key]
    ase.io.write(buf, a, format="cif")
    header = "".join(f"# {line}\n" for c in comments for line in str(c).splitlines())
    with atomic_path(path) as tmp:
        tmp.write_bytes(header.encode() + buf.getvalue())
    return path
