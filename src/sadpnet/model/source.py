"""Where training/evaluation patterns come from: a small interface over stored datasets.

A *pattern source* has ``table`` (a pandas DataFrame, one row per pattern, with at least ``space_group``,
``zone_axis`` and ``pixel_size_inv_a``; datasets built by ``sadpnet dataset build`` also carry material and
split columns), ``image(i) -> np.ndarray (H, W)`` for row position i and ``mapping_of(i)``, the
`sadpnet.simulate.detector.IntensityMapping` of that image. `open_store` reads (one split of) a dataset store
written by `sadpnet.data` into a `MemorySource`, which wraps arrays (also tests, OOD sets), with the mapping
the store records (or, drawn per pattern, one per row: column ``intensity_mapping``, JSON tags).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sadpnet.errors import InputError
from sadpnet.simulate.detector import DEFAULT_MAPPING, IntensityMapping

#: Table column holding each pattern's mapping (JSON tags) when a source's patterns differ in it.
MAPPING_COLUMN = "intensity_mapping"


@dataclass
class MemorySource:
    """Patterns held in memory: ``images`` (N, H, W), a table with one row per image, and their
    `IntensityMapping` (``mapping``, default `DEFAULT_MAPPING`: what `render` writes; or per row, the
    table's ``intensity_mapping`` column)."""

    images: np.ndarray
    table: "object"  # pandas.DataFrame
    mapping: IntensityMapping = DEFAULT_MAPPING

    def __len__(self) -> int:
        return len(self.images)

    def image(self, i: int) -> np.ndarray:
        return self.images[i]

    def pixel_size(self, i: int) -> float:
        return float(self.table["pixel_size_inv_a"].iloc[i])

    def mapping_of(self, i: int) -> IntensityMapping:
        """The `IntensityMapping` of image i."""
        if MAPPING_COLUMN in self.table.columns:
            return IntensityMapping.from_tags(self.table[MAPPING_COLUMN].iloc[i], MAPPING_COLUMN)
        return self.mapping

    def subset(self, positions) -> "MemorySource":
        positions = np.asarray(positions, dtype=np.int64)
        return MemorySource(self.images[positions], self.table.iloc[positions].reset_index(drop=True), self.mapping)


def open_store(path: str | Path, split: str | None = None, *, filters: dict | None = None,
               max_patterns: int | None = None, seed: int = 0) -> MemorySource:
    """Rows of a `sadpnet.data` store (optionally one split / column filters), images loaded into memory.

    A 21,600-pattern store of 256-px uint8 images takes 1.4 GB; one split is read chunk by chunk (fast,
    sequential) rather than image by image (each random read would decompress a whole Zarr chunk).
    ``max_patterns`` keeps a seeded random subset (quick runs).
    """
    from sadpnet.data.store import open_images, pattern_mapping, read_meta, read_spec, read_table, store_mapping

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
    mapping = store_mapping(path)
    if mapping is None:  # drawn per pattern: each row's own
        spec = read_spec(path)
        t[MAPPING_COLUMN] = [json.dumps(pattern_mapping(spec, json.loads(a)).to_tags()) for a in t["augment"]]
        mapping = DEFAULT_MAPPING
    return MemorySource(images, t, mapping)


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
    tables = [s.table for s in sources]
    if len({s.mapping for s in sources}) > 1 or any(MAPPING_COLUMN in t.columns for t in tables):
        tables = [t.assign(**{MAPPING_COLUMN: [json.dumps(s.mapping_of(i).to_tags()) for i in range(len(s))]})
                  for s, t in zip(sources, tables)]
    return MemorySource(np.concatenate([s.images for s in sources]), pd.concat(tables, ignore_index=True),
                        sources[0].mapping)


def dataset_id(path: str | Path) -> str:
    """'<name>@<spec hash[:12]>' of a store (the card's training data id)."""
    from sadpnet.data.store import read_meta

    meta = read_meta(path)
    return f"{Path(path).name}@{str(meta.get('spec_hash', ''))[:12]}"


def stored_mapping(paths) -> IntensityMapping:
    """The one `IntensityMapping` every image of the stores holds (``--intensity stored`` feeds a model
    these values as they are); `InputError` naming the store when one draws it per pattern or they differ."""
    from sadpnet.data.store import store_mapping

    found = {}
    for p in paths:
        m = store_mapping(p)
        if m is None:
            raise InputError("its images have intensity mappings drawn per pattern: a model cannot take them as "
                             "stored (use --intensity linear)", p)
        found.setdefault(m, p)
    if len(found) != 1:
        raise InputError(f"the datasets store images of different intensity mappings "
                         f"{[m.to_tags() for m in found]} (use --intensity linear)", "--also")
    return next(iter(found))
