"""Train the spot-indexing classifier end to end: generated crystals, drawn patterns, fit, calibrate, save.

One call (`train_spot_indexing`, CLI ``sadpnet train-indexing``) does it all, reproducibly from ``seed``:

1. pyxtal crystals of the five cubic classes and of non-cubic groups (`indexing_data.generated_pool`),
   separate pools for training and validation;
2. ``n_train`` training examples drawn on the fly (half corpus, half generated crystals; the corpus without
   the held-out test families, and without the validation families);
3. ``n_val`` validation examples and ``n_val_sets`` validation zone-axis sets from the validation crystals;
4. the perceptron (`spot_model.fit_spot_model`), its temperature and its lattice-check weight kappa; with
   ``seeds`` > 1, one perceptron per seed (steps 1-4 each) and their mean (`spot_model.ensemble`),
   calibrated again on the first seed's validation crystals (with ``shared_examples`` every network trains on
   all seeds' patterns, the networks differing in their initial weights);
5. ``model.safetensors`` + ``card.json`` with the counts, seeds, timings (simulation + indexing rate against
   the fit's rate) and versions.

Example:
    >>> info = train_spot_indexing("out/models/spot-index", n_train=3000, workers=2)
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import numpy as np

from sadpnet.model import indexing_data as data
from sadpnet.errors import InputError
from sadpnet.model.spot_model import calibrate, decide, ensemble, fit_kappa, fit_spot_model, \
    save_spot_model


def _accuracy(model, X, y) -> float:
    return float((decide(model.predict_proba(X)) == y).mean()) if len(y) else float("nan")


def use_validation_crystals(seed: int, n_generated_cubic: int, n_generated_other: int, workers: int = 1) -> None:
    """Draw from the validation crystals of a training run of ``seed``: the validation corpus families and a
    generated pool a quarter the size of the training one (its own seed)."""
    data.use_generated(data.generated_pool(max(8, n_generated_cubic // 4), max(20, n_generated_other // 4),
                                           seed=2 * seed + 2, workers=workers))
    data.use_split("val")


def validation_examples(card: dict, *, workers: int = 1) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(X, y, material) of the validation patterns a spot-index model was calibrated on, drawn again from its
    card's ``training`` block (clean patterns; a defect-aware model's validation also had defects)."""
    return _from_validation_crystals(card, workers, lambda seed, t: data.draw_examples(
        int(t["n_val"]), seed=10 * seed + 2, workers=workers))


def validation_sets(card: dict, *, workers: int = 1) -> list:
    """The validation zone-axis sets a spot-index model's kappa was fitted on, drawn again from its card."""
    return _from_validation_crystals(card, workers, lambda seed, t: data.draw_sets(
        int(t["n_val_sets"]), seed=10 * seed + 3, workers=workers))


def _from_validation_crystals(card: dict, workers: int, draw):
    """``draw(seed, training block)`` among the validation crystals of the card's training run."""
    t = card["training"]
    seed, g = int(t["seed"]), t["generated_crystals"]
    use_validation_crystals(seed, g["cubic_per_class"], g["other"], workers)
    try:
        return draw(seed, t)
    finally:
        data.use_split("train")


def combine_spot_models(model_dirs: list, out_dir, *, workers: int = 1) -> dict:
    """Save the `spot_model.ensemble` of trained spot-index folders (e.g. one-seed trainings of one recipe with
    other seeds) in ``out_dir``, calibrated (temperature, kappa) on the validation crystals of the first; the
    same model as ``sadpnet train-indexing --seeds N`` where the folders are its seeds' one-seed trainings
    (defect-free ones: the first's validation is drawn again clean). Returns the card's ``training`` block."""
    from sadpnet.model.spot_model import load_spot_model

    models = [load_spot_model(d) for d in model_dirs]
    card = models[0].card
    _check_seeds_of_one_recipe([m.card for m in models], model_dirs)
    Xv, yv, _ = validation_examples(card, workers=workers)
    sets = validation_sets(card, workers=workers)
    model = fit_kappa(calibrate(ensemble(models), Xv, yv), sets)
    info = {**card["training"], "val_accuracy": _accuracy(model, Xv, yv),
            "members": [_member(m.card["training"], m) for m in models]}
    command = re.sub(r"-o \S+", f"-o {out_dir}", card["command"]) + f" --seeds {len(models)}"
    save_spot_model(model, out_dir, {"name": Path(out_dir).name, "training": info, "command": command,
                                     "combined_from": [str(d) for d in model_dirs]})
    return info


def _check_seeds_of_one_recipe(cards: list[dict], model_dirs: list) -> None:
    """Refuse members that ``--seeds N`` would not have trained: other recipes, or not seeds s, s+1, ..."""
    def recipe(card):
        return re.sub(r"-o \S+|--seed \d+", "", card.get("command", ""))

    seeds = [int(c["training"]["seed"]) for c in cards]
    for c, d in zip(cards, model_dirs):
        if recipe(c) != recipe(cards[0]) or "--seeds" in c.get("command", ""):
            raise InputError(f"not a one-seed training of the first folder's recipe ({cards[0].get('command')})", d)
    if seeds != list(range(seeds[0], seeds[0] + len(seeds))):
        raise InputError(f"the seeds {seeds} are not consecutive from the first", model_dirs[0])


def _member(info: dict, model) -> dict:
    """A member's line in an ensemble's card."""
    return {k: info[k] for k in ("seed", "val_accuracy", "train_accuracy", "wall_s")} | \
        {"temperature": model.temperature, "kappa": model.kappa}


def _ensure_cache(folder, per_crystal: int, workers: int, progress) -> dict:
    """Build the defect cache for the cubic crystals the stream draws now (missing ones only); its summary."""
    from sadpnet.data.defect_cache import build_defect_cache

    return build_defect_cache(data.cubic_crystals(), folder, per_crystal=per_crystal, seed=0, workers=workers,
                              progress=progress)


def train_spot_indexing(out_dir, *, n_train: int = 3000, n_val: int = 600, n_val_sets: int = 150,
                        n_generated_cubic: int = 80, n_generated_other: int = 200, seed: int = 0, seeds: int = 1,
                        shared_examples: bool = False, workers: int = 1, epochs: int = 150,
                        defect_rate: float = 0.0, defect_cache=None, defect_blocks: int = 2, progress=None) -> dict:
    """Train and save a spot-indexing model in ``out_dir``; returns the card's ``training`` block.

    ``seeds``: networks trained, with seeds ``seed`` .. ``seed + seeds - 1``, each exactly as a one-seed
    training of its seed (its own crystals, patterns and temperature); with more than one, the model is their
    `spot_model.ensemble`, its temperature and kappa fitted on the validation crystals of ``seed`` (which no
    other seed's training draws: each seed's generated pools are its own, the corpus split is fixed).
    ``shared_examples`` (with ``seeds`` > 1): every seed's crystals and ``n_train`` patterns are drawn as
    above, but each network trains on all of them (``seeds`` x ``n_train``), the networks differing in their
    initial weights; only ``seed``'s validation is drawn, and calibrates each network and their mean.
    ``epochs``: full-batch steps of each network's fit (`spot_model.fit_spot_model`).
    ``defect_rate``: share of cubic training and validation patterns whose crystal goes through
    `sadpnet.data.stream_defects.draw_defect` (a defect-aware model; 0 = clean). The validation zone-axis sets
    that fit the lattice-check weight stay clean.
    ``defect_cache``: folder of a `sadpnet.data.defect_cache`, built (``defect_blocks`` blocks per family and
    crystal, seed 0) where it lacks a training or validation crystal, reused where present; the atoms-engine
    defects then come from it and the random-placement families are drawn too (`CACHE_FAMILY_WEIGHTS`).
    ``progress(stage, done, total)`` reports the long stages ("seed S: train", "seed S: val", "seed S: defect
    cache (train)" ...).
    """
    if seeds < 1:
        raise InputError(f"must be at least 1, got {seeds}", "seeds")
    if shared_examples and seeds < 2:
        raise InputError("needs --seeds 2 or more (the patterns of several seeds to share)", "shared-examples")
    stream = TrainingStream(n_train=n_train, n_val=n_val, n_val_sets=n_val_sets, n_generated_cubic=n_generated_cubic,
                            n_generated_other=n_generated_other, workers=workers, defect_rate=defect_rate,
                            defect_cache=defect_cache, defect_blocks=defect_blocks, progress=progress)
    if shared_examples:
        model, info = _train_shared(stream, range(seed, seed + seeds), epochs)
    else:
        model, info = _train_separate(stream, range(seed, seed + seeds), epochs)
    command = (f"sadpnet train-indexing -o {out_dir} --examples {n_train} --val-examples {n_val} "
               f"--val-sets {n_val_sets} --seed {seed} --workers {workers}" + (f" --seeds {seeds}" if seeds > 1 else "")
               + (" --shared-examples" if shared_examples else "") + (f" --epochs {epochs}" if epochs != 150 else "")
               + (f" --defects {defect_rate:g}" if defect_rate > 0 else "")
               + (f" --defect-cache {defect_cache} --defect-blocks {defect_blocks}"
                  if defect_cache and defect_rate > 0 else ""))
    save_spot_model(model, out_dir, {"name": Path(out_dir).name, "training": info, "command": command})
    return info


def _train_separate(stream: TrainingStream, seeds, epochs: int):
    """Each seed's network trained on its own draws (`train_network`); several: their calibrated mean."""
    members = [train_network(stream, seed=s, epochs=epochs) for s in seeds]
    model, info, (Xv, yv, sets) = members[0]
    if len(members) > 1:
        model = fit_kappa(calibrate(ensemble([m[0] for m in members]), Xv, yv), sets)
        info = {**info, "val_accuracy": _accuracy(model, Xv, yv),
                "members": [_member(m[1], m[0]) for m in members]}
    return model, info


def _train_shared(stream: TrainingStream, seeds, epochs: int):
    """Every seed's draws pooled; one network per seed (its initial weights) on all of them, each calibrated on
    the first seed's validation, then their mean calibrated and kappa fitted there."""
    seeds = list(seeds)
    draws = [stream.training(s) for s in seeds]
    X, y = np.concatenate([d[0] for d in draws]), np.concatenate([d[1] for d in draws])
    t0 = time.perf_counter()
    Xv, yv, sets = stream.validation(seeds[0])
    val_s = time.perf_counter() - t0
    nets, members = [], []
    for s, d in zip(seeds, draws):
        t1 = time.perf_counter()
        net = calibrate(fit_spot_model(X, y, seed=s, epochs=epochs), Xv, yv)
        fit_s = time.perf_counter() - t1
        nets.append(net)
        members.append({"seed": s, "val_accuracy": _accuracy(net, Xv, yv), "train_accuracy": _accuracy(net, X, y),
                        "wall_s": {**d[3], "fit": fit_s}, "temperature": net.temperature})
    model = fit_kappa(calibrate(ensemble(nets), Xv, yv), sets)
    wall_s = {k: sum(d[3][k] for d in draws) for k in ("crystals", "train_examples")}
    info = _info(stream, seeds[0], X, y, np.concatenate([d[2] for d in draws]), model, (Xv, yv), epochs,
                 {**wall_s, "validation": val_s, "fit": sum(m["wall_s"]["fit"] for m in members)})
    info |= {"shared_examples": True, "n_train_total": int(len(y)), "members": members}
    return model, info


class TrainingStream:
    """The draws of one recipe (`train_spot_indexing`'s keyword arguments, without seeds and fit): a seed's
    training examples, its validation; what ``sadpnet train-indexing --seed S`` draws (also used by
    bench/mlp_recipe.py to draw them once)."""

    def __init__(self, *, progress=None, **opts):
        self.opts, self.progress = opts, progress
        self.builds: dict = {}  # the defect cache's build summaries, per split (none without a cache)

    def report(self, seed: int, stage: str):
        return (lambda done, total: self.progress(f"seed {seed}: {stage}", done, total)) if self.progress else None

    def training(self, seed: int):
        """(X, y, material, wall_s) of ``seed``'s training draws: its generated crystals, then the patterns."""
        o = self.opts
        t0 = time.perf_counter()
        data.use_generated(data.generated_pool(o["n_generated_cubic"], o["n_generated_other"], seed=2 * seed + 1,
                                               workers=o["workers"]))
        data.use_split("train")
        if o["defect_cache"] and o["defect_rate"] > 0:
            self.builds["train"] = _ensure_cache(o["defect_cache"], o["defect_blocks"], o["workers"],
                                                 self.report(seed, "defect cache (train)"))
        t1 = time.perf_counter()
        X, y, material = data.draw_examples(o["n_train"], seed=10 * seed + 1, workers=o["workers"],
                                            progress=self.report(seed, "train"), defect_rate=o["defect_rate"],
                                            defect_cache=o["defect_cache"])
        return X, y, material, {"crystals": t1 - t0, "train_examples": time.perf_counter() - t1}

    def validation(self, seed: int):
        """(X_val, y_val, validation sets) of ``seed``'s validation crystals."""
        o = self.opts
        use_validation_crystals(seed, o["n_generated_cubic"], o["n_generated_other"], o["workers"])
        try:
            if o["defect_cache"] and o["defect_rate"] > 0:
                self.builds["val"] = _ensure_cache(o["defect_cache"], o["defect_blocks"], o["workers"],
                                                   self.report(seed, "defect cache (val)"))
            Xv, yv, _ = data.draw_examples(o["n_val"], seed=10 * seed + 2, workers=o["workers"],
                                           progress=self.report(seed, "val"), defect_rate=o["defect_rate"],
                                           defect_cache=o["defect_cache"])
            sets = data.draw_sets(o["n_val_sets"], seed=10 * seed + 3, workers=o["workers"])
        finally:
            data.use_split("train")
        return Xv, yv, sets


def train_network(stream: TrainingStream, *, seed: int, epochs: int):
    """One seed's network on its own draws, calibrated, with its kappa: (model, training block, (X_val, y_val,
    val sets))."""
    X, y, material, wall_s = stream.training(seed)
    t0 = time.perf_counter()
    Xv, yv, sets = stream.validation(seed)
    t1 = time.perf_counter()
    model = fit_spot_model(X, y, seed=seed, epochs=epochs)
    fit_s = time.perf_counter() - t1
    calibrate(model, Xv, yv)
    fit_kappa(model, sets)
    info = _info(stream, seed, X, y, material, model, (Xv, yv), epochs,
                 {**wall_s, "validation": t1 - t0, "fit": fit_s})
    return model, info, (Xv, yv, sets)


def _info(stream: TrainingStream, seed: int, X, y, material, model, val, epochs: int, wall_s: dict) -> dict:
    """The card's ``training`` block of a network (or of the mean of networks) trained on ``X``, ``y``."""
    o = stream.opts
    info = {"seed": seed, "n_train": int(o["n_train"]), "n_val": int(o["n_val"]), "n_val_sets": int(o["n_val_sets"]),
            "generated_crystals": {"cubic_per_class": o["n_generated_cubic"], "other": o["n_generated_other"]},
            "train_materials": int(len(set(material))), "label_counts": np.bincount(y, minlength=6).tolist(),
            "train_accuracy": _accuracy(model, X, y), "val_accuracy": _accuracy(model, *val),
            "examples_per_s": float(len(y) / max(wall_s["train_examples"], 1e-9)),
            "fit_examples_per_s": float(len(y) * epochs / max(wall_s["fit"], 1e-9)), "epochs": int(epochs),
            "wall_s": wall_s, "workers": o["workers"], "held_out": "sadpnet/resources/holdout/classifier-v2-test.csv"}
    if o["defect_rate"] > 0:
        info["defects"] = _defects_block(o["defect_rate"], o["defect_cache"], stream.builds)
    return info


def _defects_block(defect_rate: float, defect_cache, builds: dict) -> dict:
    """The card's record of the drawn defects: rate, family weights, and the cache (where one was used)."""
    from sadpnet.data.stream_defects import CACHE_FAMILY_WEIGHTS, FAMILY_WEIGHTS, MAX_SUPERCELL_ATOMS

    weights = CACHE_FAMILY_WEIGHTS if builds else FAMILY_WEIGHTS
    block = {"rate": float(defect_rate), "family_weights": weights, "max_supercell_atoms": MAX_SUPERCELL_ATOMS,
             "module": "sadpnet.data.stream_defects"}
    if builds:
        from sadpnet.data.defect_cache import read_cache_meta

        block["cache"] = {"folder": str(defect_cache), **read_cache_meta(defect_cache), "builds": builds}
    return block
