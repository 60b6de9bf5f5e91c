"""``POST /api/classify-batch``: several pattern files in, the table of `sadpnet.model.batch` out (one row per
file, as JSON rows or CSV), a thin layer over `sadpnet.model.batch.classify_table`.

`add_batch_route(app, model, model_lock)` registers it on the app of `sadpnet.web.app.create_app`. Each file
is classified on its own: a file that cannot be read (corrupt, empty, a type the readers do not know) is a
row with its ``error`` (naming the uploaded file, never the server's temporary one), not a failed request.
Example::

    curl -F file=@a.dm3 -F file=@b.tif 'http://127.0.0.1:8000/api/classify-batch?format=csv'
"""

from __future__ import annotations

import json
import threading
from typing import Annotated, Literal

from fastapi import File, Form, Query, UploadFile
from fastapi.responses import Response

from sadpnet.model.batch import DEFAULT_TOP_K, classify_table
from sadpnet.web.uploads import saved_uploads


class _Locked:
    """``model`` whose ``classify_images`` runs under ``lock`` (torch's thread setting is process-wide)."""

    def __init__(self, model, lock: threading.Lock):
        self.model, self.lock = model, lock
        self.card = getattr(model, "card", None) or {}

    def classify_images(self, patterns, **options):
        with self.lock:
            return self.model.classify_images(patterns, **options)


def add_batch_route(app, model, model_lock: threading.Lock) -> None:
    """Register ``POST /api/classify-batch`` on ``app``, classifying with the loaded ``model``."""
    locked = _Locked(model, model_lock)

    @app.post("/api/classify-batch", summary="Classify many patterns: one table row per file")
    def classify_batch(
        file: Annotated[list[UploadFile], File(description="Microscope files; repeat the field, one row each.")],
        calibration_inv_a_per_px: Annotated[float | None, Form(gt=0, description="1/A per pixel, for files "
                                                                                "without a calibration.")] = None,
        top_k: Annotated[int, Form(ge=1, le=230, description="How many space groups the top_k columns list.")]
        = DEFAULT_TOP_K,
        format: Annotated[Literal["json", "csv"], Query(description="json: {rows: [...]}; csv: the table.")]
        = "json",
    ):
        """The table of ``sadpnet classify --table`` (columns: see sadpnet.model.batch): as JSON
        ``{"model", "n_files", "n_failed", "columns", "rows": [{column: value}, ...]}``, or as CSV with
        ``?format=csv``. Files that cannot be read are rows with their ``error``."""
        names = [f.filename or f"file {i + 1}" for i, f in enumerate(file)]
        with saved_uploads([(n, f.file) for n, f in zip(names, file)]) as paths:
            table = classify_table(paths, model=locked, calibration_inv_a_per_px=calibration_inv_a_per_px,
                                   top_k=top_k, names=names)
        if format == "csv":
            return Response(table.to_csv(index=False), media_type="text/csv",
                            headers={"Content-Disposition": 'attachment; filename="sadpnet-classify.csv"'})
        return {"model": locked.card.get("name"), "n_files": len(table), "n_failed": int((table["error"] != "").sum()),
                "columns": list(table.columns), "rows": json.loads(table.to_json(orient="records"))}
