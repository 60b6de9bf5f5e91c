"""Batch classification: ``sadpnet classify FOLDER --table out.csv|.parquet`` and `classify_table`: one row per
file, unreadable files as rows with their error, CSV and Parquet round trips, bad suffixes exit 2."""

from __future__ import annotations

import json

import numpy as np
import pytest

from sadpnet.cli.app import main

#: (file stem, example crystal, space group, zone axis) of the simulated patterns
PATTERNS = (("al_011", "Al", 225, (0, 1, 1)), ("fe_011", "Fe", 229, (0, 1, 1)), ("si_011", "Si", 227, (0, 1, 1)))


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """Three simulated PNGs (calibration in the file), a corrupt PNG, a text file renamed .png, and a .txt note
    (not an image suffix: left out of the folder's expansion)."""
    from sadpnet.resources import example_cif
    from sadpnet.simulate import render, save_pattern, simulate

    root = tmp_path_factory.mktemp("patterns")
    for stem, name, _, zone in PATTERNS:
        p = simulate(example_cif(name), zone, voltage_kv=200, camera_length_mm=300, cells=(12, 12, 8))
        save_pattern(p, render(p), root / f"{stem}.png")
    good = (root / "al_011.png").read_bytes()
    (root / "broken.png").write_bytes(good[: len(good) // 3])
    (root / "notes.png").write_text("beam current 2 nA, 200 kV")
    (root / "notes.txt").write_text("not an image")
    return root


@pytest.fixture(scope="module")
def table(folder):
    from sadpnet.model.batch import classify_table

    seen = []
    t = classify_table([folder], on_file=lambda i, n, name: seen.append((i, n)))
    assert seen == [(i, 5) for i in range(1, 6)]  # progress reaches its total
    return t


def test_rows_columns_and_error_rows(table, folder):
    from sadpnet.model.batch import TABLE_COLUMNS

    assert tuple(table.columns) == TABLE_COLUMNS
    names = [p.split("/")[-1] for p in table["file"]]
    assert names == ["al_011.png", "broken.png", "fe_011.png", "notes.png", "si_011.png"]  # sorted, .txt left out
    ok = table[table["error"] == ""]
    bad = table[table["error"] != ""].set_index(table["file"][table["error"] != ""].map(lambda p: p.split("/")[-1]))
    assert len(ok) == 3 and set(bad.index) == {"broken.png", "notes.png"}
    assert all("PNG" in e and "\n" not in e for e in bad["error"])
    assert bad["answer"].tolist() == ["", ""] and bad["probability"].isna().all() and bad["unknown"].isna().all()
    by_name = dict(zip(names, table.itertuples()))
    for stem, _, group, _ in PATTERNS:
        row = by_name[f"{stem}.png"]
        assert row.answer == f"{row.space_group} {row.symbol}" and 0 < row.probability <= 1
        top = json.loads(row.top_k_json)
        assert len(top) == 3 and top[0]["space_group"] == row.space_group
        assert row.top_k.split("; ")[0] == f"{row.answer} {row.probability:.3f}"
        assert row.calibration_source == "file" and row.calibration_inv_a_per_px > 0
        assert row.model == "default" or row.model
        assert isinstance(row.unknown, (bool, np.bool_)) and np.isfinite(row.unknown_score)
    # the same answers as classifying the files one by one through the single-file API
    from sadpnet.model.infer import classify_paths

    res = classify_paths([folder / "al_011.png", folder / "fe_011.png"], top_k=3)
    for im in res["images"]:
        row = by_name[im["source"].split("/")[-1]]
        top = json.loads(row.top_k_json)  # (one image at a time here, two in one batch there: float rounding)
        assert [t["space_group"] for t in top] == [t["space_group"] for t in im["top"]]
        assert [t["probability"] for t in top] == pytest.approx([t["probability"] for t in im["top"]], rel=1e-5)
        assert row.unknown_score == pytest.approx(im["unknown"]["score"], rel=1e-5)


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_cli_table_round_trip(table, folder, tmp_path, suffix, capsys):
    from pandas.testing import assert_frame_equal

    from sadpnet.model.batch import read_table

    out = tmp_path / f"answers{suffix}"
    with pytest.raises(SystemExit) as e:
        main(["classify", str(folder), "--table", str(out)])
    assert e.value.code in (0, None)
    stdout = capsys.readouterr().out
    assert "5 files: 3 classified" in stdout and "2 failed" in stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == [out.name]  # no temporary file left
    back = read_table(out)
    assert_frame_equal(back, table, check_exact=False, rtol=1e-6)


def test_files_and_bad_input(folder, tmp_path, capsys):
    from sadpnet.model.batch import classify_table

    t = classify_table([folder / "fe_011.png", folder / "notes.txt"], top_k=2)
    assert t["file"].tolist() == [str(folder / "fe_011.png"), str(folder / "notes.txt")]
    assert t["error"][0] == "" and "unknown image extension" in t["error"][1]
    assert len(json.loads(t["top_k_json"][0])) == 2

    def one_line(argv):
        with pytest.raises(SystemExit) as e:
            main(argv)
        err = capsys.readouterr().err
        lines = [ln for ln in err.splitlines() if ln.strip()]
        assert e.value.code == 2 and len(lines) == 1, err
        return lines[0]

    assert "--table" in one_line(["classify", str(folder), "--table", str(tmp_path / "answers.xlsx")])
    assert "--table" in one_line(["classify", str(folder), "--table", str(tmp_path / "a.csv"), "--ensemble"])
    assert "nope" in one_line(["classify", str(folder / "nope"), "--table", str(tmp_path / "a.csv")])
    empty = tmp_path / "empty"
    empty.mkdir()
    assert "empty" in one_line(["classify", str(empty), "--table", str(tmp_path / "a.csv")])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty"]  # nothing written


def test_recursive_and_plain_output_take_folders(folder, tmp_path, capsys):
    import shutil

    from sadpnet.model.batch import expand_inputs

    nested = tmp_path / "session" / "day2"
    nested.mkdir(parents=True)
    shutil.copy(folder / "al_011.png", nested / "al.png")
    shutil.copy(folder / "fe_011.png", tmp_path / "session" / "fe.png")
    assert [p.name for p in expand_inputs([tmp_path / "session"])] == ["fe.png"]
    assert [p.name for p in expand_inputs([tmp_path / "session"], recursive=True)] == ["al.png", "fe.png"]
    with pytest.raises(SystemExit) as e:  # without --table, a folder is classified as its files
        main(["classify", str(tmp_path / "session"), "--recursive", "--json"])
    assert e.value.code in (0, None)
    res = json.loads(capsys.readouterr().out)
    assert [im["source"].split("/")[-1] for im in res["images"]] == ["al.png", "fe.png"]
