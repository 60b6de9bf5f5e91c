"""``sadpnet evaluate``: accuracy, zone-axis ensembles, confusion matrix, ECE and unknown AUROC of a model."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from sadpnet.cli.base import app


@app.command("evaluate")
def evaluate_command(
    model_dir: Path = typer.Argument(..., help="Model folder (card.json + model.safetensors)."),
    dataset: Path = typer.Argument(..., help="Dataset store folder (sadpnet dataset build)."),
    out: Optional[Path] = typer.Option(None, "-o", "--out", help="Write metrics.json, report.md, confusion.png here."),
    split: str = typer.Option("test", "--split", help="Dataset split to evaluate."),
    n_ood: int = typer.Option(200, "--n-ood", help="Synthetic amorphous-ring and noise-only patterns, each."),
    max_patterns: Optional[int] = typer.Option(None, "--max-patterns", help="Evaluate a seeded subset."),
    seed: int = typer.Option(0, "--seed"),
) -> None:
    """Evaluate a model on a dataset split and print the report."""
    from sadpnet.model.evaluate import evaluate_model, report_markdown

    res = evaluate_model(model_dir, dataset, split=split, out_dir=out, n_ood=n_ood, seed=seed,
                         max_patterns=max_patterns)
    typer.echo(report_markdown(res))
