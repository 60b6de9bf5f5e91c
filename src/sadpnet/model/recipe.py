"""Train a classifier on dataset stores: the one call behind ``sadpnet train`` (the CLI only parses options).

`train_on_stores(dataset, out, ...)` opens the train and validation splits of one or more stores
(`sadpnet.model.source`), decides the intensity mapping the network takes (``intensity``: "stored", the
stores' own mapping, or "linear"), builds the label scheme (a table column, or the paper's appearance groups)
and the `TrainConfig`, and runs `sadpnet.model.train.train`, which ends with a calibrated model folder.

Example::

    >>> summary = train_on_stores("out/datasets/quick", "out/models/quick", epochs=1,
    ...                           max_patterns=64)                                    # doctest: +SKIP
    >>> summary["best_val_acc"]                                                       # doctest: +SKIP
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np

from sadpnet.errors import InputError
from sadpnet.model.augment import LINEAR_NOISE, NO_AUGMENT, AugmentConfig
from sadpnet.model.labels import LabelScheme
from sadpnet.model.preprocess import DEFAULT_SIZE_PX, DEFAULT_TARGET_PIXEL_SIZE_INV_A
from sadpnet.model.source import concat_sources, dataset_id, open_store, stored_mapping
from sadpnet.model.train import TrainConfig, train
from sadpnet.simulate.detector import MEASURED_MAPPING

#: What ``intensity`` may be: the stores' own mapping, or linear detector intensity.
INTENSITIES = ("stored", "linear")


def train_on_stores(dataset, out, *, also=(), label: str = "space_group", intensity: str = "stored",
                    log_gain: float = 100.0, target_pixel_size_inv_a: float | None = None,
                    max_patterns: int | None = None, max_val_patterns: int | None = None,
                    no_augment: bool = False, resume: bool = False,
                    on_start: Callable[[str], None] | None = None, **config) -> dict:
    """Train on the train split of ``dataset`` (and of each store in ``also``), validating on their val splits.

    Args:
        dataset, also: dataset store folders (`sadpnet dataset build`).
        out: the model folder to write (see `sadpnet.model.train`).
        label: a table column, or "appearance" (the paper's look-alike groups of (space group, zone axis)).
        intensity: "stored" (the network takes the stores' mapping, which must be one) or "linear".
        log_gain: the preprocessing's intensity compression (`PreprocessSettings.log_gain`).
        target_pixel_size_inv_a: the model's calibration, 1/A per pixel; None: 0.0266 x 128 / image size.
        max_patterns, max_val_patterns: seeded subsets of each split / of the pooled validation patterns.
        no_augment: train on clean patterns only.
        resume: continue from ``out/checkpoint``.
        on_start: called with one line saying what is about to be trained.
        **config: further `TrainConfig` fields (arch, image_size_px, epochs, seed, threads, ...).

    Returns:
        the summary dict of `sadpnet.model.train.train`.
    """
    cfg = _config(config, label, intensity, log_gain, target_pixel_size_inv_a, no_augment)
    paths = [Path(dataset), *map(Path, also)]
    tr, va = _splits(paths, max_patterns, max_val_patterns, cfg.seed)
    cfg.input_mapping = (MEASURED_MAPPING if intensity == "linear" else stored_mapping(paths)).to_tags()
    scheme = _scheme(tr, label)
    if label == "appearance":
        cfg.label = "space_group"
    if on_start is not None:
        on_start(f"training {cfg.arch} on {len(tr)} patterns (val {len(va)}), {scheme.num_classes} classes, "
                 f"{cfg.image_size_px} px at {cfg.target_pixel_size_inv_a:.5g} 1/A per pixel -> {out}")
    return train(tr, va, cfg, out, scheme=scheme, resume=resume, dataset_id="+".join(dataset_id(p) for p in paths))


def _config(config: dict, label: str, intensity: str, log_gain: float, target: float | None,
            no_augment: bool) -> TrainConfig:
    """The `TrainConfig`, its options checked before any store is read."""
    if config.get("precision", "bf16") not in ("bf16", "fp32"):
        raise InputError(f"must be bf16 or fp32, got {config['precision']!r}", "--precision")
    if config.get("threads", 1) < 1 or config.get("workers", 0) < 0 or config.get("batch_size", 64) < 1:
        raise InputError("threads and batch size must be >= 1, workers >= 0", "--threads/--workers/--batch-size")
    if config.get("init_any_scale") and not config.get("init_from"):
        raise InputError("only means something with --init-from MODEL_DIR", "--init-any-scale")
    if intensity not in INTENSITIES:
        raise InputError(f"must be linear or stored, got {intensity!r}", "--intensity")
    size = int(config.get("image_size_px", DEFAULT_SIZE_PX))
    augment = NO_AUGMENT if no_augment else AugmentConfig(**(LINEAR_NOISE if intensity == "linear" else {}))
    init_from = config.pop("init_from", None)
    return TrainConfig(**config, label=label,
                       target_pixel_size_inv_a=target or DEFAULT_TARGET_PIXEL_SIZE_INV_A * DEFAULT_SIZE_PX / size,
                       init_from=str(init_from) if init_from else None, augment=augment.to_dict(),
                       preprocess={} if log_gain == 100.0 else {"log_gain": log_gain})


def _splits(paths: list[Path], max_patterns: int | None, max_val_patterns: int | None, seed: int):
    """(train source, validation source) pooled over the stores."""
    tr = concat_sources([open_store(p, "train", max_patterns=max_patterns, seed=seed) for p in paths])
    n_val = max_val_patterns or max_patterns
    if len(paths) == 1:
        return tr, open_store(paths[0], "val", max_patterns=n_val, seed=seed)
    va = concat_sources([open_store(p, "val") for p in paths])  # a seeded subset of the pooled patterns
    if n_val and len(va) > n_val:
        va = va.subset(np.sort(np.random.default_rng(seed).permutation(len(va))[:n_val]))
    return tr, va


def _scheme(tr, label: str) -> LabelScheme:
    if label == "appearance":
        from sadpnet.model.appearance import appearance_scheme

        return appearance_scheme(tr.table)
    if label not in tr.table.columns:
        raise InputError(f"dataset has no column {label!r}", "--label")
    return LabelScheme.from_column(tr.table[label], label)
