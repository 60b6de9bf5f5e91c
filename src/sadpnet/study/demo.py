"""A demonstration run: simulate the shipped example crystals on a few zone axes and draw a contact sheet.

    from sadpnet.study.demo import run_demo
    run_demo("out/demo")   # out/demo/patterns/<crystal>_<uvw>.png + .json, contact_sheet.png, index.json

Default settings throughout (200 kV, 300 mm, 256 px, 40 x 30 x 20 cells, cell engine, room-temperature
Debye-Waller factors).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

#: The crystals of the demo (names of `sadpnet.resources.EXAMPLE_CIFS`).
DEMO_CRYSTALS: tuple[str, ...] = ("Al", "Cu", "Fe", "W", "Si", "NaCl", "CsCl", "beta-Mn")
#: The zone axes of the demo.
DEMO_ZONE_AXES: tuple[tuple[int, int, int], ...] = ((0, 0, 1), (0, 1, 1), (1, 1, 1), (1, 1, 2))


def run_demo(out_dir: str | Path, crystals=DEMO_CRYSTALS, zone_axes=DEMO_ZONE_AXES, *, voltage_kv: float = 200.0,
             camera_length_mm: float = 300.0, size_px: int = 256, progress: bool = True) -> dict:
    """Simulate every (crystal, zone axis), write PNG + spots JSON per pattern, a labelled contact sheet and
    an index. Returns the index (also written to ``out_dir/index.json``)."""
    from sadpnet.atomic_write import atomic_path, write_text_atomic
    from sadpnet.crystal import read_cif
    from sadpnet.resources import example_cif
    from sadpnet.simulate.api import simulate
    from sadpnet.simulate.detector import render
    from sadpnet.simulate.io import save_pattern

    out = Path(out_dir)
    (out / "patterns").mkdir(parents=True, exist_ok=True)
    loaded = {name: read_cif(example_cif(name)) for name in crystals}
    jobs = [(name, tuple(uvw)) for name in crystals for uvw in zone_axes]
    entries, images = [], []
    t0 = time.perf_counter()

    def one(name, uvw):
        c = loaded[name]
        p = simulate(c, uvw, voltage_kv=voltage_kv, camera_length_mm=camera_length_mm, size_px=size_px)
        img = render(p)
        stem = f"{name}_{''.join(str(x) for x in uvw)}"
        png, js = save_pattern(p, img, out / "patterns" / f"{stem}.png")
        images.append((f"{name} ({c.space_group_number}) [{' '.join(str(x) for x in uvw)}]", img))
        entries.append({"crystal": name, "space_group": c.space_group_number, "zone_axis": list(uvw),
                        "image": str(png.relative_to(out)), "spots": str(js.relative_to(out)), "n_spots": len(p.spots)})

    if progress:
        from rich.progress import Progress

        with Progress() as bar:
            task = bar.add_task("simulating", total=len(jobs))
            for name, uvw in jobs:
                one(name, uvw)
                bar.advance(task)
    else:
        for name, uvw in jobs:
            one(name, uvw)
    seconds = time.perf_counter() - t0
    sheet = out / "contact_sheet.png"
    with atomic_path(sheet) as tmp:
        _contact_sheet(images, len(zone_axes), tmp)
    index = {"settings": {"voltage_kv": voltage_kv, "camera_length_mm": camera_length_mm, "size_px": size_px,
                          "engine": "cell", "cells": [40, 30, 20]},
             "patterns": entries, "contact_sheet": sheet.name, "simulate_and_render_s": round(seconds, 3)}
    write_text_atomic(out / "index.json", json.dumps(index, indent=1))
    return index


def _contact_sheet(images, ncols: int, path: Path) -> None:
    """A grid of labelled images (matplotlib, Agg)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    nrows = -(-len(images) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(2.2 * ncols, 2.35 * nrows), squeeze=False)
    for ax in axes.ravel():
        ax.axis("off")
    for ax, (label, img) in zip(axes.ravel(), images):
        ax.imshow(img, cmap="gray", vmin=0, vmax=255, interpolation="nearest")
        ax.set_title(label, fontsize=7)
    fig.suptitle("sadpnet demo: kinematic SADPs, 200 kV, 300 mm, 40x30x20 cells", fontsize=9)
    fig.tight_layout(rect=(0, 0, 1, 0.985))
    fig.savefig(path, dpi=110, format="png")
    plt.close(fig)
