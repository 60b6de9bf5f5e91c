"""``sadpnet dataset build|info|preview|lookalikes``: datasets of simulated SADPs (see docs/datasets.md)."""

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


@dataset_app.command("lookalikes")
def lookalikes_command(
    store: Path = typer.Argument(..., help="Store folder."),
    out: Optional[Path] = typer.Option(None, "-o", "--out", help="Folder for lookalikes.md/.json and the "
                                       "per-pattern and pair tables (Parquet); default: print only."),
    split: str = typer.Option("test", "--split", help="Split whose patterns are checked."),
    against: str = typer.Option("train", "--against", help="Split they are compared with."),
    label: str = typer.Option("space_group", "--label", help="Table column that defines 'another class'."),
    predictions: Optional[Path] = typer.Option(None, "--predictions", help="predictions.parquet written by "
                                               "`sadpnet evaluate -o DIR`: adds the model's accuracy on "
                                               "look-alike and distinct patterns."),
    g_max_inv_a: float = typer.Option(1.5, "--g-max-inv-a", help="Largest |g| compared, 1/A (about the "
                                      "half-width a 128 px model sees at 0.0266 1/A per pixel)."),
    scale_tol_pct: float = typer.Option(3.0, "--scale-tol-pct", help="Largest scale difference of two "
                                        "look-alikes, % (the calibration jitter models are trained with)."),
    intensity_tol_log10: float = typer.Option(0.15, "--intensity-tol-log10", help="Largest mean |log10| "
                                              "difference of matched spot intensities for 'alike in intensity'."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show the progress bar."),
) -> None:
    """Which held-out patterns look like a training pattern of another class (see sadpnet.data.lookalikes)."""
    import json

    from sadpnet.data.lookalikes import find_lookalikes, format_summary, summarise
    from sadpnet.errors import InputError

    if scale_tol_pct < 0 or g_max_inv_a <= 0 or intensity_tol_log10 < 0:
        raise InputError("tolerances must be >= 0 and --g-max-inv-a > 0", "lookalikes")
    preds = None
    if predictions is not None:
        import pandas as pd

        try:
            preds = pd.read_parquet(predictions)
        except Exception as e:  # noqa: BLE001 - any unreadable file is bad input
            raise InputError(f"not a readable Parquet file ({type(e).__name__})", predictions) from None
        missing = {"material_id", "zone_axis", "correct"} - set(preds.columns)
        if missing:
            raise InputError(f"missing column(s) {sorted(missing)}: expected `sadpnet evaluate`'s predictions.parquet",
                             predictions)
    per, pairs = find_lookalikes(store, split=split, against=against, label=label, g_max_inv_a=g_max_inv_a,
                                 scale_tol=scale_tol_pct / 100, intensity_tol_log10=intensity_tol_log10,
                                 progress=progress)
    summary = summarise(per, pairs, preds)
    summary["parameters"] = {"split": split, "against": against, "label": label, "g_max_inv_a": g_max_inv_a,
                             "scale_tol_pct": scale_tol_pct, "intensity_tol_log10": intensity_tol_log10,
                             "shape_tol": 0.02, "min_intensity": 0.01}
    text = format_summary(summary, split, against)
    if out is not None:
        from sadpnet.atomic_write import atomic_path, write_text_atomic

        out.mkdir(parents=True, exist_ok=True)
        for name, df in (("lookalikes.parquet", per), ("lookalike_pairs.parquet", pairs)):
            with atomic_path(out / name) as tmp:
                df.to_parquet(tmp, index=False)
        write_text_atomic(out / "lookalikes.json", json.dumps(summary, indent=1) + "\n")
        write_text_atomic(out / "lookalikes.md", text)
    typer.echo(text)
