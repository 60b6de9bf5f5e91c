"""The PyTorch dataset over a store: every selected pattern once, labels from any column, stored values."""


import numpy as np
import pytest
import torch

from sadpnet.data.store import open_images, read_table
from sadpnet.data.torch_dataset import StoreDataset
from sadpnet.errors import InputError


def test_each_selected_pattern_once_with_its_label_and_calibration(quick_store):
    table = read_table(quick_store)
    images = open_images(quick_store)[:]
    ds = StoreDataset(quick_store, split="train", label="space_group", return_index=True, seed=3)
    items = list(ds)
    idx = [i for *_, i in items]
    assert sorted(idx) == sorted(table.pattern_index[table.split == "train"])
    assert idx != sorted(idx)  # shuffled
    assert ds.classes == sorted(table.space_group.unique())  # classes of the whole store, not the split
    for img, target, cal, i in items:
        row = table.iloc[i]
        assert img.shape == (1, 128, 128) and img.dtype == torch.float32
        assert torch.equal(img[0], torch.from_numpy(images[i].astype(np.float32) / 255))
        assert ds.classes[target] == row.space_group
        assert cal == pytest.approx(row.pixel_size_inv_a, rel=1e-6)
    # another epoch: another order, same items
    ds.set_epoch(1)
    idx2 = [i for *_, i in ds]
    assert sorted(idx2) == sorted(idx) and idx2 != idx


def test_label_any_column_filters_and_dataloader_workers(quick_store):
    table = read_table(quick_store)
    ds = StoreDataset(quick_store, label="crystal_system", filters={"zone_axis": ["[0 0 1]", "[1 1 1]"]},
                      return_index=True)
    assert ds.classes == ["cubic"] and len(ds) == int(table.zone_axis.isin(["[0 0 1]", "[1 1 1]"]).sum())
    loader = torch.utils.data.DataLoader(ds, batch_size=4, num_workers=2)
    seen = torch.cat([b[3] for b in loader]).tolist()
    assert sorted(seen) == sorted(ds.table.pattern_index)  # the two workers share the chunks, no repeats
    with pytest.raises(InputError, match="no column 'hardness'"):
        StoreDataset(quick_store, label="hardness")
    with pytest.raises(InputError, match="no split 'holdout'"):
        StoreDataset(quick_store, split="holdout")
