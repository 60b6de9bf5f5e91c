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
    defect_ood: bool = typer.Option(True, "--defect-ood/--no-defect-ood",
                                    help="Also score dislocation and twin patterns (Al, Fe; the study's quick grid, "
                                    "6 patterns per set, atoms engine: about a minute)."),
) -> None:
    """Evaluate a model on a dataset split and print the report."""
    from sadpnet.model.evaluate import evaluate_model, report_markdown

    from sadpnet.data.store import read_meta
    from sadpnet.model.card import load_model_files

    load_model_files(model_dir)  # bad model folders and datasets are refused before any simulation
    read_meta(dataset)
    extra = _defect_sets(seed, None if out is None else out / "defect-cache") if defect_ood else None
    res = evaluate_model(model_dir, dataset, split=split, out_dir=out, n_ood=n_ood, seed=seed,
                         max_patterns=max_patterns, extra_ood=extra)
    typer.echo(report_markdown(res))


def _defect_sets(seed: int, cache_dir):
    """Dislocation and twin patterns of the study's paper test sets (quick grid) as out-of-distribution sources."""
    import numpy as np

    from sadpnet.model.ood_sets import as_source
    from sadpnet.study.testsets import Grid, paper_test_sets, simulate_set

    grid = Grid.quick(seed)
    out = {}
    for kind in ("dislocation", "twin"):
        imgs, cals = [], []
        for spec in paper_test_sets(quick=True):
            if spec.defect != kind:
                continue
            sp = simulate_set(spec, grid, seed, cache_dir)
            if sp.status == "ok" and len(sp.images):
                imgs.append(sp.images)
                cals.append(np.asarray(sp.pixel_size_inv_a, float))
        if imgs:
            out[kind] = as_source(np.concatenate(imgs), np.concatenate(cals), kind)
    return out
