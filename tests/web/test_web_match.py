"""The best-matching simulated pattern: recovers zone axis and in-plane rotation of simulated spot sets."""

from __future__ import annotations

import base64
import io

import numpy as np
import pytest
from fastapi.testclient import TestClient
from web_helpers import FakeModel

from sadpnet.crystal import read_cif
from sadpnet.resources import example_cif
from sadpnet.simulate.api import simulate
from sadpnet.web.app import create_app
from sadpnet.web.match import best_match


def measured_spots(name, uvw, rotation_deg, min_intensity=0.02, seed=0, jitter_inv_a=0.002):
    """g (1/A) of the visible spots of a simulated pattern, slightly jittered (seeded), as a peak finder
    would report them."""
    pat = simulate(read_cif(example_cif(name)), uvw, voltage_kv=200, camera_length_mm=300,
                   inplane_rotation_deg=rotation_deg)
    g = np.array([s.g_inv_a for s in pat.spots if s.intensity >= min_intensity])
    return g + np.random.default_rng(seed).normal(0.0, jitter_inv_a, g.shape)


@pytest.mark.parametrize("name,sg,uvw,rotation_deg,symmetry_deg", [
    ("Fe", 229, (0, 1, 1), 30.0, 180.0),  # bcc [011]: 2mm
    ("Al", 225, (0, 0, 1), 10.0, 90.0),  # fcc [001]: 4mm
    ("Al", 225, (1, 1, 2), 47.0, 180.0),
])
def test_recovers_zone_axis_and_rotation(name, sg, uvw, rotation_deg, symmetry_deg):
    g = measured_spots(name, uvw, rotation_deg)
    m = best_match(sg, g, measured_pixel_size_inv_a=0.0035)
    assert m["space_group"] == sg and m["crystal"]["name"] == name
    assert tuple(m["zone_axis"]) == uvw
    off = (m["inplane_rotation_deg"] - rotation_deg) % symmetry_deg
    assert min(off, symmetry_deg - off) < 1.0
    assert m["score"] > 0.9 and m["candidates"][0]["zone_axis"] == list(uvw)
    # the returned spots, rotated as found, land on the measured ones
    sim = np.array([s["g_inv_a"] for s in m["spots"]])
    d = np.linalg.norm(g[:, None, :] - sim[None, :, :], axis=2).min(axis=1)
    assert np.median(d) < 0.01


def test_match_endpoint_returns_an_image(tmp_path):
    from PIL import Image

    client = TestClient(create_app(model=FakeModel()))
    g = measured_spots("Fe", (0, 1, 1), 30.0)
    r = client.post("/api/match", json={"space_group": 229, "spots_g_inv_a": g.tolist(), "pixel_size_inv_a": 0.0035,
                                        "field_radius_inv_a": 1.8, "size_px": 200})
    assert r.status_code == 200, r.text
    m = r.json()
    assert m["zone_axis"] == [0, 1, 1] and m["size_px"] == 200
    assert m["pixel_size_inv_a"] * 100 == pytest.approx(1.8, rel=1e-3)  # half-width = the field asked for
    img = Image.open(io.BytesIO(base64.b64decode(m["image_png"].split(",", 1)[1])))
    assert img.size == (200, 200) and np.asarray(img).std() > 1.0
    r = client.post("/api/match", json={"space_group": 229, "spots_g_inv_a": [[0.5, 0.0]], "pixel_size_inv_a": 0.0035})
    assert r.status_code == 422 and "at least 3" in r.json()["detail"]
    r = client.post("/api/match", json={"space_group": 231, "spots_g_inv_a": g.tolist(), "pixel_size_inv_a": 0.0035})
    assert r.status_code == 422
