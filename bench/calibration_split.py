"""A second temperature for the split of the cubic mass among the five classes (spot-index model), chosen on
validation patterns: the group probabilities (a cubic crystal of the five / other / unknown) keep the card's
temperature; within the cubic group the classes get softmax(logits / T_cubic). The answers do not change
(`sadpnet.model.spot_model.decide` takes the group, then the class: both monotonic), only the probability of a
cubic answer. Prints, per T_cubic, the NLL of the true class among the five on the cubic validation patterns
(all, and corpus crystals only) and the ECE of the answer's probability; with ``--shots`` also the ECE on
test shots (a check, not a choice).

Usage: .venv/bin/python bench/calibration_split.py [--model spot-index] [--workers 2]
           [--shots out/eval-real/shots/cubic.npz]
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import numpy as np

from sadpnet.model.calibrate import expected_calibration_error
from sadpnet.model.indexing import CLASS_FEATURES, CLASSES, GLOBAL_FEATURES, evidence_features
from sadpnet.model.spot_model import LABELS, UNKNOWN_INDEX, decide, load_spot_model
from sadpnet.model.spot_train import validation_examples
from sadpnet.resources import resource_path

GRID = (0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.2, 1.4, 1.59, 1.8, 2.0, 2.5)


def split_probs(z: np.ndarray, t: float, t_cubic: float) -> np.ndarray:
    """(N, 7) probabilities from logits ``z``: groups at temperature ``t``, the cubic split at ``t_cubic``."""
    n = len(CLASSES)
    zz = z / t
    lse = np.logaddexp.reduce(zz[:, :n], axis=1)
    g = np.stack([lse, zz[:, n], zz[:, n + 1]], 1)
    g = np.exp(g - g.max(1, keepdims=True))
    g /= g.sum(1, keepdims=True)
    w = np.exp(z[:, :n] / t_cubic - (z[:, :n] / t_cubic).max(1, keepdims=True))
    return np.concatenate([g[:, :1] * w / w.sum(1, keepdims=True), g[:, 1:]], 1)


def report(name: str, z: np.ndarray, y: np.ndarray, few: np.ndarray, t: float) -> None:
    cubic = y < len(CLASSES)
    for tc in GRID:
        p = split_probs(z, t, tc)
        p[few] = np.eye(len(LABELS))[UNKNOWN_INDEX]
        within = p[cubic, :len(CLASSES)] / p[cubic, :len(CLASSES)].sum(1, keepdims=True).clip(1e-12)
        nll = -np.mean(np.log(within[np.arange(cubic.sum()), y[cubic]].clip(1e-9)))
        ece = expected_calibration_error(p[cubic], y[cubic], answers=decide(p[cubic]))
        print(f"{name}: T_cubic {tc:4.2f}: NLL among the five {nll:.3f}, ECE of the answer {100 * ece:.1f} % "
              f"({cubic.sum()} cubic patterns)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default="spot-index")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--shots", type=Path)
    a = ap.parse_args()
    model = load_spot_model(Path(a.model) if Path(a.model).is_dir() else resource_path("models", a.model))
    X, y, material = validation_examples(model.card, workers=a.workers)
    n_spots_col = len(CLASSES) * len(CLASS_FEATURES) + GLOBAL_FEATURES.index("log_n_spots")
    few = X[:, n_spots_col] < math.log1p(model.card["unknown_rule"]["min_spots"])
    z = model.logits(X)
    report("validation, all crystals", z, y, few, model.temperature)
    corpus = np.array(["/" in str(m) for m in material])
    report("validation, corpus crystals", z[corpus], y[corpus], few[corpus], model.temperature)
    if a.shots:
        from sadpnet.data.holdout import load_holdout
        from sadpnet.model.realtest import _truth, evidence_of
        from sadpnet.model.spot_model import is_unknown
        from sadpnet.model.testshots import load_shots

        shots = load_shots(a.shots)
        ev = evidence_of(shots, workers=a.workers)
        zt = model.logits(np.stack([evidence_features(e) for e in ev]))
        yt = np.array([LABELS.index(s) for s in _truth(shots, load_holdout())])
        report("test shots", zt, yt, np.array([is_unknown(e) for e in ev]), model.temperature)


if __name__ == "__main__":
    main()
