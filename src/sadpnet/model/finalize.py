"""Turn a finished training run into a calibrated model: temperature, unknown score and threshold, card.

`finalize_model(out_dir, cfg, scheme, train_source, val_source, summary)`:

1. loads ``best.safetensors`` into the float32 network (the inference path of `sadpnet.model.infer`);
2. computes clean validation logits and fits the temperature (NLL), recording the ECE before and after;
3. fits class means and a shared covariance of the pooled features on up to ``n_feature_fit`` clean training
   patterns (Mahalanobis score);
4. builds synthetic amorphous-ring and noise-only sets (`sadpnet.model.ood_sets`) at the validation
   geometry, measures the AUROC of every unknown score (clean validation vs those sets) and keeps the best,
   with its threshold at 95 % acceptance of clean validation patterns;
5. writes ``model.safetensors`` (network ``net.*`` + statistics ``ood.*``, float16 when
   ``cfg.half_weights``) and ``card.json``.
"""

from __future__ import annotations

import datetime as _dt
import json
from pathlib import Path

import numpy as np

from sadpnet.model.examples import encode_labels, model_input
from sadpnet.simulate.detector import DEFAULT_MAPPING


def inputs_of(source, cfg, positions=None) -> np.ndarray:
    """Clean (non-augmented) preprocessed inputs (N, S, S) float32 of a source's rows (batched, torch)."""
    positions = range(len(source)) if positions is None else positions
    return np.stack([model_input(source, int(i), cfg, None) for i in positions]) if len(positions) else \
        np.zeros((0, cfg.image_size_px, cfg.image_size_px), np.float32)


def finalize_model(out_dir, cfg, scheme, train_source, val_source, summary: dict, *, n_feature_fit: int = 1500,
                   n_ood: int = 200, dataset_id: str | None = None) -> dict:
    import torch
    from safetensors.torch import load_file

    from sadpnet.model.calibrate import expected_calibration_error, fit_temperature, softmax
    from sadpnet.model.card import library_versions, save_model_files
    from sadpnet.model.infer import Classifier, build_network
    from sadpnet.model.ood_sets import amorphous_rings, noise_only
    from sadpnet.model.unknown import choose_score, fit_feature_stats

    out_dir = Path(out_dir)
    state = {k[4:]: v for k, v in load_file(str(out_dir / "best.safetensors")).items() if k.startswith("net.")}
    card = base_card(cfg, scheme, summary, dataset_id)
    net = build_network(card, state)
    clf = Classifier(net=net, card=card, scheme=scheme, model_dir=out_dir)

    y_val = encode_labels(val_source, scheme)
    val_logits, val_feats = clf.forward_inputs(inputs_of(val_source, cfg))
    temperature = fit_temperature(val_logits, y_val)
    p1, pt = softmax(val_logits), softmax(val_logits, temperature)
    calib = {"temperature": temperature, "fitted_on": "validation split (clean)", "n": int(len(y_val)),
             "val_accuracy": float((val_logits.argmax(1) == y_val).mean()),
             "ece_before": expected_calibration_error(p1, y_val), "ece_after": expected_calibration_error(pt, y_val)}
    card["calibration"] = calib

    rng = np.random.default_rng(cfg.seed)
    pos = np.sort(rng.permutation(len(train_source))[:n_feature_fit])
    tr_logits, tr_feats = clf.forward_inputs(inputs_of(train_source, cfg, pos))
    stats = fit_feature_stats(tr_feats, encode_labels(train_source, scheme)[pos], scheme.num_classes)
    clf.ood_stats = stats

    cal = float(np.median(val_source.table["pixel_size_inv_a"]))
    size = int(np.asarray(val_source.image(0)).shape[0])
    ood = {}
    for name, imgs in (("amorphous_rings", amorphous_rings(n_ood, size_px=size, pixel_size_inv_a=cal, seed=cfg.seed)),
                       ("noise_only", noise_only(n_ood, size_px=size, pixel_size_inv_a=cal, seed=cfg.seed + 1))):
        x = np.stack([clf.preprocess(im, cal, mapping=DEFAULT_MAPPING) for im in imgs])  # as stored images
        lo, fe = clf.forward_inputs(x)
        ood[name] = {"logits": lo, "features": fe}
    choice = choose_score({"logits": val_logits, "features": val_feats}, ood, temperature=temperature, stats=stats)
    choice["chosen_on"] = "clean validation vs synthetic amorphous rings + noise-only frames (sadpnet.model.ood_sets)"
    card["unknown"] = choice
    tensors = {f"net.{k}": v for k, v in net.state_dict().items()}
    tensors.update({f"ood.{k}": torch.from_numpy(np.ascontiguousarray(v)) for k, v in stats.items()})
    save_model_files(out_dir, tensors, card, half=cfg.half_weights)
    return card


def base_card(cfg, scheme, summary: dict, dataset_id: str | None = None) -> dict:
    from dataclasses import asdict

    from sadpnet.model.card import library_versions

    return {
        "name": Path(summary.get("out_dir", "model")).name,
        "created_utc": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "architecture": cfg.arch, "in_channels": 1, "image_size_px": int(cfg.image_size_px),
        "target_pixel_size_inv_a": float(cfg.target_pixel_size_inv_a),
        "preprocessing_function": "sadpnet.model.preprocess.to_model_input",
        "preprocessing": cfg.preprocess_settings(),
        "input_mapping": cfg.intensity_mapping().to_tags(),
        "classes": list(scheme.classes), "labels": scheme.to_dict(),
        "input": "one 2-D diffraction pattern with a reciprocal-space calibration (1/A per pixel)",
        "training": {"dataset_id": dataset_id or summary.get("dataset_id"), "config": asdict(cfg),
                     **{k: v for k, v in summary.items() if k != "out_dir"}},
        "versions": library_versions(),
    }


def card_json(card: dict) -> str:
    return json.dumps(card, indent=2)
