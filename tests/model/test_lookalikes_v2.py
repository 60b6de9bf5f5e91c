"""Look-alikes of the v2 test set (`sadpnet.model.realtest.lookalike_classes`): a cubic pattern whose exact net
another class reproduces at some lattice parameter, checked on textbook cases, and the per-pattern accuracy
measured on the patterns without one."""

import math

import numpy as np
import pandas as pd
import pytest

from sadpnet.crystal.cif import read_cif
from sadpnet.model.indexing import CLASSES
from sadpnet.model.lattice_fit import Fit, fit_classes
from sadpnet.model.realtest import (LOOKALIKE_TOL_RELATIVE, exact_net_spots, lookalike_classes, lookalike_markdown,
                                    lookalike_summary, lookalikes, summary)
from sadpnet.resources import resource_path

G_MAX = 1.70  # 1/A: the inscribed detector circle at 200 kV, 300 mm, 256 px
PX = 0.0133


def _crystal(name):
    return read_cif(resource_path("cifs", "crystals_COD", f"{name}.cif"))


def _exact_fits(name, zone):
    spots = exact_net_spots(_crystal(name), zone, G_MAX)
    return fit_classes(spots, pixel_size_inv_a=PX, tol_relative=LOOKALIKE_TOL_RELATIVE, tol_pixels=0.0,
                       missing_share=1.0)  # as the look-alike rule: complete nets


def test_fcc_001_is_a_lookalike_of_bcc_001_at_a_over_sqrt2():
    fits = _exact_fits("Al", (0, 0, 1))
    assert 229 in lookalike_classes(fits, 225)
    bcc = fits[229][0]
    assert bcc.score == pytest.approx(1.0) and bcc.zone == (0, 0, 1)
    assert bcc.a_a == pytest.approx(4.0495 / math.sqrt(2), rel=0.005)
    assert 221 in lookalike_classes(fits, 225)  # and of simple cubic at a / 2
    assert 213 not in lookalike_classes(fits, 225)  # P4_132 lacks h00 with h != 4n: holes in its [001] net


def test_bcc_001_is_a_lookalike_of_fcc_001_at_a_sqrt2():
    fits = _exact_fits("Fe", (0, 0, 1))
    assert 225 in lookalike_classes(fits, 229)
    assert fits[225][0].a_a == pytest.approx(2.8665 * math.sqrt(2), rel=0.01)


def test_fcc_011_is_not_a_lookalike_of_bcc_nor_of_any_class():
    fits = _exact_fits("Al", (0, 1, 1))
    assert fits[225][0].score == pytest.approx(1.0)
    assert fits[229][0].score < 0.9
    assert lookalike_classes(fits, 225) == []


def test_every_class_looks_alike_on_111():
    assert sorted(lookalike_classes(_exact_fits("Al", (1, 1, 1)), 225)) == [213, 221, 227, 229]


def test_diamond_011_is_told_by_its_structure_absences_though_its_net_is_incomplete():
    # Si [011] lacks 200 and 222 (222: absent by the atoms' site, not by the space group), so no class explains
    # it completely; 227 still explains it best, so it is no look-alike.
    fits = _exact_fits("Si", (0, 1, 1))
    assert fits[227][0].score < 1.0
    assert lookalike_classes(fits, 227) == []


def _fit(group, score):
    return Fit(group, (0, 0, 1), 4.0, score, 1.0, 1.0 - score, 10)


def test_lookalike_rule_is_a_tie_with_the_true_class_best_score():
    fits = {c: [_fit(c, s)] for c, s in zip(CLASSES, (0.3, 0.8, 0.8, 0.8 - 1e-3, 0.9))}
    assert lookalike_classes(fits, 225) == [221, 229]
    assert lookalike_classes(fits, 229) == []
    # no hypothesis at all (one systematic row): every class ties
    assert lookalike_classes({c: [] for c in CLASSES}, 221) == [213, 225, 227, 229]


def _holdout():
    return pd.DataFrame({"material_id": ["cod/Al", "cod/Fe"], "space_group": [225, 229]})


def test_lookalikes_of_shots_and_the_accuracy_without_them():
    zones = [(0, 0, 1), (0, 1, 1), (0, 0, 1), (0, 1, 1)]
    shots = {"material": np.array(["cod/Al", "cod/Al", "cod/Fe", "cod/Fe"]), "zone": np.array(zones),
             "image": np.zeros((4, 256, 256), np.uint8), "pixel_size_inv_a": np.full(4, PX)}
    la = lookalikes(shots, _holdout())
    # Al [001] and Fe [001] look alike (fcc / bcc / sc nets); Al [011] does not; bcc [011] = sc [011] at a/sqrt2
    assert la["lookalike"].tolist() == [True, False, True, True]
    assert 221 in la["classes"][3]
    assert la["near"].tolist() == [True, False, True, True]
    answers = {"answer": np.array(["225", "225", "225", "221"])}
    out = summary(answers, shots, _holdout(), role="cubic", lookalike=la)
    assert (out["pattern"]["k"], out["pattern"]["n"]) == (2, 4)
    assert (out["pattern_distinct"]["k"], out["pattern_distinct"]["n"]) == (1, 1)
    assert (out["pattern_lookalike"]["k"], out["pattern_lookalike"]["n"]) == (1, 3)
    assert (out["pattern_distinct_cod/Fe"]["k"], out["pattern_distinct_cod/Fe"]["n"]) == (0, 0)
    s = lookalike_summary(la, shots, _holdout())
    assert (s["exact"]["class 225"]["k"], s["exact"]["class 225"]["n"]) == (1, 2)
    assert (s["exact"]["zone [001]"]["k"], s["exact"]["zone [001]"]["n"]) == (2, 2)
    assert s["exact_looks_like"]["225"]["229"] == 1
    assert "| class 229 | 100.0" in lookalike_markdown(s)
