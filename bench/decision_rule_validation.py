"""The per-pattern decision rule of the spot-index model on its validation patterns (the ones its temperature
was fitted on, `sadpnet.model.spot_train`): the argmax over the seven labels against the "mass rule" shipped
since 2026-12-07 (`sadpnet.model.spot_model.decide`: cubic / other / unknown by the summed probability of the
five cubic classes first, then the class; see `bench/refusals.py` for the same on the test shots). Prints, per rule, the cubic patterns refused, the
non-cubic patterns answered other/unknown, the junk answered unknown and the 7-label accuracy.

Usage: .venv/bin/python bench/decision_rule_validation.py [--model spot-index] [--workers 2]
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import numpy as np

from sadpnet.model.indexing import GLOBAL_FEATURES, CLASS_FEATURES, CLASSES
from sadpnet.model.spot_model import LABELS, UNKNOWN_INDEX, decide, load_spot_model
from sadpnet.model.spot_train import validation_examples
from sadpnet.resources import resource_path
from sadpnet.stats import share_text


def share(mask: np.ndarray) -> str:
    """"k/n: % [95 % Wilson interval] (n)" of a boolean mask."""
    return f"{int(mask.sum())}/{len(mask)}: {share_text(int(mask.sum()), len(mask))}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default="spot-index")
    ap.add_argument("--workers", type=int, default=2)
    a = ap.parse_args()
    model = load_spot_model(Path(a.model) if Path(a.model).is_dir() else resource_path("models", a.model))
    X, y, _ = validation_examples(model.card, workers=a.workers)
    probs = model.predict_proba(X)
    n_spots_col = len(CLASSES) * len(CLASS_FEATURES) + GLOBAL_FEATURES.index("log_n_spots")
    few = X[:, n_spots_col] < math.log1p(model.card["unknown_rule"]["min_spots"])
    nc = len(CLASSES)
    argmax = np.where(few, UNKNOWN_INDEX, probs.argmax(1))
    mass = np.where(few, UNKNOWN_INDEX, decide(probs))
    for name, ans in (("argmax over seven labels", argmax), ("mass rule (shipped, spot_model.decide)", mass)):
        c, o, j = y < nc, y == nc, y == nc + 1
        print(f"{name}: cubic refused {share(ans[c] >= nc)}; non-cubic other/unknown {share(ans[o] >= nc)}; "
              f"junk unknown {share(ans[j] == UNKNOWN_INDEX)}; 7-label accuracy {share(ans == y)}")
    print(f"labels: {', '.join(f'{LABELS[i]} {int((y == i).sum())}' for i in range(len(LABELS)))}")


if __name__ == "__main__":
    main()
