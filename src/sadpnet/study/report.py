"""The study's report: ``report.md`` (plots as PNG files beside it) and a self-contained ``report.html``
(the same content, images embedded as base64), plus ``results.json``.

The report is built once as a list of blocks (heading, paragraph, table, image) and written in both formats.
Every number comes from the results of `sadpnet.study.run.run_study` (pooled and checked against the goals by
`sadpnet.study.tables`), except the paper's, which come from `sadpnet.study.paper`. A cell with nothing to show says why ("not available: ...", "not simulated").
"""

from __future__ import annotations

import base64
import html
import json
import time
from collections import Counter
from pathlib import Path

import numpy as np

from sadpnet.atomic_write import atomic_path, write_text_atomic
from sadpnet.stats import share_text, wilson_interval
from sadpnet.study import paper, plots
from sadpnet.study.testsets import SHUFFLED_LABEL
from sadpnet.study.tables import (NA, calibration, can_answer_other, confusion, ensemble_cell, fmt, gate_cell,
                                  goal_rows, lowered_curves, model_cell, other_cell, paper_row_keys, paper_rows, pooled,
                                  sets_right_text, specimen_group_rows, strain_curves, top_label_text, verdict_lines,
                                  visibly_lowered_pct)

#: Sections every report has, in order (the smoke test checks them).
SECTIONS = (
    "What is met and what is not",
    "Summary",
    "Paper versus models",
    "Every test set",
    "Accuracy versus strain",
    "What the models assign to strained crystals",
    "Unknown verdicts",
    "Accuracy by defect family",
    "Goals of issue 6",
    "Example patterns",
    "Confusion matrices",
    "Calibration",
    "Reproducibility",
)


def _verdict_blocks(results: dict, goals: list[list[str]]) -> list[tuple]:
    """The report's first section: in plain words, which goals this run meets and which not (the rule of
    `sadpnet.stats.goal_verdict` on `sadpnet.study.tables.goal_rows`), and how far its sample sizes allow."""
    sizes = [s["n_patterns"] for s in results["sets"] if s["status"] == "ok" and s["n_patterns"]]
    B: list[tuple] = [("h2", "What is met and what is not")]
    if sizes:
        n = min(sizes)
        lo = 100 * wilson_interval(n, n)[0]
        span = str(n) if n == max(sizes) else f"{n} to {max(sizes)}"
        B.append(("p", f"Mode **{results['mode']}**, {_detector_text(results['grid'])}: {span} "
                       "patterns per test set. Every "
                       "accuracy below carries its 95 % Wilson interval, and a goal counts as met only when the whole "
                       f"interval clears it. With {n} patterns even {n} of {n} right leaves the interval down to "
                       f"{lo:.0f} %, so a set of that size alone cannot show a goal above {lo:.0f} %; pooled rows "
                       "have more patterns."))
    B += [("p", line) for line in verdict_lines(goals)]
    return B


def _detector_text(grid: dict) -> str:
    """The detector of a run's grid: "256 x 256 px images (0.1 mm pixels)"."""
    return f"{grid['size_px']} x {grid['size_px']} px images ({grid['detector_pixel_size_mm']:.4g} mm pixels)"


def _blocks(results: dict, examples: list[dict]) -> list[tuple]:
    B: list[tuple] = []
    models = results["models"]
    sets = results["sets"]
    by_row, periodic = paper_row_keys(sets)
    n_pat = sum(s["n_patterns"] for s in sets)
    t = results["timing_s"]

    B.append(("h1", "sadpnet robustness study"))
    goals = goal_rows(results, by_row)
    B += _verdict_blocks(results, goals)
    B.append(("h2", "Summary"))
    B.append(("p", f"Reproduction of the robustness study of {paper.CITATION}: every test set of the paper for Al "
                   f"and Fe, simulated by sadpnet and classified by each model below. Mode: **{results['mode']}** "
                   f"({'patterns per set: ' + str(results['grid']['patterns_per_set']) if results['grid']['patterns_per_set'] else 'the whole grid'}"
                   f" of {len(results['grid']['voltages_kv'])} voltages x {len(results['grid']['camera_lengths_mm'])} "
                   f"camera lengths x {len(results['grid']['zone_axes'])} zone axes; sets with their own zone axes use "
                   f"those). Seed {results['seed']}. {len(sets)} test sets, {n_pat} simulated patterns. Started "
                   f"{results['started']}; runtime {t.get('total', t['before_report']):.0f} s."))
    B.append(("table", ["model", "status", "directory"], [[m["name"], m["status"], m["dir"]] for m in models]))
    origins = Counter(str((s["source"] or {}).get("origin", "")).split(":")[0] for s in sets
                      if (s["source"] or {}).get("origin"))
    if origins:
        B.append(("p", "MD snapshots and relaxed point-defect supercells: " + ", ".join(
            f"{n} {o}" for o, n in sorted(origins.items())) + " (shipped = computed by the same code with seed 0, "
            "see docs/study.md; `--rebuild-specimens` recomputes them)."))
    n_cached = sum(bool(s.get("from_cache")) for s in sets)
    if n_cached:
        B.append(("p", f"{n_cached} of {len(sets)} sets were loaded from the pattern cache of an earlier run with the "
                       "same sets, grid, seed and code (their build and simulate times are those of that run)."))
    missing = [s for s in sets if s["status"] != "ok"]
    if missing:
        B.append(("p", f"{len(missing)} of {len(sets)} sets could not be simulated; their rows say why."))

    B.append(("h2", "Paper versus models"))
    B.append(("p", "Accuracy (%) of the paper's clean-trained ResNet-101 beside each model on the same test: "
                   "accuracy % [95 % Wilson interval] (patterns), pooled over the sets that belong to the paper's "
                   "row (listed). Thermal and point-defect rows: specimens as a microscopist meets them, defects "
                   "and thermal displacements at random places through the whole specimen (random blocks, see "
                   "below); the paper's periodic construction (one supercell repeated) in the row under each. "
                   f"Paper numbers: {paper.CITATION}."))
    header = ["test set (paper)", "paper accuracy %"] + [f"{m['name']} %" for m in models] + ["our sets"]
    B.append(("table", header, paper_rows(results, models, by_row, "acc", periodic)))
    B.append(("p", "The same rows scored with the paper's appearance labels (its classes grouped the (space group, "
                   "zone axis) pairs whose patterns look alike up to scale and in-plane rotation): a pattern counts "
                   "as right when the predicted space group's pattern on its zone axis looks like the true one's "
                   "(`sadpnet.model.appearance`, representative crystals of the five space groups, 2 % tolerance). "
                   "The goals below are checked on the stricter space-group measure above."))
    B.append(("table", header, paper_rows(results, models, by_row, "appearance", periodic)))

    B.append(("h2", "Every test set"))
    B.append(("p", "Accuracy % [95 % Wilson interval] (patterns) and unknown-verdict rate % of each model on each "
                   "set; ensemble: the "
                   "model's verdict on all the set's patterns together (product of probabilities, the paper's "
                   "material-level assignment; 'unknown' when more than half are flagged); paper: the number "
                   "of the paper's row the set belongs to; defect gate (defect-gated mixture models only, "
                   "`sadpnet.model.mixture`): the mean weight its defect-trained network had on the set."))
    gated = [m for m in models if m.get("mixture")]
    header = (["set", "status", "patterns", "paper %"]
              + sum([[f"{m['name']} acc %", f"{m['name']} unknown %", f"{m['name']} ensemble"] for m in models], [])
              + [f"{m['name']} defect gate" for m in gated])
    rows = []
    for s in sets:
        pr = paper.paper_row(s["paper_row"]) if s["paper_row"] else None
        ptxt = (f"{pr.accuracy_pct:.2f}" if pr and pr.accuracy_pct is not None else
                ("trend only" if pr else "not in paper"))
        if s["status"] != "ok":
            cells = ["not simulated (see status)"] * (3 * len(models) + len(gated))
        else:
            cells = sum([[model_cell(results, m, [s["key"]]), model_cell(results, m, [s["key"]], "unk"),
                          ensemble_cell(results, m, s["key"])] for m in models], [])
            cells += [gate_cell(results, m, s["key"]) for m in gated]
        rows.append([s["label"], s["status"], str(s["n_patterns"]), ptxt] + cells)
    B.append(("table", header, rows))

    pairs = [(s, next((b for b in sets if b["key"] == s["key"].removesuffix("-shuffled")), None))
             for s in sets if s["key"].endswith("-shuffled")]
    if pairs:
        B.append(("h2", "Periodic versus random blocks"))
        B.append(("p", "The paper builds thermal and point-defect specimens by repeating one defected supercell "
                       "10 x 10 x 10 times: the defects then form a superlattice, whose weak extra reflections the "
                       "log intensity mapping makes visible. A real crystal has its vacancies, foreign atoms and "
                       "thermal displacements at uncorrelated places. 'random blocks': every supercell-sized block of "
                       "the specimen translated by its own random lattice vector, so each block has its defect at an "
                       "independent random place (same concentration and relaxation; no repeat period, no "
                       "superlattice); Debye sets: an independent Debye snapshot in every block; MD sets: the one "
                       "MD snapshot, translated at random per block. Simulated atom by atom. Accuracy % [95 % Wilson "
                       "interval] (patterns) of each model on the same grid points."))
        header = ["set"] + sum([[f"{m['name']} periodic", f"{m['name']} random blocks"] for m in models], [])
        rows = []
        for sh, base in pairs:
            cells = []
            for m in models:
                cells += [model_cell(results, m, [base["key"]]) if base else "no set",
                          model_cell(results, m, [sh["key"]])]
            rows.append([sh["label"].removesuffix(SHUFFLED_LABEL)] + cells)
        for fam, defects in (("all thermal (MD)", ("thermal-md",)), ("all thermal (Debye)", ("thermal-debye",)),
                             ("all point defects", ("vacancy", "substitution", "interstitial"))):
            base_keys = [b["key"] for sh, b in pairs if b and b["defect"] in defects]
            sh_keys = [sh["key"] for sh, b in pairs if b and b["defect"] in defects]
            if base_keys:
                rows.append([fam] + sum([[model_cell(results, m, base_keys), model_cell(results, m, sh_keys)]
                                                  for m in models], []))
        B.append(("table", header, rows))

    rows = specimen_group_rows(results, models)
    if rows:
        B.append(("h2", "What the models assign to periodic defect supercells"))
        B.append(("p", "Repeating one defected supercell makes a crystal of its own: a vacancy or a substitution on a "
                       "lattice site gives Pm-3m (221) with the supercell's edge, C on a tetrahedral site P-43m (215), "
                       "a thermal snapshot P1 (spglib on the supercell, sadpnet.study.run.periodic_specimen_group). "
                       "Its superlattice reflections are real, so the set's label (the paper's: the average "
                       "structure) is not the specimen's own space group. Per set: the most frequent answer (share "
                       "of its patterns) and the share answered with the specimen's own group; of these, only 221 "
                       "is a class of the paper's five."))
        B.append(("table", ["set", "average structure (label)", "periodic specimen"] + [m["name"] for m in models],
                  rows))

    B.append(("h2", "Accuracy versus strain"))
    B.append(("p", "Like the paper's Fig. 2: accuracy of each model against normal strain along a and shear strain "
                   "gamma_xy, with 95 % Wilson intervals as error bars. Each model has its own colour and marker; "
                   "Al solid with filled markers, Fe dashed with open markers; curves are shifted sideways a little "
                   "so that equal points stay visible. What the paper states for Al: stars, published values; "
                   "dotted, no visible effect; triangle, below this beyond this strain."))
    B.append(("img", "strain_normal.png", plots.strain_plot(strain_curves(results, "normal"), "normal"),
              "Accuracy (%) versus normal strain along a, every model, Al and Fe, 95 % Wilson intervals; the "
              "paper's Fig. 2 statements in black"))
    B.append(("img", "strain_shear.png", plots.strain_plot(strain_curves(results, "shear"), "shear"),
              "Accuracy (%) versus shear strain gamma_xy, every model, Al and Fe, 95 % Wilson intervals; the "
              "paper's Fig. 2 statements in black"))

    B.append(("h2", "What the models assign to strained crystals"))
    B.append(("p", "Most frequent top-1 label (share of the set's patterns) at each strain, and the share of patterns "
                   "answered with the symmetry they can show ('visible', % [95 % Wilson interval] (patterns)): the "
                   "strained crystal's own space group where its zero-order Laue-zone net departs from the cubic "
                   "one by more than half a model pixel after the best scale and rotation (sadpnet.data.visible), "
                   "the cubic one elsewhere. 'visibly "
                   "lowered' = share of the set's patterns that show the lowered symmetry. A model with tetragonal "
                   "and monoclinic classes can name it; a cubic-only model is right only where it cannot be seen."))
    strain_sets = [s for s in sets if s["defect"].startswith("strain")]
    rows = []
    for s in strain_sets:
        cells = []
        for m in models:
            recs = results["per_pattern"].get(m["name"], {}).get(s["key"], [])
            if m["status"] != "ok":
                cells.append(NA)
            elif s["status"] != "ok" or not recs:
                cells.append("not simulated")
            else:
                cell = top_label_text(recs)
                if all("visible_correct" in r for r in recs):
                    cell += f"; visible {share_text(sum(bool(r['visible_correct']) for r in recs), len(recs), 0)}"
                cells.append(cell)
        shown = visibly_lowered_pct(results, s)
        rows.append([s["label"], "n/a" if shown is None else f"{shown:.0f} %"] + cells)
    B.append(("table", ["set", "visibly lowered"] + [m["name"] for m in models],
              rows or [["no strained set in this run", "n/a"]]))
    B.append(("img", "strain_lowered.png",
              plots.lowered_plot(lowered_curves(results, "normal"), lowered_curves(results, "shear")),
              "share of patterns answered with a non-cubic space group versus strain"))

    B += _unknown_blocks(results)
    B += _family_blocks(results)

    B.append(("h2", "Goals of issue 6"))
    B.append(("p", "Targets set by the project (issues 6 and 18), checked on this run's numbers, per pattern (the "
                   "paper's measure; the verdict refers to it), for each model they concern: every clean-trained and "
                   "defect-aware model of the run, the v2 models first (judged, 'n/a', even when not in the run); a "
                   "defect-aware model's loss on pristine patterns is against the clean-trained model of the same "
                   "version. Measured: share % [95 % Wilson interval] (patterns). "
                   "'met' only when the whole interval clears the goal; 'not enough patterns' when the interval "
                   "straddles it; 'not met' when the whole interval misses it; 'n/a' = the model or the sets needed "
                   "are not in this run. The loss on pristine patterns is a difference of two shares, with "
                   "Newcombe's interval. Beside it, for the accuracy goals, the material-level view: of the sets "
                   "involved, how many the model's ensemble verdict (all patterns of one specimen together) assigns "
                   "right."))
    B.append(("table", ["goal", "model", "measured", "verdict", "material level (ensemble)"], goals))

    B.append(("h2", "Example patterns"))
    B.append(("p", "Pristine beside defected, same material, zone axis, voltage and camera length (like the paper's "
                   "Figs. 3, 5, 7, 9 and 10). Top: the stored detector images (8-bit log mapping, which shows "
                   "features down to 1e-4 of the brightest pixel). Bottom, when a model ran: the same patterns as "
                   "the first model with an image input receives them after its preprocessing "
                   "(sadpnet.model.preprocess; a spot-indexing v2 model has none: it reads the spots of the stored "
                   "image)."))
    if not examples:
        B.append(("p", "No example: no defected set was simulated in this run."))
    for i, ex in enumerate(examples):
        z, kv, cl = ex["point"]
        B.append(("img", f"example_{i:02d}_{ex['set']}.png", plots.panel_plot(ex),
                  f"{ex['pristine_label']} beside {ex['label']}, [{''.join(map(str, z))}], {kv:g} kV, {cl:g} mm"))

    B.append(("h2", "Confusion matrices"))
    B.append(("p", "Rows: material and defect family (true space group); columns: top-1 space group (or label), "
                   "and how many of the row's patterns were flagged unknown. The tables give counts; in the plots "
                   "the colour is the share of the row's patterns (row-normalised) and the count is printed in "
                   "each cell."))
    for m in models:
        if m["status"] != "ok":
            B.append(("p", f"{m['name']}: {m['status']}."))
            continue
        names, cols, mat = confusion(results, m["name"])
        if not names:
            B.append(("p", f"{m['name']}: no pattern classified."))
            continue
        B.append(("table", [f"{m['name']}: true \\ predicted"] + cols,
                  [[n] + [str(v) for v in row] for n, row in zip(names, mat)]))
        B.append(("img", f"confusion_{m['name']}.png", plots.confusion_plot(names, cols, mat, m["name"]),
                  f"Confusion matrix of {m['name']}, row-normalised (colour = share of the row, counts printed)"))

    B.append(("h2", "Calibration"))
    B.append(("p", "Reliability of the top-1 probability (10 bins): fraction correct against mean probability, on "
                   "pristine sets and on all sets; ECE = expected calibration error."))
    rows = []
    for subset, pick in (("pristine", lambda s: s["defect"] == "pristine"), ("all sets", lambda s: True)):
        keys = [s["key"] for s in sets if pick(s)]
        curves = {}
        for m in models:
            if m["status"] != "ok":
                rows.append([m["name"], subset, NA, NA, NA, NA])
                continue
            recs = [r for k in keys for r in results["per_pattern"].get(m["name"], {}).get(k, [])]
            if not recs:
                rows.append([m["name"], subset, "not simulated", "-", "-", "-"])
                continue
            c = calibration(recs)
            curves[m["name"]] = c
            k = sum(bool(r["correct"]) for r in recs if np.isfinite(r["probability"]))
            rows.append([m["name"], subset, str(c["n"]), fmt(c["mean_confidence_pct"]), share_text(k, c["n"]),
                         fmt(c["ece_pct"])])
        if curves:
            B.append(("img", f"calibration_{subset.replace(' ', '_')}.png", plots.calibration_plot(curves, subset),
                      f"reliability diagram, {subset}"))
    B.append(("table", ["model", "sets", "patterns", "mean top-1 probability %",
                        "accuracy % [95 % Wilson interval] (patterns)", "ECE %"], rows))

    B.append(("h2", "Reproducibility"))
    g = results["grid"]
    B.append(("p", f"Command: `{results.get('command', 'sadpnet study')}`. Seed {results['seed']} (quick-mode grid "
                   f"points, defect realisations). Grid: voltages {g['voltages_kv']} kV, camera lengths "
                   f"{g['camera_lengths_mm']} mm, {len(g['zone_axes'])} zone axes, {_detector_text(g)}, specimens "
                   f"{g['cells']} cells, supercells repeated {g['supercell_repeats']}."))
    B.append(("table", ["model", "architecture", "classes", "training data", "weights sha256"],
              [[m["name"], str(m["architecture"] or NA) + (f" ({m['mixture']})" if m.get("mixture") else ""),
                str(m["classes"] or NA), str(m["training_data"] or NA),
                str(m["weights_sha256"] or NA)[:16]] for m in models]))
    B.append(("table", ["stage", "wall time s"],
              [["simulate (all sets)", f"{t['simulate']:.1f}"], ["classify (all models)", f"{t['classify']:.1f}"]]
              + [[f"classify: {k}", f"{v:.1f}"] for k, v in t["per_model"].items()]
              + [["total", f"{t.get('total', t['before_report']):.1f}"]]))
    est = _full_mode_estimate(results)
    if est:
        B.append(("p", f"Full mode (`sadpnet study --full`, the paper's whole grid for every set): {est['n_sets']} sets, "
                       f"{est['n_patterns']} patterns; at this run's measured rates per pattern and defect kind "
                       f"(same machine and load) it would take about {est['simulate_s'] / 3600:.1f} h of simulation "
                       f"and {est['classify_s'] / 3600:.1f} h of classification per model."))
    B.append(("table", ["package", "version"], [[k, str(v)] for k, v in results["versions"].items()]))
    B.append(("table", ["set", "patterns", "build s", "simulate s", "engine", "specimen"],
              [[s["key"], str(s["n_patterns"]), f"{s['build_s']:.2f}", f"{s['simulate_s']:.2f}",
                str((s.get("simulate_options") or {}).get("engine", "-")), _specimen_text(s["source"])]
               for s in sets]))
    return B


#: Rows of the "Unknown verdicts" table: (name, defects of its sets).
UNKNOWN_FAMILIES = (("pristine", ["pristine"]), ("thermal, periodic", ["thermal-md", "thermal-debye"]),
                    ("thermal, random blocks", ["thermal-md-shuffled", "thermal-debye-shuffled"]),
                    ("point defects, periodic", ["vacancy", "substitution", "interstitial"]),
                    ("point defects, random blocks",
                     ["vacancy-shuffled", "substitution-shuffled", "interstitial-shuffled"]),
                    ("normal strain", ["strain-normal"]), ("shear strain", ["strain-shear"]),
                    ("dislocation", ["dislocation"]), ("twin", ["twin"]),
                    ("dislocation + twin", ["dislocation", "twin"]))


def _unknown_cells(results: dict, m: dict, keys: list[str]) -> list[str]:
    """Unknown %, wrong patterns and wrong flagged % of one model on the sets ``keys``."""
    if m["status"] != "ok":
        return [NA, NA, NA]
    st = pooled(results, m["name"], keys)
    if st["n"] == 0:
        return ["not simulated"] * 3
    return [fmt(st["unknown_pct"]), f"{st['n_wrong']}",
            fmt(st["wrong_flagged_pct"]) if st["n_wrong"] else "no wrong pattern"]


def _unknown_blocks(results: dict) -> list[tuple]:
    """The "Unknown verdicts" section: per defect family and model the unknown rate, the wrong patterns and the
    share of them flagged, and for models that can answer "other" (v2) the share answered "other"."""
    models, sets = results["models"], results["sets"]
    other = [m for m in models if can_answer_other(results, m)]
    B: list[tuple] = [("h2", "Unknown verdicts")]
    B.append(("p", "How often each model answers unknown, or (models with an attached defect detector, "
                   "sadpnet.model.detector) flags the pattern as showing a dislocation or twin. 'wrong flagged' = "
                   "share of the wrongly classified patterns that were flagged (the useful case); the pristine row's "
                   "unknown % is the share of clean patterns flagged."))
    if other:
        B.append(("p", "A v2 model can also answer 'other' (not one of the five cubic space groups): it counts as a "
                       "wrong label, not as unknown; 'other %' = share of the patterns answered 'other', % [95 % "
                       f"Wilson interval] (patterns), for {', '.join(m['name'] for m in other)}."))
    rows = []
    for fname, defects in UNKNOWN_FAMILIES:
        keys = [s["key"] for s in sets if s["defect"] in defects]
        rows.append([fname] + sum([_unknown_cells(results, m, keys) + ([other_cell(results, m, keys)] if m in other
                                                                       else []) for m in models], []))
    header = ["defects"] + sum([[f"{m['name']} unknown %", f"{m['name']} wrong", f"{m['name']} wrong flagged %"]
                                + ([f"{m['name']} other %"] if m in other else []) for m in models], [])
    B.append(("table", header, rows))
    return B


def _family_blocks(results: dict) -> list[tuple]:
    """The "Accuracy by defect family" section: every model's accuracy pooled over the sets of each family of
    `UNKNOWN_FAMILIES` and over all sets, with the sets its ensemble verdict gets right."""
    models, sets = results["models"], results["sets"]
    B: list[tuple] = [("h2", "Accuracy by defect family")]
    B.append(("p", "Every model's accuracy pooled over the sets of one defect family (space-group scoring: % [95 % "
                   "Wilson interval] (patterns); the paper's appearance scoring after the slash), and how many of "
                   "those sets its ensemble verdict (all patterns of a set together) gets right. More patterns per "
                   "row than the paper table, so the intervals are narrower."))
    rows = []
    for fname, keys in [(f, [s["key"] for s in sets if s["defect"] in d]) for f, d in UNKNOWN_FAMILIES] + [
            ("all sets", [s["key"] for s in sets])]:
        rows.append([fname] + [NA if m["status"] != "ok" else f"{model_cell(results, m, keys)} / "
                               f"{model_cell(results, m, keys, 'appearance')}; {sets_right_text(results, m, keys)}"
                               for m in models])
    B.append(("table", ["defects"] + [f"{m['name']}: accuracy / appearance; sets right" for m in models], rows))
    return B


#: Specimen metadata shown in the report, in this order.
_SPECIMEN_KEYS = ("origin", "description", "method", "potential", "temperature_k", "u_rms_a", "u_max_a",
                  "max_displacement_a", "relax_steps", "converged", "snapshot_temperatures_k", "line", "burgers",
                  "glide_plane", "plane", "direction", "sigma", "requested", "block_a")


def _specimen_text(meta: dict) -> str:
    """A short description of how a set's specimen was made (from the defects stage's metadata)."""
    parts = []
    for k in _SPECIMEN_KEYS:
        if k in (meta or {}):
            v = meta[k]
            v = f"{v:.4g}" if isinstance(v, float) else (json.dumps(v) if isinstance(v, (dict, list)) else str(v))
            parts.append(f"{k}={v}")
    return "; ".join(parts) or str((meta or {}).get("name") or "perfect crystal")


def _full_mode_estimate(results: dict) -> dict | None:
    """Patterns of the full grid and its runtime at this run's per-pattern rates (by defect kind), s."""
    from sadpnet.study.testsets import Grid, paper_test_sets

    rate: dict[str, list[float]] = {}
    for s in results["sets"]:
        if s["status"] == "ok" and s["n_patterns"]:
            rate.setdefault(s["defect"], []).append((s["build_s"] + s["simulate_s"]) / s["n_patterns"])
    n_cls = sum(len(v) for m in results["per_pattern"].values() for v in m.values())
    if not rate:
        return None
    grid = Grid.full()
    sets = paper_test_sets(quick=False)
    n = {sp.key: len(grid.points(sp.zone_axes)) for sp in sets}
    mean = {k: float(np.mean(v)) for k, v in rate.items()}
    fallback = max(mean.values())
    sim = sum(n[sp.key] * mean.get(sp.defect, fallback) for sp in sets)
    per_model = results["timing_s"]["per_model"]
    cls_rate = (sum(per_model.values()) / n_cls) if n_cls else 0.0
    return {"n_sets": len(sets), "n_patterns": int(sum(n.values())), "simulate_s": sim,
            "classify_s": cls_rate * sum(n.values())}


# ---------------------------------------------------------------------------------------------- writers
def _md_table(header, rows) -> str:
    esc = lambda x: str(x).replace("|", "\\|").replace("\n", " ")  # noqa: E731
    out = ["| " + " | ".join(esc(h) for h in header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(esc(c) for c in r) + " |" for r in rows]
    return "\n".join(out)


def _inline_md(text: str) -> str:
    """HTML of a paragraph with **bold** and `code` (the only Markdown the report uses)."""
    import re

    t = html.escape(text)
    t = re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", t)
    return re.sub(r"`(.+?)`", r"<code>\1</code>", t)


def render(blocks: list[tuple]) -> tuple[str, str, dict[str, bytes]]:
    """(markdown, self-contained html, {png file name: bytes}) of the report's blocks."""
    md, body, files = [], [], {}
    n_fig = 0
    for b in blocks:
        kind = b[0]
        if kind in ("h1", "h2"):
            md.append(("# " if kind == "h1" else "## ") + b[1])
            body.append(f"<{kind} id=\"{html.escape(b[1].lower().replace(' ', '-'))}\">{html.escape(b[1])}</{kind}>")
        elif kind == "p":
            md.append(b[1])
            body.append(f"<p>{_inline_md(b[1])}</p>")
        elif kind == "table":
            md.append(_md_table(b[1], b[2]))
            head = "".join(f"<th>{html.escape(str(h))}</th>" for h in b[1])
            rows = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in r) + "</tr>" for r in b[2])
            body.append(f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>")
        elif kind == "img":  # the caption above its figure
            name, data, alt = b[1], b[2], b[3]
            files[name] = data
            n_fig += 1
            md.append(f"**Figure {n_fig}.** {alt}\n\n![{alt}](plots/{name})")
            body.append(f"<figure><figcaption><b>Figure {n_fig}.</b> {html.escape(alt)}</figcaption>"
                        f"<img alt=\"{html.escape(alt)}\" src=\"data:image/png;base64,"
                        f"{base64.b64encode(data).decode('ascii')}\"></figure>")
    style = ("body{font-family:sans-serif;max-width:1200px;margin:2em auto;padding:0 1em}"
             "table{border-collapse:collapse;font-size:12px;margin:1em 0}td,th{border:1px solid #bbb;padding:2px 6px}"
             "th{background:#eee}img{max-width:100%}figure{display:inline-block;margin:0.5em}")
    page = ("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>sadpnet robustness study</title>"
            f"<style>{style}</style></head><body>" + "\n".join(body) + "</body></html>\n")
    return "\n\n".join(md) + "\n", page, files


def write_report(out_dir: str | Path, results: dict, examples: list[dict]) -> Path:
    """Write report.md, report.html, plots/*.png and results.json into ``out_dir``; returns report.md's path."""
    t0 = time.perf_counter()
    out_dir = Path(out_dir)
    (out_dir / "plots").mkdir(parents=True, exist_ok=True)
    results["timing_s"]["total"] = results["timing_s"]["before_report"]  # the report's own time: results.json
    md, page, files = render(_blocks(results, examples))
    for name, data in files.items():
        with atomic_path(out_dir / "plots" / name) as tmp:
            tmp.write_bytes(data)
    results["timing_s"]["report"] = time.perf_counter() - t0
    write_text_atomic(out_dir / "results.json", json.dumps(results, indent=1, default=_json_default) + "\n")
    write_text_atomic(out_dir / "report.html", page)
    write_text_atomic(out_dir / "report.md", md)
    return out_dir / "report.md"


def _json_default(x):
    if isinstance(x, (np.integer,)):
        return int(x)
    if isinstance(x, (np.floating,)):
        return float(x)
    if isinstance(x, np.ndarray):
        return x.tolist()
    return str(x)
