"""One training example of a pattern source: the model's input of pattern i and the labels of a source.

Shared by the training loop (`sadpnet.model.train`) and the calibration that ends it
(`sadpnet.model.finalize`), so that both turn a stored pattern into a model input the same way.

Example::

    >>> x = model_input(source, 0, TrainConfig(), None)   # doctest: +SKIP
    >>> x.shape                                           # doctest: +SKIP
    (128, 128)
"""

from __future__ import annotations

import numpy as np

from sadpnet.errors import InputError
from sadpnet.model.augment import augment


def model_input(source, i: int, cfg, rng: np.random.Generator | None) -> np.ndarray:
    """Preprocessed (size, size) float32 input of pattern i (augmented when ``rng`` is given); ``cfg``: a
    `sadpnet.model.train.TrainConfig` (its ``input_mapping``, ``preprocess_settings()`` and
    ``augment_config()``). The image is converted once from its mapping (``source.mapping_of(i)``) into the
    model's; augmentation acts on the converted values."""
    from sadpnet.model.preprocess import PreprocessSettings, to_model_input

    img = source.mapping_of(i).convert(source.image(i), cfg.intensity_mapping(source))
    cal = source.pixel_size(i)
    if rng is not None:
        img, cal, centre, mask = augment(img, cal, rng, cfg.augment_config())
    else:
        img, cal, centre, mask = np.asarray(img, np.float32), cal, (img.shape[1] / 2.0, img.shape[0] / 2.0), None
    settings = PreprocessSettings.from_dict(cfg.preprocess_settings())
    return to_model_input(img, cal, centre_xy=centre, mask=mask, **settings.to_dict())


def encode_labels(source, scheme) -> np.ndarray:
    """(N,) int64 class index of every pattern of ``source`` (its ``table``) under the label scheme."""
    t = source.table
    if scheme.column not in t.columns:
        raise InputError(f"dataset has no column {scheme.column!r}", "--label")
    if scheme.kind == "appearance":
        return np.array([scheme.encode(v, z) for v, z in zip(t["space_group"], t["zone_axis"])], dtype=np.int64)
    return np.array([scheme.encode(v) for v in t[scheme.column]], dtype=np.int64)
