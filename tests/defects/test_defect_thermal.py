"""Thermal vibration: Debye model values, snapshot statistics, MD on a classical potential."""

import math

import numpy as np
import pytest

from sadpnet.defects.point import make_supercell
from sadpnet.defects.thermal import debye_displacements, debye_snapshots, debye_u2_a2, md_snapshots
from sadpnet.errors import InputError


def test_debye_model_al_300k_near_experiment():
    u2 = debye_u2_a2(26.9815, 428.0, 300.0)
    b = 8 * math.pi**2 * u2
    # experimental B of Al at room temperature is about 0.85 A^2 (u_rms per axis about 0.10 A)
    assert 0.09 < math.sqrt(u2) < 0.11
    assert 0.6 < b < 1.0
    # high-temperature limit: <u^2> -> 3 hbar^2 T / (m k_B theta^2) * (1 + x^2/36 ...) ~ linear in T
    hi = debye_u2_a2(26.9815, 428.0, 3000.0)
    lin = 3 * (1.054571817e-34) ** 2 * 3000 / (26.9815 * 1.66053906660e-27 * 1.380649e-23 * 428**2) * 1e20
    assert hi == pytest.approx(lin, rel=2e-3)


def test_debye_rms_grows_with_temperature_and_zero_point():
    u = [debye_u2_a2(55.845, 470.0, t) for t in (0.0, 1.0, 100.0, 300.0, 600.0)]
    assert u[0] > 0 and u[0] == pytest.approx(u[1], rel=1e-3)  # zero-point motion
    assert all(b > a for a, b in zip(u[1:], u[2:]))


def test_debye_snapshot_statistics_and_seed():
    numbers = np.full(200_000, 13)
    d = debye_displacements(numbers, 300.0, seed=3)
    assert d.shape == (200_000, 3)
    assert np.sqrt(np.mean(d**2)) == pytest.approx(math.sqrt(debye_u2_a2(26.9815385, 428.0, 300.0)), rel=0.005)
    assert np.array_equal(d, debye_displacements(numbers, 300.0, seed=3))
    assert not np.array_equal(d, debye_displacements(numbers, 300.0, seed=4))


def test_debye_snapshots_of_supercell(al_crystal):
    cell = make_supercell(al_crystal, (3, 3, 3))
    r100 = debye_snapshots(cell, 100.0, n_snapshots=4, seed=1)
    r300 = debye_snapshots(cell, 300.0, n_snapshots=4, seed=1)
    assert len(r300.snapshots) == 4 and len(r300.snapshots[0]) == 108
    assert r300.u_rms_a > r100.u_rms_a
    assert r300.u_rms_a == pytest.approx(r300.debye_u_rms_a, rel=0.08)
    with pytest.raises(InputError):
        debye_snapshots(cell, -5.0)
    with pytest.raises(InputError):
        debye_snapshots(cell, 300.0, n_snapshots=0)


def test_md_on_emt_grows_with_temperature_and_is_reproducible(al_crystal):
    cell = make_supercell(al_crystal, (2, 2, 2))
    kw = dict(potential="emt", equilibration_steps=200, interval_steps=40)
    r100 = md_snapshots(cell, 100.0, 3, seed=5, **kw)
    r300 = md_snapshots(cell, 300.0, 3, seed=5, **kw)
    assert r300.u_rms_a > 1.3 * r100.u_rms_a
    # a classical potential and the Debye model agree to tens of per cent on u_rms
    assert 0.6 < r300.u_rms_a / r300.debye_u_rms_a < 1.5
    again = md_snapshots(cell, 300.0, 3, seed=5, **kw)
    assert np.array_equal(again.snapshots[-1].positions, r300.snapshots[-1].positions)
