"""Honest statistics of counted outcomes: 95 % Wilson intervals of a share, the interval of a difference of two
shares, and the rule that says whether a goal is met.

A share (accuracy, unknown rate, ...) measured on n patterns is uncertain: 6 of 6 right is compatible with a
true accuracy of 61 %. Every accuracy sadpnet reports (`sadpnet.study.tables`, `sadpnet.study.report`,
`sadpnet.model.evaluate`) therefore carries its count and its Wilson score interval, and a goal is "met" only
when the whole interval clears it (`goal_verdict`).

Examples
--------
>>> lo, hi = wilson_interval(5, 10)
>>> round(lo, 4), round(hi, 4)
(0.2366, 0.7634)
>>> share_text(6, 6)
'100.0 [61.0, 100.0] (6)'
>>> goal_verdict(6, 6, 97.0)
'not enough patterns'
"""

from __future__ import annotations

import math

#: Confidence level of every interval sadpnet reports.
CONFIDENCE = 0.95

#: The verdicts of `goal_verdict`.
MET, NOT_MET, NOT_ENOUGH, NOT_CHECKED = "met", "not met", "not enough patterns", "n/a"


def wilson_interval(k: int, n: int, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """Wilson score interval of the share k/n (E. B. Wilson, JASA 22 (1927) 209), no continuity correction.

    Parameters
    ----------
    k : int
        Successes (patterns right), 0 <= k <= n.
    n : int
        Trials (patterns); n = 0 gives (0.0, 1.0): nothing is known.
    confidence : float
        Two-sided confidence level (0.95: z = 1.96).

    Returns
    -------
    (low, high) : tuple of float
        Bounds as fractions in [0, 1].

    Examples
    --------
    >>> [round(x, 4) for x in wilson_interval(0, 10)]
    [0.0, 0.2775]
    """
    if n == 0:
        return 0.0, 1.0
    if not 0 <= k <= n:
        raise ValueError(f"wilson_interval: need 0 <= k <= n, got k={k}, n={n}")
    from scipy.stats import binomtest

    ci = binomtest(int(k), int(n)).proportion_ci(confidence_level=confidence, method="wilson")
    return float(ci.low), float(ci.high)


def difference_interval(k1: int, n1: int, k2: int, n2: int,
                        confidence: float = CONFIDENCE) -> tuple[float, float]:
    """Interval of the difference k1/n1 - k2/n2 of two shares from their Wilson intervals (Newcombe's hybrid
    score method 10, R. G. Newcombe, Stat. Med. 17 (1998) 873). Fractions in [-1, 1].

    Examples
    --------
    >>> [round(x, 4) for x in difference_interval(56, 70, 48, 80)]
    [0.0524, 0.3339]
    """
    p1, p2 = k1 / n1, k2 / n2
    l1, u1 = wilson_interval(k1, n1, confidence)
    l2, u2 = wilson_interval(k2, n2, confidence)
    d = p1 - p2
    return d - math.hypot(p1 - l1, u2 - p2), d + math.hypot(u1 - p1, p2 - l2)


def share_text(k: int, n: int, nd: int = 1) -> str:
    """A share in percent with its 95 % Wilson interval and count: ``"83.3 [43.6, 97.0] (6)"``."""
    if n == 0:
        return "no pattern"
    lo, hi = wilson_interval(k, n)
    return f"{100 * k / n:.{nd}f} [{100 * lo:.{nd}f}, {100 * hi:.{nd}f}] ({n})"


def goal_verdict(k: int, n: int, threshold_pct: float, at_most: bool = False) -> str:
    """Whether the share k/n meets a goal of at least (or, ``at_most``, at most) ``threshold_pct`` percent.

    "met" only when the whole 95 % Wilson interval clears the threshold; "not enough patterns" when the
    interval straddles it (the measurement still allows both); "not met" when the whole interval misses it;
    "n/a" without patterns.

    Examples
    --------
    >>> goal_verdict(300, 300, 97.0), goal_verdict(6, 6, 97.0), goal_verdict(1, 6, 97.0)
    ('met', 'not enough patterns', 'not met')
    >>> goal_verdict(0, 100, 5.0, at_most=True)
    'met'
    """
    if n == 0:
        return NOT_CHECKED
    lo, hi = (100 * x for x in wilson_interval(k, n))
    return interval_verdict(lo, hi, threshold_pct, at_most)


def interval_verdict(lo: float, hi: float, threshold: float, at_most: bool = False) -> str:
    """The rule of `goal_verdict` on an interval [lo, hi] already computed (same units as ``threshold``)."""
    if at_most:
        lo, hi, threshold = -hi, -lo, -threshold
    if lo >= threshold:
        return MET
    return NOT_ENOUGH if hi >= threshold else NOT_MET
