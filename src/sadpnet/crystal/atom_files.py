"""Atom sets in files chosen by suffix: CIF for small cells, extended XYZ and LAMMPS data for large blocks.

Suffixes (`ATOM_FILE_SUFFIXES`): ``.cif`` (`sadpnet.crystal.cif`), ``.extxyz`` / ``.xyz`` (extended XYZ:
species and Cartesian positions in A, ``Lattice`` and ``pbc`` on the comment line, as ASE, OVITO and
libAtoms write them) and ``.lmp`` / ``.data`` (LAMMPS data, ``atom_style atomic``, metal units: A; the
``Masses`` lines name each type's element in a ``# Symbol`` comment, as ASE writes them).

The comment lines that `sadpnet defect` writes at the top of a CIF (`sadpnet.defects.cif_out`) travel in
every format: in an extended XYZ file as the comment-line key ``sadpnet_header`` (a JSON list of lines,
``"_JSON [...]"``, which ASE reads back into ``atoms.info["sadpnet_header"]``), in a LAMMPS data file as
``#`` lines of its header (the first one on the title line), which LAMMPS and ASE skip. `header_comments`
reads them back from any of the three formats without reading the atoms.

The readers here are small and fast on purpose (10^5 atoms in well under a second; no ``ase.io`` import, which
costs more than the reading): they read the first frame of an extended XYZ file whose ``Properties`` hold
``species`` (or ``Z``) and ``pos``, and the ``Atoms`` section of a LAMMPS data file in the styles atomic,
charge or full. Example::

    >>> from sadpnet.crystal.atom_files import read_atom_file, write_atom_file
    >>> write_atom_file(atoms, "block.extxyz", ["sadpnet 0.1 defect twin"])      # doctest: +SKIP
    >>> atoms, comments = read_atom_file("block.extxyz")                          # doctest: +SKIP
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np

from sadpnet.atomic_write import atomic_path
from sadpnet.errors import InputError

#: suffix -> format name
ATOM_FILE_SUFFIXES: dict[str, str] = {".cif": "cif", ".extxyz": "extxyz", ".xyz": "extxyz",
                                      ".lmp": "lammps-data", ".data": "lammps-data"}
HEADER_KEY = "sadpnet_header"
_KEY_VALUE = re.compile(r'([A-Za-z_][\w:-]*)=("(?:[^"\\]|\\.)*"|\S+)')
_LAMMPS_SECTIONS = ("Masses", "Atoms", "Velocities", "Bonds", "Angles", "Dihedrals", "Impropers", "Pair Coeffs")


def atom_file_format(path: str | Path, option: str | None = None) -> str:
    """The format of ``path`` by its suffix: "cif", "extxyz" or "lammps-data".

    Raises:
        InputError: another suffix (named as ``option`` when given, else the file).
    """
    fmt = ATOM_FILE_SUFFIXES.get(Path(path).suffix.lower())
    if fmt is None:
        raise InputError(f"{str(path)!r} has an unknown suffix; write one of {', '.join(ATOM_FILE_SUFFIXES)} "
                         "(CIF for small cells, .extxyz or .lmp for large blocks)", option or path)
    return fmt


# ---- writing ---------------------------------------------------------------------------------------------------
def write_atom_file(atoms, path: str | Path, comments=()) -> Path:
    """Write ``atoms`` (ASE Atoms; positions in A) atomically in the format of ``path``'s suffix, with
    ``comments`` (lines) where that format keeps them (see the module docstring). Returns ``path``.

    Extended XYZ and LAMMPS data get the atoms turned rigidly into the cell's standard orientation (a along x,
    b in the xy plane) and wrapped along the periodic axes, as a CIF stores them: all three formats read back
    with the same Cartesian positions, and the LAMMPS box needs no further rotation.

    Raises:
        InputError: unknown suffix.
    """
    path = Path(path)
    fmt = atom_file_format(path)
    comments = [line for c in comments for line in str(c).splitlines()]
    if fmt == "cif":
        from sadpnet.crystal.cif import write_cif

        return write_cif(atoms, path, comments)
    atoms = _standard_orientation(atoms)
    text = _extxyz_text(atoms, comments) if fmt == "extxyz" else _lammps_text(atoms, comments)
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return path


def _standard_orientation(atoms):
    """A copy of ``atoms`` in the cell that ``cellpar_to_cell`` builds from its lengths and angles (a along x,
    b in the xy plane), fractional coordinates wrapped along the periodic axes: what a CIF writer stores and a
    CIF reader builds."""
    from ase.geometry import cellpar_to_cell

    out = atoms.copy()
    out.set_cell(cellpar_to_cell(atoms.cell.cellpar()), scale_atoms=False)
    out.set_scaled_positions(atoms.get_scaled_positions(wrap=True))
    return out


def _escape(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _extxyz_text(atoms, comments: list[str]) -> str:
    cell = " ".join(f"{x:.10f}" for x in np.asarray(atoms.cell, dtype=float).ravel())
    pbc = " ".join("T" if p else "F" for p in atoms.pbc)
    head = f'Lattice="{cell}" Properties=species:S:1:pos:R:3 pbc="{pbc}"'
    if comments:
        head += f" {HEADER_KEY}={_escape('_JSON ' + json.dumps(comments))}"
    rows = _rows("%-2s %16.8f %16.8f %16.8f\n", [atoms.get_chemical_symbols(), *np.asarray(atoms.positions).T])
    return f"{len(atoms)}\n{head}\n" + rows


def _lammps_text(atoms, comments: list[str]) -> str:
    """LAMMPS data of ``atoms`` in a cell with a along x and b in the xy plane (`_standard_orientation`)."""
    from ase.data import atomic_masses, atomic_numbers

    cell = np.asarray(atoms.cell, dtype=float)
    symbols = atoms.get_chemical_symbols()
    kinds = sorted(set(symbols), key=lambda s: atomic_numbers[s])
    type_of = {s: i + 1 for i, s in enumerate(kinds)}
    lines = [f"# {comments[0]}" if comments else "# written by sadpnet", *(f"# {c}" for c in comments[1:]), "",
             f"{len(atoms)} atoms", f"{len(kinds)} atom types", "",
             f"0.0 {cell[0, 0]:.10f} xlo xhi", f"0.0 {cell[1, 1]:.10f} ylo yhi", f"0.0 {cell[2, 2]:.10f} zlo zhi"]
    if abs(cell[1, 0]) + abs(cell[2, 0]) + abs(cell[2, 1]) > 0:
        lines.append(f"{cell[1, 0]:.10f} {cell[2, 0]:.10f} {cell[2, 1]:.10f} xy xz yz")
    lines += ["", "Masses", ""]
    lines += [f"{type_of[s]} {atomic_masses[atomic_numbers[s]]:.6f} # {s}" for s in kinds]
    lines += ["", "Atoms # atomic", "", ""]
    return "\n".join(lines) + _rows("%d %d %.8f %.8f %.8f\n", [range(1, len(atoms) + 1), [type_of[s] for s in symbols],
                                                             *np.asarray(atoms.positions).T])


def _rows(fmt: str, columns: list) -> str:
    """``fmt`` (one line) applied to every row of ``columns`` in one formatting call (5x faster than a loop)."""
    n = len(columns[0])
    values: list = [None] * (n * len(columns))
    for i, col in enumerate(columns):
        values[i::len(columns)] = col.tolist() if isinstance(col, np.ndarray) else list(col)
    return (fmt * n) % tuple(values)


# ---- reading ---------------------------------------------------------------------------------------------------
def header_comments(path: str | Path) -> list[str]:
    """The comment lines at the top of a CIF (``#`` lines before the data), of a LAMMPS data file (its title
    and ``#`` lines before the first section) or on an extended XYZ file's comment line (``sadpnet_header``).
    Reads only the head of the file; [] when there are none or the file cannot be read."""
    path = Path(path)
    fmt = ATOM_FILE_SUFFIXES.get(path.suffix.lower(), "cif")
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            if fmt == "extxyz":
                fh.readline()
                return _extxyz_comments(_key_values(fh.readline()))
            return _leading_comments(fh, lammps=fmt == "lammps-data")
    except OSError:
        return []


def _leading_comments(fh, lammps: bool) -> list[str]:
    out = []
    for i, line in enumerate(fh):
        text = line.strip()
        if text.startswith("#"):
            out.append(text.lstrip("#").strip())
        elif lammps and i == 0:
            out.append(text)  # LAMMPS skips the title line: it may hold a comment without '#'
        elif text and (not lammps or text.split()[0] in _LAMMPS_SECTIONS or out):
            break  # CIF: the data begin; LAMMPS: the header keywords begin after the comments
    return [c for c in out if c]


def _extxyz_comments(info: dict) -> list[str]:
    raw = info.get(HEADER_KEY)
    if raw is None:
        return []
    try:
        lines = json.loads(raw[len("_JSON "):] if raw.startswith("_JSON ") else raw)
    except json.JSONDecodeError:
        return []
    return [str(x) for x in lines] if isinstance(lines, list) else []


def _key_values(line: str) -> dict[str, str]:
    """key=value pairs of an extended XYZ comment line (quoted values unescaped)."""
    out = {}
    for key, value in _KEY_VALUE.findall(line):
        if value.startswith('"'):
            value = re.sub(r"\\(.)", r"\1", value[1:-1])
        out[key.lower() if key.lower() in ("lattice", "properties", "pbc") else key] = value
    return out


def read_atom_file(path: str | Path):
    """(ASE Atoms, comment lines) of an extended XYZ or LAMMPS data file (first frame; positions in A).

    Raises:
        InputError: missing file, a CIF (use `sadpnet.crystal.read_cif`), or a file that is not what its
            suffix says (names the file and the line or key at fault).
    """
    path = Path(path)
    fmt = atom_file_format(path)
    if fmt == "cif":
        raise InputError("a CIF: read it with read_cif", path)
    if not path.is_file():
        raise InputError("no such file", path)
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    try:
        return _read_extxyz(lines) if fmt == "extxyz" else _read_lammps(lines)
    except InputError as exc:
        raise InputError(exc.problem, path) from None
    except (ValueError, IndexError, KeyError) as exc:
        raise InputError(f"not a readable {fmt} file ({type(exc).__name__}: {exc})", path) from None


def _make_atoms(symbols, positions: np.ndarray, cell: np.ndarray, pbc):
    from ase import Atoms
    from ase.data import atomic_numbers

    unknown = sorted(set(symbols) - set(atomic_numbers))
    if unknown:
        raise InputError(f"unknown element {unknown[0]!r}")
    numbers = np.array([atomic_numbers[s] for s in symbols], dtype=int)
    return Atoms(numbers=numbers, positions=positions, cell=cell, pbc=pbc)


def _columns(lines: list[str], n_rows: int, n_cols: int, what: str) -> list[list[str]]:
    """The ``n_cols`` columns (lists of str tokens) of the first ``n_rows`` lines."""
    if len(lines) < n_rows:
        raise InputError(f"{what}: {n_rows} atoms announced, {len(lines)} lines found")
    tokens = " ".join(lines[:n_rows]).split()
    if len(tokens) != n_rows * n_cols:
        widths = {len(line.split()) for line in lines[:n_rows]}
        raise InputError(f"{what}: atom lines have {sorted(widths)} columns, expected {n_cols}")
    return [tokens[c::n_cols] for c in range(n_cols)]


def _floats(columns: list[list[str]]) -> np.ndarray:
    """(rows, len(columns)) float array of str columns (faster than a str array's astype)."""
    return np.array(columns, dtype=float).T


def _read_extxyz(lines: list[str]):
    if len(lines) < 2 or not lines[0].strip().isdigit():
        raise InputError("the first line must be the number of atoms")
    n = int(lines[0])
    info = _key_values(lines[1])
    if "lattice" not in info:
        raise InputError("the comment line has no Lattice=\"...\" (a cell is needed)")
    cell = np.array(info["lattice"].split(), dtype=float).reshape(3, 3)
    props = info.get("properties", "species:S:1:pos:R:3").split(":")
    cols, start = {}, 0
    for name, kind, width in zip(props[0::3], props[1::3], props[2::3]):
        cols[name.lower()] = (start, kind)
        start += int(width)
    if "pos" not in cols or not ({"species", "z"} & set(cols)):
        raise InputError("Properties must hold pos and species (or Z)")
    table = _columns(lines[2:], n, start, "atom lines")
    p = cols["pos"][0]
    positions = _floats(table[p:p + 3])
    if "species" in cols:
        symbols = table[cols["species"][0]]
    else:
        from ase.data import chemical_symbols

        symbols = [chemical_symbols[int(z)] for z in table[cols["z"][0]]]
    pbc = [t in ("T", "True", "1") for t in info.get("pbc", "T T T").split()]
    return _make_atoms(symbols, positions, cell, pbc), _extxyz_comments(info)


def _read_lammps(lines: list[str]):
    from io import StringIO

    comments = _leading_comments(StringIO("\n".join(lines)), lammps=True)
    head: dict[str, list[float]] = {}
    i = 1
    while i < len(lines) and lines[i].split("#")[0].strip() not in _LAMMPS_SECTIONS:
        words = lines[i].split("#")[0].split()
        if words:
            key = " ".join(w for w in words if not _is_number(w))
            head[key] = [float(w) for w in words if _is_number(w)]
        i += 1
    n, lo_hi = int(head["atoms"][0]), [head.get(k) for k in ("xlo xhi", "ylo yhi", "zlo zhi")]
    if any(v is None or len(v) != 2 for v in lo_hi):
        raise InputError("the header needs xlo xhi, ylo yhi and zlo zhi lines")
    xy, xz, yz = head.get("xy xz yz", [0.0, 0.0, 0.0])
    (xl, xh), (yl, yh), (zl, zh) = lo_hi
    cell = np.array([[xh - xl, 0, 0], [xy, yh - yl, 0], [xz, yz, zh - zl]])
    sections = _lammps_sections(lines[i:])
    if "Atoms" not in sections:
        raise InputError("no Atoms section")
    style, body = sections["Atoms"]
    if any("#" in b for b in body):  # trailing comments (image flags are columns, kept)
        body = [b.split("#")[0] for b in body]
    n_cols = len(body[0].split()) if body else 5
    table = _floats(_columns(body, n, n_cols, "Atoms section"))
    ti, xi = {"atomic": (1, 2), "charge": (1, 3), "full": (2, 4)}.get(style or "atomic", (1, 2))
    table = table[np.argsort(table[:, 0], kind="stable")]
    symbol_of = _lammps_type_symbols(sections.get("Masses", (None, []))[1])
    types = table[:, ti].astype(int)
    missing = sorted(set(types) - set(symbol_of))
    if missing:
        raise InputError(f"atom type {missing[0]} has no element: name it in the Masses section ('1 26.98 # Al')")
    positions = table[:, xi:xi + 3] - np.array([xl, yl, zl])
    return _make_atoms([symbol_of[t] for t in types], positions, cell, True), comments


def _lammps_sections(lines: list[str]) -> dict[str, tuple[str | None, list[str]]]:
    """section name -> (style from its '# style' comment or None, its non-blank lines as written)."""
    out: dict = {}
    current = None
    for line in lines:
        if line[:1].isalpha():  # a section name starts its line with a letter, a data line with a number
            words = line.split("#")
            if words[0].strip() in _LAMMPS_SECTIONS:
                current = words[0].strip()
                out[current] = ((words[1].strip() or None) if len(words) > 1 else None, [])
                continue
        if current is not None and not line.isspace() and line:
            out[current][1].append(line)
    return out


def _lammps_type_symbols(masses: list[str]) -> dict[int, str]:
    """type -> element: the '# Symbol' comment of each Masses line, else the element of nearest mass."""
    from ase.data import atomic_masses, chemical_symbols

    out = {}
    for line in masses:
        words = line.split("#")
        t, mass = words[0].split()[:2]
        named = words[1].split()[0] if len(words) > 1 and words[1].split() else ""
        out[int(t)] = named if named in chemical_symbols else chemical_symbols[
            int(np.argmin(np.abs(atomic_masses[1:] - float(mass)))) + 1]
    return out


def _is_number(word: str) -> bool:
    try:
        float(word)
    except ValueError:
        return False
    return True


def read_structure(path: str | Path, *, standardize_cell: bool = True):
    """A `sadpnet.crystal.Crystal` from any atom file (`ATOM_FILE_SUFFIXES`; other suffixes are read as CIF).

    CIFs go through `sadpnet.crystal.read_cif`. Extended XYZ and LAMMPS data keep their cell when
    ``standardize_cell`` is False or when they hold more than ``LARGE_P1_ATOMS`` atoms (space group P1:
    spglib's search would not end); otherwise their space group is found, as for a CIF.

    Example::

        >>> read_structure("twin.extxyz", standardize_cell=False).space_group_symbol   # doctest: +SKIP
        'P1'
    """
    from sadpnet.crystal.cif import LARGE_P1_ATOMS, Crystal, crystal_from_atoms, read_cif

    path = Path(path)
    if ATOM_FILE_SUFFIXES.get(path.suffix.lower(), "cif") == "cif":
        return read_cif(path, standardize_cell=standardize_cell)
    atoms, _ = read_atom_file(path)
    if len(atoms) == 0:
        raise InputError("the file lists no atoms", path)
    if atoms.cell.rank != 3 or atoms.cell.volume < 1.0:
        raise InputError("the file's cell is missing or degenerate", path)
    if len(atoms) > LARGE_P1_ATOMS:
        atoms.set_array("occupancy", np.ones(len(atoms)))
        return Crystal(atoms=atoms, space_group_number=1, space_group_symbol="P1", name=path.stem, source=str(path),
                       notes=[f"{len(atoms)} atoms: symmetry not searched, taken as P1 in the file's own cell"])
    try:
        return crystal_from_atoms(atoms, name=path.stem, source=str(path), standardize_cell=standardize_cell)
    except InputError as exc:
        raise InputError(exc.problem, path) from None
