"""A defect-gated mixture: a defect-trained classifier that hands clean-looking patterns to a clean-trained one.

A network fine-tuned on defected crystals (superlattice spots, diffuse scattering, streaks, double spots)
gets defected patterns right but loses some of what it knew about perfect ones; the clean-trained network it
started from is the better judge of a perfect crystal. A **gate**, a defect detector (``sadpnet train DATASET
--label defect_type``, trained on other materials), says how likely a pattern shows a defect, and the
mixture weighs the two networks by it (the law of total probability over "defected or not")::

    p(space group | pattern) = g p_model(space group | pattern) + (1 - g) p_clean(space group | pattern)
    g = the gate's summed calibrated probability of ``gate_classes`` (default: every defect type but
        "none" and "strain")

``p_model`` is the network of the model folder itself (the defect-aware one), ``p_clean`` the clean-trained
network; both are calibrated (their own temperatures). ``attach_mixture(model_dir, clean_dir, gate_dir)``
copies the clean network into ``MODEL_DIR/clean/`` and the gate into ``MODEL_DIR/gate/`` (the model folder
stays self-contained) and records them in the card (``mixture``); `sadpnet.model.infer.Classifier` applies
it in ``classify_images`` and `sadpnet.model.evaluate` in ``run_model``. All three networks must take the
same input (image size, calibration and preprocessing), so one preprocessed input feeds them all.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np

from sadpnet.errors import InputError
from sadpnet.model.card import CARD_NAME, WEIGHTS_NAME
from sadpnet.model.infer import load_model
# re-exported: these lived here before `sadpnet.model.parts`
from sadpnet.model.parts import CLEAN_SUBDIR, GATE_SUBDIR, check_mixture_parts, gated_probabilities, mix  # noqa: F401

#: Gate classes whose summed probability is the weight of the defect-trained network by default.
DEFAULT_GATE_CLASSES = ("dislocation", "interstitial", "substitute", "thermal", "twin", "vacancy")
RULE = "p = g * p_model + (1 - g) * p_clean; g = sum of the gate's probabilities of gate_classes"


def attach_mixture(model_dir, clean_dir, gate_dir, *, classes=DEFAULT_GATE_CLASSES) -> dict:
    """Make the model in ``model_dir`` a defect-gated mixture (see module doc); returns the card's new
    ``mixture`` entry. The clean network's own defect detector is not copied (the mixture does not use it)."""
    from sadpnet.atomic_write import write_text_atomic

    model_dir, clean_dir, gate_dir = Path(model_dir), Path(clean_dir), Path(gate_dir)
    for d, sub in ((clean_dir, CLEAN_SUBDIR), (gate_dir, GATE_SUBDIR)):
        if d.resolve() in (model_dir.resolve(), (model_dir / sub).resolve()):
            raise InputError("is the model itself or its own sub-folder: give a folder outside it", d)
    classes = [str(c) for c in classes]
    if not classes:
        raise InputError("give at least one gate class", "--classes")
    model, clean, gate = load_model(model_dir), load_model(clean_dir), load_model(gate_dir)
    if model.card.get("mixture"):
        raise InputError("the model is already a mixture (its own network must be the defect-trained one)",
                         model_dir)
    if clean.card.get("mixture"):
        raise InputError("the clean network is itself a mixture", clean_dir)
    check_mixture_parts(model, clean, gate, classes)
    entry = {"rule": RULE, "gate_classes": classes}
    for sub, part, src in ((CLEAN_SUBDIR, clean, clean_dir), (GATE_SUBDIR, gate, gate_dir)):
        card = dict(part.card)
        if (card.get("unknown") or {}).get("detector"):
            card["unknown"] = {k: v for k, v in card["unknown"].items() if k != "detector"}
        tmp = model_dir / f".{sub}.tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir()
        shutil.copy2(src / WEIGHTS_NAME, tmp / WEIGHTS_NAME)
        write_text_atomic(tmp / CARD_NAME, json.dumps(card, indent=2, sort_keys=False) + "\n")
        target = model_dir / sub
        if target.exists():
            shutil.rmtree(target)
        tmp.rename(target)
        entry[sub] = {"dir": sub, "name": card.get("name", src.name), "weights_sha256": card["weights"]["sha256"],
                      "trained_on": (card.get("training") or {}).get("dataset_id")}
    card = dict(model.card)
    card["mixture"] = entry
    write_text_atomic(model_dir / CARD_NAME, json.dumps(card, indent=2, sort_keys=False) + "\n")
    return entry
