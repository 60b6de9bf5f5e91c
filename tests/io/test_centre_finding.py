"""Direct-beam centre by Friedel symmetry: synthetic and simulated patterns with a known centre, and z2_saed.dm3."""

from __future__ import annotations

import numpy as np
import pytest

from sadpnet.io import beam_stop_mask, find_centre, load_pattern
from sadpnet.resources import resource_path

from io_synthetic import spot_lattice_image

Z2 = "experimental/kvmani_pycrystallography/z2_saed.dm3"


@pytest.mark.parametrize("centre", [(131.3, 120.6), (118.75, 140.2), (140.1, 127.9)])
def test_centre_clean_and_noisy(centre):
    for noise in (None, 2e3):
        img = spot_lattice_image(centre_xy=centre, noise_dose=noise, seed=3)
        x, y = find_centre(img)
        assert np.hypot(x - centre[0], y - centre[1]) < 0.5, (noise, x, y)


@pytest.mark.parametrize("centre", [(131.3, 120.6), (121.6, 135.45)])
def test_centre_behind_beam_stop_with_halo(centre):
    img = spot_lattice_image(centre_xy=centre, halo=0.5, noise_dose=3e3, beam_stop=True, seed=1)
    stop = beam_stop_mask(img)
    # the detected beam stop covers the true one
    truth = spot_lattice_image(centre_xy=centre, halo=0.5, beam_stop=True) == 0
    assert stop[truth].mean() > 0.95
    x, y = find_centre(img, ~stop)
    assert np.hypot(x - centre[0], y - centre[1]) < 0.5, (x, y)


def test_centre_of_simulated_fe_pattern_shifted(fe_crystal):
    """The real simulator's Fe [011] pattern (centre at N/2), shifted by a known sub-pixel amount."""
    from scipy import ndimage as ndi

    from sadpnet.simulate.cell_engine import simulate_cell
    from sadpnet.simulate.detector import Noise, render
    from sadpnet.simulate.microscope import Microscope

    p = simulate_cell(fe_crystal, Microscope(200.0, 300.0), (0, 1, 1), cells=(12, 12, 8), oversample=2)
    img = render(p, mapping="gamma", gamma=1.0, bits=16, psf_sigma_px=1.2, noise=Noise(dose_e=5e6), seed=2)
    shift = (-9.4, 6.3)  # (dx, dy)
    moved = ndi.shift(img.astype(np.float64), (shift[1], shift[0]), order=3, mode="constant")
    x, y = find_centre(moved)
    assert np.hypot(x - (128 + shift[0]), y - (128 + shift[1])) < 0.5, (x, y)


def test_centre_of_z2_is_its_symmetry_centre():
    """z2_saed.dm3: the centre found must be a centre of symmetry of the visible spots (Friedel pairs)."""
    from scipy import ndimage as ndi

    p = load_pattern(resource_path(Z2))
    cx, cy = p.centre_xy
    # independent check: bright spots (local maxima of a top-hat) and their Friedel partners
    img = ndi.gaussian_filter(p.image.astype(np.float64), 2)
    th = img - ndi.grey_opening(img, size=(25, 25))
    pk = (th == ndi.maximum_filter(th, size=31)) & (th > np.percentile(th, 99.9)) & p.mask
    ys, xs = np.nonzero(pk)
    assert len(xs) >= 8
    mids = []
    for x, y in zip(xs, ys):
        d = np.hypot(xs - (2 * cx - x), ys - (2 * cy - y))
        if d.min() < 3.0:
            k = int(np.argmin(d))
            mids.append(((x + xs[k]) / 2, (y + ys[k]) / 2))
    assert len(mids) >= 4  # at least two Friedel pairs (most partners are behind the beam stop)
    mx, my = np.mean(mids, axis=0)
    assert np.hypot(mx - cx, my - cy) < 1.0
    # and the direct beam lies under the beam stop
    assert not p.mask[int(round(cy)), int(round(cx))]
