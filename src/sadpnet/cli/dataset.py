"""``sadpnet dataset build|info|preview``: datasets of simulated SADPs (see docs/datasets.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from sadpnet.cli.base import app

dataset_app = typer.Typer(help="Build, describe and preview datasets of simulated SADPs (Zarr + Parquet).",
                          no_args_is_help=True)
app.add_typer(dataset_app, name="dataset")


@dataset_app.command("build")
def build_command(
    spec: Path = typer.Argument(..., help="Dataset spec (YAML), e.g. specs/paper-five.yaml."),
    out: Path = typer.Option(..., "-o", "--out", help="Store folder to create (or resume)."),
    workers: Optional[int] = typer.Option(None, "--workers", "-w", help="Local Dask worker processes "
                                          "(default: this machine's cores; 0: run in this process)."),
    scheduler: Optional[str] = typer.Option(None, "--scheduler", help="Address of an existing Dask scheduler, "
                                            "e.g. tcp://10.0.0.5:8786 (--workers is then ignored)."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace a store built from a different spec."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show the progress bar."),
) -> None:
    """Build the store of SPEC in OUT; rerunning the same command resumes an interrupted build."""
    from sadpnet.data.build import build_dataset
    from sadpnet.errors import InputError

    if workers is not None and workers < 0:
        raise InputError(f"must be >= 0, got {workers}", "--workers")
    card = build_dataset(spec, out, workers=workers, scheduler=scheduler, overwrite=overwrite, progress=progress)
    typer.echo(f"{out}: {card['n_patterns']} patterns of {card['n_materials']} materials "
               f"(built in {card['build_seconds']} s); see {out / 'card.md'}")


@dataset_app.command("info")
def info_command(
    store: Path = typer.Argument(..., help="Store folder."),
    as_json: bool = typer.Option(False, "--json", help="Print card.json instead of the Markdown summary."),
) -> None:
    """Print the dataset card of a store (counts per class, split and zone axis; spec; versions)."""
    import json

    from sadpnet.data.card import card_markdown, read_card

    card = read_card(store)
    typer.echo(json.dumps(card, indent=1) if as_json else card_markdown(card))


@dataset_app.command("preview")
def preview_command(
    store: Path = typer.Argument(..., help="Store folder."),
    out: Path = typer.Option(..., "-o", "--out", help="Contact sheet to write (PNG)."),
    n: int = typer.Option(16, "--n", help="Number of patterns shown."),
    split: Optional[str] = typer.Option(None, "--split", help="Only patterns of this split."),
    seed: int = typer.Option(0, "--seed", help="Seed of the choice of patterns."),
) -> None:
    """Draw a labelled contact sheet of N patterns of a store."""
    from sadpnet.data.preview import contact_sheet

    p = contact_sheet(store, out, n=n, split=split, seed=seed)
    typer.echo(str(p))
