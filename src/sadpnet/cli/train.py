"""``sadpnet train``: train a ResNet classifier on a dataset store."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from sadpnet.cli.base import app


@app.command("train")
def train_command(
    dataset: Path = typer.Argument(..., help="Dataset store folder (sadpnet dataset build) with train/val splits."),
    out: Path = typer.Option(..., "-o", "--out", help="Model folder to write (checkpoints, metrics.csv, card.json)."),
    arch: str = typer.Option("resnet18", "--arch", help="resnet18 | resnet34 | resnet50 | resnet101."),
    image_size: int = typer.Option(128, "--image-size", help="Model input side, pixels (the paper: 256)."),
    target_pixel_size_inv_a: Optional[float] = typer.Option(
        None, "--target-pixel-size-inv-a", help="Model calibration, 1/A per pixel [default: 0.0266 x 128/image-size]."),
    label: str = typer.Option("space_group", "--label", help="Label column (space_group, crystal_system, any column) "
                              "or 'appearance' (the paper's look-alike groups of (space group, zone axis))."),
    epochs: int = typer.Option(10, "--epochs", help="Maximum number of epochs."),
    batch_size: int = typer.Option(64, "--batch-size"),
    lr: float = typer.Option(2e-3, "--lr", help="Peak AdamW learning rate (warm-up then cosine decay)."),
    patience: int = typer.Option(4, "--patience", help="Early stopping: epochs without validation improvement."),
    seed: int = typer.Option(0, "--seed"),
    threads: int = typer.Option(1, "--threads", help="torch threads (1 is fastest on a busy 2-core machine, "
                                "see bench/bench_train.py)."),
    workers: int = typer.Option(0, "--workers", help="DataLoader worker processes for augmentation/preprocessing."),
    precision: str = typer.Option("bf16", "--precision", help="bf16 (autocast, channels_last) or fp32."),
    device: str = typer.Option("cpu", "--device", help="cpu, cuda or cuda:N (multi-GPU: launch with torchrun)."),
    samples_per_epoch: Optional[int] = typer.Option(None, "--samples-per-epoch",
                                                    help="Random training patterns per epoch [all]."),
    max_patterns: Optional[int] = typer.Option(None, "--max-patterns", help="Use a seeded subset of each split."),
    max_val_patterns: Optional[int] = typer.Option(None, "--max-val-patterns",
                                                   help="Seeded subset of the validation split (per-epoch "
                                                   "validation and temperature fit) [all]."),
    max_hours: Optional[float] = typer.Option(None, "--max-hours", help="Stop after this many hours (after an epoch)."),
    half: bool = typer.Option(False, "--half", help="Store the final weights as float16 (half the size)."),
    no_augment: bool = typer.Option(False, "--no-augment", help="Train on clean patterns only."),
    log_gain: float = typer.Option(100.0, "--log-gain", help="Intensity compression of the model input, "
                                   "log1p(gain x) / log1p(gain) of the normalised image (sadpnet.model.preprocess)."),
    intensity: str = typer.Option("stored", "--intensity", help="stored: take the dataset's stored (log-mapped) "
                                  "values as intensities (every shipped recipe); linear: decode them to linear "
                                  "detector intensity first, as real files hold (the card's input_mapping; robust to "
                                  "weak defect features, docs/classifier.md)."),
    resume: bool = typer.Option(False, "--resume", help="Continue from OUT/checkpoint."),
    also: list[Path] = typer.Option([], "--also", help="A further dataset whose train and val splits are added "
                                    "(repeatable; e.g. clean patterns beside a defect dataset when fine-tuning)."),
    balance: Optional[str] = typer.Option(None, "--balance", help="A dataset column whose values each epoch draws "
                                          "equally often (e.g. defect_type), with replacement."),
    init_from: Optional[Path] = typer.Option(None, "--init-from", help="Start from this model folder's weights "
                                             "(fine-tuning; same architecture, image size and scale; the last "
                                             "layer is re-initialised when the classes differ)."),
    init_any_scale: bool = typer.Option(False, "--init-any-scale", help="Let --init-from take a model of another "
                                        "image size and pixel scale (its convolution weights still fit, e.g. a "
                                        "256-px model started from the 128-px default)."),
) -> None:
    """Train a classifier: per-epoch validation, checkpoint/resume, early stopping, metrics.csv, calibrated card."""
    from sadpnet.model.recipe import train_on_stores

    summary = train_on_stores(
        dataset, out, also=also, label=label, intensity=intensity, log_gain=log_gain,
        target_pixel_size_inv_a=target_pixel_size_inv_a, max_patterns=max_patterns,
        max_val_patterns=max_val_patterns, no_augment=no_augment, resume=resume, on_start=typer.echo,
        arch=arch, image_size_px=image_size, epochs=epochs, batch_size=batch_size, lr=lr, patience=patience,
        seed=seed, threads=threads, workers=workers, precision=precision, device=device,
        samples_per_epoch=samples_per_epoch, max_hours=max_hours, half_weights=half, init_from=init_from,
        init_any_scale=init_any_scale, balance=balance)
    typer.echo(f"best epoch {summary['best_epoch']}: val accuracy {summary['best_val_acc']:.4f} "
               f"({summary['stopped']}); model written to {out}")
