"""The Typer application object that every command module registers on.

Command modules import only light things at module level (typer, pathlib, typing); the work is done by
the Python API, imported inside each command, so that ``sadpnet --help`` answers fast.
"""

from __future__ import annotations

from pathlib import Path

import typer

app = typer.Typer(
    name="sadpnet",
    help="Simulate selected-area electron diffraction patterns of (defected) crystals, build datasets, "
    "train and apply crystal-structure classifiers.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,  # click's plain help: wraps long option names instead of cutting them at 80 columns
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        from sadpnet import __version__

        typer.echo(f"sadpnet {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version and exit."),
) -> None:
    """Simulate SADPs of (defected) crystals, build datasets, train and apply crystal-structure classifiers."""


def cif_path(cif: Path) -> Path:
    """The CIF a command reads for its CIF argument (`sadpnet.crystal.resolve_cif`): the file itself, or a
    shipped crystal of that name, announced in one line on stderr (stdout stays clean for JSON)."""
    from sadpnet.crystal.shipped import resolve_cif

    path = resolve_cif(cif)
    if path != cif:
        typer.echo(f"sadpnet: {cif} is not a file here; using the shipped {path}", err=True)
    return path
