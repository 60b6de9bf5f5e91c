"""Several spot-index networks as one model: the mean of their probabilities per pattern, answered by the group
rule (`sadpnet.model.spot_model.decide`), on the held-out test shots of `sadpnet evaluate-real`. Each model
alone is printed first, then the mean. Per-pattern measures only (the 3-axis joint answer is not rebuilt here).
A measurement of the spread between retrains (session 14), not a choice: choose on validation crystals.

Usage: .venv/bin/python bench/seed_ensemble.py out/eval-real --model src/sadpnet/resources/models/spot-index
           --model out/models/spot-index-seed1
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from sadpnet.data.holdout import load_holdout
from sadpnet.model.calibrate import expected_calibration_error
from sadpnet.model.realtest import _truth, evidence_of
from sadpnet.model.spot_model import LABELS, UNKNOWN_INDEX, decide, load_spot_model, pattern_probabilities
from sadpnet.stats import share_text


def share(ok: np.ndarray) -> str:
    return f"{share_text(int(ok.sum()), len(ok))}"


def report(name: str, probs: dict, truth: np.ndarray, distinct: np.ndarray) -> None:
    """One line of per-pattern measures of (N, 7) probabilities per role."""
    ans = decide(probs["cubic"])
    labels = np.array(LABELS)
    ok = labels[ans] == truth
    refused = ans >= 5
    other = decide(probs["other"]) >= 5
    junk = decide(probs["junk"]) == UNKNOWN_INDEX
    idx = np.array([LABELS.index(t) for t in truth])
    ece = 100 * expected_calibration_error(probs["cubic"], idx, answers=ans)
    print(f"{name}: per pattern {share(ok)}; without a look-alike {share(ok[distinct])}; refused {share(refused)}; "
          f"non-cubic other/unknown {share(other)}; junk unknown {share(junk)}; ECE {ece:.1f} %")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("eval_dir", type=Path)
    ap.add_argument("--model", type=Path, action="append", required=True)
    ap.add_argument("--workers", type=int, default=2)
    a = ap.parse_args()
    models = [load_spot_model(m) for m in a.model]
    shots = {role: dict(np.load(a.eval_dir / "shots" / f"{role}.npz", allow_pickle=False))
             for role in ("cubic", "other", "junk")}
    evidence = {role: evidence_of(s, workers=a.workers) for role, s in shots.items()}
    truth = _truth(shots["cubic"], load_holdout())
    la = json.loads((a.eval_dir / "lookalikes.json").read_text())["patterns"]
    assert [r["material"] for r in la] == [str(m) for m in shots["cubic"]["material"]], "look-alikes of other shots"
    distinct = np.array([not row["lookalike"] for row in la])
    per_model = [{role: pattern_probabilities(m, ev) for role, ev in evidence.items()} for m in models]
    for path, probs in zip(a.model, per_model):
        report(str(path), probs, truth, distinct)
    mean = {role: np.mean([p[role] for p in per_model], axis=0) for role in evidence}
    report(f"mean of {len(models)}", mean, truth, distinct)


if __name__ == "__main__":
    main()
