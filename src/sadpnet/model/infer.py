"""Apply a trained classifier to microscope files or loaded patterns (single images and zone-axis ensembles).

Python API (the CLI ``sadpnet classify`` and the web page are thin layers over it):

* ``load_model(model_dir=None) -> Classifier`` (default: the shipped model under
  ``sadpnet/resources/models/default``); keep it loaded and call ``classify_images`` repeatedly.
* ``Classifier.classify_images(patterns, *, calibration_inv_a_per_px=None, top_k=DEFAULT_TOP_K, ensemble=False)``
  with ``sadpnet.io.MeasuredPattern`` objects.
* ``classify_paths(paths, *, model_dir=None, ensemble=False, calibration_inv_a_per_px=None, top_k=DEFAULT_TOP_K)``
  (``sadpnet.model.DEFAULT_TOP_K`` = 3, as in the CLI and the web API).

Both return the documented, stable JSON-serialisable dict (``RESULT_VERSION`` = 1)::

    {"result_version": 1,
     "model": {"name", "dir", "architecture", "classes", "weights_sha256", "target_pixel_size_inv_a",
               "image_size_px", "temperature", "unknown_score", "unknown_threshold",
               "unknown_detector": {"name", "classes", "threshold"} (only with a detector),
               "mixture": {"clean", "gate", "gate_classes", "rule"} (only for a mixture model)},
     "images": [{"source": str,
                 "top": [{"space_group": int, "symbol": str, "crystal_system": str, "probability": float}, ...],
                 "prediction": <the answer: the first entry of "top"; for a spot-indexing model decided group
                                first, `sadpnet.model.spot_model.decide`, so possibly a later entry>,
                 "groups": {"cubic", "other", "unknown"} (spot-indexing models only: summed probabilities),
                 "unknown": {"verdict": bool, "score": float, "threshold": float, "score_name": str,
                             "defect_signature": {"flagged", "probability", "threshold", "classes"} (only
                             for models with an attached defect detector, `sadpnet.model.detector`: flagged =
                             the pattern shows one of those defects, so its space group may be wrong)},
                 "defect_gate": {"probability", "classes"} (only for a defect-gated mixture model,
                                 `sadpnet.model.mixture`: the weight its defect-trained network had),
                 "centre_xy": [x, y] (pixels, column/row, in the file's image) or null,
                 "calibration": {"pixel_size_inv_a": float, "source": "file" | "option"}}, ...],
     "ensemble": null | {"n_images": int, "rule": "product", "top": [...], "prediction": {...},
                         "unknown": {"verdict": bool, "n_unknown": int, "score": float, "score_name": str}}}

Probabilities are calibrated (temperature scaling on validation data). For models whose labels are not
space groups (e.g. crystal_system) the entries of "top" carry "label" instead of "space_group"/"symbol".
The ensemble multiplies the per-image class probabilities (independent views of one specimen, e.g.
different zone axes) and renormalises; it is "unknown" when more than half of its images are.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sadpnet.errors import InputError
from sadpnet.model import DEFAULT_TOP_K
from sadpnet.model.spot_classifier import SPOT_ARCHITECTURE, load_spot_classifier
from sadpnet.model.result import ENSEMBLE_FLOOR, RESULT_VERSION, calibration_of, checked_request  # noqa: F401
from sadpnet.model.parts import (CLEAN_SUBDIR, GATE_SUBDIR, check_mixture_parts, gated_probabilities, same_input,
                                 signature_probability)



def default_model_dir() -> Path:
    from sadpnet.resources import resource_path

    return resource_path("models", "default")


def shipped_model_names() -> list[str]:
    """Names of the models shipped in ``sadpnet/resources/models`` (default, defect-aware, ...)."""
    root = default_model_dir().parent
    return sorted(p.name for p in root.iterdir() if (p / "card.json").is_file())


def resolve_model_dir(model_dir: str | Path | None) -> Path:
    """A model folder, or the name of a shipped model (`shipped_model_names`) when no folder of that name
    exists here; None: the shipped default model. A name that is neither is refused with the shipped names."""
    if model_dir is None:
        return default_model_dir()
    path = Path(model_dir)
    if path.exists() or len(path.parts) != 1:
        return path
    if path.name in shipped_model_names():
        return default_model_dir().parent / path.name
    raise InputError(f"no such model folder, nor a shipped model (shipped: {', '.join(shipped_model_names())})", path)


@dataclass
class Classifier:
    """A loaded model: network in eval mode (float32, CPU unless moved), its card and label scheme."""

    net: object
    card: dict
    scheme: object
    model_dir: Path
    ood_stats: dict | None = None
    #: the attached defect detector (`sadpnet.model.detector`), a `Classifier`; None without one
    detector: "Classifier | None" = None
    #: (clean classifier, gate classifier, gate classes) of a defect-gated mixture model
    #: (`sadpnet.model.mixture`); None for a plain model
    mixture: tuple | None = None

    def class_probabilities(self, inputs: np.ndarray, logits: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """(calibrated class probabilities (B, K), gate probability (B,) or None) of model inputs (B, S, S) and
        their logits: a mixture model weighs its own network and its clean one by the gate
        (`sadpnet.model.mixture`); a plain model gives ``probabilities(logits)`` and None."""
        probs = self.probabilities(logits)
        if self.mixture is None:
            return probs, None
        clean, gate, classes = self.mixture
        return gated_probabilities(clean, gate, classes, inputs, probs)

    @property
    def temperature(self) -> float:
        return float(self.card.get("calibration", {}).get("temperature", 1.0))

    @property
    def image_size_px(self) -> int:
        return int(self.card["image_size_px"])

    @property
    def target_pixel_size_inv_a(self) -> float:
        return float(self.card["target_pixel_size_inv_a"])

    # ---- numbers -------------------------------------------------------------------------------------------
    def forward_inputs(self, x: np.ndarray, batch_size: int = 64, threads: int | None = None
                       ) -> tuple[np.ndarray, np.ndarray]:
        """Raw logits (B, K) and pooled features (B, C) of preprocessed inputs x (B, S, S) float32."""
        import torch

        from sadpnet.model.runtime import inference_threads

        x = np.asarray(x, dtype=np.float32)
        logits, feats = [], []
        with inference_threads(threads), torch.inference_mode():
            for i in range(0, len(x), batch_size):
                xb = torch.from_numpy(x[i:i + batch_size, None]).contiguous(memory_format=torch.channels_last)
                lo, fe = self.net.forward_with_features(xb)
                logits.append(lo.float().numpy())
                feats.append(fe.float().numpy())
        if not logits:
            k = len(self.scheme.classes)
            return np.zeros((0, k), np.float32), np.zeros((0, 0), np.float32)
        return np.concatenate(logits), np.concatenate(feats)

    def unknown_scores(self, logits: np.ndarray, features: np.ndarray) -> np.ndarray:
        from sadpnet.model.unknown import score

        u = self.card.get("unknown") or {"score": "energy"}
        return score(u["score"], logits, features, temperature=self.temperature, stats=self.ood_stats)

    def unknown_verdicts(self, inputs: np.ndarray, logits: np.ndarray, features: np.ndarray,
                         detector_inputs: np.ndarray | None = None):
        """(unknown (B,) bool, defect flag (B,) bool or None, defect-signature probability (B,) or None) of model
        inputs: unknown when the model's own score exceeds its threshold; flagged when its detector's
        probability of the named defect classes exceeds the detector threshold (no detector: None).
        ``detector_inputs``: see `defect_flags`."""
        verdict = self.unknown_scores(logits, features) > self._unknown_threshold()
        return (verdict, *self.defect_flags(inputs, detector_inputs))

    def detector_shares_input(self) -> bool:
        """Whether the attached detector takes this model's inputs (True without a detector;
        `sadpnet.model.parts.same_input`)."""
        det = self.detector
        return det is None or same_input(self, det)

    def _unknown_threshold(self) -> float:
        return float((self.card.get("unknown") or {}).get("threshold", np.inf))

    def defect_flags(self, inputs: np.ndarray, detector_inputs: np.ndarray | None = None):
        """(flag (B,) bool, defect-signature probability (B,)) of model inputs from the attached detector, or
        (None, None) without one. A detector with its own preprocessing (`detector_shares_input()` False) needs
        ``detector_inputs``, the same patterns preprocessed with the detector's settings."""
        det = self.detector
        if det is None:
            return None, None
        if not self.detector_shares_input():
            if detector_inputs is None or len(detector_inputs) != len(inputs):
                raise InputError("the attached detector preprocesses patterns its own way: pass its inputs",
                                 self.model_dir)
            inputs = detector_inputs
        cfg = self.card["unknown"]["detector"]
        sig = signature_probability(det, inputs, cfg["classes"])
        return sig > float(cfg["threshold"]), sig

    def probabilities(self, logits: np.ndarray) -> np.ndarray:
        from sadpnet.model.calibrate import softmax

        return softmax(logits, self.temperature)

    def preprocess_settings(self):
        """The card's `sadpnet.model.preprocess.PreprocessSettings`."""
        from sadpnet.model.preprocess import PreprocessSettings

        settings = dict(self.card.get("preprocessing") or {})
        settings.update(target_pixel_size_inv_a=self.target_pixel_size_inv_a, size_px=self.image_size_px)
        return PreprocessSettings.from_dict(settings)

    @property
    def input_mapping(self):
        """The `sadpnet.simulate.detector.IntensityMapping` the network takes, or None for a card made before
        the intensity contract, which takes images as they are given (`sadpnet.model.card.input_mapping`)."""
        from sadpnet.model.card import input_mapping

        return input_mapping(self.card)

    def preprocess(self, image, pixel_size_inv_a: float, centre_xy=None, mask=None, *, mapping=None) -> np.ndarray:
        """Model input (S, S) float32 of an image whose values hold the `IntensityMapping` ``mapping`` (None:
        already the model's `input_mapping`): converted into the model's mapping once (`to_input_mapping`),
        then ``to_model_input`` with the card's settings."""
        from sadpnet.model.preprocess import to_input_mapping, to_model_input

        image = to_input_mapping(image, mapping, self.input_mapping)
        return to_model_input(image, pixel_size_inv_a, centre_xy=centre_xy, mask=mask,
                              **self.preprocess_settings().to_dict())

    def preprocess_measured(self, pattern, pixel_size_inv_a: float) -> np.ndarray:
        """Model input of a `sadpnet.io.MeasuredPattern` (or any object with image / centre_xy / mask /
        metadata): its image converted from its own mapping (`sadpnet.io.pattern_mapping`) into the model's."""
        import dataclasses

        from sadpnet.io import MeasuredPattern, pattern_mapping
        from sadpnet.model.preprocess import measured_to_model_input

        if not isinstance(pattern, MeasuredPattern):
            return self.preprocess(pattern.image, pixel_size_inv_a, getattr(pattern, "centre_xy", None),
                                   getattr(pattern, "mask", None), mapping=pattern_mapping(pattern))
        if pattern.pixel_size_inv_a != pixel_size_inv_a:
            pattern = dataclasses.replace(pattern, pixel_size_inv_a=pixel_size_inv_a)
        return measured_to_model_input(pattern, self.preprocess_settings(), self.input_mapping)

    # ---- the documented API --------------------------------------------------------------------------------
    def classify_images(self, patterns, *, calibration_inv_a_per_px: float | None = None,
                        top_k: int = DEFAULT_TOP_K, ensemble: bool = False) -> dict:
        """Classify loaded patterns (``sadpnet.io.MeasuredPattern``); returns the documented result dict."""
        patterns, calibration_inv_a_per_px = checked_request(patterns, calibration_inv_a_per_px, top_k)
        inputs, cal_info = [], []
        for p in patterns:
            cal, source = calibration_of(p, calibration_inv_a_per_px)
            try:
                inputs.append(self.preprocess_measured(p, cal))
            except InputError as exc:
                src = str(getattr(p, "source", f"image {len(inputs)}"))
                prefix = f"{exc.where}: " if exc.where and exc.where != src else ""
                raise InputError(f"{prefix}{exc.problem}", src) from None
            cal_info.append({"pixel_size_inv_a": float(cal), "source": source})
        x = np.stack(inputs)
        logits, feats = self.forward_inputs(x)
        probs, gate = self.class_probabilities(x, logits)
        scores = self.unknown_scores(logits, feats)
        thr = self._unknown_threshold()
        verdicts = scores > thr
        dx = None if self.detector_shares_input() else np.stack(
            [self.detector.preprocess_measured(p, info["pixel_size_inv_a"]) for p, info in zip(patterns, cal_info)])
        flags, signature = self.defect_flags(x, dx)
        score_name = (self.card.get("unknown") or {}).get("score", "energy")
        det_cfg = (self.card.get("unknown") or {}).get("detector")
        k = min(int(top_k), len(self.scheme.classes))
        images = []
        for i, p in enumerate(patterns):
            top = self._top(probs[i], k)
            centre = getattr(p, "centre_xy", None)
            images.append({
                "source": str(getattr(p, "source", f"image {i}")),
                "top": top, "prediction": top[0],
                "unknown": {"verdict": bool(verdicts[i]), "score": float(scores[i]), "threshold": thr,
                            "score_name": score_name,
                            **({"defect_signature": {"flagged": bool(flags[i]),
                                                     "probability": float(signature[i]),
                                                     "threshold": float(det_cfg["threshold"]),
                                                     "classes": list(det_cfg["classes"])}}
                               if signature is not None else {})},
                **({"defect_gate": {"probability": float(gate[i]), "classes": list(self.mixture[2])}}
                   if gate is not None else {}),
                "centre_xy": None if centre is None else [float(centre[0]), float(centre[1])],
                "calibration": cal_info[i],
            })
        ens = None
        if ensemble:
            logp = np.log(np.maximum(self._output_probs(probs), ENSEMBLE_FLOOR)).sum(axis=0)
            pe = np.exp(logp - logp.max())
            pe /= pe.sum()
            top = self._top_from_output(pe, k)
            n_unk = int(sum(im["unknown"]["verdict"] for im in images))
            ens = {"n_images": len(images), "rule": "product", "top": top, "prediction": top[0],
                   "unknown": {"verdict": n_unk * 2 > len(images), "n_unknown": n_unk,
                               "score": float(np.mean(scores)), "score_name": score_name,
                               **({"n_defect_flagged": int(flags.sum())} if flags is not None else {})}}
        return {"result_version": RESULT_VERSION, "model": self.summary(), "images": images, "ensemble": ens}

    def summary(self) -> dict:
        u = self.card.get("unknown") or {}
        return {"name": self.card.get("name", self.model_dir.name), "dir": str(self.model_dir),
                "architecture": self.card["architecture"], "classes": list(self.scheme.classes),
                "weights_sha256": self.card["weights"]["sha256"],
                "target_pixel_size_inv_a": self.target_pixel_size_inv_a, "image_size_px": self.image_size_px,
                "temperature": self.temperature, "unknown_score": u.get("score"),
                "unknown_threshold": u.get("threshold"),
                **({"unknown_detector": {k: u["detector"][k] for k in ("name", "classes", "threshold")}}
                   if u.get("detector") else {}),
                **({"mixture": {"clean": mx["clean"]["name"], "gate": mx["gate"]["name"],
                                "gate_classes": list(mx["gate_classes"]), "rule": mx["rule"]}}
                   if (mx := self.card.get("mixture")) else {})}

    # ---- outputs over space groups (or raw labels) ---------------------------------------------------------
    def _by_space_group(self) -> bool:
        return bool(self.scheme.space_groups)

    def _output_probs(self, probs: np.ndarray) -> np.ndarray:
        return self.scheme.space_group_probabilities(probs) if self._by_space_group() else probs

    def _top(self, p_class: np.ndarray, k: int) -> list[dict]:
        return self._top_from_output(self._output_probs(p_class[None])[0], k)

    def _top_from_output(self, p: np.ndarray, k: int) -> list[dict]:
        from sadpnet.model.labels import crystal_system_of, space_group_symbol

        order = np.argsort(-p, kind="stable")[:k]
        out = []
        for j in order:
            if self._by_space_group():
                sg = int(self.scheme.space_groups[j])
                out.append({"space_group": sg, "symbol": space_group_symbol(sg),
                            "crystal_system": crystal_system_of(sg), "probability": float(p[j])})
            else:
                out.append({"label": self.scheme.classes[j], "probability": float(p[j])})
        return out


def load_sub_model(model_dir: Path, name, sha256: str | None, what: str) -> "Classifier":
    """A model kept in a sub-folder ``name`` of ``model_dir`` (a detector, a mixture's parts), its weights
    checked against the ``sha256`` its parent's card names; its own attached networks are not loaded (a part
    is used for its probabilities only)."""
    name = str(name or "")
    if not name or name != Path(name).name or name in (".", ".."):
        raise InputError(f"the card's {what} folder {name!r} is not a sub-folder of the model", model_dir)
    sub = _load_network(model_dir / name)
    if sha256 is not None and sub.card["weights"]["sha256"] != sha256:
        raise InputError(f"the weights of the {what} differ from the ones the card names", model_dir / name)
    return sub


def build_network(card: dict, state: dict):
    """The card's architecture with ``state`` loaded (float32, eval mode, channels_last)."""
    import torch

    from sadpnet.model.registry import build_model

    net = build_model(card["architecture"], len(card["classes"]), in_channels=int(card.get("in_channels", 1)))
    state = {k: (v.float() if v.is_floating_point() else v) for k, v in state.items()}
    try:
        net.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        raise InputError(f"weights do not fit architecture {card['architecture']} "
                         f"({str(exc).splitlines()[0]})", "model.safetensors") from None
    net.eval()
    return net.to(memory_format=torch.channels_last)


def load_model(model_dir: str | Path | None = None) -> Classifier:
    """Load a model directory (safetensors + card.json, hashes verified) or a shipped model by name
    (`resolve_model_dir`), with its attached defect detector and mixture parts (`load_detector`,
    `load_mixture`); default: the shipped default model.

    Example::

        >>> clf = load_model("default")            # doctest: +SKIP
        >>> clf.detector.card["classes"]           # doctest: +SKIP
    """
    path = resolve_model_dir(model_dir)
    if _architecture(path) == SPOT_ARCHITECTURE:
        return load_spot_classifier(path)
    clf = _load_network(path)
    clf.detector = load_detector(clf)
    clf.mixture = load_mixture(clf)
    return clf


def _architecture(model_dir: Path) -> str | None:
    """The ``architecture`` a model folder's card names (None when the card does not read: the loader says why)."""
    import json

    try:
        return json.loads((Path(model_dir) / "card.json").read_text()).get("architecture")
    except (OSError, ValueError, AttributeError):
        return None


def load_detector(model: Classifier) -> "Classifier | None":
    """The defect detector the card of a loaded model names (``unknown.detector``), None without one."""
    cfg = (model.card.get("unknown") or {}).get("detector")
    if cfg is None:
        return None
    return load_sub_model(model.model_dir, cfg.get("dir"), cfg.get("weights_sha256"), "detector")


def load_mixture(model: Classifier) -> tuple | None:
    """(clean classifier, gate classifier, gate classes) of a mixture model (a card with a ``mixture``
    entry), weights checked against the card; None for a plain model."""
    cfg = model.card.get("mixture")
    if not cfg:
        return None
    parts = [load_sub_model(model.model_dir, (cfg.get(sub) or {}).get("dir"),
                            (cfg.get(sub) or {}).get("weights_sha256") or "", f"mixture's {sub} network")
             for sub in (CLEAN_SUBDIR, GATE_SUBDIR)]
    classes = [str(c) for c in cfg.get("gate_classes") or ()]
    check_mixture_parts(model, parts[0], parts[1], classes)
    return parts[0], parts[1], classes


def _load_network(model_dir: Path) -> Classifier:
    """The classifier of one model folder, without its attached networks."""
    from sadpnet.model.card import input_mapping, load_model_files, split_tensors
    from sadpnet.model.labels import LabelScheme

    card, tensors = load_model_files(model_dir)
    try:
        input_mapping(card)  # a card naming an input no image can be converted into is refused on load
    except InputError as e:
        raise InputError(e.problem, model_dir / e.where if e.where else model_dir) from None
    state, ood = split_tensors(tensors)
    net = build_network(card, state)
    scheme = LabelScheme.from_dict(card["labels"]) if "labels" in card else LabelScheme.from_column(card["classes"])
    stats = {k: v.float().numpy() for k, v in ood.items()} or None
    return Classifier(net=net, card=card, scheme=scheme, model_dir=model_dir, ood_stats=stats)


def classify_paths(paths, *, model_dir=None, ensemble: bool = False, calibration_inv_a_per_px: float | None = None,
                   top_k: int = DEFAULT_TOP_K) -> dict:
    """Read microscope files (``sadpnet.io.load_pattern``) and classify them; returns the documented dict."""
    from sadpnet.io import load_pattern

    paths = [Path(p) for p in paths]
    if not paths:
        raise InputError("no images given", "IMAGE")
    model = load_model(model_dir)
    patterns = [load_pattern(p, calibration_inv_a_per_px=calibration_inv_a_per_px) for p in paths]
    return model.classify_images(patterns, calibration_inv_a_per_px=calibration_inv_a_per_px, top_k=top_k,
                                 ensemble=ensemble)
