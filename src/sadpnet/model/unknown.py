"""Out-of-distribution ("unknown") scores, and choosing one by measured AUROC.

Every score is "higher = more unknown" and takes the network's logits (B, K) and/or pooled features (B, C):

* ``msp``: 1 - maximum softmax probability (temperature-scaled), Hendrycks & Gimpel 2017.
* ``energy``: -T log sum_k exp(l_k / T), Liu et al. 2020 (T = the calibration temperature).
* ``mahalanobis``: minimum over classes of the Mahalanobis distance of the features to the class mean under
  a shared (tied) covariance, Lee et al. 2018 (needs class means and precision from training data).
* ``knn``-free and cheap: all three are one pass over logits/features.

`fit_feature_stats` computes class means and the shared precision matrix from in-distribution features;
`auroc` is the Mann-Whitney estimate (ties counted half); `choose_score` evaluates every score on clean vs
out-of-distribution sets and returns the best with a threshold at a fixed in-distribution acceptance rate.
"""

from __future__ import annotations

import numpy as np

SCORES = ("msp", "energy", "mahalanobis")


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def fit_feature_stats(features: np.ndarray, labels: np.ndarray, num_classes: int, *, shrinkage: float = 1e-3) -> dict:
    """Class means (K, C) and shared precision (C, C) of in-distribution features (float32 arrays)."""
    f = np.asarray(features, dtype=np.float64)
    labels = np.asarray(labels)
    means = np.zeros((num_classes, f.shape[1]))
    centred = []
    for k in range(num_classes):
        fk = f[labels == k]
        if len(fk):
            means[k] = fk.mean(axis=0)
            centred.append(fk - means[k])
    c = np.concatenate(centred)
    cov = c.T @ c / max(len(c) - 1, 1)
    cov += shrinkage * np.trace(cov) / cov.shape[0] * np.eye(cov.shape[0])
    return {"class_means": means.astype(np.float32), "precision": np.linalg.inv(cov).astype(np.float32)}


def score(name: str, logits: np.ndarray, features: np.ndarray | None = None, *, temperature: float = 1.0,
          stats: dict | None = None) -> np.ndarray:
    """Unknown score (B,) by name; higher = more likely out of distribution."""
    logits = np.asarray(logits, dtype=np.float64)
    if name == "msp":
        return 1.0 - _softmax(logits / temperature).max(axis=1)
    if name == "energy":
        z = logits / temperature
        m = z.max(axis=1)
        return -temperature * (m + np.log(np.exp(z - m[:, None]).sum(axis=1)))
    if name == "mahalanobis":
        if stats is None or features is None:
            raise ValueError("mahalanobis score needs features and fitted class statistics")
        f = np.asarray(features, dtype=np.float64)
        mu = np.asarray(stats["class_means"], dtype=np.float64)
        p = np.asarray(stats["precision"], dtype=np.float64)
        d = f[:, None, :] - mu[None, :, :]  # (B, K, C)
        m2 = np.einsum("bkc,cd,bkd->bk", d, p, d)
        return np.sqrt(np.maximum(m2.min(axis=1), 0.0))
    raise ValueError(f"unknown OOD score {name!r}; choose one of {SCORES}")


def auroc(scores_in: np.ndarray, scores_out: np.ndarray) -> float:
    """Area under the ROC curve for telling out-of-distribution (positive, higher score) from in-distribution."""
    from scipy.stats import rankdata

    s_in, s_out = np.asarray(scores_in, float), np.asarray(scores_out, float)
    if len(s_in) == 0 or len(s_out) == 0:
        return float("nan")
    r = rankdata(np.concatenate([s_in, s_out]))
    r_out = r[len(s_in):].sum()
    return float((r_out - len(s_out) * (len(s_out) + 1) / 2) / (len(s_in) * len(s_out)))


def threshold_at(scores_in: np.ndarray, accept_rate: float = 0.95) -> float:
    """Score threshold that accepts ``accept_rate`` of in-distribution patterns (score <= threshold = known)."""
    return float(np.quantile(np.asarray(scores_in, float), accept_rate))


def choose_score(in_dist: dict, out_dist: dict[str, dict], *, temperature: float, stats: dict | None,
                 accept_rate: float = 0.95) -> dict:
    """Measure every score's AUROC (clean vs each OOD set and all OOD sets pooled) and pick the best pooled.

    ``in_dist`` and each ``out_dist[name]`` are dicts with "logits" (B, K) and "features" (B, C).
    Returns {"score", "threshold", "accept_rate", "auroc": {score: {set: value, "all": value}}}; the
    threshold is set on ``in_dist`` (use validation data, not test data, for it).
    """
    table: dict[str, dict[str, float]] = {}
    for name in SCORES:
        if name == "mahalanobis" and stats is None:
            continue
        s_in = score(name, in_dist["logits"], in_dist.get("features"), temperature=temperature, stats=stats)
        row = {}
        pooled = []
        for set_name, d in out_dist.items():
            s_out = score(name, d["logits"], d.get("features"), temperature=temperature, stats=stats)
            row[set_name] = auroc(s_in, s_out)
            pooled.append(s_out)
        row["all"] = auroc(s_in, np.concatenate(pooled)) if pooled else float("nan")
        table[name] = row
    best = max(table, key=lambda n: (np.nan_to_num(table[n]["all"], nan=-1.0), n == "energy"))
    s_in = score(best, in_dist["logits"], in_dist.get("features"), temperature=temperature, stats=stats)
    return {"score": best, "threshold": threshold_at(s_in, accept_rate), "accept_rate": accept_rate, "auroc": table}
