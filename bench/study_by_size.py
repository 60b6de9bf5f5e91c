"""Accuracy against detector size: several `sadpnet study` runs (e.g. ``--size-px 128 / 256 / 512``, same seed
and mode, so the same sets and grid points) side by side, per model and defect family (the report's "Accuracy
by defect family" rows), space-group scoring % [95 % Wilson interval] (patterns) and the sets the ensemble gets
right.

Usage: .venv/bin/python bench/study_by_size.py out/study-128 out/study-256 out/study-512
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from sadpnet.study.report import UNKNOWN_FAMILIES
from sadpnet.study.tables import model_cell, sets_right_text

ROWS = ("pristine", "thermal, random blocks", "point defects, random blocks", "thermal, periodic",
        "point defects, periodic", "normal strain", "shear strain", "dislocation + twin")


def family_keys(results: dict) -> dict[str, list[str]]:
    """Set keys of each row of `ROWS`, and of "all sets"."""
    fams = dict(UNKNOWN_FAMILIES)
    out = {r: [s["key"] for s in results["sets"] if s["defect"] in fams[r]] for r in ROWS}
    out["all sets"] = [s["key"] for s in results["sets"]]
    return out


def main(paths: list[str]) -> None:
    runs = [json.loads((Path(p) / "results.json").read_text()) for p in paths]
    names = [m["name"] for m in runs[0]["models"] if all(any(n["name"] == m["name"] for n in r["models"])
                                                         for r in runs)]
    sizes = [f"{r['grid'].get('size_px', 256)} px" for r in runs]
    print("| model | defects | " + " | ".join(sizes) + " |")
    print("|---|---|" + "---|" * len(runs))
    for name in names:
        for row in (*ROWS, "all sets"):
            cells = []
            for r in runs:
                m = next(x for x in r["models"] if x["name"] == name)
                keys = family_keys(r)[row]
                cells.append(f"{model_cell(r, m, keys)}; {sets_right_text(r, m, keys).replace(' sets right', '')}")
            print(f"| {name} | {row} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main(sys.argv[1:])
