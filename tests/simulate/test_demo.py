"""`sadpnet demo` on a reduced set (the full demo is the same code on 8 crystals x 4 zone axes)."""

import json

from PIL import Image


def test_demo_writes_patterns_sheet_index(tmp_path):
    from sadpnet.study.demo import run_demo

    index = run_demo(tmp_path, crystals=("Al", "CsCl"), zone_axes=((0, 0, 1), (1, 1, 1)), size_px=128, progress=False)
    assert len(index["patterns"]) == 4
    for e in index["patterns"]:
        img = Image.open(tmp_path / e["image"])
        assert img.size == (128, 128)
        spots = json.loads((tmp_path / e["spots"]).read_text())
        assert spots["space_group"] == e["space_group"] and len(spots["spots"]) == e["n_spots"] > 0
    sheet = Image.open(tmp_path / "contact_sheet.png")
    assert sheet.size[0] > 200 and sheet.size[1] > 200
    assert json.loads((tmp_path / "index.json").read_text())["contact_sheet"] == "contact_sheet.png"
