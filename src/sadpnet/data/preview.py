"""A labelled contact sheet of a dataset store (PNG), for a quick look at what a store holds."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from sadpnet.atomic_write import atomic_path
from sadpnet.errors import InputError


def contact_sheet(store: str | Path, out: str | Path, *, n: int = 16, split: str | None = None, seed: int = 0) -> Path:
    """Draw ``n`` seeded-random patterns of ``store`` (optionally of one split) in a grid, each labelled with
    material, space group, zone axis, voltage and calibration; written atomically to ``out`` (PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from sadpnet.data.store import open_images, read_meta, read_table

    read_meta(store)
    if n < 1:
        raise InputError(f"must be >= 1, got {n}", "--n")
    table = read_table(store)
    if split is not None:
        if split not in set(table.split):
            raise InputError(f"no split {split!r} in the store (has: {', '.join(sorted(set(table.split)))})", "--split")
        table = table[table.split == split]
    rows = table.sample(min(n, len(table)), random_state=seed).sort_values("pattern_index")
    images = open_images(store)
    cols = int(np.ceil(np.sqrt(len(rows))))
    nrows = int(np.ceil(len(rows) / cols))
    fig, axes = plt.subplots(nrows, cols, figsize=(2.2 * cols, 2.5 * nrows), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, (_, r) in zip(axes.flat, rows.iterrows()):
        ax.imshow(images[int(r.pattern_index)], cmap="gray")
        ax.set_title(f"{r.formula} SG{r.space_group} {r.zone_axis}\n{r.voltage_kv:.0f} kV "
                     f"{r.pixel_size_inv_a:.4f} 1/A/px {r.split}", fontsize=6)
    fig.tight_layout()
    with atomic_path(out) as tmp:
        fig.savefig(tmp, dpi=100)
    plt.close(fig)
    return Path(out)
