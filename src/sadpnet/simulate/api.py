"""The simulator's Python API: one call from a CIF (or Crystal, or Specimen) to a `Pattern`.

    from sadpnet.simulate import simulate, render, save_pattern
    p = simulate("Al.cif", (0, 1, 1), voltage_kv=200, camera_length_mm=300)
    save_pattern(p, render(p), "al_011.png")          # + al_011.json (spots, calibration)

Engines: "cell" (`sadpnet.simulate.cell_engine`, perfect crystals and periodic supercells), "atoms"
(`sadpnet.simulate.atoms_engine`, any set of atoms, NUFFT) and "dynamical" (abTEM multislice, optional
extra, `sadpnet.simulate.dynamical`).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from sadpnet.errors import InputError
from sadpnet.ranges import THICKNESS_A
from sadpnet.simulate.io import save_pattern  # noqa: F401  (re-exported)
from sadpnet.simulate.microscope import DEFAULT_DETECTOR_PIXEL_SIZE_MM, Microscope
from sadpnet.crystal.specimen import DEFAULT_CELLS, Specimen

ENGINES = ("cell", "atoms", "dynamical")


def _check_cells(cells) -> tuple[int, int, int]:
    try:
        vals = [float(c) for c in cells]
    except (TypeError, ValueError):
        raise InputError(f"cells must be three positive integers, got {cells!r}", "cells") from None
    if len(vals) != 3 or any(v != int(v) or v < 1 for v in vals):
        raise InputError(f"cells must be three positive integers, got {list(cells)!r}", "cells")
    return tuple(int(v) for v in vals)  # type: ignore[return-value]


_SUPERCELL = re.compile(r"spans (\d+)x(\d+)x(\d+) parent conventional cells")
_NUM = r"(-?[0-9.]+(?:[eE][-+]?\d+)?)"
_AXES = re.compile(r"e1=\(([^)]*)\); e2=\(([^)]*)\); e3=\(([^)]*)\)")
_CELLPAR = re.compile(rf"conventional cell a={_NUM} b={_NUM} c={_NUM} A alpha={_NUM} beta={_NUM} gamma={_NUM} deg")
_SITE = re.compile(rf"parent site: ([A-Z][a-z]?) {_NUM} {_NUM} {_NUM} {_NUM}$")


def _defect_header(path: Path) -> dict | None:
    """What the leading comments of a file written by `sadpnet defect` say (`sadpnet.defects.cif_out`; a CIF's
    ``#`` lines, or the same lines in an extended XYZ or LAMMPS data file, `sadpnet.crystal.atom_files`): kind,
    cell relation, parent group ((number, symbol) or None), parent cell parameters (6 floats or None) and
    parent sites ([(symbol, x, y, z, occupancy)], empty in files written before they were recorded). None for
    any other file."""
    from sadpnet.crystal.atom_files import header_comments

    kind = None
    head: dict = {"relation": "", "group": None, "cellpar": None, "sites": []}
    for text in header_comments(path):
        m = re.match(r"sadpnet \S+ defect (\S+)", text)
        if m:
            kind = m.group(1)
        elif text.startswith("cell:"):
            head["relation"] = text[5:].strip()
        elif text.startswith("parent site:"):
            s = _SITE.match(text)
            if s:
                head["sites"].append((s.group(1), *(float(s.group(i)) for i in range(2, 6))))
        elif text.startswith("parent:"):
            g = re.search(r"space group (\d+) \(([^)]*)\)", text)
            head["group"] = (int(g.group(1)), g.group(2)) if g else None
            c = _CELLPAR.search(text)
            head["cellpar"] = tuple(float(x) for x in c.groups()) if c else None
    return {"kind": kind, **head} if kind else None


def _block_parent(header: dict, name: str, source: str):
    """The parent crystal of a one-piece block (dislocation array, twin) in the block's own frame: the
    header's conventional cell and sites, turned by the block's axes e1, e2, e3 (rows, in the parent's
    Cartesian frame) so that it lines up with the atoms as read from the file. None when the header does not
    record them (files written before the site lines)."""
    from ase import Atoms
    from ase.geometry import cellpar_to_cell

    from sadpnet.crystal import Crystal

    axes = _AXES.search(header["relation"])
    if axes is None or header["cellpar"] is None or not header["sites"] or header["group"] is None:
        return None
    frame = np.array([[float(x) for x in axes.group(i).split()] for i in (1, 2, 3)])
    if frame.shape != (3, 3) or not np.allclose(frame @ frame.T, np.eye(3), atol=1e-4):
        return None
    cell = cellpar_to_cell(header["cellpar"]) @ frame.T  # parent cell vectors written in the block's frame
    symbols = [s[0] for s in header["sites"]]
    frac = np.array([s[1:4] for s in header["sites"]])
    parent = Atoms(symbols=symbols, scaled_positions=frac, cell=cell, pbc=True)
    parent.set_array("occupancy", np.array([s[4] for s in header["sites"]]))
    number, symbol = header["group"]
    return Crystal(atoms=parent, space_group_number=number, space_group_symbol=symbol,
                   name=f"{name} (parent)", source=source,
                   notes=["parent rebuilt from the defect CIF's header, in the block's frame"])


def _average_parent(supercell, size, group=None, tol_a: float = 0.6):
    """The average parent crystal of a supercell of ``size`` parent cells: every atom folded into one parent
    cell, sites found within ``tol_a`` (A), each site's majority species with occupancy = its count / cells;
    sites held by fewer than half the cells (interstitials) are left out. Its space group is ``group``
    ((number, symbol), from the CIF's header) when given, else spglib's. None if that fails."""
    from ase import Atoms

    from sadpnet.crystal import Crystal, crystal_from_atoms

    atoms = supercell.atoms
    n_cells = int(np.prod(size))
    pcell = np.asarray(atoms.cell, dtype=float) / np.array(size, dtype=float)[:, None]
    frac = (atoms.get_scaled_positions(wrap=True) * np.array(size)) % 1.0
    centres: list[np.ndarray] = []
    members: list[list[int]] = []
    for i, f in enumerate(frac):
        for j, c in enumerate(centres):
            d = f - c
            d -= np.rint(d)
            if np.linalg.norm(d @ pcell) < tol_a:
                members[j].append(i)
                break
        else:
            centres.append(f.copy())
            members.append([i])
    numbers, positions, occupancy = [], [], []
    for c, mem in zip(centres, members):
        if len(mem) < n_cells / 2:
            continue
        d = frac[mem] - c
        d -= np.rint(d)
        z_all = atoms.numbers[mem]
        z = int(np.bincount(z_all).argmax())
        numbers.append(z)
        positions.append((c + d.mean(axis=0)) % 1.0)
        occupancy.append(min(1.0, float(np.sum(z_all == z)) / n_cells))
    if not numbers:
        return None
    parent = Atoms(numbers=numbers, scaled_positions=np.array(positions), cell=pcell, pbc=True)
    parent.set_array("occupancy", np.array(occupancy))
    name = f"{supercell.name} (average parent)"
    if group is not None:
        return Crystal(atoms=parent, space_group_number=group[0], space_group_symbol=group[1], name=name,
                       source=supercell.source, notes=["space group from the defect CIF's header"])
    try:
        return crystal_from_atoms(parent, name=name, source=supercell.source)
    except InputError:
        return None


def load_source(source, cells=DEFAULT_CELLS, engine: str = "cell"):
    """An atom-file path (str or Path: CIF, extended XYZ or LAMMPS data, `sadpnet.crystal.atom_files`), a
    `Crystal` or a `Specimen` -> (Crystal or None, Specimen).

    Files written by ``sadpnet defect`` (any of those formats) keep their own cell (not re-standardised, so zone axes and hkl refer
    to the file's axes, as the defects module documents): a supercell of AxBxC parent cells is repeated
    ``cells / (A, B, C)`` times (rounded up) so that the block keeps the size of ``cells`` parent cells, and
    its spots are indexed in the average parent cell (all atoms folded into one cell, see `_average_parent`); a
    one-piece block (dislocation array, twin) is used as it is (repeats 1 x 1 x 1) and needs the atoms engine:
    its zone axes and spots refer to the parent's conventional cell recorded in the header (`_block_parent`),
    or, for files without the parent's sites, to the file's own cell axes, with no spots.
    """
    from sadpnet.crystal import Crystal
    from sadpnet.crystal.atom_files import read_structure

    if isinstance(source, (str, Path)):
        path = Path(source)
        header = _defect_header(path) if path.is_file() else None
        if header is not None:
            crystal = read_structure(path, standardize_cell=False)
            kind, relation, group = header["kind"], header["relation"], header["group"]
            m = _SUPERCELL.search(relation)
            if m:
                size = tuple(int(x) for x in m.groups())
                reps = tuple(max(1, -(-c // s)) for c, s in zip(_check_cells(cells), size))
                parent = _average_parent(crystal, size, group)
                if parent is None:  # no clear parent lattice: index in the supercell itself
                    parent, size = crystal, (1, 1, 1)
                return parent, Specimen(unit=crystal.atoms, repeats=reps, parent=parent, unit_in_parent_cells=size,
                                        name=crystal.name, metadata={"defect": kind, "cell": relation})
            if relation.startswith("block"):
                if engine == "cell":
                    raise InputError(f"this file is a one-piece {kind} block written by `sadpnet defect`: "
                                     "simulate it with the atoms engine (--engine atoms)", path)
                parent = _block_parent(header, crystal.name, str(path))
                return parent, Specimen(unit=crystal.atoms, repeats=(1, 1, 1), parent=parent, name=crystal.name,
                                        metadata={"defect": kind, "cell": relation})
            source = crystal  # e.g. a strained conventional cell: repeated like any crystal, in its own axes
        else:
            source = read_structure(path)
    if isinstance(source, Crystal):
        return source, Specimen.from_crystal(source, cells=_check_cells(cells))
    if isinstance(source, Specimen):
        return source.parent, source
    raise InputError(f"source must be an atom-file path (CIF, extended XYZ, LAMMPS data), a Crystal or a Specimen, got {type(source).__name__}", "source")


def simulate(source, zone_axis, *, voltage_kv: float = 200.0, camera_length_mm: float = 300.0,
             size_px: int = 256, engine: str = "cell", cells=DEFAULT_CELLS, inplane_rotation_deg: float = 0.0,
             tilt_mrad=(0.0, 0.0), debye_waller=True, oversample: int = 4,
             detector_pixel_size_mm: float = DEFAULT_DETECTOR_PIXEL_SIZE_MM, **engine_options):
    """Simulate one SADP.

    Args:
        source: CIF path, `sadpnet.crystal.Crystal` or `sadpnet.crystal.specimen.Specimen` (a Specimen keeps
            its own repeats; ``cells`` applies to CIFs and Crystals).
        zone_axis: [uvw] in the (parent) crystal's conventional direct lattice.
        voltage_kv: acceleration voltage, kV.
        camera_length_mm: camera length, mm.
        size_px: detector side, pixels (pixel size ``detector_pixel_size_mm``, default 0.1 mm).
        engine: "cell", "atoms" or "dynamical".
        cells: (N1, N2, N3) conventional cells of the specimen (default 40 x 30 x 20).
        inplane_rotation_deg: in-plane rotation, degrees; tilt_mrad: tilt about lab x then y, mrad.
        debye_waller: True (per-element defaults), False, a float B (A^2) or a dict symbol -> B. True is
            turned off for thermal snapshots written by ``sadpnet defect thermal`` (their atoms are displaced).
        oversample: sub-pixels per pixel side for the pixel-area integral.
        engine_options: passed to the engine (e.g. ``thickness_a`` for "dynamical").

    Returns:
        `sadpnet.simulate.pattern.Pattern`.
    """
    from sadpnet.crystal import check_zone_axis

    if engine not in ENGINES:
        raise InputError(f"unknown engine {engine!r}; choose one of {', '.join(ENGINES)}", "engine")
    microscope = Microscope(voltage_kv=voltage_kv, camera_length_mm=camera_length_mm, detector_pixels=size_px,
                            detector_pixel_size_mm=detector_pixel_size_mm)
    uvw = check_zone_axis(zone_axis)
    crystal, specimen = load_source(source, cells, engine)
    for extent_a in specimen.size_a:
        THICKNESS_A.check(extent_a, "cells")
    if debye_waller is True and specimen.metadata.get("defect") == "thermal":
        debye_waller = False  # a thermal snapshot's displaced atoms already carry the vibration
    tilt = tuple(float(t) for t in tilt_mrad)
    if engine == "cell":
        from sadpnet.simulate.cell_engine import simulate_cell

        return simulate_cell(specimen, microscope, uvw, inplane_rotation_deg=inplane_rotation_deg, tilt_mrad=tilt,
                             debye_waller=debye_waller, oversample=oversample, **engine_options)
    if engine == "atoms":
        from sadpnet.simulate.atoms_engine import simulate_atoms

        return simulate_atoms(specimen, microscope, uvw, inplane_rotation_deg=inplane_rotation_deg, tilt_mrad=tilt,
                              debye_waller=debye_waller, oversample=oversample, **engine_options)
    from sadpnet.simulate.dynamical import simulate_dynamical

    return simulate_dynamical(specimen, microscope, uvw, inplane_rotation_deg=inplane_rotation_deg, tilt_mrad=tilt,
                              debye_waller=debye_waller, **engine_options)
