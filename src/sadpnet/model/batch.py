"""Classify a folder (or list) of pattern files into a table: one row per file, failures included.

Python API (``sadpnet classify FOLDER --table out.csv`` and the web page's ``POST /api/classify-batch`` are
thin layers over it):

* ``expand_inputs(paths, recursive=False) -> list[Path]``: folders become their supported image files
  (`sadpnet.io.FORMATS` suffixes, sorted by name; sub-folders only with ``recursive``); files stay as given.
* ``classify_table(paths, *, model=None, model_dir=None, calibration_inv_a_per_px=None, top_k=3, names=None,
  on_file=None) -> pandas.DataFrame``: one row per file, in order (`TABLE_COLUMNS`). A file that cannot be
  read or classified becomes a row with its ``error`` and empty answer columns; it never stops the batch.
* ``write_table(table, path)``: CSV (``.csv``) or Parquet (``.parquet``, ``.pq``) by suffix, atomically.

Columns: ``file``; ``answer`` ("225 Fm-3m", or the label of a non-space-group model), ``space_group``,
``symbol``, ``probability`` (calibrated, of the answer); ``top_k`` ("225 Fm-3m 0.912; 229 Im-3m 0.050")
and ``top_k_json`` (the result's ``top`` list as JSON); ``unknown`` (bool), ``unknown_score``,
``unknown_threshold``; ``calibration_inv_a_per_px`` and ``calibration_source`` ("file" | "option");
``model``; ``warning`` (defect signature, calibration notes; "" if none) and ``error`` ("" if none).

Example::

    >>> from sadpnet.model.batch import classify_table, write_table
    >>> table = classify_table(["patterns/"], calibration_inv_a_per_px=0.0266)      # doctest: +SKIP
    >>> write_table(table, "answers.csv")                                            # doctest: +SKIP
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Callable

from sadpnet.errors import InputError

TABLE_COLUMNS = ("file", "answer", "space_group", "symbol", "probability", "top_k", "top_k_json", "unknown",
                 "unknown_score", "unknown_threshold", "calibration_inv_a_per_px", "calibration_source", "model",
                 "warning", "error")
DEFAULT_TOP_K = 3
TABLE_SUFFIXES = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}
_NOTE_KEYS = ("note", "note_calibration", "file_calibration_ignored")


def table_format(path: str | Path, option: str = "--table") -> str:
    """"csv" or "parquet" by the suffix of ``path``; any other suffix -> `InputError` naming ``option``."""
    fmt = TABLE_SUFFIXES.get(Path(path).suffix.lower())
    if fmt is None:
        raise InputError(f"{str(path)!r}: the table's format is chosen by its suffix: "
                         f"{', '.join(TABLE_SUFFIXES)}", option)
    return fmt


def expand_inputs(paths, recursive: bool = False) -> list[Path]:
    """The files to classify: each folder in ``paths`` replaced by its image files (suffixes of
    `sadpnet.io.FORMATS`, sorted; with ``recursive`` also those of its sub-folders), files kept as given.

    Raises:
        InputError: a path that does not exist, a folder without image files, or nothing given.
    """
    from sadpnet.io import FORMATS

    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            found = sorted(f for f in (p.rglob("*") if recursive else p.iterdir())
                           if f.is_file() and f.suffix.lower() in FORMATS)
            if not found:
                raise InputError(f"no image files ({' '.join(sorted(FORMATS))}) in this folder"
                                 + ("" if recursive else " (sub-folders: --recursive)"), p)
            out += found
        elif p.exists():
            out.append(p)
        else:
            raise InputError("no such file or folder", p)
    if not out:
        raise InputError("no images given", "IMAGE")
    return out


def classify_table(paths, *, model=None, model_dir=None, calibration_inv_a_per_px: float | None = None,
                   top_k: int = DEFAULT_TOP_K, recursive: bool = False, names=None,
                   on_file: Callable[[int, int, str], None] | None = None):
    """One row per pattern file (see the module docstring for the columns), in the order of
    `expand_inputs` (``paths``: files and folders).

    Args:
        model: a loaded classifier (`sadpnet.model.infer.load_model`); default: load ``model_dir`` (a folder or
            a shipped model's name; None: the shipped default).
        calibration_inv_a_per_px: 1/A per pixel for files that carry no calibration of their own.
        top_k: how many answers the ``top_k`` columns list.
        names: what the ``file`` column shows for each expanded path (e.g. uploaded names); default: the path.
        on_file: called as ``on_file(i, n, name)`` after each file (progress).

    Returns:
        pandas.DataFrame with `TABLE_COLUMNS`; rows of failed files have their ``error`` set.

    Raises:
        InputError: bad options (top-k < 1, calibration not positive), a missing path or an empty folder,
            a model that cannot be loaded. Problems of single files go into their rows instead.
    """
    import pandas as pd

    from sadpnet.io import load_pattern
    from sadpnet.model.infer import load_model

    files = expand_inputs(paths, recursive)
    names = [str(p) for p in files] if names is None else [str(n) for n in names]
    if len(names) != len(files):
        raise InputError(f"{len(names)} names for {len(files)} files", "names")
    if top_k < 1:
        raise InputError(f"top-k must be at least 1, got {top_k}", "--top-k")
    model = load_model(model_dir) if model is None else model
    model_name = (getattr(model, "card", None) or {}).get("name") or Path(str(model_dir or "default")).name
    rows = []
    for i, (path, name) in enumerate(zip(files, names)):
        try:
            pattern = load_pattern(path)
            result = model.classify_images([pattern], calibration_inv_a_per_px=calibration_inv_a_per_px,
                                           top_k=top_k, ensemble=False)
            rows.append(_row(name, model_name, result["images"][0], getattr(pattern, "metadata", None) or {}))
        except InputError as exc:
            if exc.where in ("--calibration-inv-a-per-px", "--top-k"):
                raise  # an option, not this file, is wrong
            rows.append(_error_row(name, model_name, _problem(exc, path, name)))
        except (OSError, ValueError, RuntimeError, MemoryError) as exc:  # a reader or library failing on a file
            rows.append(_error_row(name, model_name, _problem(InputError(f"{type(exc).__name__}: {exc}"), path, name)))
        if on_file is not None:
            on_file(i + 1, len(files), name)
    return _frame(pd, rows)


def _problem(exc: InputError, path: Path, name: str) -> str:
    """The message of a file's error, naming the file as ``name`` (never a temporary path)."""
    text = exc.problem if exc.where in (str(path), name, None) else f"{exc.where}: {exc.problem}"
    text = text.replace(str(path), name)
    return text if name == str(path) else text.replace(path.name, name)


def _answer(t: dict) -> str:
    return f"{t['space_group']} {t['symbol']}" if "space_group" in t else str(t["label"])


def _row(name: str, model_name: str, im: dict, metadata: dict) -> dict:
    top, unknown, cal = im["top"], im["unknown"], im["calibration"]
    warnings = [str(metadata[k]) for k in _NOTE_KEYS if metadata.get(k)]
    sig = unknown.get("defect_signature")
    if sig and sig["flagged"]:
        warnings.insert(0, f"{' or '.join(sig['classes'])} signature (p {sig['probability']:.2f} > "
                           f"{sig['threshold']:.2f}): the space group may be wrong")
    if unknown["verdict"]:
        warnings.insert(0, f"unknown: out of distribution (score {unknown['score']:.3g} > "
                           f"{unknown['threshold']:.3g}); the answer is only the closest class")
    return {"file": name, "answer": _answer(top[0]), "space_group": top[0].get("space_group"),
            "symbol": top[0].get("symbol"), "probability": top[0]["probability"],
            "top_k": "; ".join(f"{_answer(t)} {t['probability']:.3f}" for t in top),
            "top_k_json": json.dumps(top), "unknown": bool(unknown["verdict"]),
            "unknown_score": float(unknown["score"]), "unknown_threshold": float(unknown["threshold"]),
            "calibration_inv_a_per_px": float(cal["pixel_size_inv_a"]), "calibration_source": cal["source"],
            "model": model_name, "warning": "; ".join(warnings), "error": ""}


def _error_row(name: str, model_name: str, error: str) -> dict:
    return {"file": name, "model": model_name, "warning": "", "error": " ".join(error.split())}


_TYPES = {"space_group": "Int64", "probability": "Float64", "unknown": "boolean", "unknown_score": "Float64",
          "unknown_threshold": "Float64", "calibration_inv_a_per_px": "Float64"}


def _frame(pd, rows: list[dict]):
    """The rows as a DataFrame with `TABLE_COLUMNS` and types that survive CSV and Parquet: nullable numbers
    and flags (missing on error rows), text columns "" where empty."""
    df = pd.DataFrame(rows, columns=list(TABLE_COLUMNS))
    for col in TABLE_COLUMNS:
        df[col] = df[col].astype(_TYPES[col]) if col in _TYPES else df[col].astype("string").fillna("")
    return df


def read_table(path: str | Path):
    """A table written by `write_table` (CSV or Parquet by suffix), with the column types of `classify_table`."""
    import pandas as pd

    path = Path(path)
    if table_format(path, str(path)) == "parquet":
        return _frame(pd, pd.read_parquet(path).to_dict("records"))
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    for col in _TYPES:
        text = df[col].replace("", None)
        df[col] = text.map({"True": True, "False": False}) if _TYPES[col] == "boolean" else pd.to_numeric(text)
    return _frame(pd, df.to_dict("records"))


def write_table(table, path: str | Path) -> Path:
    """Write ``table`` (from `classify_table`) as CSV or Parquet by the suffix of ``path``, atomically
    (temporary name, then rename). Raises `InputError` naming ``--table`` for another suffix."""
    from sadpnet.atomic_write import atomic_path

    path = Path(path)
    fmt = table_format(path)
    with atomic_path(path) as tmp:
        if fmt == "csv":
            table.to_csv(tmp, index=False)
        else:
            table.to_parquet(tmp, index=False)
    return path
