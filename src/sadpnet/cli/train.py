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
    from sadpnet.errors import InputError
    from sadpnet.model.augment import LINEAR_NOISE, NO_AUGMENT, AugmentConfig
    from sadpnet.model.labels import LabelScheme
    from sadpnet.model.preprocess import DEFAULT_SIZE_PX, DEFAULT_TARGET_PIXEL_SIZE_INV_A
    from sadpnet.model.source import dataset_id, open_store, stored_mapping
    from sadpnet.model.train import TrainConfig, train
    from sadpnet.simulate.detector import MEASURED_MAPPING

    if precision not in ("bf16", "fp32"):
        raise InputError(f"must be bf16 or fp32, got {precision!r}", "--precision")
    if threads < 1 or workers < 0 or batch_size < 1:
        raise InputError("threads and batch size must be >= 1, workers >= 0", "--threads/--workers/--batch-size")
    if init_any_scale and init_from is None:
        raise InputError("only means something with --init-from MODEL_DIR", "--init-any-scale")
    target = target_pixel_size_inv_a or DEFAULT_TARGET_PIXEL_SIZE_INV_A * DEFAULT_SIZE_PX / image_size
    from sadpnet.model.source import concat_sources

    paths = [dataset, *also]
    tr = concat_sources([open_store(p, "train", max_patterns=max_patterns, seed=seed) for p in paths])
    n_val = max_val_patterns or max_patterns
    if len(paths) == 1:
        va = open_store(dataset, "val", max_patterns=n_val, seed=seed)
    else:  # a seeded subset of the pooled validation patterns
        import numpy as np

        va = concat_sources([open_store(p, "val") for p in paths])
        if n_val and len(va) > n_val:
            va = va.subset(np.sort(np.random.default_rng(seed).permutation(len(va))[:n_val]))
    preprocess = {} if log_gain == 100.0 else {"log_gain": log_gain}
    if intensity == "linear":
        input_mapping = MEASURED_MAPPING
    elif intensity == "stored":
        input_mapping = stored_mapping(paths)
    else:
        raise InputError(f"must be linear or stored, got {intensity!r}", "--intensity")
    scheme = None
    if label == "appearance":
        from sadpnet.model.appearance import appearance_scheme

        scheme = appearance_scheme(tr.table)
        label = "space_group"
    cfg = TrainConfig(arch=arch, image_size_px=image_size, target_pixel_size_inv_a=target, label=label, epochs=epochs,
                      batch_size=batch_size, lr=lr, patience=patience, seed=seed, threads=threads, workers=workers,
                      precision=precision, device=device, samples_per_epoch=samples_per_epoch, max_hours=max_hours,
                      half_weights=half, init_from=str(init_from) if init_from else None,
                      init_any_scale=init_any_scale,
                      balance=balance, augment=(NO_AUGMENT if no_augment else
                                                AugmentConfig(**(LINEAR_NOISE if intensity == "linear" else {}))
                                                ).to_dict(),
                      preprocess=preprocess, input_mapping=input_mapping.to_tags())
    if scheme is None:
        if label not in tr.table.columns:
            raise InputError(f"dataset has no column {label!r}", "--label")
        scheme = LabelScheme.from_column(tr.table[label], label)
    typer.echo(f"training {arch} on {len(tr)} patterns (val {len(va)}), {scheme.num_classes} classes, "
               f"{image_size} px at {target:.5g} 1/A per pixel -> {out}")
    summary = train(tr, va, cfg, out, scheme=scheme, resume=resume, dataset_id="+".join(dataset_id(p) for p in paths))
    typer.echo(f"best epoch {summary['best_epoch']}: val accuracy {summary['best_val_acc']:.4f} "
               f"({summary['stopped']}); model written to {out}")
