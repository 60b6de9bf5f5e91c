"""Small pattern sources made with the real simulator (5 example crystals of the paper's space groups)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

#: (example crystal, space group) of the paper's five classes.
FIVE = (("beta-Mn", 213), ("CsCl", 221), ("Al", 225), ("Si", 227), ("Fe", 229))
ZONES = ((0, 0, 1), (0, 1, 1), (1, 1, 1), (0, 1, 2), (1, 1, 2), (0, 1, 3))


def simulated_source(zones=ZONES, voltages_kv=(200.0,), camera_lengths_mm=(300.0,), rotations_deg=(0.0,),
                     crystals=FIVE, cells=(12, 12, 8)):
    """A MemorySource of rendered 256-px patterns (uint8) with a table like a dataset store's."""
    from sadpnet.crystal import read_cif
    from sadpnet.model.source import MemorySource
    from sadpnet.resources import example_cif
    from sadpnet.simulate.cell_engine import simulate_cell
    from sadpnet.simulate.detector import render
    from sadpnet.simulate.microscope import Microscope

    imgs, rows = [], []
    for name, sg in crystals:
        c = read_cif(example_cif(name))
        for kv in voltages_kv:
            for cl in camera_lengths_mm:
                mic = Microscope(kv, cl)
                for z in zones:
                    for rot in rotations_deg:
                        p = simulate_cell(c, mic, z, cells=cells, inplane_rotation_deg=rot, oversample=2)
                        imgs.append(render(p))
                        rows.append({"material_id": name, "space_group": sg, "crystal_system": "cubic",
                                     "zone_axis": "".join(map(str, z)), "voltage_kv": kv, "camera_length_mm": cl,
                                     "pixel_size_inv_a": mic.pixel_size_inv_a, "rotation_deg": rot})
    return MemorySource(np.stack(imgs), pd.DataFrame(rows))


@pytest.fixture(scope="session")
def five_source():
    return simulated_source()
