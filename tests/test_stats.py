"""Wilson intervals against textbook values, and the rule that says whether a goal is met."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize("k,n,lo,hi", [
    (0, 10, 0.0, 0.2775),      # Brown, Cai, DasGupta (2001) / Newcombe (1998) Table I: 0/10 -> 0-0.2775
    (5, 10, 0.2366, 0.7634),   # 5/10 -> 0.2366-0.7634
    (10, 10, 0.7225, 1.0),     # symmetric to 0/10
    (81, 263, 0.2553, 0.3662),  # Newcombe (1998) Table I, 81/263 -> 0.2553-0.3662
    (15, 148, 0.0624, 0.1605),  # Newcombe (1998) Table I, 15/148 -> 0.0624-0.1605
])
def test_wilson_interval_matches_textbook_values(k, n, lo, hi):
    from sadpnet.stats import wilson_interval

    got = wilson_interval(k, n)
    assert got[0] == pytest.approx(lo, abs=1e-4) and got[1] == pytest.approx(hi, abs=1e-4)


def test_wilson_interval_edge_cases():
    from sadpnet.stats import wilson_interval

    assert wilson_interval(0, 0) == (0.0, 1.0)  # no pattern: nothing known
    with pytest.raises(ValueError):
        wilson_interval(3, 2)
    lo, hi = wilson_interval(6, 6)  # quick mode's 6 of 6 right still allows 61 %
    assert lo == pytest.approx(0.6097, abs=1e-4) and hi == 1.0


def test_difference_interval_matches_newcombe():
    from sadpnet.stats import difference_interval

    # Newcombe (1998) Table II, example (a): 56/70 - 48/80 -> 0.0524 to 0.3339 (method 10)
    lo, hi = difference_interval(56, 70, 48, 80)
    assert lo == pytest.approx(0.0524, abs=1e-4) and hi == pytest.approx(0.3339, abs=1e-4)
    # example (f): 0/10 - 0/20 -> -0.1611 to 0.2775
    lo, hi = difference_interval(0, 10, 0, 20)
    assert lo == pytest.approx(-0.1611, abs=1e-4) and hi == pytest.approx(0.2775, abs=1e-4)


def test_goal_met_only_when_the_lower_bound_clears_it():
    from sadpnet.stats import MET, NOT_CHECKED, NOT_ENOUGH, NOT_MET, goal_verdict

    assert goal_verdict(6, 6, 98.65) == NOT_ENOUGH  # quick mode never claims the paper's pristine number
    assert goal_verdict(144, 144, 98.65) == NOT_ENOUGH  # lower bound 97.4 %
    assert goal_verdict(400, 400, 98.65) == MET  # lower bound 99.05 %
    assert goal_verdict(0, 6, 98.65) == NOT_MET  # upper bound 39 %
    assert goal_verdict(50, 100, 60.0) == NOT_MET  # upper bound 59.6 %
    assert goal_verdict(0, 0, 50.0) == NOT_CHECKED


def test_at_most_goals_need_the_upper_bound_below():
    from sadpnet.stats import MET, NOT_ENOUGH, NOT_MET, goal_verdict

    assert goal_verdict(0, 6, 5.0, at_most=True) == NOT_ENOUGH  # 0 of 6 flagged still allows 39 %
    assert goal_verdict(0, 100, 5.0, at_most=True) == MET  # upper bound 3.7 %
    assert goal_verdict(20, 100, 5.0, at_most=True) == NOT_MET  # lower bound 13.3 %


def test_share_text_carries_count_and_interval():
    from sadpnet.stats import share_text

    assert share_text(5, 10) == "50.0 [23.7, 76.3] (10)"
    assert share_text(0, 0) == "no pattern"
