"""``sadpnet attach-detector``: back a classifier's "unknown" verdict with a defect detector;
``sadpnet attach-mixture``: let a defect detector hand a defect-trained model's clean-looking patterns to a
clean-trained one."""

from __future__ import annotations

from pathlib import Path

import typer

from sadpnet.cli.base import app


@app.command("attach-detector")
def attach_detector_command(
    model_dir: Path = typer.Argument(..., help="Model folder whose unknown verdict gets the detector."),
    detector_dir: Path = typer.Argument(..., help="Detector model folder (trained with --label defect_type)."),
    dataset: Path = typer.Argument(..., help="Store whose clean patterns set the thresholds (the model's own "
                                   "training set)."),
    classes: str = typer.Option("dislocation,twin", "--classes", help="Detector classes that mean unknown "
                                "(comma-separated)."),
    max_clean_flag_pct: float = typer.Option(4.0, "--max-clean-flag-pct", help="Share of clean patterns the "
                                             "model's own score and the detector may flag together, %."),
    split: str = typer.Option("val", "--split", help="Split of DATASET the thresholds are set on."),
) -> None:
    """Copy DETECTOR_DIR into MODEL_DIR/detector and set both unknown thresholds (sadpnet.model.detector)."""
    from sadpnet.errors import InputError
    from sadpnet.model.detector import attach_detector

    names = [c.strip() for c in classes.split(",") if c.strip()]
    if not names:
        raise InputError("give at least one class", "--classes")
    u = attach_detector(model_dir, detector_dir, dataset, classes=names, max_clean_flag_rate=max_clean_flag_pct / 100,
                        split=split)
    d = u["detector"]
    typer.echo(f"{model_dir}: unknown = {u['score']} > {u['threshold']:.4g} or P({' + '.join(d['classes'])}) > "
               f"{d['threshold']:.4g} (detector {d['name']}); flags {100 * d['clean_flag_rate_on_that_split']:.1f} % "
               f"of {d['set_on']}")


@app.command("attach-mixture")
def attach_mixture_command(
    model_dir: Path = typer.Argument(..., help="Defect-trained model folder that becomes the mixture."),
    clean_dir: Path = typer.Argument(..., help="Clean-trained model folder (same classes and input)."),
    gate_dir: Path = typer.Argument(..., help="Defect detector folder (trained with --label defect_type)."),
    classes: str = typer.Option("", "--classes", help="Gate classes whose summed probability weighs the "
                                "defect-trained network (comma-separated; default: every defect type but none "
                                "and strain)."),
) -> None:
    """Copy CLEAN_DIR and GATE_DIR into MODEL_DIR: p = g p_model + (1 - g) p_clean (sadpnet.model.mixture)."""
    from sadpnet.model.mixture import DEFAULT_GATE_CLASSES, attach_mixture

    names = [c.strip() for c in classes.split(",") if c.strip()] or list(DEFAULT_GATE_CLASSES)
    m = attach_mixture(model_dir, clean_dir, gate_dir, classes=names)
    typer.echo(f"{model_dir}: p = g p_model + (1 - g) p_clean ({m['clean']['name']}), g = P({' + '.join(names)}) "
               f"of {m['gate']['name']}")
