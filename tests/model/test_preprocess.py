"""The model's preprocessing: scale, centring, masks, background, normalisation, determinism, limits."""

from __future__ import annotations

import numpy as np
import pytest

from sadpnet.errors import InputError
from sadpnet.model.preprocess import (PreprocessSettings, measured_to_model_input, to_model_input,
                                      to_model_input_batch)

TARGET = 0.0266
N = 128


def spots_image(shape, centre_xy, offsets_px, sigma_px=1.2, background=None):
    """Gaussian spots at centre + offsets (pixels), plus an optional background array."""
    h, w = shape
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    img = np.zeros(shape) if background is None else background.astype(np.float64).copy()
    for dx, dy in offsets_px:
        img += np.exp(-((xx - centre_xy[0] - dx) ** 2 + (yy - centre_xy[1] - dy) ** 2) / (2 * sigma_px ** 2))
    return img


def centroid(y, x0, y0, r=3):
    """Intensity centroid (x, y) of y in a (2r+1)^2 window about integer (x0, y0)."""
    win = y[y0 - r:y0 + r + 1, x0 - r:x0 + r + 1].astype(np.float64)
    yy, xx = np.mgrid[y0 - r:y0 + r + 1, x0 - r:x0 + r + 1]
    return (win * xx).sum() / win.sum(), (win * yy).sum() / win.sum()


@pytest.mark.parametrize("cal, size", [(0.0133, 256), (0.0035337, 1024), (0.04, 96)])
def test_spot_at_g_lands_at_g_over_target(cal, size):
    """A spot at reciprocal vector g (1/A) lands g / target pixels from the output centre (N/2, N/2)."""
    centre = (size / 2 - 3.3, size / 2 + 4.6)
    g_list = [(0.80, 0.0), (0.0, -0.55), (-0.45, 0.62), (0.9, 0.9)]  # (g_x, g_y), 1/A, y up
    offsets = [(gx / cal, -gy / cal) for gx, gy in g_list]  # rows grow downwards
    sigma = max(1.0, 0.02 / cal)
    img = spots_image((size, size), centre, offsets, sigma_px=sigma)
    y = to_model_input(img, cal, centre_xy=centre, target_pixel_size_inv_a=TARGET, size_px=N)
    assert y.dtype == np.float32 and y.shape == (N, N) and y.min() >= 0 and y.max() <= 1
    for gx, gy in g_list:
        ex, ey = N / 2 + gx / TARGET, N / 2 - gy / TARGET
        cx, cy = centroid(y, int(round(ex)), int(round(ey)))
        assert abs(cx - ex) < 0.3 and abs(cy - ey) < 0.3, (gx, gy, cx, cy, ex, ey)


def test_default_centre_is_the_simulators():
    img = spots_image((256, 256), (128, 128), [(30, 0), (-30, 0), (0, 40), (0, -40)])
    a = to_model_input(img, 0.0133)
    b = to_model_input(img, 0.0133, centre_xy=(128.0, 128.0))
    np.testing.assert_array_equal(a, b)


def test_background_disc_mask_and_normalisation():
    size, cal = 256, 0.0133
    yy, xx = np.mgrid[0:size, 0:size]
    r = np.hypot(xx - 128, yy - 128)
    glow = 0.3 * np.exp(-r / 25.0) + 0.001 * xx  # diffuse centre (0.3 x the spots' peak), a gradient
    offsets = [(40, 0), (-40, 0), (0, 55), (0, -55), (40, 55), (-40, -55)]
    img = spots_image((size, size), (128, 128), offsets, background=glow)
    y = to_model_input(img, cal)
    # spots are kept and near 1; between them the background is gone
    for dx, dy in offsets:
        assert y[int(round(64 + dy * cal / TARGET)), int(round(64 + dx * cal / TARGET))] > 0.8
    ring = (np.hypot(*(np.mgrid[0:N, 0:N] - N / 2)) * TARGET)
    between = (ring > 0.2) & (ring < 0.3)
    # there the glow is 0.14 of a spot's peak: 0.59 after compression if kept; the top-hat leaves < 0.3
    # (about 2 % of a spot's peak; a local filter keeps some of a peaked glow's curvature)
    assert y[between].max() < 0.3
    far = (ring > 0.75) & (ring < 1.0) & (y < 0.5)  # gradient only, between the spots
    assert np.percentile(y[far], 95) < 0.05
    # the central disc (0.15 1/A) is zero, though the glow peaks there
    assert y[ring < 0.15].max() == 0.0
    # masked input pixels (a beam-stop arm) give zeros, and no rim at the mask's edge
    mask = np.ones((size, size), bool)
    mask[120:137, 128:] = False
    img2 = img.copy()
    img2[~mask] = 0.0
    y2 = to_model_input(img2, cal, mask=mask)
    assert not y2[61:68, 65:].any()  # output rows 61-67 lie wholly on the masked input rows 120-136
    # next to the mask the output is what it is without the mask (no rim from the dark arm)
    rows = [55, 56, 72, 73]  # outside the mask grown by half a top-hat window (pixels next to it are dropped)
    np.testing.assert_allclose(y2[rows, 70:], y[rows, 70:], atol=0.05)
    assert np.all(y2[57:72, 70:] <= y[57:72, 70:] + 0.05)  # and nothing brighter than without the mask
    assert y2[int(round(64 - 55 * cal / TARGET)), 64] > 0.8  # spots off the arm remain


def test_deterministic_and_batch_equals_single():
    rng = np.random.default_rng(0)
    imgs = [spots_image((200, 220), (100 + rng.uniform(-5, 5), 110 + rng.uniform(-5, 5)),
                        [(rng.uniform(-80, 80), rng.uniform(-80, 80)) for _ in range(12)])
            + rng.poisson(3.0, (200, 220)) for _ in range(4)]
    cals = [0.012, 0.015, 0.0133, 0.02]
    centres = np.array([[99.0, 111.0], [101.5, 108.2], [100.0, 110.0], [97.3, 112.9]])
    s = PreprocessSettings(target_pixel_size_inv_a=TARGET, size_px=N)
    singles = [to_model_input(im, c, centre_xy=ce, **s.to_dict()) for im, c, ce in zip(imgs, cals, centres)]
    again = [to_model_input(im, c, centre_xy=ce, **s.to_dict()) for im, c, ce in zip(imgs, cals, centres)]
    for a, b in zip(singles, again):
        np.testing.assert_array_equal(a, b)
    batch = to_model_input_batch(np.stack(imgs), cals, centre_xy=centres, settings=s).numpy()
    np.testing.assert_allclose(batch, np.stack(singles), atol=1e-5)


def test_blank_image_stays_zero():
    y = to_model_input(np.zeros((64, 64)), 0.05)
    assert y.shape == (N, N) and not y.any()


def test_settings_round_trip_and_validation():
    s = PreprocessSettings(target_pixel_size_inv_a=0.02, size_px=96)
    assert PreprocessSettings.from_dict(s.to_dict()) == s
    with pytest.raises(InputError, match="size_px"):
        PreprocessSettings(size_px=4)
    with pytest.raises(InputError, match="unknown preprocessing settings"):
        PreprocessSettings.from_dict({"size_px": 64, "colour": 1})


def test_limits_name_the_calibrations():
    img = spots_image((256, 256), (128, 128), [(30, 0), (-30, 0)])
    with pytest.raises(InputError, match="no reciprocal-space calibration"):
        to_model_input(img, None)
    with pytest.raises(InputError, match=r"calibration 0\.001 1/A per pixel cannot be resampled .* 0\.0266"):
        to_model_input(img, 0.001)  # 26.6x > max_scale_change
    with pytest.raises(InputError, match=r"covers only \d+ %"):
        to_model_input(img, 0.004)  # 3.3x: the 256 px image fills a tenth of the field
    with pytest.raises(InputError, match="covers only"):
        to_model_input(img, 0.0133, centre_xy=(300.0, 300.0))  # centre beyond a corner
    with pytest.raises(InputError, match="2-D"):
        to_model_input(np.zeros((3, 64, 64)), 0.02)
    with pytest.raises(InputError, match="mask shape"):
        to_model_input(img, 0.0133, mask=np.ones((10, 10), bool))


def test_real_z2_looks_like_simulated_fe_011(fe_crystal, al_crystal):
    """End to end: z2_saed.dm3 (bcc Fe-type [011], 200 kV, beam stop) preprocessed has the radial profile
    of a simulated Fe [011] pattern (same |g| rings, so independent of the in-plane rotation) more than
    that of other crystals or zone axes."""
    from sadpnet.crystal import read_cif
    from sadpnet.io import load_pattern
    from sadpnet.resources import example_cif, resource_path
    from sadpnet.simulate.cell_engine import simulate_cell
    from sadpnet.simulate.detector import Noise, render
    from sadpnet.simulate.microscope import Microscope

    s = PreprocessSettings()
    real = measured_to_model_input(load_pattern(resource_path("experimental/kvmani_pycrystallography/z2_saed.dm3")), s)
    assert real.shape == (s.size_px, s.size_px) and 0.005 < (real > 0.1).mean() < 0.2

    def radial(y):
        n = y.shape[0]
        r = np.hypot(*(np.mgrid[0:n, 0:n] - n / 2)) * s.target_pixel_size_inv_a
        bins = np.arange(0, 1.7, 0.04)
        return np.histogram(r, bins, weights=y)[0] / np.maximum(np.histogram(r, bins)[0], 1)

    scores = {}
    for name, crystal, zone in [("Fe011", fe_crystal, (0, 1, 1)), ("Fe001", fe_crystal, (0, 0, 1)),
                                ("Al011", al_crystal, (0, 1, 1)), ("Si011", read_cif(example_cif("Si")), (0, 1, 1))]:
        p = simulate_cell(crystal, Microscope(200.0, 300.0), zone, cells=(12, 12, 8), oversample=2)
        img = render(p, mapping="gamma", gamma=1.0, bits=16, noise=Noise(dose_e=5e6), seed=1)
        sim = to_model_input(img, p.pixel_size_inv_a, **s.to_dict())
        scores[name] = np.corrcoef(radial(real), radial(sim))[0, 1]
    assert max(scores, key=scores.get) == "Fe011", scores


def test_non_finite_pixels_are_unusable():
    img = spots_image((256, 256), (128, 128), [(40, 0), (-40, 0), (0, 55), (0, -55)])
    bad = img.copy()
    bad[10:40, 10:40] = np.nan
    bad[200:210, 30:60] = np.inf
    mask = np.ones(img.shape, bool)
    mask[10:40, 10:40] = mask[200:210, 30:60] = False
    np.testing.assert_array_equal(to_model_input(bad, 0.0133), to_model_input(img, 0.0133, mask=mask))


def test_stored_log_images_are_decoded_measured_files_are_not():
    """Converted into a linear-intensity model's mapping, a rendered (log-mapped) image gives the model input of
    its linear intensity; a superlattice-like spot at 1e-3 of the main spots nearly vanishes, where the stored
    values showed it at about half the range; a measured file (linear) is not converted at all."""
    from types import SimpleNamespace

    from sadpnet.model.preprocess import to_input_mapping
    from sadpnet.simulate.detector import DEFAULT_MAPPING, MEASURED_MAPPING, render

    size, cal = 256, 0.0133
    main = [(40, 0), (-40, 0), (0, 40), (0, -40)]
    weak = [(20, 20)]
    linear = spots_image((size, size), (128, 128), main, sigma_px=1.0)
    linear += 1e-3 * spots_image((size, size), (128, 128), weak, sigma_px=1.0)
    stored = render(linear, direct_beam=False, psf_sigma_px=0.0)  # uint8, log R = 1e4
    decoded = to_model_input(to_input_mapping(stored, DEFAULT_MAPPING, MEASURED_MAPPING), cal)
    as_linear = to_model_input(linear, cal)
    as_stored = to_model_input(stored, cal)
    c = N // 2
    weak_px = (c + int(round(20 * cal / TARGET)), c + int(round(20 * cal / TARGET)))  # (row, col)
    assert np.abs(decoded - as_linear).max() < 0.03
    assert decoded[weak_px] < 0.1 and as_stored[weak_px] > 0.4, (decoded[weak_px], as_stored[weak_px])
    meas = SimpleNamespace(image=linear, pixel_size_inv_a=cal, centre_xy=None, mask=np.ones_like(linear, bool),
                           saturated=None, source="x")
    np.testing.assert_array_equal(measured_to_model_input(meas, PreprocessSettings(), MEASURED_MAPPING), as_linear)
    # the preprocessing settings hold no intensity mapping (old cards' keys are read past by from_dict)
    with pytest.raises(TypeError):
        PreprocessSettings(stored_log_range=1e4)
    assert PreprocessSettings.from_dict({"stored_log_range": None, "stored_full_scale": 255.0}) == PreprocessSettings()
