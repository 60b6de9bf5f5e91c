"""Zero-order Laue-zone nets against textbook geometry, and the look-alike analysis of a dataset.

Textbook facts used: fcc (a) allows hkl all even or all odd, so its [001] net is a square of side 2/a
(200 reflections) without 100 or 110; bcc (a') allows h+k+l even, so its [001] net is a square of side
sqrt(2)/a' (110 reflections) turned by 45 degrees. The two coincide when a = sqrt(2) a': Al (4.05 A) and
alpha-Fe (2.87 A) are within 0.3 % of that, a classic pair of look-alike [001] patterns.
"""

import numpy as np
import pandas as pd
import pytest


def test_zolz_net_of_fcc_and_bcc_follows_extinction_rules(al_crystal, fe_crystal):
    from sadpnet.simulate.zolz import shortest_length, zolz_net

    a_al = al_crystal.atoms.cell.cellpar()[0]
    pts, inten = zolz_net(al_crystal, (0, 0, 1), g_max_inv_a=1.2)
    r = np.sort(np.unique(np.round(np.hypot(*pts.T), 6)))
    assert r[0] == pytest.approx(2 / a_al, rel=1e-6)  # 200; 100 and 110 are extinct
    assert r[1] == pytest.approx(2 * np.sqrt(2) / a_al, rel=1e-6)  # 220
    assert inten.max() == pytest.approx(1.0) and np.all(inten >= 0.01)
    assert np.allclose(pts[np.argmin(np.hypot(*pts.T))][1], 0.0, atol=1e-12)  # x along the shortest g
    a_fe = fe_crystal.atoms.cell.cellpar()[0]
    pts_fe, _ = zolz_net(fe_crystal, (0, 1, 1), g_max_inv_a=1.2)
    r = np.sort(np.unique(np.round(np.hypot(*pts_fe.T), 6)))
    assert r[0] == pytest.approx(np.sqrt(2) / a_fe, rel=1e-6)  # 01-1
    assert r[1] == pytest.approx(2 / a_fe, rel=1e-6)  # 200 (100 extinct)
    assert shortest_length(pts_fe) == pytest.approx(np.sqrt(2) / a_fe, rel=1e-6)


def test_align_nets_is_scale_and_rotation_free(al_crystal, fe_crystal):
    from sadpnet.simulate.zolz import align_nets, pattern_distance, zolz_net

    al, _ = zolz_net(al_crystal, (0, 0, 1), g_max_inv_a=1.5)
    fe, _ = zolz_net(fe_crystal, (0, 0, 1), g_max_inv_a=1.5)
    ang = np.deg2rad(33.0)
    rot = np.array([[np.cos(ang), -np.sin(ang)], [np.sin(ang), np.cos(ang)]])
    assert pattern_distance(al, 2.7 * al @ rot.T) < 1e-9
    d, nn, kept = align_nets(al, fe)
    assert d < 0.01 and len(nn) == len(kept) > 4  # both square nets
    al_011, _ = zolz_net(al_crystal, (0, 1, 1), g_max_inv_a=1.5)
    assert pattern_distance(al, al_011) > 0.1  # square vs centred rectangle


def test_lookalikes_of_a_store(quick_store):
    """Al and Fe are both in the quick store's test split: compared with that split, Al [001] imitates Fe [001]
    (and back) at the same scale, while their [011] and [111] patterns differ."""
    from sadpnet.data.lookalikes import ensemble_lookalike_fraction, find_lookalikes, summarise

    per, pairs = find_lookalikes(quick_store, split="test", against="test", progress=False)
    assert set(per["material_id"]) == {"cod/Al", "cod/Fe"} and len(per) == 6
    flags = {(m, z): g for m, z, g in per[["material_id", "zone_axis", "geometric"]].itertuples(index=False)}
    assert flags == {("cod/Al", "001"): True, ("cod/Fe", "001"): True, ("cod/Al", "011"): False,
                     ("cod/Fe", "011"): False, ("cod/Al", "111"): False, ("cod/Fe", "111"): False}
    al = pairs[pairs["material_id"] == "cod/Al"].iloc[0]
    assert al["other_material_id"] == "cod/Fe" and al["other_label"] == 229 and al["shape_distance"] < 0.01
    # a scale tolerance below the 0.2 % mismatch of a(Al) / sqrt(2) a(Fe) removes the pair
    per_tight, _ = find_lookalikes(quick_store, split="test", against="test", scale_tol=0.001, progress=False)
    assert not per_tight["geometric"].any()
    s = summarise(per, pairs)
    n = per["n_patterns"].to_numpy()
    assert s["n_patterns"] == n.sum() == 12
    assert s["geometric_fraction"] == pytest.approx(n[per["geometric"].to_numpy()].sum() / n.sum())
    # [001] of Al and of Fe each have one look-alike of the other label and none of their own: both lost
    assert s["ceiling_estimate_geometric"] == pytest.approx(1 - n[per["zone_axis"].to_numpy() == "001"].sum() / n.sum())
    # one look-alike axis out of three: no 3-axis set is imitated on every axis
    assert ensemble_lookalike_fraction(per, pairs, "geometric") == 0.0
    preds = pd.DataFrame({"material_id": ["cod/Al", "cod/Al", "cod/Fe"], "zone_axis": ["001", "111", "011"],
                          "correct": [False, True, True]})
    p = summarise(per, pairs, preds)["predictions"]["geometric"]
    assert p["share_of_errors_on_lookalikes"] == 1.0 and p["accuracy_on_distinct"] == 1.0
    assert p["accuracy_on_lookalikes"] == 0.0


def test_ensemble_fraction_counts_sets_imitated_by_one_material():
    from sadpnet.data.lookalikes import ensemble_lookalike_fraction

    per = pd.DataFrame({"material_id": ["A"] * 4, "zone_axis": ["001", "011", "111", "012"]})
    # B imitates A on 001, 011, 111; C on 012 only: of the 4 sets of 3 axes, 1 is imitated on all three by B
    pairs = pd.DataFrame({"material_id": ["A"] * 4, "zone_axis": ["001", "011", "111", "012"],
                          "other_material_id": ["B", "B", "B", "C"], "intensity": [True, True, False, True]})
    assert ensemble_lookalike_fraction(per, pairs, "geometric") == pytest.approx(0.25)
    assert ensemble_lookalike_fraction(per, pairs, "intensity") == 0.0


def test_lookalikes_cli(quick_store, tmp_path, capsys):
    from sadpnet.cli.app import main

    def run(*args):
        try:
            main(["dataset", "lookalikes", *args])
            code = 0
        except SystemExit as exc:
            code = exc.code
        out = capsys.readouterr()
        return code, out.out, out.err

    code, out, _ = run(str(quick_store), "--against", "test", "-o", str(tmp_path / "lk"), "--no-progress")
    assert code == 0 and "geometric look-alikes" in out
    assert {p.name for p in (tmp_path / "lk").iterdir()} == {"lookalikes.md", "lookalikes.json",
                                                           "lookalikes.parquet", "lookalike_pairs.parquet"}
    bad = tmp_path / "preds.parquet"
    bad.write_bytes(b"not parquet")
    code, _, err = run(str(quick_store), "--predictions", str(bad), "--no-progress")
    assert code == 2 and err.count("\n") == 1 and "preds.parquet" in err
    code, _, err = run(str(quick_store), "--split", "nope", "--no-progress")
    assert code == 2 and "'nope' has no perfect-crystal pattern" in err
