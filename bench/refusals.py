"""Why the spot-index model refuses clean cubic test patterns (answers "other" or "unknown"): too few spots
(the spot-count rule, no indexing possible) or the network's choice, per zone axis; and what a "mass rule"
would do: decide cubic / other / unknown by the summed probability of the five cubic classes against "other"
and "unknown" first, then the cubic class (the shipped answer is the argmax over the seven labels, where the
cubic mass is split five ways). With ``--other`` and ``--junk`` also the non-cubic and junk shots under both
rules. A sensitivity measurement on test data, not a choice (choose on validation crystals).

Input: the test shots of `sadpnet evaluate-real` (``OUT/shots/cubic.npz``, ``other.npz``, ``junk.npz``).

Usage: .venv/bin/python bench/refusals.py out/eval-real/shots/cubic.npz [--other .../other.npz]
           [--junk .../junk.npz] [--model spot-index] [--workers 2]
"""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path

import numpy as np

from sadpnet.model.indexing import evidence_features
from sadpnet.model.realtest import evidence_of
from sadpnet.model.spot_model import LABELS, is_unknown, load_spot_model
from sadpnet.resources import resource_path
from sadpnet.stats import share_text


def answers(model, shots_file: Path, workers: int) -> tuple[np.ndarray, np.ndarray, dict]:
    """(argmax answers, mass-rule answers, shots): "unknown (too few spots)" where the spot-count rule applies."""
    shots = dict(np.load(shots_file, allow_pickle=False))
    ev = evidence_of(shots, workers=workers)
    probs = model.predict_proba(np.stack([evidence_features(e) for e in ev]))
    few = np.array([is_unknown(e) for e in ev])
    labels = np.array(LABELS)
    argmax = np.where(few, "unknown (too few spots)", labels[probs.argmax(1)])
    masses = np.stack([probs[:, :5].sum(1), probs[:, 5], probs[:, 6]], 1)
    mass = np.where(masses.argmax(1) == 0, labels[probs[:, :5].argmax(1)],
                    np.where(masses.argmax(1) == 1, "other", "unknown"))
    return argmax, np.where(few, "unknown (too few spots)", mass), shots


def share(mask: np.ndarray) -> str:
    """"k/n: % [95 % Wilson interval] (n)" of a boolean mask."""
    return f"{int(mask.sum())}/{len(mask)}: {share_text(int(mask.sum()), len(mask))}"


REFUSED = ["other", "unknown", "unknown (too few spots)"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("shots", type=Path)
    ap.add_argument("--other", type=Path)
    ap.add_argument("--junk", type=Path)
    ap.add_argument("--model", default="spot-index")
    ap.add_argument("--workers", type=int, default=2)
    a = ap.parse_args()
    model = load_spot_model(Path(a.model) if Path(a.model).is_dir() else resource_path("models", a.model))
    argmax, mass, shots = answers(model, a.shots, a.workers)
    refused = np.isin(argmax, REFUSED)
    print(f"clean cubic patterns refused (shipped argmax): {share(refused)}")
    for why, k in Counter(argmax[refused]).most_common():
        print(f"  {why}: {k}")
    zones = Counter(tuple(int(x) for x in z) for z in shots["zone"][refused])
    print("  by zone axis: " + ", ".join(f"[{''.join(map(str, z))}] {k}" for z, k in zones.most_common()))
    print(f"clean cubic patterns refused (mass rule): {share(np.isin(mass, REFUSED))}")
    if a.other:
        am, ms, _ = answers(model, a.other, a.workers)
        print(f"non-cubic patterns answered other/unknown: argmax {share(np.isin(am, REFUSED))}; "
              f"mass rule {share(np.isin(ms, REFUSED))}")
    if a.junk:
        am, ms, _ = answers(model, a.junk, a.workers)
        print(f"junk frames answered unknown: argmax {share(np.char.startswith(am.astype(str), 'unknown'))}; "
              f"mass rule {share(np.char.startswith(ms.astype(str), 'unknown'))}")


if __name__ == "__main__":
    main()
