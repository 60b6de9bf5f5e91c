"""``sadpnet defect``: build defected crystals from a CIF and write them as P1 CIFs, extended XYZ or LAMMPS data.

Thin layer over `sadpnet.defects`: each command reads a CIF, builds the defect, writes ``-o OUT`` (``.cif``
for small cells, ``.extxyz`` or ``.lmp`` for large blocks, chosen by the suffix; atomically; parameters,
seed and version in the file's comments, `sadpnet.defects.cif_out`) and prints a one-paragraph summary.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional, Tuple

import typer

from sadpnet.cli.base import app, cif_path
from sadpnet.cli.progress import observed_steps

defect_app = typer.Typer(help="Build defected crystals (strain, thermal, point defects, dislocations, twins) "
                         "from a CIF and write them as CIF, extended XYZ or LAMMPS data.", no_args_is_help=True,
                         context_settings={"help_option_names": ["-h", "--help"]})
app.add_typer(defect_app, name="defect")

_CIF_HELP = "CIF of the crystal, or a shipped crystal's name (Al, Fe, NaCl, ...)."
_SUPERCELL = typer.Option(..., "--supercell", help="Supercell N1 N2 N3 (conventional cells).")
_RELAX = typer.Option(False, "--relax", help="Relax the positions with an interatomic potential.")
_OUT = typer.Option(..., "-o", "--output", help="File to write, format by suffix: .cif (small cells), .extxyz/.xyz "
                    "or .lmp/.data (LAMMPS data; large blocks).")
_POT = typer.Option(None, "--potential", help="Interatomic potential: sevennet, eam or emt (default: sevennet when "
                    "installed for relaxations, eam/emt for MD).")


def _read(cif: Path):
    from sadpnet.crystal import read_cif

    return read_cif(cif_path(cif))


def _check_out(path: Path) -> None:
    from sadpnet.crystal.atom_files import atom_file_format
    from sadpnet.errors import InputError

    atom_file_format(path, "--output")
    if path.exists() and path.is_dir():
        raise InputError("output is a folder", path)


def _fmt_cell(crystal) -> str:
    a, b, c, al, be, ga = crystal.lattice_parameters
    return f"a={a:.4f} b={b:.4f} c={c:.4f} A, alpha={al:.3f} beta={be:.3f} gamma={ga:.3f} deg"


@defect_app.command("strain")
def strain_command(
    cif: Path = typer.Argument(..., help=_CIF_HELP),
    strain: Optional[Tuple[float, float, float, float, float, float]] = typer.Option(
        None, "--strain", help="Strain EXX EYY EZZ GYZ GXZ GXY (Voigt order, engineering shears, crystal axes)."),
    stress_gpa: Optional[Tuple[float, float, float, float, float, float]] = typer.Option(
        None, "--stress-gpa", help="Stress SXX SYY SZZ SYZ SXZ SXY in GPa, converted with Hooke's law."),
    elastic: Optional[Tuple[float, float, float]] = typer.Option(
        None, "--elastic", help="Cubic elastic constants C11 C12 C44, GPa (default: built-in table for elements)."),
    output: Path = _OUT,
) -> None:
    """Uniform strain (or the strain of a uniform stress): new cell, new space group."""
    from sadpnet.defects.cif_out import write_defect_file
    from sadpnet.defects.strain import apply_strain

    _check_out(output)
    crystal = _read(cif)
    r = apply_strain(crystal, strain, stress_gpa=stress_gpa, elastic_gpa=elastic)
    params = {"strain_voigt": r.strain_voigt.tolist()}
    if r.stress_gpa is not None:
        params.update(stress_gpa=r.stress_gpa.tolist(), elastic_gpa=[float(r.stiffness_gpa[0, 0]),
                      float(r.stiffness_gpa[0, 1]), float(r.stiffness_gpa[3, 3])])
    write_defect_file(r.crystal.atoms, output, "strain", params, crystal,
                     "the strained conventional cell (1 x 1 x 1 parent cells); zone axes index the strained lattice")
    e = " ".join(f"{x:.5g}" for x in r.strain_voigt)
    typer.echo(f"{crystal.name} strained by (EXX EYY EZZ GYZ GXZ GXY) = ({e}): cell {_fmt_cell(crystal)} became "
               f"{_fmt_cell(r.crystal)}; space group {crystal.space_group_number} ({crystal.space_group_symbol}) became "
               f"{r.crystal.space_group_number} ({r.crystal.space_group_symbol}), {r.crystal.crystal_system}. "
               f"Wrote {output}.")


@defect_app.command("thermal")
def thermal_command(
    cif: Path = typer.Argument(..., help=_CIF_HELP),
    temperature_k: float = typer.Option(..., "--temperature-k", help="Temperature, K."),
    supercell: Tuple[int, int, int] = typer.Option((3, 3, 3), "--supercell", help="Supercell N1 N2 N3 (conventional cells)."),
    method: str = typer.Option("debye", "--method", help="debye (Gaussian, Debye model) or md (Langevin NVT)."),
    snapshots: int = typer.Option(1, "--snapshots", help="Number of snapshots K (files OUT_000.cif ... when K > 1, "
                                  "same suffix as OUT)."),
    seed: int = typer.Option(0, "--seed", help="Random seed."),
    potential: Optional[str] = _POT,
    steps: int = typer.Option(500, "--equilibration-steps", help="MD equilibration steps."),
    interval: int = typer.Option(100, "--interval-steps", help="MD steps between snapshots."),
    timestep_fs: float = typer.Option(2.0, "--timestep-fs", help="MD time step, fs."),
    output: Path = _OUT,
) -> None:
    """Frozen-phonon snapshots of a supercell at a temperature (Debye model or molecular dynamics)."""
    from sadpnet.defects.cif_out import write_defect_file
    from sadpnet.defects.point import make_supercell
    from sadpnet.defects.thermal import debye_snapshots, md_snapshots
    from sadpnet.errors import InputError

    _check_out(output)
    if method not in ("debye", "md"):
        raise InputError(f"must be debye or md, got {method!r}", "--method")
    crystal = _read(cif)
    cell = make_supercell(crystal, supercell)
    if method == "debye":
        r = debye_snapshots(cell, temperature_k, snapshots, seed)
    else:
        with observed_steps("MD (Langevin NVT)", "T", "K") as observe:
            r = md_snapshots(cell, temperature_k, snapshots, seed, potential=potential, timestep_fs=timestep_fs,
                             equilibration_steps=steps, interval_steps=interval, observer=observe)
    n = "x".join(map(str, supercell))
    params = {"temperature_k": temperature_k, "method": method, "supercell": list(supercell), "snapshots": snapshots,
              **r.info, "u_rms_a": r.u_rms_a}
    paths = [output] if snapshots == 1 else [output.with_name(f"{output.stem}_{i:03d}{output.suffix}") for i in range(snapshots)]
    for i, (p, s) in enumerate(zip(paths, r.snapshots)):
        write_defect_file(s, p, "thermal", {**params, "snapshot": i}, crystal,
                         f"{n} supercell of the parent (spans {n} parent conventional cells)", seed)
    debye = (f"the Debye model gives {r.debye_u_rms_a:.4f} A (difference {(r.u_rms_a / r.debye_u_rms_a - 1) * 100:+.1f} %)"
             if r.debye_u_rms_a == r.debye_u_rms_a else "no tabulated Debye temperature to compare with")
    extra = (f" MD on {r.info['potential']}: snapshot temperatures {r.info['snapshot_temperatures_k']} K."
             if method == "md" else "")
    typer.echo(f"{crystal.name} {n} supercell ({len(cell)} atoms) at {temperature_k:g} K by {method}, {snapshots} "
               f"snapshot(s), seed {seed}: rms displacement per axis {r.u_rms_a:.4f} A (B = {r.b_a2:.3f} A^2), largest "
               f"{r.u_max_a:.3f} A; {debye}.{extra} Wrote {', '.join(map(str, paths[:3]))}"
               f"{' ...' if len(paths) > 3 else ''}. Simulate snapshots without extra Debye-Waller factors.")


def _point_finish(crystal, r, relax: bool, potential, output: Path) -> None:
    from sadpnet.defects.block import min_distance_a
    from sadpnet.defects.cif_out import write_defect_file
    from sadpnet.defects.point import relax_defect

    if relax:
        with observed_steps("relaxing (BFGS)", "largest force", "eV/A") as observe:
            relax_defect(r, potential, observer=observe)
    n = "x".join(map(str, r.supercell_size))
    params = {"kind": r.kind, "supercell": list(r.supercell_size), **r.info}
    text = ""
    if r.relax is not None:
        x = r.relax
        params.update(relaxed=True, potential=x.potential, energy_change_ev=x.energy_after_ev - x.energy_before_ev,
                      max_displacement_a=x.max_displacement_a, converged=x.converged)
        text = (f" Relaxed with {x.potential} in {x.steps} steps ({'converged' if x.converged else 'NOT converged'}, "
                f"largest force {x.max_force_ev_a:.3f} eV/A): energy {x.energy_before_ev:.4f} -> {x.energy_after_ev:.4f}"
                f" eV, largest displacement of a neighbour {x.max_displacement_a:.4f} A.")
    write_defect_file(r.atoms, output, r.kind, params, crystal,
                     f"{n} supercell of the parent (spans {n} parent conventional cells)")
    typer.echo(f"{crystal.name} {n} supercell with {r.description}: {len(r.atoms)} atoms, closest pair "
               f"{min_distance_a(r.atoms):.3f} A.{text} Wrote {output}.")


@defect_app.command("vacancy")
def vacancy_command(
    cif: Path = typer.Argument(..., help=_CIF_HELP),
    supercell: Tuple[int, int, int] = _SUPERCELL,
    site: Optional[int] = typer.Option(None, "--site", help="Index of the atom to remove (default: the one nearest the centre)."),
    element: Optional[str] = typer.Option(None, "--element", help="Remove an atom of this element (multi-element crystals)."),
    relax: bool = _RELAX,
    potential: Optional[str] = _POT,
    output: Path = _OUT,
) -> None:
    """One vacancy in a supercell."""
    from sadpnet.defects.point import vacancy

    _check_out(output)
    crystal = _read(cif)
    _point_finish(crystal, vacancy(crystal, supercell, site, element), relax, potential, output)


@defect_app.command("substitute")
def substitute_command(
    cif: Path = typer.Argument(..., help=_CIF_HELP),
    supercell: Tuple[int, int, int] = _SUPERCELL,
    element: str = typer.Option(..., "--element", help="Element put on the site."),
    site: Optional[int] = typer.Option(None, "--site", help="Index of the atom replaced (default: the one nearest the centre)."),
    relax: bool = _RELAX,
    potential: Optional[str] = _POT,
    output: Path = _OUT,
) -> None:
    """One substitutional atom in a supercell."""
    from sadpnet.defects.point import substitute

    _check_out(output)
    crystal = _read(cif)
    _point_finish(crystal, substitute(crystal, supercell, element, site), relax, potential, output)


@defect_app.command("interstitial")
def interstitial_command(
    cif: Path = typer.Argument(..., help=_CIF_HELP),
    supercell: Tuple[int, int, int] = _SUPERCELL,
    element: str = typer.Option(..., "--element", help="Element of the interstitial atom."),
    site: str = typer.Option("tetrahedral", "--site", help="tetrahedral, octahedral (fcc/bcc) or fractional x,y,z."),
    relax: bool = _RELAX,
    potential: Optional[str] = _POT,
    output: Path = _OUT,
) -> None:
    """One interstitial atom in a supercell."""
    from sadpnet.defects.point import interstitial

    _check_out(output)
    crystal = _read(cif)
    _point_finish(crystal, interstitial(crystal, supercell, element, site), relax, potential, output)


@defect_app.command("dislocation")
def dislocation_command(
    cif: Path = typer.Argument(..., help="CIF of a cubic crystal, or a shipped crystal's name (Al, Fe, ...)."),
    line: Optional[Tuple[int, int, int]] = typer.Option(None, "--line", help="Line direction U V W "
                                                        "(default 1 1 -2)."),
    burgers: Optional[Tuple[float, float, float]] = typer.Option(
        None, "--burgers", help="Burgers vector in conventional-cell fractions (default: 0.5 -0.5 0 for fcc, "
        "0.5 0.5 0.5 for bcc)."),
    count: int = typer.Option(4, "--count", help="Number of edge dislocations (on a grid)."),
    cells: Tuple[int, int, int] = typer.Option((40, 30, 20), "--cells",
                                               help="Block size in conventional-cell lengths along b, n, line."),
    elastic: Optional[Tuple[float, float, float]] = typer.Option(None, "--elastic", help="C11 C12 C44, GPa."),
    output: Path = _OUT,
) -> None:
    """An array of edge dislocations in a specimen-sized block (anisotropic elastic displacement field)."""
    from sadpnet.defects.block import min_distance_a
    from sadpnet.defects.cif_out import write_defect_file
    from sadpnet.defects.dislocation import build_dislocation_array, burgers_circuit
    from sadpnet.errors import InputError

    _check_out(output)
    crystal = _read(cif)
    from sadpnet.defects.dislocation import default_edge

    d_line, d_burgers = default_edge(crystal)
    r = build_dislocation_array(crystal, line or d_line, burgers or d_burgers, count, cells, elastic)
    try:
        closure = burgers_circuit(crystal, r, 0)
        circuit = f"Burgers circuit around the first core closes with [{' '.join(f'{x:g}' for x in closure + 0.0)}]"
    except InputError:
        circuit = "the block is too small for a Burgers circuit check"
    frame = "; ".join(f"e{i + 1}=({' '.join(f'{x:.6f}' for x in row)})" for i, row in enumerate(r.frame))
    write_defect_file(r.atoms, output, "dislocation", r.info, crystal,
                     f"block in the parent's Cartesian frame, axes {frame} (e1 along b, e2 glide-plane normal, e3 line); "
                     f"{r.box_a[0]:.3f} x {r.box_a[1]:.3f} x {r.box_a[2]:.3f} A of crystal plus {r.info['vacuum_a']} A "
                     "vacuum on each side along e1 and e2")
    b = " ".join(str(x) for x in r.burgers)
    note = ""
    if r.requested is not None:
        rl, rb = r.requested
        note = (f" The requested line [{' '.join(map(str, rl))}] is not perpendicular to b = "
                f"[{' '.join(str(x) for x in rb)}]; resolved to the consistent edge set below.")
    typer.echo(f"{crystal.name}: {r.info['count']} edge dislocations, line [{' '.join(map(str, r.line))}], "
               f"b = a[{b}], glide plane ({' '.join(map(str, r.plane))}), in a {r.box_a[0]:.1f} x {r.box_a[1]:.1f} x "
               f"{r.box_a[2]:.1f} A block of {len(r.atoms)} atoms (anisotropic Stroh field, C11 C12 C44 = "
               f"{' '.join(f'{x:g}' for x in r.info['elastic_gpa'])} GPa).{note} {circuit}; closest pair "
               f"{min_distance_a(r.atoms):.3f} A."
               f" Wrote {output}.")


@defect_app.command("twin")
def twin_command(
    cif: Path = typer.Argument(..., help="CIF of a cubic crystal, or a shipped crystal's name (Al, Fe, ...)."),
    plane: Optional[Tuple[int, int, int]] = typer.Option(None, "--plane", help="Twin plane H K L (default: 1 1 1 "
                                                         "for fcc, 1 1 2 for bcc)."),
    direction: Optional[Tuple[int, int, int]] = typer.Option(None, "--direction", help="Twin direction U V W in the "
                                                             "plane (default: 1 1 -2 for fcc, 1 1 -1 for bcc)."),
    fraction: float = typer.Option(0.5, "--fraction", help="Height of the boundary as a fraction of the block."),
    cells: Tuple[int, int, int] = typer.Option((40, 30, 20), "--cells",
                                               help="Block size in conventional-cell lengths along direction, "
                                               "plane x direction, plane normal."),
    output: Path = _OUT,
) -> None:
    """A specimen-sized block with one coherent (mirror) twin boundary."""
    from sadpnet.defects.cif_out import write_defect_file
    from sadpnet.defects.twin import build_twin

    _check_out(output)
    crystal = _read(cif)
    from sadpnet.defects.twin import default_twin

    d_plane, d_direction = default_twin(crystal)
    r = build_twin(crystal, plane or d_plane, direction or d_direction, fraction, cells)
    frame = "; ".join(f"e{i + 1}=({' '.join(f'{x:.6f}' for x in row)})" for i, row in enumerate(r.frame))
    L = r.info["block_a"]
    write_defect_file(r.atoms, output, "twin", r.info, crystal,
                     f"block in the parent's Cartesian frame, axes {frame} (e1 twin direction, e3 plane normal); "
                     f"{L[0]} x {L[1]} x {L[2]} A; boundary at e3 = {r.boundary_a:.4f} A")
    note = ""
    if r.requested is not None:
        note = (f" The requested direction [{' '.join(map(str, r.requested[1]))}] is not in the plane; resolved to "
                f"[{' '.join(map(str, r.direction))}].")
    zones = ", ".join("[" + " ".join(map(str, z)) + "]" for z in r.edge_on_zone_axes[:4])
    typer.echo(f"{crystal.name}: twin on ({' '.join(map(str, r.plane))})[{' '.join(map(str, r.direction))}], Sigma "
               f"{r.sigma}, boundary at {r.boundary_a:.2f} A of a {L[0]:.1f} x {L[1]:.1f} x {L[2]:.1f} A block of "
               f"{len(r.atoms)} atoms ({int((r.grain == 0).sum())} in the parent grain, {int((r.grain == 1).sum())} mirrored); "
               f"closest pair {r.info['min_distance_a']:.3f} A.{note} The boundary is edge-on along {zones}. Wrote {output}.")
