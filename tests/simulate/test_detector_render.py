"""The detector model: direct beam, PSF, beam stop, noise, mappings, bit depth, determinism."""

import numpy as np
import pytest

from sadpnet.errors import InputError
from sadpnet.simulate.detector import BeamStop, Noise, render


@pytest.fixture(scope="module")
def fe_pattern():
    from sadpnet.crystal import read_cif
    from sadpnet.resources import example_cif
    from sadpnet.simulate.cell_engine import simulate_cell
    from sadpnet.simulate.microscope import Microscope

    return simulate_cell(read_cif(example_cif("Fe")), Microscope(200, 300), (0, 0, 1))


def test_default_image(fe_pattern):
    img = render(fe_pattern)
    assert img.dtype == np.uint8 and img.shape == (256, 256)
    assert img[128, 128] == 255  # the direct beam is the brightest pixel
    s = fe_pattern.spots[0]
    c, r = (int(round(v)) for v in s.pixel_xy)
    assert img[r, c] > 150 and img[5, 5] == 0


def test_no_direct_beam_and_gamma(fe_pattern):
    img = render(fe_pattern, direct_beam=False, mapping="gamma", gamma=1.0, psf_sigma_px=0.0, bits=16)
    assert img.dtype == np.uint16 and img.max() == 65535
    ref = fe_pattern.intensity / fe_pattern.intensity.max() * 65535
    np.testing.assert_allclose(img, np.rint(ref), atol=1)  # gamma 1 without blur is linear


def test_psf_spreads_spots(fe_pattern):
    a = render(fe_pattern, direct_beam=False, psf_sigma_px=0.0, mapping="gamma", gamma=1.0, bits=16).astype(float)
    b = render(fe_pattern, direct_beam=False, psf_sigma_px=1.5, mapping="gamma", gamma=1.0, bits=16).astype(float)
    assert b.sum() / b.max() > 2 * a.sum() / a.max()
    assert (b > 0).sum() > (a > 0).sum()


def test_beam_stop(fe_pattern):
    img = render(fe_pattern, beam_stop=BeamStop(radius_px=8, arm_width_px=4, arm_angle_deg=0.0))
    assert img[128, 128] == 0 and img[128, 250] == 0  # arm to the right edge
    disc = render(fe_pattern, beam_stop=8.0)
    assert disc[128, 128] == 0 and disc[128, 250] == render(fe_pattern)[128, 250]
    assert disc[128, 128 + 5] == 0


def test_noise_seeded(fe_pattern):
    a = render(fe_pattern, noise=Noise(dose_e=1e5, read_noise_e=1.0), seed=3)
    b = render(fe_pattern, noise=Noise(dose_e=1e5, read_noise_e=1.0), seed=3)
    c = render(fe_pattern, noise=Noise(dose_e=1e5, read_noise_e=1.0), seed=4)
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    assert not np.array_equal(a, render(fe_pattern))


def test_log_mapping_monotonic():
    ramp = np.zeros((16, 16))
    ramp[0, :] = np.logspace(-6, 0, 16)
    img = render(ramp, direct_beam=False, psf_sigma_px=0.0, dynamic_range=1e4)
    assert np.all(np.diff(img[0].astype(int)) >= 0) and img[0, -1] == 255


@pytest.mark.parametrize("kw", [{"bits": 12}, {"mapping": "sqrt"}, {"psf_sigma_px": -1}, {"gamma": 0, "mapping": "gamma"},
                                {"dynamic_range": 1.0}, {"noise": Noise(dose_e=0)}, {"direct_beam_ratio": 0}])
def test_bad_options(fe_pattern, kw):
    with pytest.raises(InputError):
        render(fe_pattern, **kw)


@pytest.mark.parametrize("kw", [dict(mapping="log"), dict(mapping="log", dynamic_range=1e3),
                                dict(mapping="gamma", gamma=0.5), dict(mapping="log", bits=16)])
def test_linear_intensity_inverts_the_mapping(kw):
    """render then linear_intensity gives back the relative intensity, within the quantisation step."""
    import torch

    from sadpnet.simulate.detector import linear_intensity

    rng = np.random.default_rng(3)
    truth = np.exp(rng.uniform(np.log(1e-3), 0.0, size=(32, 32)))
    truth[0, 0] = 1.0
    img = render(truth, direct_beam=False, psf_sigma_px=0.0, **kw)
    inv = {k: v for k, v in kw.items() if k != "bits"}
    full = 65535.0 if kw.get("bits") == 16 else 255.0
    lin = linear_intensity(img, full_scale=full, **inv)
    assert lin.dtype == np.float32 and lin.max() == pytest.approx(1.0)
    # one quantisation step of the mapped value, as a relative error of the intensity
    v = np.clip(img / full, 1e-9, 1)
    step = (np.log1p(kw.get("dynamic_range", 1e4)) / full * (1 + 1 / (kw.get("dynamic_range", 1e4) * truth))
            if kw["mapping"] == "log" else 1 / (kw["gamma"] * v * full))
    np.testing.assert_array_less(np.abs(lin / truth - 1), step)
    t = linear_intensity(torch.as_tensor(img.astype(np.float32)), full_scale=full, **inv)
    np.testing.assert_allclose(t.numpy(), lin, rtol=1e-5, atol=1e-9)
    with pytest.raises(InputError, match="mapping"):
        linear_intensity(img, mapping="sqrt")
