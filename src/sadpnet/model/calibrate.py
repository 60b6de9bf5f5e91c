"""Probability calibration: temperature scaling (Guo et al. 2017) and the expected calibration error.

`fit_temperature(logits, labels)` finds T > 0 minimising the negative log-likelihood of softmax(logits / T)
on validation data; `expected_calibration_error(probs, labels, n_bins=15)` is the usual equal-width-bin ECE
(fraction, 0..1) of the confidence of the answer (by default the top-1 class).
"""

from __future__ import annotations

import numpy as np


def _log_softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=1, keepdims=True))


def softmax(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    return np.exp(_log_softmax(np.asarray(logits, dtype=np.float64) / temperature))


def nll(logits: np.ndarray, labels: np.ndarray, temperature: float = 1.0) -> float:
    lp = _log_softmax(np.asarray(logits, dtype=np.float64) / temperature)
    return float(-lp[np.arange(len(labels)), np.asarray(labels)].mean())


def fit_temperature(logits: np.ndarray, labels: np.ndarray) -> float:
    """Temperature T (dimensionless, in [0.05, 20]) minimising the validation NLL (bounded scalar search on log T)."""
    from scipy.optimize import minimize_scalar

    logits = np.asarray(logits, dtype=np.float64)
    labels = np.asarray(labels)
    res = minimize_scalar(lambda lt: nll(logits, labels, float(np.exp(lt))), bounds=(np.log(0.05), np.log(20.0)),
                          method="bounded", options={"xatol": 1e-4})
    return float(np.exp(res.x))


def expected_calibration_error(probs: np.ndarray, labels: np.ndarray, n_bins: int = 15,
                               answers: np.ndarray | None = None) -> float:
    """ECE (0..1): sum over confidence bins of |accuracy - mean confidence| weighted by the bin's share.

    The confidence is the probability of the answer: the top-1 class, or ``answers`` (N,) class indices where
    the answer is decided otherwise (e.g. `sadpnet.model.spot_model.decide`)."""
    probs = np.asarray(probs, dtype=np.float64)
    labels = np.asarray(labels)
    answers = probs.argmax(axis=1) if answers is None else np.asarray(answers)
    conf = probs[np.arange(len(probs)), answers]
    correct = (answers == labels).astype(np.float64)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    ece = 0.0
    for lo, hi in zip(edges[:-1], edges[1:]):
        sel = (conf > lo) & (conf <= hi) if lo > 0 else (conf >= lo) & (conf <= hi)
        if sel.any():
            ece += sel.mean() * abs(correct[sel].mean() - conf[sel].mean())
    return float(ece)
