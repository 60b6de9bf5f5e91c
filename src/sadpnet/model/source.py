"""Where training/evaluation patterns come from: a small interface over stored datasets.

A *pattern source* has ``table`` (a pandas DataFrame, one row per pattern, with at least ``space_group``,
``zone_axis`` and ``pixel_size_inv_a``; datasets built by ``sadpnet dataset build`` also carry material and
split columns) and ``image(i) -> np.ndarray (H, W)`` for row position i. `open_store` reads (one split of) a
dataset store written by `sadpnet.data` into a `MemorySource`, which wraps arrays (also tests, OOD sets).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sadpnet.errors import InputError


@dataclass
class MemorySource:
    """Patterns held in memory: ``images`` (N, H, W) and a table with one row per image."""

    images: np.ndarray
    table: "object"  # pandas.DataFrame

    def __len__(self) -> int:
        return len(self.images)

    def image(self, i: int) -> np.ndarray:
        return self.images[i]

    def pixel_size(self, i: int) -> float:
        return float(self.table["pixel_size_inv_a"].iloc[i])

    def subset(self, positions) -> "MemorySource":
        positions = np.asarray(positions, dtype=np.int64)
        return MemorySource(self.images[positions], self.table.iloc[positions].reset_index(drop=True))


def open_store(path: str | Path, split: str | None = None, *, filters: dict | None = None,
               max_patterns: int | None = None, seed: int = 0) -> MemorySource:
    """Rows of a `sadpnet.data` store (optionally one split / column filters), images loaded into memory.

    A 21,600-pattern store of 256-px uint8 images takes 1.4 GB; one split is read chunk by chunk (fast,
    sequential) rather than image by image (each random read would decompress a whole Zarr chunk).
    ``max_patterns`` keeps a seeded random subset (quick runs).
    """
    from sadpnet.data.store import open_images, read_meta, read_table

    path = Path(path)
    meta = read_meta(path)
    if meta.get("state") not in (None, "complete"):
        raise InputError(f"dataset store is not complete (state {meta.get('state')!r}); finish its build first", path)
    table = read_table(path)
    keep = np.ones(len(table), dtype=bool)
    if split is not None:
        if "split" not in table.columns:
            raise InputError("dataset has no split column", path)
        keep &= (table["split"] == split).to_numpy()
    for col, val in (filters or {}).items():
        if col not in table.columns:
            raise InputError(f"dataset has no column {col!r}", path)
        keep &= table[col].isin(list(val) if isinstance(val, (list, tuple, set)) else [val]).to_numpy()
    pos = np.flatnonzero(keep)
    if max_patterns is not None and len(pos) > max_patterns:
        pos = np.sort(np.random.default_rng(seed).permutation(pos)[:max_patterns])
    arr = open_images(path)
    chunk = int(meta.get("chunk_patterns", 64))
    images = np.empty((len(pos),) + tuple(arr.shape[1:]), dtype=arr.dtype)
    if len(pos):
        for c in np.unique(pos // chunk):
            lo = int(c) * chunk
            block = arr[lo:lo + chunk]
            sel = np.flatnonzero((pos >= lo) & (pos < lo + chunk))
            images[sel] = block[pos[sel] - lo]
    t = table.iloc[pos].reset_index(drop=True)
    if "zone_axis" in t.columns:
        from sadpnet.model.labels import zone_key

        t["zone_axis"] = [zone_key(z) for z in t["zone_axis"]]
    return MemorySource(images, t)


def concat_sources(sources: list[MemorySource]) -> MemorySource:
    """One source holding the patterns of several (e.g. the same split of two datasets), in order.

    Images must have the same shape; table columns missing in one source are left empty there.
    """
    import pandas as pd

    if len(sources) == 1:
        return sources[0]
    shapes = {s.images.shape[1:] for s in sources if len(s)}
    if len(shapes) > 1:
        raise InputError(f"datasets hold images of different sizes {sorted(shapes)}", "--also")
    return MemorySource(np.concatenate([s.images for s in sources]),
                        pd.concat([s.table for s in sources], ignore_index=True))


def dataset_id(path: str | Path) -> str:
    """'<name>@<spec hash[:12]>' of a store (the card's training data id)."""
    from sadpnet.data.store import read_meta

    meta = read_meta(path)
    return f"{Path(path).name}@{str(meta.get('spec_hash', ''))[:12]}"


def stored_mapping(paths) -> dict:
    """`PreprocessSettings` fields that decode the stores' images to linear intensity (step 0 of
    `sadpnet.model.preprocess`): ``stored_log_range`` (R of their log mapping) and ``stored_full_scale``.
    Every store must hold images of one log mapping (no other mapping, none drawn per pattern)."""
    from sadpnet.data.store import read_meta, read_spec

    found = set()
    for p in paths:
        spec = read_spec(p)
        render = dict(spec.get("render") or {})
        choices = (spec.get("augment") or {}).get("render_choices") or {}
        if render.get("mapping", "log") != "log" or {"mapping", "dynamic_range"} & set(choices):
            raise InputError("--intensity linear needs images stored with the log mapping of one dynamic range "
                             "(use --intensity stored)", p)
        full = float(np.iinfo(np.dtype(read_meta(p).get("dtype", "uint8"))).max)
        found.add((float(render.get("dynamic_range", 1e4)), full))
    if len(found) != 1:
        raise InputError(f"the datasets store images with different mappings {sorted(found)}", "--also")
    (dynamic_range, full), = found
    return {"stored_log_range": dynamic_range, "stored_full_scale": full}
