"""``sadpnet crystal``: read a CIF and report what sadpnet sees in it."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from sadpnet.cli.base import app, cif_path


@app.command("crystal")
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
    typer.echo(f"{c.name}: {c.formula}, space group {c.space_group_number} ({c.space_group_symbol}), {c.crystal_system}")
    typer.echo(f"  conventional cell: a={a:.5f} b={b:.5f} c={cc:.5f} A, alpha={al:.3f} beta={be:.3f} gamma={ga:.3f} deg")
    typer.echo(f"  {len(c.atoms)} atoms in the cell")
    for note in c.notes:
        typer.echo(f"  note: {note}")
