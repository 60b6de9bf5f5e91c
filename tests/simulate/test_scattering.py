"""Scattering factors (vs abTEM), Debye-Waller factors and wavelengths."""

import numpy as np
import pytest

from sadpnet.errors import InputError
from sadpnet.simulate.microscope import wavelength_a
from sadpnet.simulate.scattering import (
    DEFAULT_B_A2,
    FALLBACK_B_A2,
    debye_waller_b_a2,
    debye_waller_factor,
    electron_scattering_factor_a,
)


@pytest.mark.parametrize("kv, lam", [(100, 0.037014), (200, 0.025079), (300, 0.019687)])
def test_wavelength_textbook(kv, lam):
    assert abs(wavelength_a(kv) - lam) < 1e-6


def test_lobato_matches_abtem():
    from abtem.parametrizations import LobatoParametrization

    p = LobatoParametrization()
    # abTEM's scattering_factor takes k^2 with k = 1/d (no 2 pi), like ours
    g = np.array([0.0, 0.1, 0.25, 0.5, 0.8, 1.0, 1.5, 2.0, 3.0])
    symbols = ["H", "C", "O", "Al", "Si", "Fe", "Cu", "Mo", "W", "Au", "U"]
    from ase.data import atomic_numbers

    ours = electron_scattering_factor_a([atomic_numbers[s] for s in symbols], g)
    assert ours.shape == (len(symbols), len(g))
    for i, s in enumerate(symbols):
        ref = p.scattering_factor(s)(g ** 2)
        np.testing.assert_allclose(ours[i], ref, rtol=1e-5)  # abTEM evaluates in float32


def test_scattering_factor_textbook_values():
    # f_e(0) of Al from Lobato's fit is about 5.89 A; f_e falls monotonically with g
    f = electron_scattering_factor_a([13], np.linspace(0, 3, 31))[0]
    assert 5.8 < f[0] < 6.0
    assert np.all(np.diff(f) < 0)


def test_debye_waller_definition():
    b, g = 0.81, np.array([0.0, 0.5, 1.0, 2.0])
    s = g / 2  # sin(theta)/lambda
    np.testing.assert_allclose(debye_waller_factor(b, g), np.exp(-b * s ** 2))
    # broadcasting (m, 1) x (n,) -> (m, n)
    assert debye_waller_factor(np.array([[0.3], [0.8]]), g).shape == (2, 4)


def test_debye_waller_defaults_and_fallback():
    assert 0.75 < DEFAULT_B_A2["Al"] < 0.9 and 0.3 < DEFAULT_B_A2["Fe"] < 0.4
    assert debye_waller_b_a2("Al") == DEFAULT_B_A2["Al"]
    assert debye_waller_b_a2("Xe") == FALLBACK_B_A2
    assert debye_waller_b_a2("Al", 0.3) == 0.3
    with pytest.raises(InputError):
        debye_waller_b_a2("Al", -1.0)


def test_bad_atomic_number():
    with pytest.raises(InputError):
        electron_scattering_factor_a([0], [0.5])
    with pytest.raises(InputError):
        electron_scattering_factor_a([104], [0.5])
