"""Read and write CIFs; standardise to the conventional cell with spglib.

`read_cif` is the one entry point from a file to a `Crystal`. It applies the CIF's symmetry operators, keeps
partial occupancies, takes the first data block that holds a structure (and says so when there are several),
and standardises the cell with spglib so that every later stage sees the conventional cell in spglib's
standard setting (cubic axes along x, y, z).

Files are read with gemmi (30 ms of imports) into the atoms ASE's CIF reader gives; what that reader leaves
aside (a syntax gemmi refuses, several structure blocks, Cartesian sites, deuterium, an unknown element or
space-group name) goes through ASE's reader (about 0.5 s of imports), which reads it or says what is wrong.
"""

from __future__ import annotations

import io
import logging
import re
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
        warnings.warn(msg, stacklevel=4)  # read_cif's caller
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


class _LeftToASE(Exception):
    """A CIF that `_gemmi_atoms` leaves to ASE's reader (which reads it, or says what is wrong with it)."""


#: ASE's rule for an element symbol in ``_atom_site_type_symbol`` or ``_atom_site_label``: its first match.
_SYMBOL = re.compile(r"([A-Z][a-z]?)")
#: ASE's `crystal` tolerance, in fractional coordinates: symmetry images and shared sites closer than this are one.
_SITE_SYMPREC = 1e-3
_SITESYM_TAGS = ("_space_group_symop_operation_xyz", "_space_group_symop.operation_xyz", "_symmetry_equiv_pos_as_xyz")
_SG_NUMBER_TAGS = ("_space_group.it_number", "_space_group_it_number", "_symmetry_int_tables_number")
_SG_HM_TAGS = ("_space_group_name_h-m_alt", "_symmetry_space_group_name_h-m", "_space_group.patterson_name_h-m")
_SG_HALL_TAGS = ("_space_group_name_hall", "_symmetry_space_group_name_hall")
#: Space groups whose rhombohedral / hexagonal setting ASE picks from the block's crystal-system tags.
_RHOMBOHEDRAL_GROUPS = frozenset((146, 148, 155, 160, 161, 166, 167))


def _gemmi_atoms(path: Path, notes: list[str]):
    """The atoms of a CIF read with gemmi (about 0.5 s of imports fewer than ASE's CIF reader), or None where
    this reader leaves the file to ASE's: a syntax gemmi refuses, several structure blocks, Cartesian sites,
    deuterium, an unknown element, a symmetry it cannot name, ... (ASE's reader then reads it, or raises the
    error a user sees).

    The atoms are those ASE's reader gives (`_atoms_from_block`, then `_expand_occupancies`): the listed
    symmetry operators (else the space group of the number, the Hermann-Mauguin name or the Hall symbol; else
    P1) applied to each site, images closer than 1e-3 in fractional coordinates merged, a site that falls on an
    earlier site's image dropped, and sites at the same position sharing it as species with their occupancies
    (one atom per element, ``arrays["occupancy"]``; see `_expand_sites` for the one difference).
    """
    try:
        import gemmi
    except ImportError:  # pragma: no cover - gemmi is a dependency; ASE's reader reads every CIF without it
        return None
    try:
        doc = gemmi.cif.read(str(path))
    except Exception:  # syntax errors, duplicate tags, ...: ASE's reader is more lenient, or says what is wrong
        return None
    blocks = [b for b in doc if any(b.find_values(t) for t in ("_atom_site_fract_x", "_atom_site_cartn_x"))]
    if len(blocks) != 1:  # none (ASE says what is missing), or several (ASE's reader takes the first and says so)
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return _gemmi_block_atoms(gemmi, blocks[0], notes)
    except _LeftToASE:
        return None
    except Exception as exc:  # an unforeseen corner: ASE's reader has the last word
        log.debug("gemmi left %s to ASE's CIF reader (%s: %s)", path, type(exc).__name__, exc)
        return None


def _gemmi_numbers(gemmi, values) -> np.ndarray:
    """The numbers of a CIF column; `_LeftToASE` where one is not a number ("?", ".", a quoted string)."""
    values = list(values)
    try:
        out = np.fromiter(map(float, values), dtype=float, count=len(values))
    except ValueError:  # standard uncertainties, "0.25(3)"
        out = np.array([gemmi.cif.as_number(v) for v in values], dtype=float)
    if not np.all(np.isfinite(out)):
        raise _LeftToASE
    return out


def _gemmi_block_atoms(gemmi, block, notes: list[str]):
    """`_gemmi_atoms` of one block; raises `_LeftToASE` for what it leaves to ASE's reader."""
    from ase import Atoms
    from ase.cell import Cell
    from ase.data import atomic_numbers

    cif = gemmi.cif
    loop = block.find_loop
    labels = loop("_atom_site_type_symbol") if block.find_values("_atom_site_type_symbol") else \
        loop("_atom_site_label")
    xyz = [loop(f"_atom_site_fract_{c}") for c in "xyz"]
    n = len(labels)
    if n == 0 or any(len(col) != n for col in xyz):  # Cartesian sites, single values, ...
        raise _LeftToASE
    numbers, number_of = [], {}
    for label in labels:
        z = number_of.get(label)
        if z is None:
            match = _SYMBOL.search(cif.as_string(label))
            z = number_of[label] = atomic_numbers.get(match.group(0), 0) if match else 0
            if z == 0:  # unknown element, "?", "D" (ASE gives deuterium its mass): ASE's reader
                raise _LeftToASE
        numbers.append(z)
    numbers = np.array(numbers, dtype=int)
    frac = np.column_stack([_gemmi_numbers(gemmi, col) for col in xyz])
    occ_col = loop("_atom_site_occupancy")
    occupancy = _gemmi_numbers(gemmi, occ_col) if len(occ_col) else None
    if occupancy is not None and len(occupancy) != n:
        raise _LeftToASE
    cellpar = []
    for tag in _CELL_TAGS:
        value = block.find_value(tag)
        if value is None:
            raise _LeftToASE
        cellpar.append(cif.as_number(value))
    if not np.all(np.isfinite(cellpar)):
        raise _LeftToASE
    cell = Cell.new(cellpar)
    if not np.all(np.isfinite(cell.array)) or cell.rank != 3 or cell.volume < 1.0:
        raise _LeftToASE  # ASE's reader says what is missing or degenerate
    rotations, translations = _gemmi_symmetry(gemmi, block, cellpar, notes)
    identity_only = len(rotations) == 1 and np.array_equal(rotations[0], np.eye(3)) and not translations.any()
    if identity_only and n > P1_DIRECT_ATOMS and (occupancy is None or np.all(np.abs(occupancy - 1.0) <= 1e-9)):
        atoms = Atoms(numbers=numbers, scaled_positions=frac, cell=cell, pbc=True)  # a large P1 block, as it is
        atoms.set_array("occupancy", np.ones(n))
        return atoms
    positions, numbers, occ = _expand_sites(frac, numbers, occupancy, rotations, translations)
    atoms = Atoms(numbers=numbers, scaled_positions=positions, cell=cell, pbc=True)
    atoms.set_array("occupancy", occ)
    return atoms


def _gemmi_symmetry(gemmi, block, cellpar, notes: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """(rotations (n, 3, 3), translations (n, 3)) of the block: its listed operators, else the space group of its
    number, Hermann-Mauguin name or Hall symbol (in ASE's setting 1: origin choice 1, hexagonal axes), else P1."""
    cif = gemmi.cif

    def first(tags):
        for tag in tags:
            value = block.find_value(tag)
            if value is not None and value not in ("?", "."):
                return cif.as_string(value).strip()
        return None

    number_text, hm = first(_SG_NUMBER_TAGS), first(_SG_HM_TAGS)
    number = None
    if number_text is not None:
        try:
            number = int(number_text)
        except ValueError:
            raise _LeftToASE from None
    for tag in _SITESYM_TAGS:
        sitesym = block.find_values(tag)
        if sitesym:
            ops = [gemmi.Op(cif.as_string(s)) for s in sitesym]  # a ValueError leaves the file to ASE's reader
            if number is None and (hm is None or not _standard_hm(gemmi, hm)):
                notes.append("space-group name not recognised; built from the CIF's symmetry operators")
            break
    else:
        if block.find_value("_symmetry_space_group_setting") is not None:
            raise _LeftToASE  # ASE reads the setting number
        if number is not None:
            group = gemmi.find_spacegroup_by_number(number) if 1 <= number <= 230 else None
        elif hm is not None:
            group = gemmi.find_spacegroup_by_name(hm, cellpar[3], cellpar[5])
        elif first(_SG_HALL_TAGS) is not None:
            group = gemmi.find_spacegroup_by_ops(gemmi.symops_from_hall(first(_SG_HALL_TAGS)))
        else:
            group = gemmi.find_spacegroup_by_number(1)
        if group is None or (number is not None and number in _RHOMBOHEDRAL_GROUPS):
            raise _LeftToASE  # an unknown name, or a rhombohedral setting that ASE picks from other tags
        ops = list(group.operations())
    seitz = np.array([op.float_seitz() for op in ops], dtype=float)
    return seitz[:, :3, :3], seitz[:, :3, 3]


def _standard_hm(gemmi, hm: str) -> bool:
    """Whether ``hm`` is a space group's Hermann-Mauguin symbol as the tables write it (spaces aside)."""
    group = gemmi.find_spacegroup_by_name(hm)
    if group is None:
        return False
    compact = "".join(hm.split())
    return compact in {"".join(group.hm.split()), "".join(group.xhm().split()), group.short_name()}


def _expand_sites(frac, numbers, occupancy, rotations, translations, symprec: float = _SITE_SYMPREC):
    """All atoms of the unit cell from the sites of a CIF and its symmetry operators, as ASE's `crystal` does.

    Each site's images ``(R @ x + t) % 1`` closer than ``symprec`` (fractional, per axis) to an earlier image are
    dropped; a site on an image of an earlier site is dropped; with ``occupancy`` given, a site takes as species
    itself and every other site within ``symprec`` of it (one atom per element, in that order; the occupancies
    of an element's entries, e.g. Fe2+ and Fe3+, add up, where ASE's reader keeps the last).

    Returns:
        (scaled positions (m, 3), atomic numbers (m,), occupancies (m,)).
    """
    frac = np.asarray(frac, dtype=float)
    translations = np.asarray(translations, dtype=float) % 1.0
    species = []
    for i in range(len(frac)):
        kinds = {int(numbers[i]): 1.0 if occupancy is None else float(occupancy[i])}
        if occupancy is not None:
            for j in np.flatnonzero(np.linalg.norm(frac - frac[i], axis=1) < symprec):
                if j != i:  # an element's entries add up (Fe2+ 0.5, Fe3+ 0.21: Fe 0.71; ASE's reader kept 0.21)
                    kinds[int(numbers[j])] = kinds.get(int(numbers[j]), 0.0) + float(occupancy[j])
        species.append(kinds)
    taken = np.empty((0, 3))
    positions, out_numbers, out_occ = [], [], []
    for i, site in enumerate(frac):
        diff = site - taken
        diff -= np.rint(diff)
        if len(taken) and np.any(np.all(np.abs(diff) < symprec, axis=1)):
            continue
        images = (rotations @ site + translations) % 1.0
        diff = images[:, None, :] - images[None, :, :]
        diff -= np.rint(diff)
        close = np.all(np.abs(diff) < symprec, axis=2)
        first = np.argmax(close, axis=1)  # the first image each one is close to (itself, at the latest)
        keep = first == np.arange(len(images))
        if not keep[first].all():  # a chain of images each close to the next: keep them one by one, as ASE does
            kept: list[int] = []
            for k in range(len(images)):
                if not close[k, kept].any():
                    kept.append(k)
            keep = np.zeros(len(images), dtype=bool)
            keep[kept] = True
        orbit = images[keep]
        taken = np.vstack([taken, orbit])
        zs, occs = zip(*species[i].items())  # one atom per (image, species), as `_expand_occupancies` lists them
        positions.append(np.repeat(orbit, len(zs), axis=0))
        out_numbers.append(np.tile(np.array(zs, dtype=int), len(orbit)))
        out_occ.append(np.tile(np.array(occs, dtype=float), len(orbit)))
    if not positions:
        return np.empty((0, 3)), np.empty(0, dtype=int), np.empty(0)
    return np.concatenate(positions), np.concatenate(out_numbers), np.concatenate(out_occ)


def _ase_atoms(path: Path):
    """(atoms with an 'occupancy' array, notes) of a CIF read with ASE's reader; `InputError` saying what is
    wrong with a file it cannot read."""
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
    return _expand_occupancies(atoms), notes


def read_cif(path: str | Path, *, standardize_cell: bool = True, symprec_a: float = DEFAULT_SYMPREC_A) -> Crystal:
    """Read a CIF into a `Crystal` (conventional standard cell unless ``standardize_cell=False``).

    Raises:
        InputError: the file is missing, is not a CIF, holds no structure, or names an unknown element.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError("no such file", path)
    notes: list[str] = []
    atoms = _gemmi_atoms(path, notes)
    if atoms is None:
        atoms, notes = _ase_atoms(path)
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
