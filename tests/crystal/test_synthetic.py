"""Random crystals (sadpnet.crystal.synthetic) and their prior (sadpnet.crystal.prior)."""

import itertools
import os
import subprocess
import sys

import numpy as np
import pytest
import spglib
from ase.data import covalent_radii

from sadpnet.crystal import crystal_system, read_cif
from sadpnet.crystal.cif import DEFAULT_SYMPREC_A
from sadpnet.crystal.prior import CrystalPrior, fit_prior, load_prior
from sadpnet.crystal.synthetic import non_cubic_groups, random_crystal, sample_crystals
from sadpnet.errors import InputError
from sadpnet.resources import example_cif

#: One space group of every crystal system.
ONE_PER_SYSTEM = (2, 14, 62, 139, 166, 194, 225)


def _spglib_number(atoms) -> int:
    ds = spglib.get_symmetry_dataset((np.asarray(atoms.cell), atoms.get_scaled_positions(), atoms.numbers),
                                     symprec=DEFAULT_SYMPREC_A)
    return int(ds.number)


def _closest_over_radii(atoms) -> float:
    """Smallest d_ij / (r_i + r_j) over all pairs and periodic images within +-2 cells (brute force)."""
    frac = atoms.get_scaled_positions()
    cell = np.asarray(atoms.cell)
    r = covalent_radii[atoms.numbers]
    shifts = np.array(list(itertools.product(range(-2, 3), repeat=3)))
    best = np.inf
    for i in range(len(atoms)):
        d = (frac[None, :, :] + shifts[:, None, :] - frac[i]) @ cell  # (images, atoms, 3)
        dist = np.linalg.norm(d, axis=-1)
        ratio = dist / (r[i] + r[None, :])
        ratio[dist < 1e-8] = np.inf  # the atom itself
        best = min(best, float(ratio.min()))
    return best


def test_same_seed_same_crystal():
    for g in (14, 225):
        a = random_crystal(g, np.random.default_rng(11))
        b = random_crystal(g, np.random.default_rng(11))
        assert a.formula == b.formula
        assert np.array_equal(a.atoms.numbers, b.atoms.numbers)
        assert np.allclose(a.atoms.cell, b.atoms.cell) and np.allclose(a.atoms.positions, b.atoms.positions)
    c = random_crystal(14, np.random.default_rng(12))
    assert not (len(c.atoms) == len(a.atoms) and np.allclose(c.atoms.cell, a.atoms.cell))


def test_requested_group_recovered_by_spglib_in_every_crystal_system():
    for g in ONE_PER_SYSTEM:
        for seed in range(2):
            c = random_crystal(g, np.random.default_rng(seed))
            assert c.space_group_number == g
            assert _spglib_number(c.atoms) == g  # independent check on the returned cell


def test_distance_rule_over_many_seeds():
    ratios = [_closest_over_radii(c.atoms) for c in sample_crystals(ONE_PER_SYSTEM, 24, seed=5, max_atoms=8)]
    assert len(ratios) == 24
    assert min(ratios) >= 0.7 - 1e-9
    tight = [_closest_over_radii(c.atoms) for c in sample_crystals([225, 62], 4, seed=6, min_distance_scale=0.9,
                                                                   max_atoms=8)]
    assert min(tight) >= 0.9 - 1e-9


def test_max_atoms_caps_the_primitive_cell():
    for c in sample_crystals([225, 139, 12], 9, seed=3, max_atoms=6):
        cellsize = {"F": 4, "I": 2, "C": 2}.get(c.space_group_symbol[0], 1)
        assert len(c.atoms) / cellsize <= 6


def test_given_composition_is_kept():
    c = random_crystal(225, np.random.default_rng(0), composition={"Na": 4, "Cl": 4})
    assert sorted(c.atoms.get_chemical_symbols()) == ["Cl"] * 4 + ["Na"] * 4 and c.space_group_number == 225


@pytest.mark.parametrize("kwargs, where", [
    ({"space_group": 225, "composition": {"Na": 3}}, "composition"),  # no Wyckoff orbit of Fm-3m has 3 sites
    ({"space_group": 225, "composition": {"Xx": 4}}, "composition"),
    ({"space_group": 225, "composition": {"Na": 0}}, "composition"),
    ({"space_group": 0}, "space_group"),
    ({"space_group": 231}, "space_group"),
    ({"space_group": 225, "max_atoms": 0}, "max_atoms"),
    ({"space_group": 225, "min_distance_scale": -1.0}, "min_distance_scale"),
    ({"space_group": 225, "composition": {"Na": "4"}}, "composition"),
])
def test_impossible_requests_raise_input_error(kwargs, where):
    g = kwargs.pop("space_group")
    with pytest.raises(InputError) as err:
        random_crystal(g, np.random.default_rng(0), **kwargs)
    assert str(err.value).startswith(f"{where}: ") and "\n" not in str(err.value)


def test_prior_json_round_trip(tmp_path):
    prior = load_prior()
    again = CrystalPrior.from_json(prior.to_json())
    assert again == prior
    path = prior.save(tmp_path / "p.json")
    assert load_prior(path) == prior
    (tmp_path / "bad.json").write_text('{"version": 1}')
    with pytest.raises(InputError, match="bad.json"):
        load_prior(tmp_path / "bad.json")


def test_shipped_prior_loads_without_parsing_cifs(monkeypatch):
    import sadpnet.crystal.prior as prior_module

    def no_cif(*args, **kwargs):
        raise AssertionError("read_cif called")

    monkeypatch.setattr(prior_module, "read_cif", no_cif)
    prior_module._shipped_prior.cache_clear()
    prior = load_prior()
    assert prior.provenance["command"].startswith("sadpnet crystal prior")
    assert prior.overall.n_examples == prior.provenance["crystals_fitted"] > 1000
    assert {crystal_system(g) for g in prior.groups} == set(prior.systems)


def test_fit_on_a_handful_of_cifs():
    paths = [example_cif(n) for n in ("Al", "Cu", "Fe", "W")]
    prior = fit_prior(paths, exclude=["W"], min_group_examples=2)
    assert prior.provenance["crystals_fitted"] == 3 and prior.provenance["excluded"] == 1
    assert prior.groups[225].n_examples == 2 and prior.groups[225].n_atoms == {4: 2}
    assert prior.groups[225].elements == {"Al": 1, "Cu": 1}
    assert prior.groups[225].stoichiometries == {"4": 2}
    assert prior.stats(225) is prior.groups[225]
    assert prior.stats(229) is prior.systems["cubic"]  # one bcc crystal: falls back to its system
    al = read_cif(paths[0])
    v_ratio = al.atoms.cell.volume / (4 * 4 / 3 * np.pi * covalent_radii[13] ** 3)
    cu = read_cif(paths[1])
    v_ratio_cu = cu.atoms.cell.volume / (4 * 4 / 3 * np.pi * covalent_radii[29] ** 3)
    assert prior.groups[225].log_packing_mean == pytest.approx(np.mean(np.log([v_ratio, v_ratio_cu])), abs=1e-5)
    with pytest.raises(InputError, match="cif_paths"):
        fit_prior(paths, exclude=[p.stem for p in paths])


def test_random_crystals_simulate_with_the_cell_engine():
    from sadpnet.simulate.api import simulate

    for g in (225, 194):
        c = random_crystal(g, np.random.default_rng(4), max_atoms=8)
        p = simulate(c, (0, 0, 1), engine="cell", size_px=64, cells=(8, 8, 8))
        assert p.intensity.shape == (64, 64) and np.isfinite(p.intensity).all() and p.intensity.max() > 0
        assert p.space_group == g and len(p.spots) > 0


def test_non_cubic_groups_cover_every_non_cubic_system():
    weights = non_cubic_groups()
    systems = {crystal_system(g) for g in weights}
    assert systems == {"triclinic", "monoclinic", "orthorhombic", "tetragonal", "trigonal", "hexagonal"}
    assert sum(weights.values()) == pytest.approx(1.0)
    assert weights[194] > weights[2]  # hcp is far more common than P-1 in the shipped collections
    assert all(crystal_system(c.space_group_number) != "cubic" for c in sample_crystals(weights, 3, seed=1))


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "sadpnet", *args], capture_output=True, text=True)


def test_cli_random_writes_a_cif(tmp_path):
    out = tmp_path / "r.cif"
    r = _cli("crystal", "random", "--space-group", "225", "--seed", "3", "-o", str(out))
    assert r.returncode == 0, r.stderr
    c = read_cif(out)
    assert c.space_group_number == 225
    assert c.formula in r.stdout and "space group 225" in r.stdout and "a=" in r.stdout
    again = tmp_path / "again.cif"  # another process, another hash seed: the same crystal
    r2 = subprocess.run([sys.executable, "-m", "sadpnet", "crystal", "random", "--space-group", "225", "--seed", "3",
                         "-o", str(again)], capture_output=True, text=True, env={**os.environ, "PYTHONHASHSEED": "7"})
    assert r2.returncode == 0 and again.read_text() == out.read_text()
    r = _cli("crystal", "random", "--space-group", "231", "-o", str(tmp_path / "bad.cif"))
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1 and "--space-group" in r.stderr
    assert not (tmp_path / "bad.cif").exists()
    r = _cli("crystal", "random", "-g", "225", "--composition", "Na=3", "-o", str(tmp_path / "bad.cif"))
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1 and "--composition" in r.stderr
    assert not (tmp_path / "bad.cif").exists()


@pytest.mark.parametrize("composition, option", [("Na=4 Cl=4", "--composition"), (None, "--space-group")])
def test_cli_random_that_no_draw_can_place_is_one_line_exit_2(tmp_path, capsys, monkeypatch, composition, option):
    # a composition that fits the Wyckoff positions but not the distances (e.g. Na=4 Cl=4 in 225 with
    # --min-distance-scale 2: 30 pyxtal draws, half a minute) ends in GenerationError: one line, exit 2
    import sadpnet.crystal.synthetic as synthetic
    from sadpnet.cli.app import main

    def no_luck(space_group, *args, **kwargs):
        raise synthetic.GenerationError(f"space group {space_group}: no structure passed the checks in 30 draws "
                                        "(pyxtal)")

    monkeypatch.setattr(synthetic, "random_crystal", no_luck)
    out = tmp_path / "x.cif"
    argv = ["crystal", "random", "-g", "225", "--min-distance-scale", "2", "-o", str(out)]
    with pytest.raises(SystemExit) as exc:
        main(argv + ([] if composition is None else ["--composition", composition]))
    err = capsys.readouterr().err.strip().splitlines()
    assert exc.value.code == 2 and len(err) == 1, err
    assert err[0].startswith(f"sadpnet: error: {option}: space group 225") and "--min-distance-scale" in err[0]
    assert not out.exists()


def test_cli_prior_unknown_exclude_is_exit_2(tmp_path):
    out = tmp_path / "p.json"
    r = _cli("crystal", "prior", "-o", str(out), "--exclude", "cod/NoSuchThing")
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "--exclude" in r.stderr and "cod/NoSuchThing" in r.stderr
    assert not out.exists()


def test_exclude_file_reads_plain_ids_or_a_material_id_column(tmp_path):
    from sadpnet.cli.crystal import _read_ids

    (tmp_path / "ids.txt").write_text("cod/Al\n\ncod/Fe\n")
    (tmp_path / "ids.csv").write_text("material_id,family_id,role\ncod/Al,225-Al,named\ncod/Fe,229-Fe,named\n")
    assert _read_ids(tmp_path / "ids.txt") == _read_ids(tmp_path / "ids.csv") == ["cod/Al", "cod/Fe"]
    r = _cli("crystal", "prior", "-o", str(tmp_path / "p.json"), "--exclude-file", str(tmp_path / "none.csv"))
    assert r.returncode == 2 and "none.csv" in r.stderr and not (tmp_path / "p.json").exists()
