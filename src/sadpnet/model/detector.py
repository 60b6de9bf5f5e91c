"""A defect-signature detector behind a classifier's "unknown" verdict.

A classifier trained on perfect crystals has to name one of its classes for every pattern; the feature- and
logit-based scores of `sadpnet.model.unknown` catch patterns unlike any crystal (rings, noise) but not a
dislocated or twinned crystal, whose pattern is still mostly a lattice. A **detector** is a second network
(its own input format: the model's inputs are handed on when they are the same, else it preprocesses the
patterns itself), trained to name the defect (``sadpnet train DATASET --label defect_type``, on
materials other than those it will be used on), attached to the classifier: a pattern is "unknown" when the
classifier's own score exceeds its threshold **or** the detector gives the defects named in ``classes`` (by
default dislocations and twins: the defects that change the pattern beyond what the crystal's classes explain)
a summed probability above its threshold.

``attach_detector(model_dir, detector_dir, dataset)`` copies the detector into ``MODEL_DIR/detector/`` (the
model folder stays self-contained), and sets both thresholds on the clean validation patterns of ``dataset``
so that together they flag at most ``max_clean_flag_rate`` of them (half of it each), and records them in the
model's card (``unknown.detector``).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np

from sadpnet.errors import InputError
from sadpnet.model.card import CARD_NAME, WEIGHTS_NAME
from sadpnet.model.evaluate import model_inputs
from sadpnet.model.infer import load_model
# re-exported: these lived here before `sadpnet.model.parts`
from sadpnet.model.parts import DETECTOR_SUBDIR, require_classes, same_input, signature_probability  # noqa: F401

#: Defect classes that make a pattern "unknown" by default.
DEFAULT_UNKNOWN_DEFECTS = ("dislocation", "twin")


def attach_detector(model_dir, detector_dir, dataset, *, classes=DEFAULT_UNKNOWN_DEFECTS,
                    max_clean_flag_rate: float = 0.04, split: str = "val", max_patterns: int | None = 1500,
                    seed: int = 0) -> dict:
    """Attach ``detector_dir`` to the model in ``model_dir`` and set both unknown thresholds (see module doc).

    Returns the card's new ``unknown`` entry. ``dataset``: a store whose ``split`` holds clean patterns of the
    model's classes (its training data's validation split), or a pattern source (`sadpnet.model.source`).
    """
    from sadpnet.atomic_write import write_text_atomic
    from sadpnet.model.source import open_store
    from sadpnet.model.unknown import threshold_at

    if not 0 < max_clean_flag_rate < 1:
        raise InputError(f"the clean flag rate must be between 0 and 1, got {max_clean_flag_rate}", "flag rate")
    model_dir, detector_dir = Path(model_dir), Path(detector_dir)
    if detector_dir.resolve() == (model_dir / DETECTOR_SUBDIR).resolve():
        raise InputError("the detector is already this model's own detector folder", detector_dir)
    model, detector = load_model(model_dir), load_model(detector_dir)
    classes = [str(c) for c in classes]
    src = dataset if hasattr(dataset, "table") else open_store(dataset, split, max_patterns=max_patterns, seed=seed)
    if len(src) == 0:
        raise InputError(f"split {split!r} of the dataset is empty", dataset)
    x = model_inputs(model, src)
    logits, feats = model.forward_inputs(x)
    own = model.unknown_scores(logits, feats)
    sig = signature_probability(detector, x if same_input(model, detector) else model_inputs(detector, src), classes)
    accept = 1.0 - max_clean_flag_rate / 2
    unknown = dict(model.card.get("unknown") or {"score": "energy"})
    unknown["threshold"] = threshold_at(own, accept)
    unknown["accept_rate"] = accept
    det_thr = threshold_at(sig, accept)
    flagged = (own > unknown["threshold"]) | (sig > det_thr)
    unknown["detector"] = {
        "dir": DETECTOR_SUBDIR, "classes": classes, "threshold": det_thr, "accept_rate": accept,
        "name": detector.card.get("name", detector_dir.name),
        "trained_on": (detector.card.get("training") or {}).get("dataset_id"),
        "weights_sha256": detector.card["weights"]["sha256"],
        "set_on": f"{split} split of {Path(str(getattr(dataset, 'path', dataset))).name} ({len(src)} clean patterns)",
        "clean_flag_rate_on_that_split": float(flagged.mean())}
    # copy the detector in, then point the card at it (a crash in between leaves the old card valid)
    target = model_dir / DETECTOR_SUBDIR
    tmp = model_dir / f".{DETECTOR_SUBDIR}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    for name in (CARD_NAME, WEIGHTS_NAME):
        shutil.copy2(detector_dir / name, tmp / name)
    if target.exists():
        shutil.rmtree(target)
    tmp.rename(target)
    card = dict(model.card)
    card["unknown"] = unknown
    write_text_atomic(model_dir / CARD_NAME, json.dumps(card, indent=2, sort_keys=False) + "\n")
    return unknown
