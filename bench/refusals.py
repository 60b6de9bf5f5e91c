"""Why the spot-index model refuses clean cubic test patterns (answers "other" or "unknown"): too few spots
(the spot-count rule, no indexing possible) or the network's choice, per zone axis, under two decision rules:
the argmax over the seven labels (shipped until 2026-12-07; it splits the cubic mass five ways) and the
shipped group rule ("mass rule", `sadpnet.model.spot_model.decide`: cubic / other / unknown by summed
probability first, then the cubic class). With ``--other`` and ``--junk`` also the non-cubic and junk shots
under both rules. A sensitivity measurement on test data, not a choice (the rule was chosen on validation
crystals, `bench/decision_rule_validation.py`).

Input: the test shots of `sadpnet evaluate-real` (``OUT/shots/cubic.npz``, ``other.npz``, ``junk.npz``).

Usage: .venv/bin/python bench/refusals.py out/eval-real/shots/cubic.npz [--other .../other.npz]
           [--junk .../junk.npz] [--model spot-index] [--workers 2]
"""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path

import numpy as np

from sadpnet.data.holdout import load_holdout
from sadpnet.model.calibrate import expected_calibration_error
from sadpnet.model.realtest import _truth, evidence_of
from sadpnet.model.spot_model import LABELS, decide, is_unknown, load_spot_model, pattern_probabilities
from sadpnet.resources import resource_path
from sadpnet.stats import share_text


def answers(model, shots_file: Path, workers: int) -> tuple[np.ndarray, np.ndarray, dict, np.ndarray]:
    """(argmax answers, mass-rule answers, shots, probabilities): "unknown (too few spots)" where the spot-count
    rule applies (its probabilities one-hot "unknown", as `sadpnet classify` reports them)."""
    shots = dict(np.load(shots_file, allow_pickle=False))
    ev = evidence_of(shots, workers=workers)
    probs = pattern_probabilities(model, ev)
    few = np.array([is_unknown(e) for e in ev])
    labels = np.array(LABELS)
    argmax = np.where(few, "unknown (too few spots)", labels[probs.argmax(1)])
    return argmax, np.where(few, "unknown (too few spots)", labels[decide(probs)]), shots, probs


def ece_text(probs: np.ndarray, answer: np.ndarray, truth: np.ndarray) -> str:
    """ECE (15 bins) of the answer's probability, in %."""
    lab = [a if a in LABELS else "unknown" for a in answer]
    idx = np.array([LABELS.index(a) for a in lab])
    return f"{100 * expected_calibration_error(probs, np.array([LABELS.index(t) for t in truth]), answers=idx):.1f} %"


def confident_cubic(probs: np.ndarray, answer: np.ndarray) -> str:
    """How many answers are a cubic class at p >= 0.6 and at p >= 0.8."""
    cubic = np.isin(answer, LABELS[:5])
    p = np.array([probs[i, LABELS.index(a)] if c else 0.0 for i, (a, c) in enumerate(zip(answer, cubic))])
    return f"{int((p >= 0.6).sum())} at p >= 0.6, {int((p >= 0.8).sum())} at p >= 0.8"


def share(mask: np.ndarray) -> str:
    """"k/n: % [95 % Wilson interval] (n)" of a boolean mask."""
    return f"{int(mask.sum())}/{len(mask)}: {share_text(int(mask.sum()), len(mask))}"


REFUSED = ["other", "unknown", "unknown (too few spots)"]


def both(measure, argmax: np.ndarray, mass: np.ndarray) -> str:
    """"argmax X; mass rule Y" of one measure of the answers under both rules."""
    return f"argmax {measure(argmax)}; mass rule {measure(mass)}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("shots", type=Path)
    ap.add_argument("--other", type=Path)
    ap.add_argument("--junk", type=Path)
    ap.add_argument("--model", default="spot-index")
    ap.add_argument("--workers", type=int, default=2)
    a = ap.parse_args()
    model = load_spot_model(Path(a.model) if Path(a.model).is_dir() else resource_path("models", a.model))
    argmax, mass, shots, probs = answers(model, a.shots, a.workers)
    refused = np.isin(argmax, REFUSED)
    print(f"clean cubic patterns refused (argmax over seven labels): {share(refused)}")
    for why, k in Counter(argmax[refused]).most_common():
        print(f"  {why}: {k}")
    zones = Counter(tuple(int(x) for x in z) for z in shots["zone"][refused])
    print("  by zone axis: " + ", ".join(f"[{''.join(map(str, z))}] {k}" for z, k in zones.most_common()))
    print(f"clean cubic patterns refused (mass rule, shipped): {share(np.isin(mass, REFUSED))}")
    truth = _truth(shots, load_holdout())
    print("ECE of the answer's probability, cubic patterns: " + both(lambda ans: ece_text(probs, ans, truth),
                                                                      argmax, mass))
    if a.other:
        am, ms, _, po = answers(model, a.other, a.workers)
        print("non-cubic patterns answered other/unknown: " + both(lambda ans: share(np.isin(ans, REFUSED)), am, ms))
        print("non-cubic patterns answered cubic: " + both(lambda ans: confident_cubic(po, ans), am, ms))
    if a.junk:
        am, ms, _, _ = answers(model, a.junk, a.workers)
        print("junk frames answered unknown: "
              + both(lambda ans: share(np.char.startswith(ans.astype(str), "unknown")), am, ms))


if __name__ == "__main__":
    main()
