"""How the spot-index perceptron is trained, measured on validation crystals (never on the test).

The features of the training stream are what cost time (simulation and indexing, about 6 patterns/s on two
cores); fitting the perceptron takes seconds. ``build`` draws them once, exactly as ``sadpnet train-indexing
--seed S`` draws them (each seed's own generated crystals, the training split), plus the validation patterns
and 3-axis validation sets of seed 0 (crystals that no seed's training draws). ``sweep`` then fits
perceptrons of several recipes on the training features of the first k seeds (k x 2400 examples) and prints,
per recipe, the validation accuracy (group rule, `spot_model.decide`) with its Wilson interval, the
negative log-likelihood after the temperature fit, and the validation 3-axis sets answered right by the
joint rule (`spot_model.joint_posterior`) at the best kappa of the grid (an upper bound: training fits kappa
by log-likelihood).

Usage:
    .venv/bin/python bench/mlp_recipe.py build -o out/mlp --seeds 0 1 2 3 4 --workers 2
    .venv/bin/python bench/mlp_recipe.py sweep -o out/mlp
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from sadpnet.model.calibrate import nll
from sadpnet.model.indexing import evidence_features, joint_scores
from sadpnet.model.spot_model import KAPPA_GRID, LABELS, calibrate, decide, ensemble, fit_spot_model, \
    joint_from_scores
from sadpnet.model.spot_train import TrainingStream
from sadpnet.stats import share_text

N_TRAIN, N_VAL, N_SETS = 2400, 500, 120
GENERATED = (80, 200)  # cubic per class, other: train-indexing's defaults


def build(out: Path, seeds: list[int], workers: int) -> None:
    """Training features of each seed (``seed{S}.npz``) and seed 0's validation (``val.npz``), drawn by
    `spot_train.TrainingStream` as ``train-indexing`` draws them."""
    out.mkdir(parents=True, exist_ok=True)
    stream = TrainingStream(n_train=N_TRAIN, n_val=N_VAL, n_val_sets=N_SETS, n_generated_cubic=GENERATED[0],
                            n_generated_other=GENERATED[1], workers=workers, defect_rate=0.0, defect_cache=None,
                            defect_blocks=2)
    if not (out / "val.npz").exists():
        t0 = time.perf_counter()
        Xv, yv, sets = stream.validation(0)
        np.savez(out / "val.npz", X=Xv, y=yv,
                 set_X=np.stack([np.stack([evidence_features(e) for e in ev]) for ev, _ in sets]),
                 set_js=np.stack([joint_scores(ev)[0] for ev, _ in sets]), set_y=np.array([y for _, y in sets]))
        print(f"validation: {time.perf_counter() - t0:.0f} s", flush=True)
    for s in seeds:
        path = out / f"seed{s}.npz"
        if path.exists():
            continue
        t0 = time.perf_counter()
        X, y, material, _ = stream.training(s)
        np.savez(path, X=X, y=y, material=material)
        print(f"seed {s}: {time.perf_counter() - t0:.0f} s", flush=True)


def _set_accuracy(model, val) -> tuple[int, int]:
    """Validation 3-axis sets right by the joint rule (`spot_model.joint_from_scores`) at the kappa of
    `spot_model.KAPPA_GRID` that gets most of them right (training fits kappa by log-likelihood instead, so
    this count is an upper bound of what a trained model with that recipe gets)."""
    n_sets, n_labels = len(val["set_y"]), len(LABELS)
    probs = model.predict_proba(val["set_X"].reshape(-1, val["set_X"].shape[-1])).reshape(n_sets, -1, n_labels)
    return max(sum(int(decide(joint_from_scores(p, js, kappa)[None])[0] == y)
                   for p, js, y in zip(probs, val["set_js"], val["set_y"])) for kappa in KAPPA_GRID), n_sets


def _report(name: str, model, val) -> None:
    model = calibrate(model, val["X"], val["y"])
    k = int((decide(model.predict_proba(val["X"])) == val["y"]).sum())
    sets, n_sets = _set_accuracy(model, val)
    loss = nll(model.logits(val["X"]), val["y"], model.temperature)
    print(f"{name:<44} val {share_text(k, len(val['y']))}  NLL {loss:.3f}  T {model.temperature:.2f}  sets {sets}/{n_sets}",
          flush=True)


RECIPES = {  # name: fit_spot_model keyword arguments (the shipped recipe first)
    "shipped (150 full-batch steps, lr 3e-3)": dict(epochs=150),
    "75 steps": dict(epochs=75),
    "300 steps": dict(epochs=300),
    "600 steps": dict(epochs=600),
    "1200 steps": dict(epochs=1200),
    "300 steps, hidden 32": dict(epochs=300, hidden=32),
    "600 steps, hidden 128": dict(epochs=600, hidden=128),
    "1200 steps, hidden 128, wd 1e-2": dict(epochs=1200, hidden=128, weight_decay=1e-2),
}


def _dropped(arrays: dict, drop: list[str]) -> dict:
    """``arrays`` with the features named (or ending in ":name") in ``drop`` set to 0 (no information)."""
    from sadpnet.model.spot_model import FEATURES

    cols = [i for i, f in enumerate(FEATURES) if f in drop or f.split(":")[-1] in drop]
    out = dict(arrays)
    for key in ("X", "set_X"):
        if key in out and cols:
            out[key] = out[key].copy()
            out[key][..., cols] = 0.0
    return out


def sweep(out: Path, seeds: list[int], members: int, sizes: list[int] | None = None,
          recipes: list[str] | None = None, drop: list[str] | None = None) -> None:
    val = _dropped(dict(np.load(out / "val.npz")), drop or [])
    train = [_dropped(dict(np.load(out / f"seed{s}.npz")), drop or [])
             for s in seeds if (out / f"seed{s}.npz").exists()]
    print(f"{len(train)} seeds of training features, validation {len(val['y'])} patterns, {len(val['set_y'])} sets")
    for k in sorted(set(sizes or [1, len(train)])):
        X = np.concatenate([t["X"] for t in train[:k]])
        y = np.concatenate([t["y"] for t in train[:k]])
        for name, kw in RECIPES.items():
            if recipes and name not in recipes:
                continue
            t0 = time.perf_counter()
            nets = [fit_spot_model(X, y, seed=i, **kw) for i in range(members)]
            model = nets[0] if members == 1 else ensemble([calibrate(m, val["X"], val["y"]) for m in nets])
            _report(f"{len(y)} ex, {members} net, {name} ({time.perf_counter() - t0:.0f} s)", model, val)
            if members > 1 and k == 1 and len(train) >= members:  # the shipped way: network i on seed i's features
                nets = [calibrate(fit_spot_model(t["X"], t["y"], seed=i, **kw), val["X"], val["y"])
                        for i, t in enumerate(train[:members])]
                _report(f"{members} x {N_TRAIN} ex (one seed each), {name}", ensemble(nets), val)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("action", choices=["build", "sweep"])
    ap.add_argument("-o", "--out", type=Path, default=Path("out/mlp"))
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    ap.add_argument("--members", type=int, default=1)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--sizes", type=int, nargs="+", help="numbers of seeds' training features to pool")
    ap.add_argument("--recipe", action="append", help="only these recipes (names of RECIPES)")
    ap.add_argument("--drop", action="append", help="features to drop (a FEATURES name or a per-class one: log_a)")
    a = ap.parse_args()
    if a.action == "build":
        build(a.out, a.seeds, a.workers)
    else:
        sweep(a.out, a.seeds, a.members, a.sizes, a.recipe, a.drop)


if __name__ == "__main__":
    main()
