"""Augmentation: seeded, keeps the direct beam where it says, jitters calibration within its range."""

from __future__ import annotations

import numpy as np

from sadpnet.model.augment import NO_AUGMENT, AugmentConfig, augment


def _spot_image():
    img = np.zeros((128, 128), np.float32)
    img[64, 64] = 1.0  # direct beam at (W/2, H/2)
    img[64, 84] = 0.5  # one spot 20 px to the right
    return img


def test_same_seed_same_result_and_different_seed_differs():
    img = _spot_image()
    a = augment(img, 0.01, np.random.default_rng([1, 2, 3]))
    b = augment(img, 0.01, np.random.default_rng([1, 2, 3]))
    c = augment(img, 0.01, np.random.default_rng([1, 2, 4]))
    assert np.array_equal(a[0], b[0]) and a[1:3] == b[1:3]
    assert not np.array_equal(a[0], c[0])


def test_geometry_rotation_shift_and_calibration():
    cfg = AugmentConfig(rotation_deg=180, shift_px=10, centre_error_px=0.0, calibration_jitter=0.03,
                        beam_stop_prob=0.0, halo_prob=0.0, noise_prob=0.0, gamma_range=(1.0, 1.0))
    for seed in range(5):
        out, cal, (cx, cy), mask = augment(_spot_image(), 0.01, np.random.default_rng(seed), cfg)
        assert mask is None and abs(cal / 0.01 - 1) <= 0.03
        # the direct beam lands on the centre handed on; the spot stays 20 px from it
        r, c = np.unravel_index(np.argmax(out), out.shape)
        assert abs(c - cx) <= 1 and abs(r - cy) <= 1
        ys, xs = np.nonzero(out > 0.05)
        d = np.hypot(xs - cx, ys - cy)
        assert np.any(np.abs(d - 20) < 1.5)


def test_no_augment_is_identity_up_to_scale():
    img = _spot_image()
    out, cal, centre, mask = augment(img, 0.01, np.random.default_rng(0), NO_AUGMENT)
    assert np.allclose(out, img) and cal == 0.01 and centre == (64.0, 64.0) and mask is None
