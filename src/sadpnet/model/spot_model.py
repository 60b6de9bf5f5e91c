"""The spot-indexing classifier: a small network on the indexing evidence of each pattern, and the joint answer.

Per pattern: `sadpnet.model.indexing.evidence_features` (how well each cubic class explains the detected
spots, at which lattice parameter, with what is missing) -> a 2-layer perceptron -> probabilities over the
five cubic classes, "other" (a crystal of another class) and "unknown" (no crystal: noise, amorphous rings,
blank frames), temperature-calibrated on validation crystals. Patterns with fewer than MIN_SPOTS spots are
"unknown" before the network is asked. The answer (`decide`) is the group (a cubic crystal of the five,
other, unknown) of largest summed probability, then the most probable class of that group.

Several patterns of one specimen (`joint_posterior`, rule ``JOINT_RULE``): the per-pattern posteriors
multiply (divided by the prior, uniform here) into the mass of "a cubic crystal", "other" and "unknown";
the cubic mass is then shared among the five classes by how well ONE lattice parameter explains all
patterns: softmax(kappa x joint score) (`sadpnet.model.indexing.joint_scores`), kappa fitted on validation
crystals' zone-axis sets by log-likelihood. The network decides whether the specimen is a cubic crystal of
the five; the lattice check decides which. (Measured on 48 validation crystals: letting the network's
per-pattern posteriors also vote among the cubic classes lost 3-axis sets, because look-alike patterns
get confident wrong posteriors; docs/classifier-v2.md.)

Several networks (`ensemble`: the same training with other seeds) answer as one: the mean of their
calibrated probabilities, calibrated again (``COMBINATION``). Retrains of one recipe differ by several points
on held-out crystals; their mean is better than each (docs/classifier-v2.md, "Seed ensemble").

Files: ``model.safetensors`` (weights, feature mean and scale of each network) and ``card.json``
(architecture ``spot-index-mlp``, labels, features, temperature, kappa, networks, unknown rule, training data
and versions).

Example:
    >>> model = load_spot_model("src/sadpnet/resources/models/spot-index")
    >>> p = model.predict_proba(X)            # (N, 7)
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from sadpnet.errors import InputError
from sadpnet.model.indexing import CLASSES, CLASS_FEATURES, EVIDENCE_VERSION, GLOBAL_FEATURES, MIN_SPOTS, \
    Evidence, evidence_features, joint_scores

ARCHITECTURE = "spot-index-mlp"
#: The joint rule of `joint_posterior`; cards of other rules are refused (retrain with `sadpnet train-indexing`).
JOINT_RULE = "cubic-mass-by-network, cubic-class-by-lattice-check"
LABELS = tuple(str(c) for c in CLASSES) + ("other", "unknown")
#: Index of the "unknown" output (noise, amorphous rings, blank frames).
UNKNOWN_INDEX = LABELS.index("unknown")
#: The answer of a posterior (`decide`), per pattern and joint.
DECISION_RULE = "group first: a cubic crystal of the five / other / unknown by summed probability, then the class"
#: The answer groups of `group_probabilities`, in order.
GROUPS = ("cubic", "other", "unknown")
#: How the networks of a model combine (`SpotModel.logits`), written in its card.
COMBINATION = "mean of probabilities, each network at its own temperature, then the model's temperature"
FEATURES = tuple(f"{c}:{f}" for c in CLASSES for f in CLASS_FEATURES) + GLOBAL_FEATURES


def _network(n_in: int, n_out: int, hidden: int = 64):
    import torch

    return torch.nn.Sequential(torch.nn.Linear(n_in, hidden), torch.nn.ReLU(), torch.nn.Linear(hidden, hidden),
                               torch.nn.ReLU(), torch.nn.Linear(hidden, n_out))


@dataclass
class Network:
    """One trained perceptron: weights, the feature mean and scale it was trained with, and its own
    temperature (1 for the network of a one-network model, whose calibration is the model's temperature)."""

    state: dict
    mean: np.ndarray
    scale: np.ndarray
    temperature: float = 1.0

    def logits(self, X: np.ndarray) -> np.ndarray:
        """(N, 7) logits of features ``X`` (N, F): the perceptron's forward pass in NumPy (float32, the
        weights as trained by torch; no torch import on the classify path)."""
        h = (np.asarray(X, np.float32) - self.mean) / self.scale
        layers = sorted({int(k.split(".")[0]) for k in self.state})
        for i, layer in enumerate(layers):
            h = h @ np.asarray(self.state[f"{layer}.weight"], np.float32).T + np.asarray(self.state[f"{layer}.bias"],
                                                                                          np.float32)
            if i < len(layers) - 1:
                h = np.maximum(h, np.float32(0.0))
        return h.astype(np.float64)


def _log_softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=1, keepdims=True))


@dataclass
class SpotModel:
    """A trained spot-indexing classifier (see module docstring): one network, or several (an ensemble of
    training seeds, `ensemble`) whose probabilities are averaged; ``temperature`` calibrates the result."""

    networks: list[Network]
    temperature: float = 1.0
    kappa: float = 0.0
    card: dict = field(default_factory=dict)

    def logits(self, X: np.ndarray) -> np.ndarray:
        """(N, 7) log of the networks' mean probability (each network at its own temperature) for features
        ``X`` (N, F); for one network its log-softmax, so that softmax(logits / T) is softmax(z / T)."""
        logp = [_log_softmax(net.logits(X) / net.temperature) for net in self.networks]
        if len(logp) == 1:
            return logp[0]
        m = np.max(logp, axis=0)
        return m + np.log(np.mean([np.exp(lp - m) for lp in logp], axis=0))

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """(N, 7) calibrated probabilities over `LABELS` for features ``X`` (N, F)."""
        return np.exp(_log_softmax(self.logits(X) / self.temperature))


def ensemble(models: list[SpotModel]) -> SpotModel:
    """One model of several trained ones (e.g. the same training with other seeds): the mean of their
    calibrated probabilities, each network keeping its model's temperature (a member that is itself an
    ensemble gives its networks, without its own final temperature); the ensemble's own temperature (1 here)
    is fitted with `calibrate` on validation crystals that no member trained on, kappa with `fit_kappa`.

    Example:
        >>> both = calibrate(ensemble([seed0, seed1]), X_val, y_val)
    """
    if not models:
        raise InputError("no models to combine", "models")
    nets = [Network(n.state, n.mean, n.scale, n.temperature * (m.temperature if len(m.networks) == 1 else 1.0))
            for m in models for n in m.networks]
    return SpotModel(nets)


def is_unknown(ev: Evidence) -> bool:
    """True for input with nothing to index: fewer than MIN_SPOTS spots (the network's "unknown" output
    answers for the rest: noise, rings and blank frames are in its training stream)."""
    return ev.n_spots < MIN_SPOTS


def pattern_probabilities(model: SpotModel, evidence: list[Evidence]) -> np.ndarray:
    """(N, 7) probabilities over `LABELS` of N patterns' evidence as reported: the network's, and one-hot
    "unknown" for the patterns with too few spots (`is_unknown`)."""
    probs = model.predict_proba(np.stack([evidence_features(e) for e in evidence]))
    probs[[is_unknown(e) for e in evidence]] = np.eye(len(LABELS))[UNKNOWN_INDEX]
    return probs


def group_probabilities(probs: np.ndarray) -> np.ndarray:
    """(N, 3) summed probabilities of the `GROUPS` (a cubic crystal of the five, other, unknown) of (N, 7)
    posteriors over `LABELS`."""
    p = np.atleast_2d(np.asarray(probs, dtype=np.float64))
    n = len(CLASSES)
    return np.stack([p[:, :n].sum(1), p[:, n], p[:, n + 1]], axis=1)


def decide(probs: np.ndarray) -> np.ndarray:
    """(N,) label indices (into `LABELS`) answered for (N, 7) posteriors, by `DECISION_RULE`: first the group
    of largest summed probability (`group_probabilities`), then, for "cubic", the most probable of the five
    classes. The argmax over the seven labels would split the cubic mass five ways, so that a pattern with
    p(cubic) = 0.56 shared between two look-alike classes would be answered "other" at p = 0.44; on the
    validation patterns the group rule has the same 7-label accuracy and refuses half as many cubic patterns
    (docs/classifier-v2.md).

    Example:
        >>> decide(np.array([[0.3, 0.26, 0, 0, 0, 0.44, 0]]))
        array([0])
    """
    p = np.atleast_2d(np.asarray(probs, dtype=np.float64))
    n = len(CLASSES)
    group = group_probabilities(p).argmax(1)
    return np.where(group == 0, p[:, :n].argmax(1), n - 1 + group)


def joint_posterior(model: SpotModel, evidence: list[Evidence], probs: np.ndarray | None = None) -> np.ndarray:
    """(7,) posterior over `LABELS` of several patterns of one specimen (see module docstring): the
    network's product rule gives the cubic / other / unknown masses, softmax(kappa x joint score) shares
    the cubic mass among the classes."""
    if probs is None:
        probs = model.predict_proba(np.stack([evidence_features(e) for e in evidence]))
    return joint_from_scores(probs, joint_scores(evidence)[0], model.kappa)


def joint_from_scores(probs: np.ndarray, js: np.ndarray, kappa: float) -> np.ndarray:
    """(7,) `joint_posterior` of (N, 7) per-pattern posteriors and the five classes' joint lattice scores
    ``js`` (`indexing.joint_scores`), with the lattice check's sharpness ``kappa``."""
    logp = np.sum(np.log(np.clip(probs, 1e-6, None)), axis=0)
    q = np.exp(logp - logp.max())
    q /= q.sum()
    w = np.exp(kappa * (js - js.max()))
    n = len(CLASSES)
    return np.concatenate([q[:n].sum() * w / w.sum(), q[n:]])


def fit_spot_model(X: np.ndarray, y: np.ndarray, *, seed: int = 0, epochs: int = 150, lr: float = 3e-3,
                   weight_decay: float = 1e-3, hidden: int = 64) -> SpotModel:
    """Train the perceptron on features ``X`` (N, F) and labels ``y`` (N,) (full batch, AdamW)."""
    import torch

    if len(X) == 0:
        raise InputError("no training examples", "examples")
    torch.manual_seed(seed)
    mean, scale = X.mean(0), X.std(0) + 1e-6
    net = _network(X.shape[1], len(LABELS), hidden)
    xt = torch.as_tensor((X - mean) / scale, dtype=torch.float32)
    yt = torch.as_tensor(y, dtype=torch.long)
    opt = torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=weight_decay)
    for _ in range(epochs):
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(net(xt), yt)
        loss.backward()
        opt.step()
    state = {k: v.detach().numpy().copy() for k, v in net.state_dict().items()}
    return SpotModel([Network(state, mean.astype(np.float32), scale.astype(np.float32))])


def calibrate(model: SpotModel, X_val: np.ndarray, y_val: np.ndarray) -> SpotModel:
    """Set the temperature that minimises the validation negative log-likelihood."""
    from sadpnet.model.calibrate import fit_temperature

    model.temperature = float(fit_temperature(model.logits(X_val), y_val))
    return model


#: The values of kappa that `fit_kappa` chooses among.
KAPPA_GRID = (0.0, 1, 2, 5, 10, 20, 40, 80, 160)


def fit_kappa(model: SpotModel, sets: list[tuple[list[Evidence], int]], grid=KAPPA_GRID) -> SpotModel:
    """Choose kappa (the lattice check's sharpness, per unit of joint score) on validation zone-axis sets
    ((evidence list, label index)) by the log-likelihood of the cubic class among the cubic classes."""
    cubic = [(joint_scores(ev)[0], y) for ev, y in sets if y < len(CLASSES)]
    best, best_ll = 0.0, -np.inf
    for k in grid:
        ll = 0.0
        for js, y in cubic:
            z = k * (js - js.max())
            ll += z[y] - np.log(np.exp(z).sum())
        if ll > best_ll:
            best, best_ll = float(k), ll
    model.kappa = best
    return model


def save_spot_model(model: SpotModel, out_dir: str | Path, card: dict) -> Path:
    """Write ``model.safetensors`` and ``card.json`` (atomically) into ``out_dir``."""
    from safetensors.numpy import save_file

    from sadpnet.atomic_write import atomic_path
    from sadpnet.model.card import library_versions, sha256_file

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    with atomic_path(out / "model.safetensors") as tmp:
        save_file(_tensors(model.networks), str(tmp))
    full = {"architecture": ARCHITECTURE, "labels": list(LABELS), "features": list(FEATURES),
            "temperature": model.temperature, "kappa": model.kappa, "joint_rule": JOINT_RULE,
            "networks": {"n": len(model.networks), "temperatures": [n.temperature for n in model.networks],
                         "combination": COMBINATION},
            "decision_rule": DECISION_RULE, "evidence_version": EVIDENCE_VERSION,
            "unknown_rule": {"min_spots": MIN_SPOTS, "output": "unknown"},
            "weights_sha256": sha256_file(out / "model.safetensors"), "versions": library_versions(), **card}
    with atomic_path(out / "card.json") as tmp:
        Path(tmp).write_text(json.dumps(full, indent=1, default=float) + "\n")
    return out


def load_spot_model(model_dir: str | Path) -> SpotModel:
    """Read a folder written by `save_spot_model` (the weights' SHA-256 is checked; no pickle)."""
    from safetensors.numpy import load_file

    from sadpnet.model.card import sha256_file

    d = Path(model_dir)
    try:
        card = json.loads((d / "card.json").read_text())
    except (OSError, ValueError) as exc:
        raise InputError(f"not a spot-indexing model folder ({exc.__class__.__name__})", model_dir) from None
    if card.get("architecture") != ARCHITECTURE or card.get("features") != list(FEATURES):
        raise InputError("the model card is not a spot-indexing model of this version's features", model_dir)
    if card.get("evidence_version", 1) != EVIDENCE_VERSION:
        raise InputError(f"the model was trained on indexing evidence version {card.get('evidence_version', 1)}, "
                         f"this version computes {EVIDENCE_VERSION}; retrain it with sadpnet train-indexing",
                         model_dir)
    if card.get("joint_rule") != JOINT_RULE:
        raise InputError("the model card was trained for an older joint rule; retrain it with sadpnet "
                         "train-indexing", model_dir)
    if sha256_file(d / "model.safetensors") != card.get("weights_sha256"):
        raise InputError("model.safetensors does not match its card (SHA-256)", model_dir)
    nets = card.get("networks", {"n": 1, "temperatures": [1.0]})
    t = load_file(str(d / "model.safetensors"))
    try:
        networks = [Network({k[len(p):]: v for k, v in t.items() if k.startswith(p)}, t[f"{q}mean"],
                            t[f"{q}scale"], float(temp))
                    for (p, q), temp in zip(_prefixes(int(nets["n"])), nets["temperatures"], strict=True)]
    except (KeyError, TypeError, ValueError):
        raise InputError("the card's networks do not match model.safetensors", model_dir) from None
    return SpotModel(networks, float(card["temperature"]), float(card["kappa"]), card)


def _prefixes(n: int) -> list[tuple[str, str]]:
    """The safetensors key prefixes (weights, mean/scale) of n networks: ``net.``/`` `` for one (the format
    of the first cards), ``net{i}.``/``{i}.`` for several."""
    return [("net.", "")] if n == 1 else [(f"net{i}.", f"{i}.") for i in range(n)]


def _tensors(networks: list[Network]) -> dict:
    out = {}
    for (p, q), net in zip(_prefixes(len(networks)), networks):
        out.update({f"{p}{k}": np.ascontiguousarray(v) for k, v in net.state.items()})
        out[f"{q}mean"], out[f"{q}scale"] = net.mean, net.scale
    return out
