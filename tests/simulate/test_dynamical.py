"""The optional dynamical engine (abTEM multislice): thin crystals reduce to the kinematic pattern."""

import numpy as np
import pytest

from sadpnet.resources import example_cif


@pytest.mark.slow
def test_thin_crystal_matches_kinematic():
    pytest.importorskip("abtem")
    from sadpnet.simulate import simulate

    kw = dict(voltage_kv=200, camera_length_mm=300, size_px=128, cells=(24, 24, 3), debye_waller=False)
    dyn = simulate(example_cif("Al"), (0, 0, 1), engine="dynamical", **kw)
    kin = simulate(example_cif("Al"), (0, 0, 1), engine="cell", **kw)
    assert dyn.metadata["engine"] == "dynamical" and dyn.intensity.shape == (128, 128)
    # fraction of the incident electrons scattered out of the direct beam: small for 12 A of Al
    assert 0 < dyn.intensity.sum() < 0.2
    d = {s.hkl: s.intensity for s in dyn.spots}
    k = {s.hkl: s.intensity for s in kin.spots}
    for h in [(2, 0, 0), (0, 2, 0), (2, 2, 0)]:
        assert d[h] == pytest.approx(k[h], rel=0.05)
    # 4mm: spots equivalent by symmetry are equal
    assert d[(2, 0, 0)] == pytest.approx(d[(0, -2, 0)], rel=1e-3)
    assert np.argmax(dyn.intensity) != 64 * 128 + 64  # the direct beam is excluded
