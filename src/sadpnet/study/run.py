"""Run the robustness study: simulate every test set, evaluate every model on it, write the report.

Models are inputs: a list of (name, model directory). A model given whose directory is missing or unreadable is
kept in the study as "not available" (its columns say so), so the report always has every row and every model
column; a default model that is not shipped is left out (`default_model_entries`). Classification goes through
`sadpnet.model.infer` (the classifier stage); nothing of the model is re-implemented here.

Results are a JSON-serialisable dict (written as ``results.json`` beside the report):
``{"mode", "seed", "grid", "models": [...], "sets": [...], "per_pattern": {model: {set_key: [...]}},
"examples": [...], "timing_s": {...}, "versions": {...}}``.
"""

from __future__ import annotations

import platform
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sadpnet.errors import InputError
from sadpnet.study.tables import summarize  # noqa: F401  (re-exported: its home was here)
from sadpnet.study.testsets import (Grid, SetPatterns, TestSetSpec, build_source, paper_test_sets, simulate_points,
                                    simulate_set)

#: The goals of issue 6 (targets set by the project, not the paper's numbers), percent.
GOALS = {
    "clean_at_least_paper_where_paper_ge_pct": 80.0,
    "defect_aware_dislocation_twin_min_pct": 90.0,
    "defect_aware_thermal_point_min_pct": 95.0,
    "defect_aware_max_clean_loss_points": 1.0,
    "unknown_flags_wrong_min_pct": 80.0,
    "unknown_flags_clean_max_pct": 5.0,
}

#: Model names and shipped directories (resources/models/<dir>) evaluated when no --model is given, in the
#: report's order: classifier v2 (spot indexing) first, then classifier v1 (ResNet). An entry whose shipped
#: folder does not exist is left out of the defaults (not shown as "not available"), so a model listed here
#: before it ships (defect-aware v2) joins the study once its folder is there.
DEFAULT_MODELS = (("clean-trained v2", "spot-index"), ("defect-aware v2", "spot-index-defects"),
                  ("clean-trained v1", "default"), ("defect-aware v1", "defect-aware"),
                  ("extended-symmetry", "extended-symmetry"))


@dataclass
class ModelEntry:
    """A model of the study: ``name`` (report column), ``model_dir`` (or None), and once loaded the
    classifier, or ``status`` saying why it is not available."""

    name: str
    model_dir: Path | None
    model: object = None
    status: str = "not loaded"
    card: dict | None = None

    @property
    def available(self) -> bool:
        return self.model is not None


def default_model_entries() -> list[ModelEntry]:
    """The models of `DEFAULT_MODELS` whose shipped folder exists, in that order."""
    from sadpnet.resources import resource_path

    return [ModelEntry(name, resource_path("models", d)) for name, d in DEFAULT_MODELS
            if resource_path("models", d).is_dir()]


def parse_model_args(values: list[str]) -> list[ModelEntry]:
    """``NAME=DIR`` or ``DIR`` (name = the directory's name) strings from ``--model`` into entries."""
    out = []
    for v in values:
        name, _, d = v.partition("=") if "=" in v else (Path(v).name, "", v)
        if not name or not d:
            raise InputError(f"--model must be NAME=DIR or DIR, got {v!r}", "--model")
        out.append(ModelEntry(name, Path(d)))
    names = [e.name for e in out]
    if len(set(names)) != len(names):
        raise InputError(f"--model names must differ, got {names}", "--model")
    return out


def load_models(entries: list[ModelEntry]) -> list[ModelEntry]:
    """Load each model with `sadpnet.model.infer.load_model`; a missing one gets a "not available" status."""
    from sadpnet.model.infer import resolve_model_dir

    for e in entries:
        try:
            e.model_dir = None if e.model_dir is None else resolve_model_dir(e.model_dir)
        except InputError:
            pass  # neither a folder nor a shipped name: reported as a missing folder below
        if e.model_dir is None or not Path(e.model_dir).is_dir():
            e.status = f"not available: no model directory {e.model_dir}"
            continue
        try:
            from sadpnet.model.infer import load_model

            e.model = load_model(e.model_dir)
            e.card = getattr(e.model, "card", None)
            e.status = "ok"
        except ImportError as exc:
            e.status = f"not available: classifier stage missing ({exc})"
        except InputError as exc:
            e.status = f"not available: {exc}"
    return entries


def predict(model, images: np.ndarray, pixel_size_inv_a: np.ndarray, mapping=None) -> tuple[list[dict], dict]:
    """Top-1 verdicts of ``model``: one per image, and the ensemble verdict of all images together.

    Each verdict is ``{"label", "space_group", "probability", "unknown"}``; the ensemble is the classifier's
    product rule over the images (different zone axes, voltages and camera lengths of one specimen: the
    paper's material-level assignment). ``model``: a `sadpnet.model.infer.Classifier`; ``images``: (N, H, W)
    uint8 detector images with the direct beam at (W/2, H/2); ``pixel_size_inv_a``: (N,) 1/A per pixel;
    ``mapping``: the images' `sadpnet.simulate.detector.IntensityMapping` (None: `DEFAULT_MAPPING`, what
    `simulate_points` renders), which the classifier converts into its model's.
    """
    from types import SimpleNamespace

    from sadpnet.simulate.detector import DEFAULT_MAPPING

    tags = (mapping or DEFAULT_MAPPING).to_tags()
    patterns = [SimpleNamespace(image=img, pixel_size_inv_a=float(cal), source=f"simulated {i}", centre_xy=None,
                                mask=None, metadata={"calibration_source": "simulation", "render_mapping": tags})
                for i, (img, cal) in enumerate(zip(images, pixel_size_inv_a))]
    result = model.classify_images(patterns, top_k=1, ensemble=True)
    return [_verdict(r) for r in result["images"]], _verdict(result["ensemble"])


def _verdict(r: dict) -> dict:
    """The study's top-1 verdict from one image entry of the documented `classify_images` result."""
    top = r["prediction"]
    sg = top.get("space_group")
    label = str(sg) if sg is not None else str(top.get("label"))
    unknown = r.get("unknown") or {}
    if isinstance(unknown, dict):  # the model's own unknown verdict, or its defect detector's flag
        flag = bool(unknown.get("verdict", False)) or bool((unknown.get("defect_signature") or {}).get("flagged"))
        flag = flag or 2 * int(unknown.get("n_defect_flagged", 0)) > int(r.get("n_images", 1) or 1)
    else:
        flag = bool(unknown)
    out = {"label": label, "space_group": None if sg is None else int(sg),
           "probability": float(top.get("probability", float("nan"))), "unknown": flag}
    if r.get("defect_gate") is not None:  # a defect-gated mixture: the weight of its defect-trained network
        out["defect_gate"] = float(r["defect_gate"]["probability"])
    return out


def model_record(e: ModelEntry) -> dict:
    """What the report says about a model: name, folder, status, classes, architecture, training data (the
    card's dataset id), weights hash and, for a defect-gated mixture, its parts."""
    card = e.card or {}
    return {"name": e.name, "dir": str(e.model_dir), "status": e.status,
            "classes": card.get("classes") or card.get("labels"),  # a spot-indexing (v2) card names "labels"
            "architecture": card.get("architecture"),
            "training_data": (card.get("training") or {}).get("dataset_id") or card.get("training_data",
                                                                                      card.get("dataset")),
            "weights_sha256": (card.get("weights") or {}).get("sha256") or card.get("weights_sha256"),
            "mixture": _mixture_text(card)}


def _mixture_text(card: dict | None) -> str | None:
    """One line on a defect-gated mixture model's parts (`sadpnet.model.mixture`), None for a plain model."""
    m = (card or {}).get("mixture")
    if not m:
        return None
    return (f"defect-gated mixture: this network weighted by g = P({' + '.join(m['gate_classes'])}) of "
            f"{m['gate']['name']}, {m['clean']['name']} by 1 - g")


def evaluate_set(verdicts: list[dict], spec: TestSetSpec, points, visible: list[int] | None = None) -> list[dict]:
    """Per-pattern records: the verdict plus the grid point, whether the space group is right (``correct``)
    and whether it is right under the paper's appearance labels (``appearance_correct``: the predicted space
    group's pattern on this zone axis looks like the true one's, `sadpnet.model.appearance`; the same as
    ``correct`` for a space group outside the paper's five). Strained sets (``visible`` given, see
    `visible_labels`) add ``visible_space_group`` and ``visible_correct`` (the verdict is that label)."""
    from sadpnet.model.appearance import appearance_space_groups

    out = []
    for i, (v, (zone, kv, cl)) in enumerate(zip(verdicts, points)):
        alike = appearance_space_groups(spec.space_group, zone)
        correct = v["space_group"] == spec.space_group
        rec = {**v, "zone_axis": list(map(int, zone)), "voltage_kv": kv, "camera_length_mm": cl,
               "correct": correct, "appearance_correct": correct if alike is None else v["space_group"] in alike}
        if visible is not None:
            rec.update(visible_space_group=int(visible[i]), visible_correct=v["space_group"] == int(visible[i]))
        out.append(rec)
    return out


def visible_labels(s: SetPatterns, grid: Grid) -> list[int] | None:
    """For a strained set, the space group each pattern can show (`sadpnet.data.visible`, its default threshold
    and field, as the extended-symmetry training data): the strained crystal's own where its zero-order
    Laue-zone net visibly departs from the cubic one inside the pattern's field, the cubic parent's
    elsewhere. None for every other set."""
    if not s.spec.defect.startswith("strain") or s.status != "ok":
        return None
    from sadpnet.data.visible import VISIBLE_G_MAX_INV_A, visible_space_group
    from sadpnet.study.testsets import _crystal

    parent = _crystal(s.spec.material)
    strained, _ = build_source(s.spec, grid)
    half = 0.5 * s.images.shape[-1]
    return [visible_space_group(parent, strained, zone, g_max_inv_a=min(VISIBLE_G_MAX_INV_A, half * float(px)))
            for (zone, _, _), px in zip(s.points, s.pixel_size_inv_a)]


def periodic_specimen_group(s: SetPatterns, grid: Grid, seed: int = 0, cache_dir: Path | None = None) -> int | None:
    """For a thermal or point-defect set built the paper's way (one defected supercell repeated), the space group
    of the periodic crystal that makes (spglib on the supercell at the crystal reader's tolerance): a vacancy or a
    substitution on a lattice site gives Pm-3m (221) with the supercell's edge, C on a tetrahedral site P-43m (215),
    a thermal snapshot P1. Its superlattice reflections are real: the average structure (the set's label) is not
    the specimen's own space group. None for every other set (shuffled repeats have no superlattice)."""
    if s.status != "ok" or s.spec.shuffled or s.spec.family not in ("thermal", "point"):
        return None
    from sadpnet.crystal import crystal_from_atoms

    source, _ = build_source(s.spec, grid, seed, cache_dir)
    return int(crystal_from_atoms(source.unit).space_group_number)


def versions() -> dict:
    """Versions of Python and the libraries the study's numbers depend on."""
    import importlib.metadata as md

    out = {"python": platform.python_version(), "platform": platform.platform()}
    for pkg in ("sadpnet", "numpy", "scipy", "ase", "spglib", "finufft", "torch", "torchvision", "matplotlib"):
        try:
            out[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            out[pkg] = "not installed"
    return out


#: Zone axes of the example panels, as in the paper's figures (low index; a set with its own axes uses the first of
#: its axes in one of these families).
EXAMPLE_ZONE_AXES = ((0, 0, 1), (0, 1, 1), (1, 1, 1), (1, 1, 2))


def _family(zone) -> tuple:
    """The cubic family of a zone axis: [110] and [101] are both (0, 1, 1)."""
    return tuple(sorted(abs(int(x)) for x in zone))


def example_point(s: SetPatterns, turn: int) -> tuple:
    """The grid point (zone axis, kV, mm) of a set's example panel: the low-index axis
    ``EXAMPLE_ZONE_AXES[turn % 4]`` at the set's first voltage and camera length, or, for a set with its own
    zone axes, the first of its simulated points on a low-index axis (its first point when none is)."""
    if s.spec.zone_axes is None:
        return (EXAMPLE_ZONE_AXES[turn % len(EXAMPLE_ZONE_AXES)], *s.points[0][1:])
    low = [p for p in s.points if _family(p[0]) in EXAMPLE_ZONE_AXES]
    return (low or s.points)[0]


def _image_at(s: SetPatterns, point, grid: Grid, seed: int, cache_dir: Path | None):
    """(uint8 image, 1/A per pixel) of set ``s`` at ``point``: its simulated pattern there, or one simulated now;
    None (with a warning) when that fails: an example panel must not end the study."""
    if point in s.points:
        k = s.points.index(point)
        return s.images[k], float(s.pixel_size_inv_a[k])
    try:
        source = s.source if s.source is not None else build_source(s.spec, grid, seed, cache_dir)[0]
        imgs, cals = simulate_points(source, [point], grid, s.options)
        return imgs[0], float(cals[0])
    except Exception as exc:  # noqa: BLE001
        import warnings

        warnings.warn(f"example panel: {s.spec.label} at {point} could not be simulated: {exc}")
        return None


def _examples(sets: list[SetPatterns], grid: Grid, seed: int, cache_dir: Path | None = None) -> list[dict]:
    """Pristine-beside-defected image pairs for the report's panels (same material, zone axis, voltage, L), on the
    paper's low-index axes (`example_point`; successive defects take turns over `EXAMPLE_ZONE_AXES`)."""
    by_key = {s.spec.key: s for s in sets if s.status == "ok" and len(s.images)}
    pristine = {s.spec.material: s for s in by_key.values() if s.spec.defect == "pristine"}
    wanted = {"strain-normal": "max", "strain-shear": "max", "thermal-md": "max", "vacancy": "first",
              "vacancy-shuffled": "first", "substitution": "first", "interstitial": "first", "dislocation": "all",
              "twin": "all"}
    out = []
    for turn, (defect, which) in enumerate(wanted.items()):
        cands = [s for s in by_key.values() if s.spec.defect == defect]
        for m in ("Al", "Fe"):
            mine = [s for s in cands if s.spec.material == m]
            if not mine or m not in pristine:
                continue
            if which == "max":
                mine = [max(mine, key=lambda s: max(v for k, v in s.spec.params if isinstance(v, float)))]
            elif which == "first":
                mine = mine[:1]
            for s in mine:
                point = example_point(s, turn)
                ref = pristine[m]
                pair = [_image_at(x, point, grid, seed, cache_dir) for x in (ref, s)]
                if None in pair:
                    continue
                out.append({"family": s.spec.family, "defect": defect, "set": s.spec.key, "label": s.spec.label,
                            "pristine_label": ref.spec.label, "point": [list(point[0]), point[1], point[2]],
                            "pristine": pair[0][0], "defected": pair[1][0],
                            "pixel_size_inv_a": [pair[0][1], pair[1][1]]})
    return out


def _add_model_views(examples: list[dict], entries: list[ModelEntry]) -> None:
    """Each example gets ``model_view``: (name, pristine input, defected input) of the first available model
    that feeds an image to its network, its preprocessed inputs (what the network sees,
    `Classifier.preprocess`; the stored images hold `DEFAULT_MAPPING`, what `simulate_points` renders). A
    spot-indexing (v2) model has no such input: it reads the spots of the stored image."""
    from sadpnet.simulate.detector import DEFAULT_MAPPING

    model = next((e for e in entries if e.available and hasattr(e.model, "preprocess")), None)
    if model is None:
        return
    for ex in examples:
        ex["model_view"] = (model.name, *[model.model.preprocess(np.asarray(img), cal, mapping=DEFAULT_MAPPING)
                                          for img, cal in zip((ex["pristine"], ex["defected"]),
                                                              ex["pixel_size_inv_a"])])


def counted(items: list, stage: str, step, label):
    """Yield ``items``, reporting ``step(stage, done, total, label(item))`` before each and
    ``step(stage, total, total, "done")`` after the last, so that a progress bar ends at its total.

    Examples
    --------
    >>> calls = []
    >>> list(counted(["a", "b"], "classify", lambda *a: calls.append(a), str))
    ['a', 'b']
    >>> calls[-1]
    ('classify', 2, 2, 'done')
    """
    for i, item in enumerate(items):
        step(stage, i, len(items), label(item))
        yield item
    step(stage, len(items), len(items), "done")


def run_study(out_dir: str | Path, *, quick: bool = True, models: list[ModelEntry] | None = None, seed: int = 0,
              sets: list[TestSetSpec] | None = None, grid: Grid | None = None, progress=None,
              command: str = "sadpnet study", cache_dir: str | Path | None = None,
              rebuild_specimens: bool = False) -> dict:
    """Run the whole study and write ``out_dir``/report.md, report.html, results.json and the plots.

    Args:
        out_dir: report directory (created).
        quick: quick mode (a few grid points per set) or full mode (the paper's whole grid).
        models: the models to evaluate (default: `default_model_entries`).
        seed: seed of every random choice (grid points in quick mode, defect realisations).
        sets, grid: override the test sets / grid (the smoke test uses a tiny grid).
        progress: optional callable ``progress(stage: str, done: int, total: int, text: str)``.
        command: the command line recorded in the report.
        cache_dir: where computed MD snapshots, relaxed supercells and patterns are kept (default
            ``out_dir``/cache); a rerun with the same code reuses them (resume).
        rebuild_specimens: recompute them even if cached or shipped.
    Returns the results dict (also written as results.json).
    """
    from sadpnet.study.report import write_report

    t_start = time.perf_counter()
    started = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise InputError("report directory is a file", out_dir)
    try:  # fail now, not after the simulations
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"cannot create the report directory ({exc.strerror})", out_dir) from None
    grid = grid or (Grid.quick(seed) if quick else Grid.full(seed))
    sets = sets if sets is not None else paper_test_sets(quick=quick)
    cache_dir = Path(cache_dir) if cache_dir is not None else out_dir / "cache"
    entries = load_models(models if models is not None else default_model_entries())
    step = progress or (lambda *a: None)

    simulated: list[SetPatterns] = []
    for spec in counted(sets, "simulate", step, lambda spec: spec.label):
        simulated.append(simulate_set(spec, grid, seed, cache_dir, rebuild_specimens))
    t_sim = time.perf_counter()

    visible = {s.spec.key: visible_labels(s, grid) for s in simulated}
    own_group = {s.spec.key: periodic_specimen_group(s, grid, seed, cache_dir) for s in simulated}
    per_pattern: dict[str, dict[str, list]] = {}
    ensemble: dict[str, dict[str, dict]] = {}
    model_time = {}
    for e in entries:
        if not e.available:
            continue
        t0 = time.perf_counter()
        per_pattern[e.name], ensemble[e.name] = {}, {}
        for s in counted(simulated, f"classify ({e.name})", step, lambda s: s.spec.label):
            if s.status != "ok" or len(s.images) == 0:
                continue
            verdicts, ens = predict(e.model, s.images, s.pixel_size_inv_a)
            per_pattern[e.name][s.spec.key] = evaluate_set(verdicts, s.spec, s.points, visible[s.spec.key])
            ensemble[e.name][s.spec.key] = {**ens, "correct": ens["space_group"] == s.spec.space_group}
        model_time[e.name] = time.perf_counter() - t0
    t_eval = time.perf_counter()
    examples = _examples(simulated, grid, seed, cache_dir)
    _add_model_views(examples, entries)

    results = {
        "mode": "quick" if quick else "full", "seed": seed, "started": started, "command": command,
        "grid": {"voltages_kv": list(grid.voltages_kv), "camera_lengths_mm": list(grid.camera_lengths_mm),
                 "zone_axes": [list(z) for z in grid.zone_axes], "patterns_per_set": grid.patterns_per_set,
                 "size_px": grid.size_px, "detector_pixel_size_mm": grid.detector_pixel_size_mm,
                 "cells": list(grid.cells), "supercell_repeats": list(grid.supercell_repeats)},
        "models": [model_record(e) for e in entries],
        "sets": [{"key": s.spec.key, "label": s.spec.label, "material": s.spec.material, "defect": s.spec.defect,
                  "family": s.spec.family, "params": {k: (list(v) if isinstance(v, tuple) else v)
                                                      for k, v in s.spec.params},
                  "paper_row": s.spec.paper_row, "space_group": s.spec.space_group, "status": s.status,
                  "n_patterns": int(len(s.images)), "build_s": s.build_s, "simulate_s": s.simulate_s,
                  "source": s.source_meta, "simulate_options": s.options, "from_cache": s.from_cache,
                  **({} if own_group[s.spec.key] is None else {"specimen_space_group": own_group[s.spec.key]})}
                 for s in simulated],
        "per_pattern": per_pattern,
        "ensemble": ensemble,
        "timing_s": {"simulate": t_sim - t_start, "classify": t_eval - t_sim, "per_model": model_time},
        "versions": versions(),
        "goals": GOALS,
    }
    results["timing_s"]["before_report"] = time.perf_counter() - t_start
    write_report(out_dir, results, examples)
    return results
