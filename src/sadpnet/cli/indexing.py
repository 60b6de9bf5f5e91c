"""``sadpnet train-indexing``: train the spot-indexing classifier on drawn patterns (sadpnet.model.spot_train)."""

from __future__ import annotations

from pathlib import Path

import typer

from sadpnet.cli.base import app


@app.command("train-indexing")
def train_indexing_command(
    out: Path = typer.Option(..., "-o", "--out", help="Model folder to write (card.json + model.safetensors)."),
    examples: int = typer.Option(3000, "--examples", help="Training patterns drawn on the fly (none stored)."),
    val_examples: int = typer.Option(600, "--val-examples", help="Validation patterns (validation crystals)."),
    val_sets: int = typer.Option(150, "--val-sets", help="Validation zone-axis sets (fit the lattice-check weight)."),
    generated_cubic: int = typer.Option(80, "--generated-cubic", help="pyxtal crystals per cubic class."),
    generated_other: int = typer.Option(200, "--generated-other", help="pyxtal crystals of non-cubic groups."),
    seed: int = typer.Option(0, "--seed", help="Seed of every random choice."),
    seeds: int = typer.Option(1, "--seeds", help="Networks to train, with seeds SEED .. SEED+N-1, each as a "
                              "one-seed training; the model is their mean (a seed ensemble), calibrated on the "
                              "validation crystals of SEED. Each adds the time of one training."),
    shared_examples: bool = typer.Option(False, "--shared-examples", help="With --seeds N: each network trains on "
                                         "the patterns of all N seeds (N x EXAMPLES), the networks differing in "
                                         "their initial weights; only SEED's validation is drawn."),
    epochs: int = typer.Option(150, "--epochs", help="Full-batch steps of each network's fit."),
    workers: int = typer.Option(2, "--workers", help="Processes that simulate and index patterns."),
    defects: float = typer.Option(0.0, "--defects", help="Share (0-1) of cubic patterns given a drawn defect "
                                                         "(strain, thermal, point defects, twin, dislocation; "
                                                         "sadpnet.data.stream_defects): a defect-aware model."),
    defect_cache: Path = typer.Option(None, "--defect-cache", help="Folder of pre-built atoms-engine defect blocks "
                                      "(twins, dislocations, random placements; sadpnet.data.defect_cache): built "
                                      "where it lacks a training crystal, reused where present. With it the "
                                      "random-placement families are drawn too. Needs --defects above 0."),
    defect_blocks: int = typer.Option(2, "--defect-blocks", help="Blocks per family and crystal when the "
                                      "--defect-cache is built."),
) -> None:
    """Train the spot-indexing classifier: drawn patterns of generated and corpus crystals (never a held-out
    test family) -> indexing evidence -> a small network, calibrated, with the lattice-parameter check."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from sadpnet.errors import InputError
    from sadpnet.model.spot_train import train_spot_indexing

    for value, name in ((examples, "--examples"), (val_examples, "--val-examples"), (val_sets, "--val-sets"),
                        (workers, "--workers"), (seeds, "--seeds"), (epochs, "--epochs")):
        if value < 1:
            raise InputError(f"must be at least 1, got {value}", name)
    if shared_examples and seeds < 2:
        raise InputError("needs --seeds 2 or more (the patterns of several seeds to share)", "--shared-examples")
    if not 0.0 <= defects <= 1.0:
        raise InputError(f"must be between 0 and 1, got {defects}", "--defects")
    if defect_cache is not None and defects <= 0:
        raise InputError("needs --defects above 0 (no defect is drawn without it)", "--defect-cache")
    if defect_cache is not None and defect_cache.exists() and not defect_cache.is_dir():
        raise InputError(f"{defect_cache} exists and is not a folder", "--defect-cache")
    if defect_blocks < 1:
        raise InputError(f"must be at least 1, got {defect_blocks}", "--defect-blocks")
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn()) as bar:
        tasks: dict = {}

        def progress(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage if "defect cache" in stage else f"{stage} patterns",
                                            total=total)
            bar.update(tasks[stage], completed=done)

        info = train_spot_indexing(out, n_train=examples, n_val=val_examples, n_val_sets=val_sets,
                                   n_generated_cubic=generated_cubic, n_generated_other=generated_other, seed=seed,
                                   seeds=seeds, shared_examples=shared_examples, epochs=epochs, workers=workers,
                                   defect_rate=defects, defect_cache=defect_cache, defect_blocks=defect_blocks,
                                   progress=progress)
    members = "".join(f"; seed {m['seed']} alone {100 * m['val_accuracy']:.1f} %" for m in info.get("members", []))
    typer.echo(f"{out}: validation accuracy {100 * info['val_accuracy']:.1f} % of {info['n_val']} patterns{members}; "
               f"{info['examples_per_s']:.2f} training patterns/s drawn and indexed")


@app.command("evaluate-real")
def evaluate_real_command(
    out: Path = typer.Option(..., "-o", "--out", help="Folder for results.json and table.md."),
    model: list[str] = typer.Option(["default"], "--model", help="NAME=FOLDER (or a shipped model's name) to "
                                    "evaluate; repeatable. The no-learning indexing baseline is always added."),
    cache: Path = typer.Option(None, "--cache", help="Folder of the test shots (built once; default OUT/shots)."),
    workers: int = typer.Option(2, "--workers", help="Processes that simulate and index patterns."),
    ceiling: bool = typer.Option(False, "--ceiling", help="Also index the simulator's exact spot lists of the "
                                 "3-axis sets (perfect spot detection) -> OUT/ceiling.json."),
) -> None:
    """Evaluate classifiers on the held-out real crystals (55 cubic, 25 non-cubic, junk frames): per pattern,
    per 3-axis set and per material, each share with its count and 95 % Wilson interval (docs/classifier-v2.md)."""
    from sadpnet.errors import InputError
    from sadpnet.model.realtest import evaluate_real

    models = {}
    for item in model:
        name, _, folder = item.partition("=")
        models[name] = folder or name
    if workers < 1:
        raise InputError(f"must be at least 1, got {workers}", "--workers")
    evaluate_real(models, out, cache_dir=cache, workers=workers)
    typer.echo((out / "table.md").read_text())
    if ceiling:
        import json

        from sadpnet.model.realtest import exact_spot_ceiling

        c = exact_spot_ceiling(workers=workers)
        (out / "ceiling.json").write_text(json.dumps(c, indent=1, default=float) + "\n")
        typer.echo(f"exact spot lists (>= {c['min_intensity']:g} of the strongest): 3-axis sets right "
                   f"{c['set']['k']}/{c['set']['n']} jointly, {c['set_independent']['k']}/{c['set']['n']} by "
                   f"independent votes")
