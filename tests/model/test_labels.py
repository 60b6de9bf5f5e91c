"""Labels (column and appearance schemes), temperature scaling, ECE and AUROC against direct definitions."""

from __future__ import annotations

import numpy as np
import pytest

from sadpnet.errors import InputError
from sadpnet.model.calibrate import expected_calibration_error, fit_temperature, softmax
from sadpnet.model.labels import LabelScheme, space_group_symbol, zone_key
from sadpnet.model.unknown import auroc


def test_column_scheme_and_symbols():
    s = LabelScheme.from_column([229, 225, 229, 213])
    assert s.classes == ["213", "225", "229"] and s.encode(229) == 2 and s.encode("225") == 1
    assert space_group_symbol(229) == "Im-3m" and space_group_symbol(227) == "Fd-3m"
    with pytest.raises(InputError):
        s.encode(221)
    assert zone_key("[0 1 1]") == zone_key([0, 1, 1]) == zone_key("011") == "011"
    cs = LabelScheme.from_column(["cubic", "tetragonal"], "crystal_system")
    assert cs.space_groups == []
    # a strained specimen's own space group (extended-symmetry models) is a space-group label too
    ss = LabelScheme.from_column([225, 139, 12, 229], "specimen_space_group")
    assert ss.classes == ["12", "139", "225", "229"] and ss.space_groups == [12, 139, 225, 229]


def test_appearance_groups_follow_the_geometry():
    from sadpnet.model.appearance import appearance_groups

    groups, _ = appearance_groups([(0, 0, 1), (0, 1, 1), (1, 1, 1)])
    where = {k: i for i, g in enumerate(groups) for k in g}
    # physics notes: [011] of sc and bcc are both sqrt(2) rectangles; [111] of sc, bcc, fcc are hexagonal nets
    assert where["221:011"] == where["229:011"]
    assert where["221:111"] == where["225:111"] == where["229:111"]
    assert where["221:001"] == where["225:001"] == where["229:001"]  # square nets
    assert where["225:011"] != where["229:011"]  # fcc [011] is a centred rectangle, not sqrt(2)
    scheme = LabelScheme.appearance(groups)
    m = scheme.mapping_matrix()
    np.testing.assert_allclose(m.sum(axis=1), 1.0)
    k = scheme.encode(221, "011")
    p = np.zeros((1, scheme.num_classes))
    p[0, k] = 1.0
    sg = dict(zip(scheme.space_groups, scheme.space_group_probabilities(p)[0]))
    assert sg[221] == pytest.approx(0.5) and sg[229] == pytest.approx(0.5)


def test_temperature_recovers_true_temperature():
    rng = np.random.default_rng(0)
    z = rng.normal(0, 3, size=(4000, 5))
    p_true = softmax(z, 2.5)  # labels drawn from softmax(z / 2.5): T = 2.5 is exact
    y = np.array([rng.choice(5, p=row) for row in p_true])
    t = fit_temperature(z, y)
    assert t == pytest.approx(2.5, rel=0.1)
    assert expected_calibration_error(softmax(z, t), y) < expected_calibration_error(softmax(z), y)
    assert expected_calibration_error(softmax(z, t), y) < 0.03


def test_auroc_matches_pair_counting():
    rng = np.random.default_rng(1)
    a, b = rng.normal(0, 1, 60), rng.normal(1, 1, 50)
    a[:5] = b[:5]  # ties count half
    direct = np.mean([(bj > ai) + 0.5 * (bj == ai) for ai in a for bj in b])
    assert auroc(a, b) == pytest.approx(direct, abs=1e-12)


def test_appearance_space_groups_follow_the_look_alike_nets():
    """Square nets: fcc, bcc, sc and diamond [001] all look alike up to scale; every cubic [111] net is
    hexagonal; fcc [011] ({111} and {200} spots) looks like no other; every axis of one cubic form counts as the
    standard one, and a space group without a representative crystal has no group."""
    from sadpnet.model.appearance import appearance_space_groups, canonical_cubic_zone

    assert canonical_cubic_zone((1, -1, 2)) == (1, 1, 2) and canonical_cubic_zone([1, 1, 0]) == (0, 1, 1)
    assert appearance_space_groups(225, (0, 0, 1)) >= {221, 225, 229}
    assert appearance_space_groups(229, (1, 1, 1)) == {213, 221, 225, 227, 229}
    assert appearance_space_groups(225, (0, 1, 1)) == {225}
    assert appearance_space_groups(225, (1, 1, 0)) == appearance_space_groups(225, (0, 1, 1))
    assert appearance_space_groups(229, (1, 0, 1)) == {221, 229}  # sc and bcc [011]: rectangles of ratio sqrt(2)
    assert appearance_space_groups(139, (0, 0, 1)) is None
