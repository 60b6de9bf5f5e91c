"""Defects drawn on the fly for a defect-aware training stream: every family builds the specimen it names from
the drawn crystal, keeps the parent's label, is reproducible from its seed, and falls back to thermal
vibration where a crystal cannot take it."""

import numpy as np
import pytest

from sadpnet.cli.app import main
from sadpnet.crystal.cif import read_cif
from sadpnet.data.stream_defects import FAMILY_WEIGHTS, MAX_SUPERCELL_ATOMS, draw_defect, draw_family
from sadpnet.model.indexing_data import NOT_DEFECTABLE, UNKNOWN_INDEX, draw_pattern, draw_pattern_with_family
from sadpnet.resources import resource_path


def _crystal(name):
    return read_cif(resource_path("cifs", "crystals_COD", f"{name}.cif"))


@pytest.fixture(scope="module")
def cu():
    return _crystal("Cu")


@pytest.mark.parametrize("family", ["vacancy", "substitution", "interstitial"])
def test_point_defect_families_make_a_periodic_supercell_with_one_defect(cu, family):
    d = draw_defect(cu, (0, 0, 1), np.random.default_rng(3), family=family)
    assert d.family == family and d.options["engine"] == "cell" and d.zone_axis == (0, 0, 1)
    n = d.params["supercell"][0]
    unit = d.source.unit
    assert len(unit) == 4 * n ** 3 + {"vacancy": -1, "substitution": 0, "interstitial": 1}[family]
    assert len(unit) <= MAX_SUPERCELL_ATOMS + 1
    symbols = set(unit.get_chemical_symbols())
    assert symbols == {"Cu"} if family == "vacancy" else len(symbols) == 2


def test_thermal_family_displaces_atoms_and_turns_the_debye_waller_factor_off(cu):
    d = draw_defect(cu, (0, 1, 1), np.random.default_rng(5), family="thermal")
    assert d.family == "thermal" and d.options == {"engine": "cell", "debye_waller": False}
    ideal = cu.atoms.repeat(d.params["supercell"]).positions
    u_rms = np.sqrt(((d.source.unit.positions - ideal) ** 2).mean())  # rms per axis
    assert u_rms == pytest.approx(np.sqrt(d.params["b_a2"] / (8 * np.pi ** 2)), rel=0.35)


def test_strain_family_strains_the_cell(cu):
    d = draw_defect(cu, (1, 1, 1), np.random.default_rng(2), family="strain")
    a = cu.atoms.cell.cellpar()
    b = d.source.atoms.cell.cellpar()
    assert d.family == "strain" and not np.allclose(a, b) and np.allclose(a, b, rtol=0.04, atol=2.0)


@pytest.mark.parametrize("family, axis", [("twin", (1, -1, 0)), ("dislocation", None)])
def test_atoms_engine_families_are_seen_edge_on(cu, family, axis):
    d = draw_defect(cu, (0, 0, 1), np.random.default_rng(1), family=family)
    assert d.family == family and d.options == {"engine": "atoms"}
    assert d.zone_axis == axis if axis else d.zone_axis in {(1, 1, -2), (1, 1, 1), (1, -1, 0)}
    assert len(d.source.unit) > 50_000  # a block of about 40 x 30 x 20 cells


def test_a_family_the_crystal_cannot_take_falls_back_to_thermal():
    si = _crystal("Si")  # diamond: no named interstitial site, no dislocation elastic constants
    for family in ("interstitial", "dislocation"):
        assert draw_defect(si, (0, 0, 1), np.random.default_rng(0), family=family).family == "thermal"


def test_draws_are_reproducible_and_follow_the_weights(cu):
    a = draw_defect(cu, (0, 0, 1), np.random.default_rng(11), family="substitution")
    b = draw_defect(cu, (0, 0, 1), np.random.default_rng(11), family="substitution")
    assert a.params == b.params
    rng = np.random.default_rng(0)
    counts = {f: 0 for f in FAMILY_WEIGHTS}
    for _ in range(4000):
        counts[draw_family(rng)] += 1
    total = sum(FAMILY_WEIGHTS.values())
    for f, w in FAMILY_WEIGHTS.items():
        assert counts[f] / 4000 == pytest.approx(w / total, abs=0.03)


def test_periodic_vacancy_pattern_keeps_the_parent_spots_and_adds_superlattice_ones(cu):
    from sadpnet.simulate.api import simulate

    d = draw_defect(cu, (0, 0, 1), np.random.default_rng(0), family="vacancy")
    n = d.params["supercell"][0]
    parent = simulate(cu, (0, 0, 1), debye_waller=False)
    defected = simulate(d.source, d.zone_axis, debye_waller=False, engine="cell")
    g_parent = np.array([s.g_inv_a for s in parent.spots if s.intensity >= 1e-3])
    g_def = np.array([s.g_inv_a for s in defected.spots if s.intensity >= 1e-6])
    dist = np.hypot(*(g_parent[:, None, :] - g_def[None]).transpose(2, 0, 1)).min(axis=1)
    assert len(g_parent) > 10 and dist.max() < 1e-6  # every parent reflection is still there
    a_star = 1 / cu.atoms.cell.cellpar()[0]
    off_parent = np.abs(g_def / (2 * a_star) - np.round(g_def / (2 * a_star))).max(axis=1) > 1e-3
    assert off_parent.sum() > 0  # superlattice reflections of the n x n x n supercell
    assert np.allclose(np.round(g_def * n / a_star) * a_star / n, g_def, atol=1e-6)


def test_train_indexing_refuses_a_defect_share_outside_0_1(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["train-indexing", "-o", str(tmp_path / "m"), "--defects", "1.5"])
    err = capsys.readouterr().err.strip().splitlines()
    assert exc.value.code == 2 and err == ["sadpnet: error: --defects: must be between 0 and 1, got 1.5"]
    assert not (tmp_path / "m").exists()



def test_a_supercell_the_cell_engine_would_refuse_is_not_drawn():
    # Cu's 4-atom cell stretched to a = 11 A: a 2x2x2 supercell has 32 atoms (within the atom cap) but
    # atoms x volume 32 x 10,648 A^3 = 3.4e5, beyond what the cell engine tabulates out to 5 1/A; vacancy and
    # thermal fall back to the Debye-Waller factor (no supercell) instead of failing in the renderer
    big = _crystal("Cu")
    big.atoms.set_cell(big.atoms.cell * (11.0 / big.atoms.cell.lengths()[0]), scale_atoms=True)
    for family in ("vacancy", "thermal"):
        d = draw_defect(big, (0, 0, 1), np.random.default_rng(1), family=family)
        assert d.family == "thermal" and d.options == {"engine": "cell", "debye_waller": d.params["b_a2"]}


def test_a_defected_specimen_the_renderer_refuses_falls_back_to_the_pristine_pattern(monkeypatch):
    from sadpnet.data import stream_defects

    seed = next(s for s in range(40) if draw_pattern(s)[1] < 5)  # a cubic draw
    clean = draw_pattern(seed)
    monkeypatch.setattr(stream_defects, "draw_defect", lambda crystal, zone, rng, cells_z, cache=None: stream_defects.DrawnDefect(
        crystal, tuple(zone), "strain", {"engine": "no-such-engine"}))
    fallback = draw_pattern(seed, 1.0)
    assert fallback[1:] == clean[1:]
    np.testing.assert_array_equal(np.asarray(fallback[0].image), np.asarray(clean[0].image))
    assert draw_pattern_with_family(seed, 1.0)[4] == "none"  # drawn, refused: the pristine crystal


def test_the_family_reported_is_the_one_applied(monkeypatch):
    """`draw_pattern_with_family` names the family of the specimen it rendered (here strain, forced through
    the real `draw_defect`), and draws what `draw_pattern` draws."""
    from sadpnet.data import stream_defects

    seed = next(s for s in range(40) if draw_pattern(s)[1] < 5)  # a cubic draw
    clean = draw_pattern(seed)
    applied = []

    def strain_only(crystal, zone, rng, cells_z, cache=None):
        applied.append(draw_defect(crystal, zone, rng, cells_z=cells_z, cache=cache, family="strain"))
        return applied[-1]

    monkeypatch.setattr(stream_defects, "draw_defect", strain_only)
    shot, label, zone, name, family = draw_pattern_with_family(seed, 1.0)
    assert family == applied[0].family == "strain"
    assert (label, zone, name) == (clean[1], applied[0].zone_axis, clean[3])
    assert not np.array_equal(np.asarray(shot.image), np.asarray(clean[0].image))  # the strained crystal
    again = draw_pattern(seed, 1.0)
    np.testing.assert_array_equal(np.asarray(again[0].image), np.asarray(shot.image))
    assert again[1:] == (label, zone, name)


def test_patterns_without_a_defect_report_none_or_not_defectable():
    """Defect rate 0: "none" for cubic crystals, "-" for non-cubic ones and junk; the same draw as before."""
    seen = set()
    for seed in range(8):
        shot, label, zone, name, family = draw_pattern_with_family(seed)
        seen.add(family)
        assert family == ("none" if label < 5 else NOT_DEFECTABLE)
        old = draw_pattern(seed)
        assert old[1:] == (label, zone, name)
        junk = label == UNKNOWN_INDEX  # (uint8 image, 1/A per pixel)
        np.testing.assert_array_equal(np.asarray(old[0][0] if junk else old[0].image),
                                      np.asarray(shot[0] if junk else shot.image))
    assert seen == {"none", NOT_DEFECTABLE}
