"""Building a store: determinism across workers, table <-> images, splits, card, refusals, disk full."""

import errno
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import yaml

from sadpnet.data.build import build_dataset
from sadpnet.data.store import done_chunks, open_images, read_meta, read_table, verify_store
from sadpnet.errors import InputError
from sadpnet.resources import resource_path

QUICK = Path(__file__).resolve().parents[2] / "specs" / "quick.yaml"


def test_existing_dask_cluster_of_two_workers_gives_byte_identical_images(quick_store, tmp_path):
    # an existing cluster reached by its address (--scheduler); the resume test covers --workers 2
    from dask.distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster:
        card = build_dataset(QUICK, tmp_path / "w2", scheduler=cluster.scheduler_address, progress=False)
    assert card["workers"] == f"scheduler {cluster.scheduler_address}"
    a, b = open_images(quick_store)[:], open_images(tmp_path / "w2")[:]
    assert a.dtype == b.dtype == np.uint8 and a.shape == (24, 128, 128)
    assert np.array_equal(a, b)
    assert read_table(quick_store).equals(read_table(tmp_path / "w2"))


def test_table_describes_each_image(quick_store):
    from sadpnet.crystal import read_cif
    from sadpnet.simulate.api import simulate
    from sadpnet.simulate.detector import render

    table = read_table(quick_store)
    images = open_images(quick_store)
    assert images.shape[0] == len(table) and list(table.pattern_index) == list(range(len(table)))
    assert all(images[i].max() > 0 for i in range(len(table)))  # every chunk written
    spec = yaml.safe_load(QUICK.read_text())
    for i in (0, 13, len(table) - 1):  # re-make three patterns from their row alone
        r = table.iloc[i]
        aug = json.loads(r.augment)
        p = simulate(read_cif(resource_path(*r.source.split("/"))), (r.zone_u, r.zone_v, r.zone_w),
                     voltage_kv=r.voltage_kv, camera_length_mm=r.camera_length_mm, size_px=128,
                     cells=tuple(int(x) for x in r.cells.split()), inplane_rotation_deg=r.inplane_rotation_deg,
                     tilt_mrad=(r.tilt_x_mrad, r.tilt_y_mrad))
        assert p.pixel_size_inv_a == pytest.approx(r.pixel_size_inv_a, rel=1e-12)
        img = render(p, seed=int(r.seed), bits=8, **{**spec["render"], **aug["render"]})
        assert np.array_equal(img, images[i])


def test_splits_by_material_held_out_and_card_counts(quick_store):
    table = read_table(quick_store)
    assert (table.groupby("group_id").split.nunique() == 1).all()
    assert set(table[table.formula.isin(["Al", "Fe"])].split) == {"test"}
    assert set(table[~table.formula.isin(["Al", "Fe"])].split) <= {"train", "val"}
    card = json.loads((quick_store / "card.json").read_text())
    assert card["n_patterns"] == len(table)
    assert card["per_space_group"] == {str(k): int(v) for k, v in table.space_group.value_counts().items()}
    for split, d in card["per_split"].items():
        assert d["patterns"] == int((table.split == split).sum())
    assert sum(card["per_zone_axis"].values()) == len(table)
    assert "Dataset card: quick" in (quick_store / "card.md").read_text()
    assert read_meta(quick_store)["state"] == "complete" and verify_store(quick_store) == []


def test_store_from_newer_version_refused(quick_store, tmp_path):
    copy = tmp_path / "newer"
    shutil.copytree(quick_store, copy)
    meta = json.loads((copy / "store.json").read_text())
    meta["store_version"] = 99
    (copy / "store.json").write_text(json.dumps(meta))
    for call in (lambda: read_meta(copy), lambda: build_dataset(QUICK, copy, workers=0, progress=False)):
        with pytest.raises(InputError, match="newer store version"):
            call()


def test_changed_spec_refused_unless_overwrite(quick_store, tmp_path):
    copy = tmp_path / "store"
    shutil.copytree(quick_store, copy)
    spec = yaml.safe_load(QUICK.read_text())
    spec["seed"] = 8
    other = tmp_path / "other.yaml"
    other.write_text(yaml.safe_dump(spec))
    before = open_images(copy)[:]
    with pytest.raises(InputError, match="different spec"):
        build_dataset(other, copy, workers=0, progress=False)
    assert np.array_equal(open_images(copy)[:], before)  # untouched
    build_dataset(other, copy, workers=0, progress=False, overwrite=True)
    assert not np.array_equal(open_images(copy)[:], before)
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "notes.txt").write_text("mine")
    with pytest.raises(InputError, match="not a dataset store"):
        build_dataset(QUICK, tmp_path / "junk", workers=0, progress=False, overwrite=True)
    assert (tmp_path / "junk" / "notes.txt").read_text() == "mine"


def test_disk_full_is_one_line_error_and_resume_completes(quick_store, tmp_path, monkeypatch):
    import sadpnet.data.store as store

    real = store.write_text_atomic
    calls = {"n": 0}

    def full_after_two_chunks(path, text):
        if str(path).endswith(".done"):
            calls["n"] += 1
            if calls["n"] > 2:
                raise OSError(errno.ENOSPC, "No space left on device")
        return real(path, text)

    monkeypatch.setattr(store, "write_text_atomic", full_after_two_chunks)
    out = tmp_path / "full"
    with pytest.raises(InputError, match="disk full") as err:
        build_dataset(QUICK, out, workers=0, progress=False)
    assert "\n" not in str(err.value)
    assert len(done_chunks(out)) == 2 and not (out / "card.json").exists()
    assert verify_store(out) == []
    monkeypatch.setattr(store, "write_text_atomic", real)
    build_dataset(QUICK, out, workers=0, progress=False)
    assert np.array_equal(open_images(out)[:], open_images(quick_store)[:])


def test_cli_info_preview_and_errors(quick_store, tmp_path, capsys):
    from PIL import Image

    from sadpnet.cli.app import main

    def run(*args):
        try:
            main(["dataset", *args])
            code = 0
        except SystemExit as exc:
            code = exc.code
        out = capsys.readouterr()
        return code, out.out, out.err

    code, out, _ = run("info", str(quick_store))
    assert code == 0 and "24 patterns of 4 materials" in out
    code, out, _ = run("preview", str(quick_store), "-o", str(tmp_path / "sheet.png"), "--n", "4", "--split", "test")
    assert code == 0 and Image.open(tmp_path / "sheet.png").size[0] > 200
    code, _, err = run("info", str(tmp_path))
    assert code == 2 and err.count("\n") == 1 and "not a sadpnet dataset store" in err
    code, _, err = run("build", str(tmp_path / "missing.yaml"), "-o", str(tmp_path / "x"))
    assert code == 2 and "no such spec file" in err and not (tmp_path / "x").exists()


def test_resume_with_other_simulation_code_refused(quick_store, tmp_path):
    out = tmp_path / "partial"
    state = build_dataset(QUICK, out, workers=0, progress=False, max_chunks=2)
    assert state["state"] == "building" and len(done_chunks(out)) == 2
    meta = json.loads((out / "store.json").read_text())
    assert len(meta["simulator_digest"]) == 16
    meta["simulator_digest"] = "0" * 16  # as if crystal/defects/simulate had changed since the build started
    (out / "store.json").write_text(json.dumps(meta))
    with pytest.raises(InputError, match="other simulation code"):
        build_dataset(QUICK, out, workers=0, progress=False)
    assert len(done_chunks(out)) == 2
    build_dataset(QUICK, out, workers=0, progress=False, overwrite=True)
    assert np.array_equal(open_images(out)[:], open_images(quick_store)[:])


def test_worker_side_chunk_write_reports_a_full_disk(quick_store, tmp_path, monkeypatch):
    """Local Dask workers write their chunks' pixels themselves (`compute_and_write_chunk`): the pixels and
    digest match the store's, and a full disk comes back as None (the client then raises the one-line error)."""
    import sadpnet.data.store as store
    from sadpnet.data.build import _ROW_COLUMNS, compute_and_write_chunk
    from sadpnet.data.store import chunk_digest

    copy = tmp_path / "copy"
    shutil.copytree(quick_store, copy)
    spec = json.loads((copy / "spec.json").read_text())
    n_chunk = read_meta(copy)["chunk_patterns"]
    rows = read_table(copy)[list(_ROW_COLUMNS)].iloc[:n_chunk].to_dict("records")
    before = open_images(copy)[:n_chunk]
    open_images(copy, mode="r+")[:n_chunk] = 0
    digest, relax, n = compute_and_write_chunk(rows, spec, str(copy), 0, n_chunk)
    assert n == n_chunk and relax == [] and digest == chunk_digest(before)
    assert np.array_equal(open_images(copy)[:n_chunk], before)

    class Full:
        def __setitem__(self, key, value):
            raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(store, "open_images", lambda root, mode="r": Full())
    assert compute_and_write_chunk(rows, spec, str(copy), 0, n_chunk)[0] is None
