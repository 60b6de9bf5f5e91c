"""``POST /api/classify-batch``: several uploads, one table row each (the table of ``sadpnet classify --table``);
unreadable uploads are rows with their error naming the uploaded file; ``?format=csv`` gives the same table."""

from __future__ import annotations

import io

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from test_web_api import post_files
from web_helpers import FakeModel, spot_pattern, write_formats

from sadpnet.model.batch import TABLE_COLUMNS
from sadpnet.web.app import create_app


@pytest.fixture(scope="module")
def uploads(tmp_path_factory):
    folder = tmp_path_factory.mktemp("batch")
    files = write_formats(folder, spot_pattern(96))
    broken = folder / "broken.tif"
    broken.write_bytes(files["tiff"].read_bytes()[:200])
    text = folder / "notes.txt"
    text.write_text("not an image")
    return [files["png8"], files["npy"], broken, text]


def _post(client, paths, url="/api/classify-batch", **form):
    return post_files(client, paths, url, **form)


def test_batch_rows_as_json_and_csv(uploads):
    model = FakeModel()
    client = TestClient(create_app(model=model, max_upload_mb=8))
    r = _post(client, uploads, calibration_inv_a_per_px=0.01, top_k=1)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["columns"] == list(TABLE_COLUMNS) and body["n_files"] == 4 and body["n_failed"] == 2
    rows = body["rows"]
    assert [row["file"] for row in rows] == ["pattern8.png", "pattern.npy", "broken.tif", "notes.txt"]
    assert model.calls == 2  # the unreadable files never reach the model
    for row in rows[:2]:
        assert row["error"] == "" and row["answer"] == f"{row['space_group']} ?" and row["probability"] == 0.9
        assert row["calibration_inv_a_per_px"] == 0.01 and row["model"] == "fake-test-model"
    assert "TIFF" in rows[2]["error"] and "unknown image extension" in rows[3]["error"]
    assert rows[2]["answer"] == "" and rows[2]["probability"] is None
    assert not any("sadpnet-web-" in str(v) or "/tmp" in str(v) for row in rows for v in row.values())

    r = _post(client, uploads, url="/api/classify-batch?format=csv", calibration_inv_a_per_px=0.01, top_k=1)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    table = pd.read_csv(io.StringIO(r.text), keep_default_na=False)
    assert list(table.columns) == list(TABLE_COLUMNS)
    assert table["file"].tolist() == [row["file"] for row in rows]
    assert table["error"].tolist() == [row["error"] for row in rows]


def test_batch_bad_parameters_are_4xx(uploads):
    client = TestClient(create_app(model=FakeModel(), max_upload_mb=8))
    assert _post(client, uploads[:1], calibration_inv_a_per_px=-1).status_code == 422
    assert _post(client, uploads[:1], top_k=0).status_code == 422
    assert _post(client, uploads[:1], url="/api/classify-batch?format=xlsx").status_code == 422
    assert client.post("/api/classify-batch").status_code == 422  # no files
    assert client.get("/api/health").status_code == 200
