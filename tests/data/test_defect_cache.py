"""The defect cache of the defect-aware training stream (issue 18): blocks round-trip, a second build builds
nothing, a corrupt or foreign file is refused with one line naming it, random placements have no repeat
period and keep the parent's label, and the stream without a cache draws what it drew before."""

import hashlib
import json

import numpy as np
import pytest

from sadpnet.crystal import read_cif
from sadpnet.data.defect_cache import DefectCache, build_defect_cache, crystal_key
from sadpnet.data.stream_defects import _BUILDERS, ATOMS_FAMILIES, CACHE_FAMILY_WEIGHTS, draw_defect, draw_family
from sadpnet.errors import InputError
from sadpnet.resources import example_cif


@pytest.fixture(scope="module")
def al():
    return read_cif(example_cif("Al"))


@pytest.fixture(scope="module")
def fe():
    return read_cif(example_cif("Fe"))


@pytest.fixture(scope="module")
def built(tmp_path_factory, al, fe):
    folder = tmp_path_factory.mktemp("cache")
    summary = build_defect_cache([al, fe, al], folder, per_crystal=1, families=["twin", "point_random"])
    return folder, summary


def test_blocks_round_trip_equal_to_the_builder(built, al):
    folder, summary = built
    assert summary["crystals"] == 2 and summary["built"] == 2 and summary["blocks"] == 4
    key = crystal_key(al)
    cache = DefectCache(folder)
    for family in ("twin", "point_random"):
        (path,) = cache.blocks(al, family)
        got = cache.load(path, al, (0, 0, 1), np.random.default_rng(0))
        rng = np.random.default_rng([0, int(key[:8], 16), ATOMS_FAMILIES.index(family), 0])
        ref = _BUILDERS[family](al, (0, 0, 1), rng, 20)
        assert got.family == family and got.options == ref.options and got.zone_axis == ref.zone_axis
        assert np.array_equal(got.source.unit.numbers, ref.source.unit.numbers)
        assert np.allclose(got.source.unit.positions, ref.source.unit.positions, atol=1e-3)
        assert got.source.parent is al
    assert cache.blocks(al, "dislocation") is None  # not built: the stream builds it on the fly
    meta = json.loads((folder / "cache.json").read_text())
    assert meta["seed"] == 0 and meta["per_crystal"] == 1 and meta["families"] == ["twin", "point_random"]


def test_a_second_build_builds_nothing(built, al, fe):
    folder, _ = built
    before = {p: p.stat().st_mtime_ns for p in folder.rglob("*.npz")}
    again = build_defect_cache([fe, al], folder, per_crystal=1, families=["twin", "point_random"])
    assert again["built"] == 0 and again["reused"] == 2
    assert {p: p.stat().st_mtime_ns for p in folder.rglob("*.npz")} == before


def test_a_cache_of_other_settings_is_refused(built, al):
    folder, _ = built
    with pytest.raises(InputError, match="per_crystal 1 .asked 3.*use another folder") as exc:
        build_defect_cache([al], folder, per_crystal=3, families=["twin", "point_random"])
    assert str(folder / "cache.json") in str(exc.value) and "\n" not in str(exc.value)


def test_a_corrupt_block_is_named_in_one_line(tmp_path, al):
    build_defect_cache([al], tmp_path, per_crystal=1, families=["twin"])
    (path,) = DefectCache(tmp_path).blocks(al, "twin")
    path.write_bytes(b"not an npz")
    with pytest.raises(InputError) as exc:
        draw_defect(al, (0, 0, 1), np.random.default_rng(0), family="twin", cache=DefectCache(tmp_path))
    assert str(path) in str(exc.value) and "\n" not in str(exc.value)
    (tmp_path / "cache.json").unlink()
    with pytest.raises(InputError, match="not a defect cache"):
        DefectCache(tmp_path)


def test_a_block_of_another_crystal_is_refused(tmp_path, al, fe):
    build_defect_cache([al, fe], tmp_path, per_crystal=1, families=["twin"])
    cache = DefectCache(tmp_path)
    (al_block,) = cache.blocks(al, "twin")
    (fe_block,) = cache.blocks(fe, "twin")
    fe_block.write_bytes(al_block.read_bytes())
    with pytest.raises(InputError, match="another crystal") as exc:
        cache.load(fe_block, fe, (0, 0, 1), np.random.default_rng(0))
    assert str(fe_block) in str(exc.value)


def _tiles(specimen):
    """The first six tiles of a random-placement specimen: (Z, position relative to the tile's corner) of
    their atoms, sorted."""
    unit, tiles = specimen.unit, specimen.metadata["tiles"]
    n = len(unit) // int(np.prod(tiles))
    sc = np.asarray(unit.cell) / np.array(tiles)[:, None]
    out = []
    for t in range(6):
        pos = unit.positions[t * n:(t + 1) * n]
        corner = np.floor(np.linalg.solve(sc.T, pos.mean(0))) @ sc
        rows = np.column_stack([unit.numbers[t * n:(t + 1) * n], np.round(pos - corner, 2)])
        out.append(rows[np.lexsort(rows.T[::-1])])
    return out


@pytest.mark.parametrize("family", ["thermal_random", "point_random"])
def test_random_placements_have_no_repeat_period_and_the_parent_label(al, family):
    d = draw_defect(al, (0, 1, 1), np.random.default_rng(4), family=family)
    assert d.family == family and d.options["engine"] == "atoms" and d.zone_axis == (0, 1, 1)
    assert d.source.parent is al and d.source.parent.space_group_number == 225
    assert d.source.metadata["tiling"] == "shuffled" and np.prod(d.source.metadata["tiles"]) > 100
    first, *others = _tiles(d.source)
    assert all(t.shape == first.shape for t in others)
    assert not all(np.allclose(first, t, atol=0.02) for t in others)  # the tiles differ: no repeat period
    if family == "thermal_random":
        assert d.source.metadata["realisations"] == np.prod(d.source.metadata["tiles"])  # a snapshot per tile
        assert d.options["debye_waller"] is False


def test_random_families_are_drawn_only_with_a_cache():
    rng = np.random.default_rng(0)
    assert not {draw_family(rng) for _ in range(2000)} & {"thermal_random", "point_random"}
    drawn = {draw_family(rng, CACHE_FAMILY_WEIGHTS) for _ in range(2000)}
    assert {"thermal_random", "point_random"} <= drawn


#: draw_pattern(seed, 1.0) before the cache existed (commit 261d2c5): sha256 of the image, label, zone axis.
_BEFORE = {5: ("7075022658a60e9b", 4, [0, 0, 1]), 6: ("5151816118e34063", 3, [2, 3, 3]),
           9: ("1b8a65893681ef27", 2, [0, 1, 1]), 12: ("f9957f854463d3d6", 4, [-4, -3, -3]),
           19: ("920c0ffbf3991537", 4, [-1, -2, 3]), 37: ("3e145afd455341fa", 1, [1, 1, 2])}


@pytest.mark.parametrize("seed", sorted(_BEFORE))
def test_the_stream_without_a_cache_draws_what_it_drew_before(seed):
    from sadpnet.model.indexing_data import draw_pattern

    shot, label, zone, _ = draw_pattern(seed, 1.0)
    digest = hashlib.sha256(np.ascontiguousarray(shot.image).tobytes()).hexdigest()[:16]
    assert (digest, label, list(zone)) == _BEFORE[seed]


@pytest.mark.parametrize("args, option", [(["--defect-cache", "X"], "--defect-cache"),
                                          (["--defects", "0.5", "--defect-blocks", "0"], "--defect-blocks")])
def test_train_indexing_refuses_bad_cache_options_in_one_line(tmp_path, capsys, args, option):
    from sadpnet.cli.app import main

    with pytest.raises(SystemExit) as exc:
        main(["train-indexing", "-o", str(tmp_path / "m"), *[str(tmp_path / a) if a == "X" else a for a in args]])
    err = capsys.readouterr().err.strip().splitlines()
    assert exc.value.code == 2 and len(err) == 1 and option in err[0]
    assert not (tmp_path / "m").exists()


@pytest.mark.slow
def test_train_indexing_records_the_cache_in_the_card(tmp_path, monkeypatch, al, fe):
    from sadpnet.model import indexing_data
    from sadpnet.model.spot_model import load_spot_model
    from sadpnet.model.spot_train import train_spot_indexing

    monkeypatch.setattr(indexing_data, "cubic_crystals", lambda: [al, fe])  # a small cache: others built on the fly
    out, cache = tmp_path / "m", tmp_path / "cache"
    info = train_spot_indexing(out, n_train=6, n_val=3, n_val_sets=2, n_generated_cubic=1, n_generated_other=2,
                               epochs=2, defect_rate=0.5, defect_cache=cache, defect_blocks=1)
    card = load_spot_model(out).card
    assert info["defects"]["cache"]["builds"]["train"]["built"] == 2
    assert info["defects"]["cache"]["builds"]["val"]["built"] == 0
    assert card["training"]["defects"]["cache"]["folder"] == str(cache)
    assert "point_random" in card["training"]["defects"]["family_weights"]
    assert f"--defect-cache {cache} --defect-blocks 1" in card["command"]
