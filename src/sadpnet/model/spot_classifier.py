"""The spot-indexing model behind the common classifier interface: ``classify_images`` -> the documented result.

`sadpnet.model.infer.load_model` returns a `SpotClassifier` for a model folder whose card names the
``spot-index-mlp`` architecture, so ``sadpnet classify --model DIR``, the batch table and the web page use it
as they use a ResNet. Each image is decoded to linear intensity (its `IntensityMapping`), its spots indexed
(`sadpnet.model.indexing`), and the network's calibrated probabilities reported over the five cubic space
groups, "other" and "unknown". The answer (``prediction``) is decided group first
(`sadpnet.model.spot_model.decide`): a cubic crystal of the five, "other" or "unknown" by summed probability
(``groups``), then the class, so it is not always the first entry of ``top``; ``unknown.verdict`` is true when
"unknown" is the answer. With ``ensemble``, the joint posterior uses the shared-lattice-parameter check
(`sadpnet.model.spot_model.joint_posterior`) and reports the lattice parameter (A) of each cubic class's joint
fit, and the no-learning indexing answer (``ensemble.indexing``: the class whose lattice explains every
pattern best with one lattice parameter), which is the better 3-axis answer on the held-out crystals
(docs/classifier-v2.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sadpnet.model import DEFAULT_TOP_K
from sadpnet.model.indexing import CLASSES, joint_scores, pattern_evidence
from sadpnet.model.spots import Spots, find_spots
from sadpnet.model.result import RESULT_VERSION, calibration_of, checked_request, space_group_entry
from sadpnet.model.spot_model import ARCHITECTURE as SPOT_ARCHITECTURE
from sadpnet.model.spot_model import DECISION_RULE, GROUPS, LABELS, UNKNOWN_INDEX, SpotModel, decide, \
    group_probabilities, joint_posterior, load_spot_model, pattern_probabilities


def linear_image(pattern) -> np.ndarray:
    """A loaded pattern's ``image`` as linear intensity (float32), through its `IntensityMapping`."""
    from sadpnet.io.measured import pattern_mapping

    return np.asarray(pattern_mapping(pattern).decode(np.asarray(pattern.image)), dtype=np.float32)


def spot_inputs(pattern) -> tuple[np.ndarray, tuple[float, float], np.ndarray | None]:
    """What the classifier's spot finder reads of a loaded pattern: the (H, W) linear image (`linear_image`),
    the direct-beam centre (column, row) in pixels (the pattern's, else the image centre) and its mask ((H, W)
    bool, True = usable; saturated pixels are not usable), or None."""
    return linear_image(pattern), beam_centre(pattern), getattr(pattern, "mask", None)


def beam_centre(pattern) -> tuple[float, float]:
    """A loaded pattern's direct-beam centre (column, row) in pixels: its ``centre_xy``, else the image centre."""
    centre = getattr(pattern, "centre_xy", None)
    if centre is None:
        h, w = np.shape(pattern.image)[:2]
        centre = (w / 2, h / 2)
    return float(centre[0]), float(centre[1])


def pattern_spots(pattern, pixel_size_inv_a: float = 1.0) -> Spots:
    """The spots the classifier indexes (`sadpnet.model.spots.find_spots` on `spot_inputs`, default settings).

    The finder uses the calibration ``pixel_size_inv_a`` (1/A per pixel) only to scale its output: which
    spots are found, their positions and intensities do not depend on it. The default 1.0 gives
    ``g_inv_a`` in pixels from the centre (x right, y up), for a pattern without a calibration.
    """
    img, centre, mask = spot_inputs(pattern)
    return find_spots(img, pixel_size_inv_a, centre, mask)


@dataclass
class SpotClassifier:
    """A loaded spot-indexing model (card, network, folder)."""

    model: SpotModel
    card: dict
    model_dir: Path

    def evidence(self, pattern, calibration_inv_a_per_px: float):
        """The indexing evidence of a loaded pattern (`spot_inputs`, `pattern_evidence`), 1/A per pixel."""
        img, centre, mask = spot_inputs(pattern)
        return pattern_evidence(img, calibration_inv_a_per_px, centre, mask)

    def classify_images(self, patterns, *, calibration_inv_a_per_px: float | None = None,
                        top_k: int = DEFAULT_TOP_K, ensemble: bool = False) -> dict:
        """Classify loaded patterns (``sadpnet.io.MeasuredPattern``); returns the documented result dict."""
        patterns, calibration_inv_a_per_px = checked_request(patterns, calibration_inv_a_per_px, top_k)
        cals = [calibration_of(p, calibration_inv_a_per_px) for p in patterns]
        evidence = [self.evidence(p, cal) for p, (cal, _) in zip(patterns, cals)]
        probs = pattern_probabilities(self.model, evidence)  # (N, 7)
        k = min(int(top_k), len(LABELS))
        images = []
        answer = decide(probs)
        for i, (p, ev) in enumerate(zip(patterns, evidence)):
            centre = getattr(p, "centre_xy", None)
            images.append({"source": str(getattr(p, "source", f"image {i}")), "top": _top(probs[i], k),
                           **_decision(probs[i], int(answer[i])),
                           "unknown": {"verdict": bool(answer[i] == UNKNOWN_INDEX),
                                       "score": float(probs[i][UNKNOWN_INDEX]),
                                       "score_name": "p_unknown", "n_spots": int(ev.n_spots)},
                           "centre_xy": None if centre is None else [float(centre[0]), float(centre[1])],
                           "calibration": {"pixel_size_inv_a": cals[i][0], "source": cals[i][1]}})
        ens = self._ensemble(evidence, probs, images, k) if ensemble else None
        return {"result_version": RESULT_VERSION, "model": self.summary(), "images": images, "ensemble": ens}

    def _ensemble(self, evidence, probs, images, k) -> dict:
        n_unk = sum(im["unknown"]["verdict"] for im in images)
        known = [i for i, im in enumerate(images) if not im["unknown"]["verdict"]]
        p = joint_posterior(self.model, [evidence[i] for i in known], probs[known]) if known else probs.mean(0)
        js, a = (joint_scores([evidence[i] for i in known]) if known
                 else (np.zeros(len(CLASSES)), np.full(len(CLASSES), np.nan)))
        best = int(np.argmax(js))
        return {"n_images": len(images), "rule": "product + shared lattice parameter", "top": _top(p, k),
                **_decision(p, int(decide(p)[0])),
                "lattice_parameter_a": {str(c): _or_none(x) for c, x in zip(CLASSES, a)},
                "indexing": {**_without_probability(space_group_entry(str(CLASSES[best]), 0.0)),
                             "lattice_parameter_a": _or_none(a[best]),
                             "joint_scores": {str(c): float(x) for c, x in zip(CLASSES, js)},
                             "rule": "no learning: the class whose lattice, with one lattice parameter, explains "
                                     "the spots of every pattern best"},
                "unknown": {"verdict": n_unk * 2 > len(images), "n_unknown": int(n_unk),
                            "score": float(p[UNKNOWN_INDEX]), "score_name": "p_unknown"}}

    def summary(self) -> dict:
        return {"name": self.card.get("name", self.model_dir.name), "dir": str(self.model_dir),
                "architecture": SPOT_ARCHITECTURE, "classes": list(LABELS),
                "weights_sha256": self.card["weights_sha256"], "temperature": self.model.temperature,
                "kappa": self.model.kappa, "networks": len(self.model.networks), "decision_rule": DECISION_RULE,
                "unknown_score": "p_unknown",
                "unknown_threshold": None}


def _decision(p: np.ndarray, answer: int) -> dict:
    """The answer's entry (``prediction``) and the summed probability of each answer group (``groups``)."""
    return {"prediction": space_group_entry(LABELS[answer], p[answer]),
            "groups": {g: float(x) for g, x in zip(GROUPS, group_probabilities(p)[0])}}


def _without_probability(entry: dict) -> dict:
    return {k: v for k, v in entry.items() if k != "probability"}


def _or_none(x: float) -> float | None:
    return None if np.isnan(x) else float(x)


def _top(p: np.ndarray, k: int) -> list[dict]:
    order = np.argsort(-p, kind="stable")[:k]
    return [space_group_entry(LABELS[j], p[j]) for j in order]


def load_spot_classifier(model_dir) -> SpotClassifier:
    """Load a spot-indexing model folder (`sadpnet.model.spot_model.load_spot_model`)."""
    model = load_spot_model(model_dir)
    return SpotClassifier(model, model.card, Path(model_dir))
