"""A PyTorch dataset over a store: streams Zarr chunks, label column chosen at load time.

`StoreDataset` is an ``IterableDataset``: it reads one image chunk at a time (never the whole store),
shuffles the order of chunks and the patterns inside each chunk (seeded, per epoch via `set_epoch`), and
splits the chunks between DataLoader workers. Each item is ``(image, target, pixel_size_inv_a)``:

* ``image``: float32 tensor (1, S, S), the stored uint8/uint16 image divided by 255/65535 (values in [0, 1];
  no resampling or normalisation: the model's own preprocessing does that, using the calibration);
* ``target``: int64 index of the row's label in ``dataset.classes``;
* ``pixel_size_inv_a``: float, the pattern's calibration, 1/A per pixel;
* (``return_index=True``) the row's ``pattern_index`` in the store's table.

Example::

    ds = StoreDataset("out/datasets/paper-five", split="train", label="space_group", seed=0)
    loader = torch.utils.data.DataLoader(ds, batch_size=64, num_workers=2)
    for images, targets, cal in loader: ...
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from sadpnet.errors import InputError


class StoreDataset(torch.utils.data.IterableDataset):
    """Patterns of a store (one split, optional column filters) with the label taken from any column.

    Args:
        root: store folder (``sadpnet dataset build``); must be complete.
        split: keep only this split (train, val, test, ...), or None for all rows.
        label: table column used as the label: ``space_group`` (default), ``crystal_system``, ``group_id``...
        classes: the label values in class-index order; default: the sorted values found in the whole table
            (so train, val and test datasets of one store agree).
        filters: {column: value or list of values} rows must match.
        shuffle: shuffle chunk order and patterns within a chunk (seeded by ``seed`` and the epoch).
        seed: random seed of the shuffling.
        return_index: also yield the row's ``pattern_index`` (4th element) to join with the table.
    """

    def __init__(self, root: str | Path, split: str | None = None, label: str = "space_group", *,
                 classes: list | None = None, filters: dict | None = None, shuffle: bool = True, seed: int = 0,
                 return_index: bool = False):
        from sadpnet.data.store import read_meta, read_table

        super().__init__()
        self.root = Path(root)
        meta = read_meta(self.root)
        if meta.get("state") != "complete":
            raise InputError("the build is not complete; run the same build command to finish it", self.root)
        table = read_table(self.root)
        if label not in table.columns:
            raise InputError(f"no column {label!r} in the table (columns: {', '.join(table.columns)})", "label")
        self.classes = list(classes) if classes is not None else sorted(table[label].unique().tolist())
        keep = np.ones(len(table), dtype=bool)
        if split is not None:
            if split not in set(table.split):
                raise InputError(f"no split {split!r} in the store (has: {', '.join(sorted(set(table.split)))})", "split")
            keep &= (table.split == split).to_numpy()
        for col, val in (filters or {}).items():
            if col not in table.columns:
                raise InputError(f"no column {col!r} in the table", "filters")
            keep &= table[col].isin(list(val) if isinstance(val, (list, tuple, set)) else [val]).to_numpy()
        self.table = table[keep].reset_index(drop=True)  # the selected rows, in store order
        index = {c: i for i, c in enumerate(self.classes)}
        missing = set(self.table[label]) - set(index)
        if missing:
            raise InputError(f"label values {sorted(missing)[:5]} are not in classes", "classes")
        self.label = label
        self._rows = table.pattern_index.to_numpy()[keep]
        self._targets = np.array([index[v] for v in self.table[label]], dtype=np.int64)
        self._cal = self.table.pixel_size_inv_a.to_numpy(dtype=np.float32)
        self.chunk = int(meta["chunk_patterns"])
        self.max_value = 65535.0 if meta["dtype"] == "uint16" else 255.0
        self.shuffle, self.seed, self.epoch, self.return_index = shuffle, int(seed), 0, bool(return_index)

    def __len__(self) -> int:
        return len(self._rows)

    def set_epoch(self, epoch: int) -> None:
        """Change the shuffling for a new epoch (call before iterating; DataLoader workers see it)."""
        self.epoch = int(epoch)

    def __iter__(self):
        from sadpnet.data.store import open_images

        images = open_images(self.root)
        chunk_of = self._rows // self.chunk
        chunks = np.unique(chunk_of)
        rng = np.random.default_rng([self.seed, self.epoch])
        if self.shuffle:
            chunks = rng.permutation(chunks)
        info = torch.utils.data.get_worker_info()
        if info is not None:
            chunks = chunks[info.id::info.num_workers]
        for c in chunks:
            sel = np.flatnonzero(chunk_of == c)
            lo = int(c) * self.chunk
            block = images[lo: lo + self.chunk]
            if self.shuffle:
                sel = rng.permutation(sel)
            t = torch.from_numpy(block[self._rows[sel] - lo].astype(np.float32))
            t.div_(self.max_value)
            for j, i in enumerate(sel):
                item = (t[j].unsqueeze(0), int(self._targets[i]), float(self._cal[i]))
                yield item + (int(self._rows[i]),) if self.return_index else item
