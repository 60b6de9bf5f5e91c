"""Model files: safetensors weights plus a JSON card. Nothing else is ever loaded (no pickle).

A model directory holds exactly two files that matter:

* ``card.json``: what the model is and how to feed it (see `CARD_FORMAT`): architecture, classes,
  image size, the reciprocal-space calibration (``target_pixel_size_inv_a``, 1/A per pixel), the intensity
  mapping of the images it takes (``input_mapping``: `input_mapping`) and the preprocessing the model expects, temperature, unknown-detection score and threshold, training data id,
  metrics, library versions, and the SHA-256 and size of the weights file.
* ``model.safetensors``: tensors ``net.<name>`` (the network's state dict, float32 or float16) and
  ``ood.<name>`` (statistics for feature-distance unknown scores, optional).

`load_model_files` refuses (`InputError`, one line) a missing directory, card or weights file, a card that is
not valid JSON or not a sadpnet card, a weights file whose hash differs from the card's, a weights file that
is not safetensors, and a directory that holds pickle-type files (.pt .pth .pkl .ckpt .bin) next to the card.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from sadpnet.atomic_write import atomic_path, write_text_atomic
from sadpnet.errors import InputError
from sadpnet.simulate.detector import MEASURED_MAPPING, IntensityMapping

CARD_NAME = "card.json"
WEIGHTS_NAME = "model.safetensors"
CARD_FORMAT = "sadpnet-model"
CARD_VERSION = 1
PICKLE_SUFFIXES = (".pt", ".pth", ".pkl", ".pickle", ".ckpt", ".bin", ".joblib")


def input_mapping(card: dict) -> IntensityMapping | None:
    """The `IntensityMapping` of the images a model takes (the card's ``input_mapping`` tags), or None for a
    card made before the intensity contract that takes every image's values as they are given.

    Cards without ``input_mapping``: ``preprocessing.stored_log_range`` set means the network took linear
    intensity (`MEASURED_MAPPING`: stores and tagged files decoded, measured files as they are); unset (the
    shipped models), it took the values of stores (`render`'s `DEFAULT_MAPPING`) and of measured files (linear)
    as they were, and still does (None), so that its predictions stay what they were.

    Example:
        >>> input_mapping({"input_mapping": {"mapping": "linear", "full_scale": 1.0}}).kind
        'linear'
        >>> input_mapping({"preprocessing": {}}) is None
        True
    """
    if "input_mapping" in card:
        return IntensityMapping.from_tags(card["input_mapping"], f"{CARD_NAME} input_mapping")
    if (card.get("preprocessing") or {}).get("stored_log_range") is not None:
        return MEASURED_MAPPING
    return None


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def library_versions() -> dict:
    import importlib.metadata as md

    import numpy
    import torch

    from sadpnet import __version__

    return {"sadpnet": __version__, "torch": torch.__version__, "torchvision": md.version("torchvision"),
            "numpy": numpy.__version__}


def save_model_files(model_dir: str | Path, tensors: dict, card: dict, *, half: bool = False) -> Path:
    """Write ``tensors`` (name -> torch.Tensor) to model.safetensors and ``card`` to card.json, atomically.

    ``half=True`` stores the network's floating tensors (``net.*``) as float16 (the shipped model: half the size, outputs equal to
    float32 within ~1e-3 in logits). The card's ``weights`` entry (file, sha256, bytes, dtype) is filled in.
    Returns the directory.
    """
    import torch
    from safetensors.torch import save_file

    model_dir = Path(model_dir)
    model_dir.mkdir(parents=True, exist_ok=True)
    out = {}
    for k, v in tensors.items():
        v = v.detach().to("cpu").contiguous()
        if half and v.is_floating_point() and k.startswith("net."):  # statistics (ood.*) stay float32
            v = v.to(torch.float16)
        out[k] = v
    with atomic_path(model_dir / WEIGHTS_NAME) as tmp:
        save_file(out, str(tmp), metadata={"format": CARD_FORMAT})
    w = model_dir / WEIGHTS_NAME
    w.chmod(0o644)
    card = dict(card)
    card["format"] = CARD_FORMAT
    card["format_version"] = CARD_VERSION
    card["weights"] = {"file": WEIGHTS_NAME, "sha256": sha256_file(w), "bytes": w.stat().st_size,
                       "dtype": "float16" if half else "float32"}
    write_text_atomic(model_dir / CARD_NAME, json.dumps(card, indent=2, sort_keys=False) + "\n")
    (model_dir / CARD_NAME).chmod(0o644)
    return model_dir


def read_card(model_dir: str | Path) -> dict:
    """The parsed, checked card.json of ``model_dir`` (weights not read)."""
    model_dir = Path(model_dir)
    if not model_dir.is_dir():
        raise InputError("model directory not found", model_dir)
    card_path = model_dir / CARD_NAME
    if not card_path.is_file():
        raise InputError(f"no {CARD_NAME} in the model directory", model_dir)
    try:
        card = json.loads(card_path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"not a valid JSON model card ({exc.__class__.__name__})", card_path) from None
    if not isinstance(card, dict) or card.get("format") != CARD_FORMAT:
        raise InputError(f"not a sadpnet model card (format must be {CARD_FORMAT!r})", card_path)
    if int(card.get("format_version", 0)) > CARD_VERSION:
        raise InputError(f"card format version {card.get('format_version')} is newer than this sadpnet "
                         f"understands ({CARD_VERSION})", card_path)
    for key in ("architecture", "classes", "image_size_px", "target_pixel_size_inv_a", "weights"):
        if key not in card:
            raise InputError(f"model card lacks {key!r}", card_path)
    return card


def load_model_files(model_dir: str | Path) -> tuple[dict, dict]:
    """(card, tensors) of a model directory, after checking hashes; tensors are torch tensors on CPU."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    model_dir = Path(model_dir)
    card = read_card(model_dir)
    pickles = sorted(p.name for p in model_dir.iterdir() if p.suffix.lower() in PICKLE_SUFFIXES)
    if pickles:
        raise InputError(f"refusing a model directory with pickle-type files ({', '.join(pickles)}): "
                         "sadpnet loads only safetensors + card.json", model_dir)
    w = card["weights"]
    name = str(w.get("file", ""))
    if not name.endswith(".safetensors") or Path(name).name != name:
        raise InputError(f"weights file {name!r} is not a .safetensors file in the model directory",
                         model_dir / CARD_NAME)
    path = model_dir / name
    if not path.is_file():
        raise InputError("weights file missing", path)
    if path.stat().st_size != int(w.get("bytes", -1)) or sha256_file(path) != w.get("sha256"):
        raise InputError("weights file does not match the card's SHA-256 (tampered or replaced)", path)
    try:
        tensors = load_file(str(path))
    except (SafetensorError, OSError, ValueError) as exc:
        raise InputError(f"not a readable safetensors file ({' '.join(str(exc).split())[:120]})", path) from None
    return card, tensors


def split_tensors(tensors: dict) -> tuple[dict, dict]:
    """(network state dict, ood statistics) from the flat ``net.*`` / ``ood.*`` tensor names."""
    net = {k[4:]: v for k, v in tensors.items() if k.startswith("net.")}
    ood = {k[4:]: v for k, v in tensors.items() if k.startswith("ood.")}
    return net, ood
