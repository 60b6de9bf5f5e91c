"""``sadpnet classify``: space group of diffraction patterns in microscope files."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from sadpnet.cli.base import app
from sadpnet.model import DEFAULT_TOP_K


@app.command("classify")
def classify_command(
    images: List[Path] = typer.Argument(..., help="Pattern files (DM3/DM4, TIFF, PNG/JPEG, MRC, EMD, .npy) or "
                                        "folders of them."),
    model: Optional[Path] = typer.Option(None, "--model", help="Model folder (card.json + model.safetensors), "
                                         "or a shipped model's name: default, defect-aware, extended-symmetry "
                                         "[default: the shipped default model]."),
    ensemble: bool = typer.Option(False, "--ensemble", help="Also combine all images (one specimen, e.g. several "
                                  "zone axes) into one answer."),
    calibration: Optional[float] = typer.Option(None, "--calibration-inv-a-per-px",
                                                help="Calibration, 1/A per pixel, for files that carry none."),
    top_k: int = typer.Option(DEFAULT_TOP_K, "--top-k", help="How many space groups to list per image."),
    as_json: bool = typer.Option(False, "--json", help="Print the documented JSON result."),
    table: Optional[Path] = typer.Option(None, "--table", help="Write one row per file to this table (.csv or "
                                         ".parquet); files that cannot be read become rows with their error."),
    recursive: bool = typer.Option(False, "--recursive", help="Also take the image files in sub-folders of "
                                   "folders."),
) -> None:
    """Classify patterns: top-k space groups with calibrated probabilities, and an 'unknown' verdict."""
    import json

    from sadpnet.model.batch import expand_inputs
    from sadpnet.model.infer import classify_paths

    if table is not None:
        _classify_to_table(images, table, model, calibration, top_k, recursive, ensemble or as_json)
        return
    res = classify_paths(expand_inputs(images, recursive), model_dir=model, ensemble=ensemble,
                         calibration_inv_a_per_px=calibration, top_k=top_k)
    if as_json:
        typer.echo(json.dumps(res, indent=2))
        return
    for im in res["images"]:
        typer.echo(f"{im['source']}: {_verdict(im)}")
        cal = im["calibration"]
        typer.echo(f"  calibration {cal['pixel_size_inv_a']:.6g} 1/A per px ({cal['source']}), centre "
                   + ("-" if im["centre_xy"] is None else f"({im['centre_xy'][0]:.1f}, {im['centre_xy'][1]:.1f}) px"))
        for t in im["top"]:
            typer.echo(f"  {_name(t):<28} {100 * t['probability']:6.2f} %")
    if res["ensemble"] is not None:
        e = res["ensemble"]
        typer.echo(f"ensemble of {e['n_images']} images: {_verdict(e)}")
        for t in e["top"]:
            typer.echo(f"  {_name(t):<28} {100 * t['probability']:6.2f} %")


def _classify_to_table(images, table: Path, model, calibration, top_k: int, recursive: bool, other: bool) -> None:
    """``--table``: `sadpnet.model.batch.classify_table` with a progress bar over files, written atomically."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from sadpnet.errors import InputError
    from sadpnet.model.batch import classify_table, table_format, write_table

    table_format(table)  # a bad suffix is refused before any work
    if other:
        raise InputError("writes one row per file: leave out --ensemble and --json", "--table")
    columns = (TextColumn("classifying"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
               TextColumn("{task.description}"))
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task("", total=None)
        rows = classify_table(images, model_dir=model, calibration_inv_a_per_px=calibration, top_k=top_k,
                              recursive=recursive,
                              on_file=lambda i, n, name: bar.update(task, completed=i, total=n,
                                                                    description=Path(name).name))
    write_table(rows, table)
    failed = int((rows["error"] != "").sum())
    unknown = int(rows["unknown"].fillna(False).sum())
    typer.echo(f"{len(rows)} files: {len(rows) - failed} classified ({unknown} unknown), {failed} failed"
               + (" (their error is in the table's error column)" if failed else "") + f". Wrote {table}.")


def _name(t: dict) -> str:
    if "space_group" in t:
        return f"{t['space_group']} {t['symbol']} ({t['crystal_system']})"
    return str(t["label"])


def _verdict(r: dict) -> str:
    p = r["prediction"]
    if r["unknown"]["verdict"]:
        return f"UNKNOWN (out of distribution; closest {_name(p)}, {100 * p['probability']:.1f} %)"
    sig = r["unknown"].get("defect_signature")
    if sig and sig["flagged"]:
        return (f"{_name(p)}, {100 * p['probability']:.1f} % (warning: {' or '.join(sig['classes'])} signature, "
                f"p {sig['probability']:.2f} > {sig['threshold']:.2f}: the space group may be wrong)")
    gate = r.get("defect_gate")
    if gate is not None:  # a defect-gated mixture model: how much the defect-trained network decided
        return f"{_name(p)}, {100 * p['probability']:.1f} % (defect gate {gate['probability']:.2f})"
    groups = r.get("groups")
    if groups and "space_group" in p and groups["cubic"] > p["probability"] + 0.005:  # spot-indexing models
        return (f"{_name(p)}, {100 * p['probability']:.1f} % (a cubic crystal of the five: "
                f"{100 * groups['cubic']:.1f} %)")
    return f"{_name(p)}, {100 * p['probability']:.1f} %"
