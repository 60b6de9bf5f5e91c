"""What a classifier's attached networks (a defect detector, a mixture's clean network and gate) do with it.

Plain functions of loaded classifiers (`sadpnet.model.infer.Classifier`): no loading, no writing, so that the
classifier, the loader (`sadpnet.model.infer.load_model`) and the attaching commands
(`sadpnet.model.detector`, `sadpnet.model.mixture`) can all use them without importing each other.

Example::

    >>> clf = load_model("defect-aware")                                # doctest: +SKIP
    >>> p, g = gated_probabilities(*clf.mixture, x, clf.probabilities(clf.forward_inputs(x)[0]))  # doctest: +SKIP
"""

from __future__ import annotations

import numpy as np

from sadpnet.errors import InputError

#: Sub-folder of a model directory holding its detector.
DETECTOR_SUBDIR = "detector"
#: Sub-folders of a mixture model holding its clean-trained network and its gate.
CLEAN_SUBDIR, GATE_SUBDIR = "clean", "gate"


def same_input(model, detector) -> bool:
    """Whether the detector sees exactly the model's input (image size, calibration, intensity mapping,
    preprocessing), so the model's inputs can be handed on; otherwise it preprocesses the patterns itself."""
    return (model.image_size_px == detector.image_size_px
            and abs(model.target_pixel_size_inv_a - detector.target_pixel_size_inv_a) <= 1e-12
            and model.input_mapping == detector.input_mapping
            and model.preprocess_settings().to_dict() == detector.preprocess_settings().to_dict())


def require_classes(detector, classes) -> None:
    """Refuse (`InputError` naming the detector's folder) ``classes`` the detector does not have."""
    missing = [c for c in classes if c not in detector.scheme.classes]
    if missing:
        raise InputError(f"the detector has no class {missing[0]!r} (classes: {detector.scheme.classes})",
                         detector.model_dir)


def signature_probability(detector, inputs: np.ndarray, classes) -> np.ndarray:
    """(B,) summed calibrated probability of ``classes`` given by ``detector`` for model inputs (B, S, S)."""
    require_classes(detector, classes)
    logits, _ = detector.forward_inputs(inputs)
    p = detector.probabilities(logits)
    return p[:, [detector.scheme.classes.index(c) for c in classes]].sum(axis=1)


def mix(p_model: np.ndarray, p_clean: np.ndarray, gate: np.ndarray) -> np.ndarray:
    """(B, K) mixture of two (B, K) probability arrays weighted by the gate probability (B,) in [0, 1]."""
    g = np.clip(np.asarray(gate, dtype=np.float64), 0.0, 1.0)[:, None]
    return g * np.asarray(p_model, dtype=np.float64) + (1.0 - g) * np.asarray(p_clean, dtype=np.float64)


def gated_probabilities(clean, gate, classes, inputs: np.ndarray, p_model: np.ndarray
                        ) -> tuple[np.ndarray, np.ndarray]:
    """(mixed probabilities (B, K), gate probability (B,)) of model inputs (B, S, S) and the model's own
    calibrated probabilities ``p_model`` (B, K); ``clean`` and ``gate`` are loaded classifiers."""
    if len(inputs) == 0:
        return np.asarray(p_model, dtype=np.float64), np.zeros(0)
    g = signature_probability(gate, inputs, classes)
    p_clean = clean.probabilities(clean.forward_inputs(inputs)[0])
    return mix(p_model, p_clean, g), g


def check_mixture_parts(model, clean, gate, classes) -> None:
    """Refuse a clean network with other classes, or a part that takes another input than the model."""
    if list(model.scheme.classes) != list(clean.scheme.classes) or (
            model.scheme.to_dict().get("class_space_groups") != clean.scheme.to_dict().get("class_space_groups")):
        raise InputError(f"the clean network's classes {list(clean.scheme.classes)} differ from the model's "
                         f"{list(model.scheme.classes)}", clean.model_dir)
    for part in (clean, gate):
        if not same_input(model, part):
            raise InputError("it takes another input than the model (image size, calibration or preprocessing)",
                             part.model_dir)
    require_classes(gate, classes)
