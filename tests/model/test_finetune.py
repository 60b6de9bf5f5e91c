"""Fine-tuning (--init-from) and balanced epochs (--balance)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from sadpnet.errors import InputError
from sadpnet.model.labels import LabelScheme
from sadpnet.model.registry import build_model
from sadpnet.model.train import TrainConfig, _epoch_order, _init_weights, train

TINY = dict(image_size_px=64, target_pixel_size_inv_a=0.0532, batch_size=10, samples_per_epoch=20, threads=1)
FIN = dict(n_feature_fit=30, n_ood=8)


@pytest.fixture(scope="module")
def trained(five_source, tmp_path_factory):
    out = tmp_path_factory.mktemp("base") / "run"
    train(five_source, five_source, TrainConfig(epochs=1, seed=3, **TINY), out, progress=False, finalize_kwargs=FIN)
    return out


def test_init_from_loads_every_layer_when_classes_match(trained):
    stored = {k[4:]: v.float() for k, v in load_file(str(trained / "model.safetensors")).items()
              if k.startswith("net.")}
    net = build_model("resnet18", 5)
    cfg = TrainConfig(init_from=str(trained), **TINY)
    _init_weights(net, cfg, LabelScheme.from_column([213, 221, 225, 227, 229]))
    sd = net.state_dict()
    assert all(torch.equal(sd[k].float(), stored[k]) for k in stored)


def test_init_from_with_new_classes_keeps_backbone_and_resets_the_last_layer(trained):
    stored = {k[4:]: v.float() for k, v in load_file(str(trained / "model.safetensors")).items()
              if k.startswith("net.")}
    torch.manual_seed(0)
    net = build_model("resnet18", 7)
    fc_before = net.fc.weight.detach().clone()
    cfg = TrainConfig(init_from=str(trained), **TINY)
    _init_weights(net, cfg, LabelScheme.from_column([12, 139, 213, 221, 225, 227, 229]))
    sd = net.state_dict()
    assert torch.equal(sd["conv1.weight"].float(), stored["conv1.weight"])
    assert torch.equal(net.fc.weight, fc_before) and net.fc.weight.shape[0] == 7


def test_init_from_refuses_another_image_size(trained):
    cfg = TrainConfig(init_from=str(trained), **{**TINY, "image_size_px": 96})
    with pytest.raises(InputError, match="image_size_px"):
        _init_weights(build_model("resnet18", 5), cfg, LabelScheme.from_column([213, 221, 225, 227, 229]))


def test_init_any_scale_takes_the_filters_of_another_image_size_and_scale(trained):
    """--init-any-scale: a 96-px model at half the pixel size starts from the 64-px model's weights."""
    stored = {k[4:]: v.float() for k, v in load_file(str(trained / "model.safetensors")).items()
              if k.startswith("net.")}
    cfg = TrainConfig(init_from=str(trained), init_any_scale=True,
                      **{**TINY, "image_size_px": 96, "target_pixel_size_inv_a": 0.0266})
    net = build_model("resnet18", 5)
    _init_weights(net, cfg, LabelScheme.from_column([213, 221, 225, 227, 229]))
    assert all(torch.equal(net.state_dict()[k].float(), stored[k]) for k in stored)
    with pytest.raises(InputError, match="architecture"):  # the architecture must still match
        _init_weights(build_model("resnet34", 5), TrainConfig(**{**cfg.__dict__, "arch": "resnet34"}),
                      LabelScheme.from_column([213, 221, 225, 227, 229]))


def test_fine_tuning_run_starts_from_the_given_weights(five_source, trained, tmp_path):
    cfg = TrainConfig(epochs=1, seed=4, init_from=str(trained), lr=1e-9, **TINY)
    train(five_source, five_source, cfg, tmp_path / "ft", progress=False, finalize=False)
    a = load_file(str(trained / "model.safetensors"))
    b = load_file(str(tmp_path / "ft" / "best.safetensors"))
    # a learning rate of 1e-9 barely moves the weights: the run started from `trained`, not from random ones
    w_a, w_b = a["net.layer4.1.conv2.weight"].float(), b["net.layer4.1.conv2.weight"].float()
    assert torch.allclose(w_a, w_b, atol=2e-3)


class _Src:
    def __init__(self, values):
        import pandas as pd

        self.table = pd.DataFrame({"defect_type": values})

    def __len__(self):
        return len(self.table)


def test_balanced_epochs_draw_each_value_equally_often():
    src = _Src(["none"] * 900 + ["twin"] * 90 + ["dislocation"] * 10)
    cfg = TrainConfig(balance="defect_type", seed=0)
    order = _epoch_order(src, cfg, epoch=0, n_epoch=30000)
    kinds = src.table.defect_type.to_numpy()[order]
    shares = {k: np.mean(kinds == k) for k in ("none", "twin", "dislocation")}
    assert all(abs(s - 1 / 3) < 0.02 for s in shares.values()), shares
    assert np.array_equal(order, _epoch_order(src, cfg, epoch=0, n_epoch=30000))  # seeded
    plain = _epoch_order(src, TrainConfig(seed=0), epoch=0, n_epoch=1000)
    assert sorted(plain) == list(range(1000))  # without balance: a permutation, no repeats
    with pytest.raises(InputError, match="--balance"):
        _epoch_order(src, TrainConfig(balance="colour"), epoch=0, n_epoch=10)


def test_concat_sources_pools_patterns_and_refuses_other_sizes():
    import pandas as pd

    from sadpnet.model.source import MemorySource, concat_sources

    a = MemorySource(np.zeros((2, 8, 8), np.uint8), pd.DataFrame({"space_group": [225, 229], "defect_type": "none"}))
    b = MemorySource(np.ones((3, 8, 8), np.uint8), pd.DataFrame({"space_group": [225] * 3, "defect_type": "twin"}))
    c = concat_sources([a, b])
    assert len(c) == 5 and c.image(4).max() == 1 and list(c.table.defect_type) == ["none"] * 2 + ["twin"] * 3
    with pytest.raises(InputError, match="different sizes"):
        concat_sources([a, MemorySource(np.zeros((1, 4, 4), np.uint8), a.table.iloc[:1])])
