"""``sadpnet crystal``: read a CIF and report what sadpnet sees in it; make random crystals and their prior.

``sadpnet crystal FILE.cif`` reads a CIF (the ``show`` subcommand, the default when the first argument
is not a subcommand); ``sadpnet crystal random`` writes a random crystal of a space group;
``sadpnet crystal prior`` fits the random crystals' prior to the shipped CIFs.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer
from typer.core import TyperGroup

from sadpnet.cli.base import app, cif_path


class _CifOrSubcommand(TyperGroup):
    """A group whose first argument may be a CIF path instead of a subcommand (then ``show`` runs)."""

    def parse_args(self, ctx, args):
        if args and args[0] not in self.commands and not args[0].startswith("-"):
            args = ["show", *args]
        return super().parse_args(ctx, args)


crystal_app = typer.Typer(cls=_CifOrSubcommand, no_args_is_help=True,
                          help="Read a CIF (sadpnet crystal FILE.cif), make random crystals, fit their prior.")
app.add_typer(crystal_app, name="crystal")


def _cell_lines(c) -> list[str]:
    a, b, cc, al, be, ga = c.lattice_parameters
    return [f"{c.name}: {c.formula}, space group {c.space_group_number} ({c.space_group_symbol}), {c.crystal_system}",
            f"  conventional cell: a={a:.5f} b={b:.5f} c={cc:.5f} A, alpha={al:.3f} beta={be:.3f} gamma={ga:.3f} deg",
            f"  {len(c.atoms)} atoms in the cell"]


@crystal_app.command("show")
def crystal_command(
    cif: Path = typer.Argument(..., help="CIF file to read, or a shipped crystal's name (Al, Fe, NaCl, ...)."),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON object instead of text."),
) -> None:
    """Read a CIF, standardise it to the conventional cell (spglib) and print space group, cell and sites."""
    from sadpnet.crystal import read_cif

    cif = cif_path(cif)
    c = read_cif(cif)
    a, b, cc, al, be, ga = c.lattice_parameters
    info = {
        "file": str(cif), "name": c.name, "formula": c.formula, "space_group": c.space_group_number,
        "space_group_symbol": c.space_group_symbol, "crystal_system": c.crystal_system,
        "lattice_a": [a, b, cc], "angles_deg": [al, be, ga], "atoms_in_cell": len(c.atoms), "notes": c.notes,
    }
    if as_json:
        typer.echo(json.dumps(info, indent=2))
        return
    for line in _cell_lines(c):
        typer.echo(line)
    for note in c.notes:
        typer.echo(f"  note: {note}")


def _parse_composition(text: str | None) -> dict[str, int] | None:
    from sadpnet.errors import InputError

    if text is None:
        return None
    comp = {}
    for part in text.replace(",", " ").split():
        symbol, _, count = part.partition("=")
        if not count.isdigit():
            raise InputError(f"expected ELEMENT=COUNT items, e.g. 'Na=4 Cl=4', got {part!r}", "--composition")
        comp[symbol] = int(count)
    return comp


#: Arguments of `random_crystal` -> the options of ``sadpnet crystal random`` that set them.
_RANDOM_OPTIONS = {"space_group": "--space-group", "composition": "--composition", "max_atoms": "--max-atoms",
                   "min_distance_scale": "--min-distance-scale"}


@crystal_app.command("random")
def random_command(
    space_group: int = typer.Option(..., "--space-group", "-g", help="Space-group number, 1-230."),
    seed: int = typer.Option(0, "--seed", help="Random seed: the same seed gives the same crystal."),
    out: Path = typer.Option(..., "--out", "-o", help="CIF file to write."),
    max_atoms: int = typer.Option(24, "--max-atoms", help="Most atoms in the primitive cell."),
    min_distance_scale: float = typer.Option(0.7, "--min-distance-scale",
                                             help="No two atoms closer than this x the sum of covalent radii."),
    composition: Optional[str] = typer.Option(None, "--composition",
                                              help="Atoms of the conventional cell, e.g. 'Na=4 Cl=4' (default: drawn)."),
    prior: Optional[Path] = typer.Option(None, "--prior", help="Prior JSON (default: the shipped one)."),
) -> None:
    """Write a random crystal of a space group (pyxtal, priors fitted to the shipped CIFs) as a CIF."""
    import numpy as np

    from sadpnet.crystal import write_cif
    from sadpnet.crystal.prior import load_prior
    from sadpnet.crystal.synthetic import GenerationError, random_crystal
    from sadpnet.errors import InputError

    try:
        c = random_crystal(space_group, np.random.default_rng(seed), load_prior(prior), max_atoms=max_atoms,
                           min_distance_scale=min_distance_scale, composition=_parse_composition(composition))
    except InputError as exc:  # name the option as the user typed it
        raise InputError(exc.problem, _RANDOM_OPTIONS.get(exc.where, exc.where)) from None
    except GenerationError as exc:  # a composition that fits the Wyckoff positions but not the distances
        raise InputError(f"{exc}; try another --seed or a smaller --min-distance-scale",
                         "--composition" if composition is not None else "--space-group") from None
    write_cif(c.atoms, out, comments=[f"sadpnet crystal random --space-group {space_group} --seed {seed}",
                                      *c.notes])
    for line in _cell_lines(c):
        typer.echo(line)
    typer.echo(f"  written to {out}")


def _read_ids(path: Path) -> list[str]:
    """Material ids of a file: one a line, or the ``material_id`` column of a CSV (e.g. the held-out list)."""
    import csv

    from sadpnet.errors import InputError

    if not path.is_file():
        raise InputError("no such file", path)
    lines = [line.strip() for line in path.read_text().splitlines() if line.strip()]
    if lines and "material_id" in lines[0].split(","):
        return [row["material_id"] for row in csv.DictReader(lines)]
    return lines


@crystal_app.command("prior")
def prior_command(
    out: Path = typer.Option(..., "--out", "-o", help="JSON file to write."),
    exclude: list[str] = typer.Option([], "--exclude", help="Corpus material id to keep out (repeatable)."),
    exclude_file: Optional[Path] = typer.Option(None, "--exclude-file",
                                                help="Material ids, one a line, or a CSV with a material_id column."),
) -> None:
    """Fit the random crystals' prior to every real crystal of the shipped CIF collections."""
    from sadpnet.crystal.prior import fit_prior
    from sadpnet.data.corpus import real_crystals
    from sadpnet.errors import InputError

    ids = list(exclude) + ([] if exclude_file is None else _read_ids(exclude_file))
    command = "sadpnet crystal prior -o " + str(out) + "".join(f" --exclude {i}" for i in exclude)
    if exclude_file is not None:
        command += f" --exclude-file {exclude_file}"
    try:
        prior = fit_prior(real_crystals(exclude=ids), exclude=ids, command=command)
    except InputError as exc:  # name the option as the user typed it
        raise InputError(exc.problem, {"exclude": "--exclude"}.get(exc.where, exc.where)) from None
    prior.save(out)
    p = prior.provenance
    typer.echo(f"{out}: {p['crystals_fitted']} crystals in {len(prior.groups)} space groups "
               f"({p['disordered']} disordered skipped, {len(ids)} ids excluded)")
