"""The spot-indexing evidence of a pattern, and the lattice-parameter-consistent joint answer of several.

Per pattern (`pattern_evidence`): spots (`sadpnet.model.spots`) indexed against each cubic class
(`sadpnet.model.lattice_fit`): the best hypotheses (zone axis, lattice parameter a, score) per class.

Per specimen (`joint_scores`): the patterns of one crystal share one lattice parameter. For each class the
joint score is the best, over candidate a, of the sum over patterns of the best score each pattern reaches
with a lattice parameter within ``tol`` of that a (``UNEXPLAINED_SCORE`` when it reaches none). This is the
check that separates simple cubic a from bcc sqrt(2) a on [001] + [011] + [111] (shared/docs/physics-notes.md),
which independent votes cannot.

Example:
    >>> ev = [pattern_evidence(img, 0.0133, (128, 128)) for img in images]
    >>> scores, a = joint_scores(ev)        # (5,), (5,) in CLASSES order
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sadpnet.model.lattice_fit import Fit, fit_classes, net_explained
from sadpnet.model.spots import find_spots

#: The five cubic classes of the paper, in output order.
CLASSES = (213, 221, 225, 227, 229)
#: Score of a pattern that a class cannot explain at the joint lattice parameter.
UNEXPLAINED_SCORE = -0.5
#: Fewer spots than this: nothing to index (blank frame, noise, rings).
MIN_SPOTS = 4
#: Weight of the missing-reflection share in the joint score (explained - weight x missing of each fit),
#: chosen on validation crystals of the training corpus (docs/classifier-v2.md); per-pattern fits are ranked
#: with `sadpnet.model.lattice_fit.MISSING_WEIGHT`.
JOINT_MISSING_WEIGHT = 0.1
#: Version of the evidence (spot finding and per-class fits) that `evidence_features` reads. A spot-indexing
#: model is trained on one version and refused on another (`sadpnet.model.spot_model.load_spot_model`); cards
#: without the key are version 1. 1: spots above 1e-3 of the strongest (`spots.MIN_RELATIVE`), missing
#: reflections out to the farthest spot (`lattice_fit.MISSING_SHARE`), no local floor (`spots.LOCAL_SNR` 0).
#: Change it with any of the three constants.
EVIDENCE_VERSION = 1


@dataclass(frozen=True)
class Evidence:
    """Indexing evidence of one pattern.

    Attributes:
        n_spots: detected spots.
        fits: {space group: best `Fit` s, best first, distinct lattice parameters}.
        net: share of the spot weight that the best 2-D net explains (`lattice_fit.net_explained`; 0 when too
            few spots): a crystal's pattern is a net, noise and rings are not.
        g_first_inv_a: |g| of the shortest strong spot, 1/A (0 when none).
        median_intensity: median spot intensity relative to the strongest (1 when none): a crystal's pattern
            has a few strong spots over many weak ones, noise peaks are all alike.
    """

    n_spots: int
    fits: dict
    net: float = 0.0
    g_first_inv_a: float = 0.0
    median_intensity: float = 1.0

    def scores(self, classes=CLASSES) -> np.ndarray:
        """(C,) best score per class; UNEXPLAINED_SCORE where a class has no hypothesis."""
        return np.array([self.fits[c][0].score if self.fits.get(c) else UNEXPLAINED_SCORE for c in classes])

    def best(self, space_group: int) -> Fit | None:
        fits = self.fits.get(space_group)
        return fits[0] if fits else None


def pattern_evidence(image: np.ndarray, pixel_size_inv_a: float, centre_xy, mask=None, *,
                     classes=CLASSES) -> Evidence:
    """Spots of a linear-intensity ``image`` indexed against each class (see module docstring)."""
    spots = find_spots(image, pixel_size_inv_a, centre_xy, mask)
    if len(spots) < MIN_SPOTS:
        return Evidence(len(spots), {int(c): [] for c in classes})
    r = np.hypot(spots.g_inv_a[:, 0], spots.g_inv_a[:, 1])
    strong = spots.intensity >= 0.05
    return Evidence(len(spots), fit_classes(spots, classes, pixel_size_inv_a=pixel_size_inv_a),
                    net_explained(spots, pixel_size_inv_a=pixel_size_inv_a),
                    float(r[strong].min()) if strong.any() else float(r.min()), float(np.median(spots.intensity)))


def _fit_scores(ev: Evidence, space_group: int, missing_weight: float | None) -> np.ndarray:
    """Scores of a pattern's fits in one class for the joint answer: explained - weight x missing (default
    weight `JOINT_MISSING_WEIGHT`)."""
    w = JOINT_MISSING_WEIGHT if missing_weight is None else float(missing_weight)
    return np.array([f.explained - w * f.missing for f in ev.fits.get(space_group, [])])


def joint_scores(evidence: list[Evidence], classes=CLASSES, tol: float = 0.03,
                 missing_weight: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Lattice-parameter-consistent score of each class over several patterns of one crystal; each fit
    scores explained - ``missing_weight`` x missing (default `JOINT_MISSING_WEIGHT`).

    Returns:
        (scores, a_a): (C,) joint scores (sum over patterns) and (C,) the lattice parameter (A) that reaches
        them (NaN where no pattern had a hypothesis in that class).
    """
    scores, best_a = np.full(len(classes), UNEXPLAINED_SCORE * len(evidence)), np.full(len(classes), np.nan)
    for k, c in enumerate(classes):
        per_pattern = [(np.array([f.a_a for f in ev.fits.get(c, [])]), _fit_scores(ev, c, missing_weight))
                       for ev in evidence]
        candidates = np.concatenate([a for a, _ in per_pattern]) if per_pattern else np.zeros(0)
        for a_star in candidates:
            total = 0.0
            for a, s in per_pattern:
                near = np.abs(a / a_star - 1) <= tol
                total += s[near].max() if near.any() else UNEXPLAINED_SCORE
            if total > scores[k]:
                scores[k], best_a[k] = total, a_star
    return scores, best_a


def independent_scores(evidence: list[Evidence], classes=CLASSES, missing_weight: float | None = None) -> np.ndarray:
    """(C,) sum over patterns of each pattern's best score per class, scored as in `joint_scores`, but with
    no shared lattice parameter."""
    best = [[max(_fit_scores(ev, c, missing_weight), default=UNEXPLAINED_SCORE) for c in classes]
            for ev in evidence]
    return np.sum(best, axis=0)


#: Per-class features of a pattern (`evidence_features`), then the pattern-wide ones.
CLASS_FEATURES = ("score", "explained", "missing", "missing_low", "unexplained_strong", "log_a", "margin")
GLOBAL_FEATURES = ("log_n_spots", "net", "g_first_inv_a", "log_median_intensity")


def evidence_features(ev: Evidence, classes=CLASSES) -> np.ndarray:
    """(len(classes) * 7 + 4,) float32 features of one pattern: per class the best fit's score, explained,
    missing, missing_low, unexplained_strong, log10(a / A) and its margin over the next distinct lattice
    parameter; then log(1 + spots), the 2-D net share, the first strong |g| (1/A) and log10 of the median
    spot intensity. Rotation-invariant by
    construction: only lengths, angles and shares enter."""
    out = []
    for c in classes:
        fits = ev.fits.get(c) or []
        if not fits:
            out += [UNEXPLAINED_SCORE, 0.0, 1.0, 1.0, 1.0, 0.0, 0.0]
            continue
        f = fits[0]
        second = fits[1].score if len(fits) > 1 else UNEXPLAINED_SCORE
        out += [f.score, f.explained, f.missing, f.missing_low, f.unexplained_strong, np.log10(f.a_a), f.score - second]
    out += [np.log1p(ev.n_spots), ev.net, ev.g_first_inv_a, np.log10(max(ev.median_intensity, 1e-6))]
    return np.asarray(out, dtype=np.float32)
