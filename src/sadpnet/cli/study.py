"""``sadpnet study``: the paper's robustness study (every test set, every model) and its report."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from sadpnet.cli.base import app


@app.command("study")
def study_command(
    quick: bool = typer.Option(True, "--quick/--full",
                               help="Quick mode (a few grid points per test set, minutes on 2 cores) or the "
                                    "paper's full 3 x 3 x 16 grid for every set."),
    out: Path = typer.Option(Path("out/study"), "-o", "--out", help="Report directory (report.md, report.html, "
                                                                    "results.json, plots/)."),
    model: Optional[List[str]] = typer.Option(None, "--model",
                                              help="Model to evaluate, NAME=DIR or DIR; repeat for several. "
                                                   "Default: the shipped models that exist of clean-trained "
                                                   "v2 (spot-index), defect-aware v2, clean-trained v1 "
                                                   "(default), defect-aware v1 and extended-symmetry."),
    seed: int = typer.Option(0, "--seed", help="Seed of every random choice (grid points, defect realisations)."),
    patterns_per_set: int = typer.Option(6, "--patterns-per-set", min=1,
                                         help="Quick mode: grid points simulated per test set."),
    size_px: int = typer.Option(256, "--size-px", help="Detector image side, pixels (64-1024); the field of "
                                                       "view stays the paper's 256 px of 0.1 mm."),
    cache: Optional[Path] = typer.Option(None, "--cache", help="Directory for computed MD snapshots, relaxed "
                                                               "supercells and each set's patterns, reused by a "
                                                               "later run with the same code (default: "
                                                               "REPORT_DIR/cache)."),
    rebuild_specimens: bool = typer.Option(False, "--rebuild-specimens",
                                           help="Recompute MD snapshots, relaxed supercells and patterns instead "
                                                "of using cached or shipped ones (minutes each on a CPU)."),
) -> None:
    """Run the robustness study of Jeong et al. (2024) on Al and Fe and write its report."""
    import sys
    import time

    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from sadpnet.study.run import default_model_entries, parse_model_args, run_study
    from sadpnet.study.testsets import Grid

    entries = parse_model_args(model) if model else default_model_entries()
    grid = Grid.quick(seed, patterns_per_set, size_px) if quick else Grid.full(seed, size_px)
    t0 = time.perf_counter()
    with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                  TimeElapsedColumn(), TextColumn("{task.fields[item]}"), transient=False) as bar:
        tasks: dict[str, int] = {}

        def progress(stage: str, done: int, total: int, text: str) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=total, item="")
            bar.update(tasks[stage], completed=done, item=text[:50])

        results = run_study(out, quick=quick, models=entries, seed=seed, grid=grid, progress=progress,
                            command=" ".join(["sadpnet"] + sys.argv[1:]), cache_dir=cache,
                            rebuild_specimens=rebuild_specimens)
    n = sum(s["n_patterns"] for s in results["sets"])
    typer.echo(f"{len(results['sets'])} test sets, {n} patterns, models: "
               + ", ".join(f"{m['name']} ({m['status']})" for m in results["models"]))
    typer.echo(f"report: {out / 'report.md'} and {out / 'report.html'} ({time.perf_counter() - t0:.0f} s)")
