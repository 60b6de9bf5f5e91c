"""load_pattern: every format, calibration from tags or option, masks, and bad input."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from sadpnet.errors import InputError
from sadpnet.io import load_pattern
from sadpnet.resources import resource_path

from io_synthetic import spot_lattice_image

EXP = "experimental/kvmani_pycrystallography"


@pytest.fixture(scope="module")
def pattern16():
    """A 96x112 uint16 spot pattern with its centre at (51.4, 45.2)."""
    img = spot_lattice_image(shape=(96, 112), centre_xy=(51.4, 45.2), a1=(14.0, 1.0), a2=(-1.0, 19.0), halo=0.3)
    return np.round(img / img.max() * 60000).astype(np.uint16)


def _check(p, expected, fmt):
    assert p.image.dtype == np.float32 and p.image.shape == expected.shape
    assert p.mask.dtype == bool and p.mask.shape == expected.shape
    assert p.metadata["format"] == fmt
    assert np.hypot(p.centre_xy[0] - 51.4, p.centre_xy[1] - 45.2) < 0.5


def test_png_8_and_16_bit(tmp_path, pattern16):
    Image.fromarray(pattern16).save(tmp_path / "p16.png")
    p = load_pattern(tmp_path / "p16.png")
    _check(p, pattern16, "png")
    np.testing.assert_array_equal(p.image, pattern16.astype(np.float32))
    assert p.pixel_size_inv_a is None and p.metadata["calibration_source"] is None
    p8 = (pattern16 // 257).astype(np.uint8)
    Image.fromarray(p8).save(tmp_path / "p8.png")
    p = load_pattern(tmp_path / "p8.png", calibration_inv_a_per_px=0.012)
    _check(p, p8, "png")
    np.testing.assert_array_equal(p.image, p8.astype(np.float32))
    assert p.pixel_size_inv_a == 0.012 and p.metadata["calibration_source"] == "option"


def test_rgb_png_and_jpeg_become_luminance(tmp_path, pattern16):
    p8 = (pattern16 // 257).astype(np.uint8)
    rgb = np.stack([p8, p8 // 2, p8 // 4], -1)
    Image.fromarray(rgb).save(tmp_path / "rgb.png")
    p = load_pattern(tmp_path / "rgb.png")
    expect = 0.299 * rgb[..., 0] + 0.587 * rgb[..., 1] + 0.114 * rgb[..., 2]
    np.testing.assert_allclose(p.image, expect, atol=1e-3)
    Image.fromarray(p8).save(tmp_path / "g.jpg", quality=95)
    p = load_pattern(tmp_path / "g.jpg")
    _check(p, p8, "jpeg")
    assert np.abs(p.image - p8).mean() < 2.0  # lossy, but close


def test_tiff_with_imagej_reciprocal_calibration(tmp_path, pattern16):
    import tifffile

    tifffile.imwrite(tmp_path / "c.tif", pattern16, imagej=True, resolution=(1 / 0.05, 1 / 0.05),
                     metadata={"unit": "1/nm"})
    p = load_pattern(tmp_path / "c.tif", calibration_inv_a_per_px=0.5)
    _check(p, pattern16, "tiff")
    assert p.pixel_size_inv_a == pytest.approx(0.005)  # 0.05 1/nm = 0.005 1/A; the file wins over the option
    assert p.metadata["calibration_source"] == "file"
    tifffile.imwrite(tmp_path / "plain.tiff", pattern16.astype(np.float32))
    p = load_pattern(tmp_path / "plain.tiff")
    np.testing.assert_array_equal(p.image, pattern16.astype(np.float32))
    assert p.pixel_size_inv_a is None


def test_npy(tmp_path, pattern16):
    np.save(tmp_path / "a.npy", pattern16.astype(np.float64))
    p = load_pattern(tmp_path / "a.npy", calibration_inv_a_per_px=0.02)
    _check(p, pattern16, "npy")
    assert p.pixel_size_inv_a == 0.02


def test_mrc_real_space_pixel_size_is_not_a_calibration(tmp_path, pattern16):
    import mrcfile

    with mrcfile.new(tmp_path / "a.mrc") as f:
        f.set_data(pattern16.astype(np.float32))
        f.voxel_size = 2.5
    p = load_pattern(tmp_path / "a.mrc")
    _check(p, pattern16, "mrc")
    # MRC pixel sizes are real-space lengths (A), not reciprocal ones
    assert p.pixel_size_inv_a is None and "file_calibration_ignored" in p.metadata


def test_emd_calibration_in_inverse_nm(tmp_path, pattern16):
    from rsciio.emd import file_writer

    axes = [{"name": n, "size": s, "scale": 0.04, "offset": 0.0, "units": "1/nm", "navigate": False}
            for n, s in zip("yx", pattern16.shape)]
    file_writer(str(tmp_path / "a.emd"), {"data": pattern16, "axes": axes, "metadata": {"General": {"title": "t"},
                                          "Signal": {}}, "original_metadata": {}})
    p = load_pattern(tmp_path / "a.emd")
    _check(p, pattern16, "emd")
    assert p.pixel_size_inv_a == pytest.approx(0.004)


def test_shipped_dm3_calibration_voltage_and_beam_stop():
    p = load_pattern(resource_path(f"{EXP}/z2_saed.dm3"), calibration_inv_a_per_px=0.1)
    assert p.image.shape == (1024, 1024) and p.metadata["dtype"] == "int16"
    assert p.pixel_size_inv_a == pytest.approx(0.0035337, abs=1e-7)  # 0.035337 1/nm per pixel
    assert p.metadata["calibration_source"] == "file" and p.metadata["calibration_option_inv_a"] == 0.1
    assert p.metadata["voltage_kv"] == pytest.approx(200.0)
    # the beam stop (an opaque shadow reaching the right edge) is masked
    assert 0.05 < p.metadata["beam_stop_fraction"] < 0.2
    assert not p.mask[540, 600] and not p.mask[540, 1000] and p.mask[100, 100]


@pytest.mark.parametrize("name", ["Si_110", "Si_121", "Si_210", "Si_211"])
def test_shipped_rgb_figures(name):
    from PIL import Image as PILImage

    path = resource_path(f"{EXP}/{name}_alphaBetaPaper.tif")
    p = load_pattern(path, find_beam_centre=False)
    rgb = np.asarray(PILImage.open(path).convert("RGB"), dtype=np.float64)
    assert p.image.shape == rgb.shape[:2]
    np.testing.assert_allclose(p.image, rgb @ [0.299, 0.587, 0.114], atol=1e-3)
    assert p.pixel_size_inv_a is None and "luminance" in p.metadata["converted"]


def test_saturated_pixels_masked_but_kept_for_preprocessing(tmp_path, pattern16):
    sat = pattern16.copy()
    sat[40:50, 45:58] = 65535  # a clipped spot
    np.save(tmp_path / "s.npy", sat)
    p = load_pattern(tmp_path / "s.npy", find_beam_centre=False)
    assert p.metadata["saturated_px"] == 130
    assert p.saturated[45, 50] and not p.mask[45, 50]


# ---- bad input: one-line InputError naming the file ----

def _raises(path, *words, **kw):
    with pytest.raises(InputError) as e:
        load_pattern(path, **kw)
    msg = str(e.value)
    assert "\n" not in msg and str(path) in msg, msg
    for w in words:
        assert w in msg, msg
    return msg


def test_bad_inputs(tmp_path, pattern16):
    _raises(tmp_path / "missing.png", "no such file")
    (tmp_path / "notes.txt").write_text("hello")
    _raises(tmp_path / "notes.txt", "unknown image extension")
    (tmp_path / "text.png").write_text("this is not a picture")
    _raises(tmp_path / "text.png", "not a readable PNG")
    (tmp_path / "empty.tif").write_bytes(b"")
    _raises(tmp_path / "empty.tif", "empty file")
    np.save(tmp_path / "stack.npy", np.stack([pattern16] * 5))
    _raises(tmp_path / "stack.npy", "stack of 5 images")
    np.save(tmp_path / "const.npy", np.full((64, 64), 7.0))
    _raises(tmp_path / "const.npy", "constant")
    np.save(tmp_path / "zero.npy", np.zeros((0, 64)))
    _raises(tmp_path / "zero.npy", "empty image")
    np.save(tmp_path / "obj.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    _raises(tmp_path / "obj.npy", "pickled")
    np.save(tmp_path / "small.npy", np.arange(12.0).reshape(3, 4))
    _raises(tmp_path / "small.npy", "too small")
    with pytest.raises(InputError, match="calibration_inv_a_per_px: -1 1/A per px: SAED calibrations are 0.0001-0.5 1/A per px"):
        load_pattern(tmp_path / "const.npy", calibration_inv_a_per_px=-1.0)


def test_stack_tiff_and_truncated_files(tmp_path, pattern16):
    import tifffile

    tifffile.imwrite(tmp_path / "s.tif", np.stack([pattern16] * 4), photometric="minisblack")
    _raises(tmp_path / "s.tif", "stack of 4 images")
    Image.fromarray(pattern16).save(tmp_path / "full.png")
    data = (tmp_path / "full.png").read_bytes()
    (tmp_path / "cut.png").write_bytes(data[: len(data) // 2])
    _raises(tmp_path / "cut.png", "PNG")
    dm3 = resource_path(f"{EXP}/z2_saed.dm3").read_bytes()
    (tmp_path / "cut.dm3").write_bytes(dm3[:20000])
    _raises(tmp_path / "cut.dm3", "DM3")
    (tmp_path / "junk.mrc").write_bytes(b"\x00\x01" * 300)
    _raises(tmp_path / "junk.mrc", "MRC")


def test_saturated_spot_survives_preprocessing(tmp_path, pattern16):
    """A clipped spot is masked in `mask` but comes out of measured_to_model_input as a bright spot, not a hole."""
    from sadpnet.model.preprocess import PreprocessSettings, measured_to_model_input

    ceiling = np.percentile(pattern16, 99.0)
    sat = np.minimum(pattern16, ceiling).astype(np.uint16)  # the brightest spots clipped flat
    np.save(tmp_path / "s.npy", sat)
    p = load_pattern(tmp_path / "s.npy", calibration_inv_a_per_px=0.02)
    assert p.metadata["saturated_px"] >= 4
    s = PreprocessSettings(target_pixel_size_inv_a=0.02, size_px=96, spot_sigma_inv_a=0.0)
    y = measured_to_model_input(p, s)
    from sadpnet.model.preprocess import to_model_input

    holes = to_model_input(p.image, 0.02, centre_xy=p.centre_xy, mask=p.mask, **s.to_dict())  # mask alone
    ys, xs = np.nonzero(p.saturated)
    cx, cy = p.centre_xy
    checked = 0
    for x, yy in zip(xs, ys):
        ox, oy = int(round(48 + x - cx)), int(round(48 + yy - cy))
        if np.hypot(ox - 48, oy - 48) * 0.02 > s.central_disc_radius_inv_a + 0.03:
            assert y[oy, ox] > 0.5 and holes[oy, ox] == 0.0
            checked += 1
    assert checked >= 10


def test_mrc_stack_and_npz_refused(tmp_path, pattern16):
    import mrcfile

    with mrcfile.new(tmp_path / "stack.mrc") as f:
        f.set_data(np.stack([pattern16.astype(np.float32)] * 3))
    _raises(tmp_path / "stack.mrc", "stack of 3 images")
    np.savez(tmp_path / "a.npz", a=pattern16)
    _raises(tmp_path / "a.npz", "unknown image extension")
    np.savez(tmp_path / "b.npy", a=pattern16)  # an npz archive under an .npy name
    (tmp_path / "b.npy.npz").rename(tmp_path / "b.npy")
    _raises(tmp_path / "b.npy", "not a single NumPy array")
