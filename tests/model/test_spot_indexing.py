"""The spot-indexing evidence: spots found where the simulator put them, the right lattice found, the joint
lattice-parameter check separating what single patterns cannot, and junk refused."""

import numpy as np
import pytest

from sadpnet.crystal.cif import read_cif
from sadpnet.data.stream import Conditions, linear_image, render_drawn
from sadpnet.model.indexing import CLASSES, independent_scores, joint_scores, pattern_evidence
from sadpnet.model.lattice_fit import fit_classes, zone_template
from sadpnet.model.spot_model import is_unknown
from sadpnet.model.spots import find_spots
from sadpnet.resources import resource_path

COD = ("cifs", "crystals_COD")
SET = ((0, 0, 1), (0, 1, 1), (1, 1, 1))


def _crystal(name):
    return read_cif(resource_path(*COD, f"{name}.cif"))


def _evidence(crystal, zone, seed=0, **cond):
    shot = render_drawn(crystal, zone, Conditions(inplane_rotation_deg=23.0 + 40 * seed, seed=seed, **cond))
    return pattern_evidence(linear_image(shot), shot.pixel_size_inv_a, shot.centre_xy, shot.mask)


def test_spots_are_found_where_the_simulator_put_them():
    from sadpnet.simulate.api import simulate

    p = simulate(_crystal("Al"), (0, 1, 1), inplane_rotation_deg=17.0)
    spots = find_spots(p.intensity, p.pixel_size_inv_a, (128.0, 128.0))
    true = np.array([s.g_inv_a for s in p.spots if s.intensity >= 0.01])
    d = np.hypot(*(spots.g_inv_a[:, None, :] - true[None]).transpose(2, 0, 1)).min(axis=0)
    assert (d <= 0.5 * p.pixel_size_inv_a).mean() >= 0.9  # sub-pixel positions of the visible spots


def _net_over_speckle(speckle: float, seed: int = 0):
    """A 256 px square net of spots (period 20 px, peaks 1 .. 0.05) over exponential speckle of mean ``speckle``
    filling the inner 120 px (thermal diffuse scattering of one snapshot); the true spot positions (row, col)."""
    rng = np.random.default_rng(seed)
    img = np.zeros((256, 256), np.float32)
    yy, xx = np.mgrid[0:256, 0:256]
    true = [(128 + 20 * i, 128 + 20 * j) for i in range(-5, 6) for j in range(-5, 6) if (i, j) != (0, 0)]
    for r, c in true:
        peak = max(0.05, 1.0 / (1 + abs(r - 128) / 20 + abs(c - 128) / 20))
        img += peak * np.exp(-((yy - r) ** 2 + (xx - c) ** 2) / 2.0)
    inner = (np.abs(yy - 128) < 60) & (np.abs(xx - 128) < 60)
    img += np.where(inner, rng.exponential(speckle, img.shape), 0).astype(np.float32)
    return img, np.array(true, float)


def test_local_floor_drops_diffuse_speckle_and_keeps_a_clean_pattern_as_it_was():
    from sadpnet.model.spots import local_noise

    clean, true = _net_over_speckle(0.0)
    off = find_spots(clean, 0.01, (128, 128), min_relative=0.0, local_snr=0.0)
    on = find_spots(clean, 0.01, (128, 128), min_relative=0.0, local_snr=6.0)
    np.testing.assert_array_equal(on.g_inv_a, off.g_inv_a)  # no texture: the local floor changes nothing
    assert len(on) == len(true)
    speckled, _ = _net_over_speckle(0.004)
    assert local_noise(speckled, 16)[128, 128] > 10 * local_noise(speckled, 16)[10, 10]
    off = find_spots(speckled, 0.01, (128, 128), min_relative=0.0, local_snr=0.0, max_spots=1000)
    on = find_spots(speckled, 0.01, (128, 128), min_relative=0.0, local_snr=6.0, max_spots=1000)
    rc = np.stack([128 - on.g_inv_a[:, 1] / 0.01, 128 + on.g_inv_a[:, 0] / 0.01], axis=1)
    d = np.hypot(*(rc[:, None, :] - true[None]).transpose(2, 0, 1)).min(axis=1)
    assert len(off) >= 2 * len(true)  # the speckle peaks pass the image-wide noise floor ...
    assert (d <= 1.0).sum() == len(true) and (d > 1.0).sum() <= 0.4 * len(true)  # ... few pass the local one


def test_template_of_fcc_011_holds_111_200_022():
    t = zone_template(225, (0, 1, 1))
    lengths = sorted(set(np.round(t.lengths[:12], 4)))
    assert lengths[:3] == pytest.approx([np.sqrt(3), 2.0, np.sqrt(8)], abs=1e-4)


def test_al_011_is_fcc_with_its_lattice_parameter():
    from sadpnet.simulate.api import simulate

    p = simulate(_crystal("Al"), (0, 1, 1), inplane_rotation_deg=17.0)
    fits = fit_classes(find_spots(p.intensity, p.pixel_size_inv_a, (128.0, 128.0)), pixel_size_inv_a=p.pixel_size_inv_a)
    best = max(CLASSES, key=lambda c: fits[c][0].score)
    assert best == 225
    assert fits[225][0].zone == (0, 1, 1)
    assert fits[225][0].a_a == pytest.approx(4.05, rel=0.01)


@pytest.mark.parametrize("name, group", [("Fe", 229), ("Al", 225), ("Si", 227)])
def test_joint_check_names_the_class_of_a_three_axis_set(name, group):
    ev = [_evidence(_crystal(name), z, seed=i) for i, z in enumerate(SET)]
    scores, a = joint_scores(ev)
    assert CLASSES[int(np.argmax(scores))] == group
    assert a[CLASSES.index(group)] == pytest.approx(_crystal(name).atoms.cell.lengths()[0], rel=0.03)


def test_undetected_weak_outer_reflections_do_not_count_missing_beyond_the_spot_weight():
    """Diamond (Si) [011] as a detector shows it: the reflections out to 0.9 1/A, then only one faint far pair
    (the weak high-order reflections in between fall below the detection limit). Counting every predicted
    reflection out to that far pair as missing made the true net (227) lose its edge over fcc (225), whose
    denser net is just as incomplete there; counting missing only inside the radius of 90 % of the spot weight
    (``missing_share=0.9``; measured in session 13, not the default: docs/classifier-v2.md) names 227 at its
    lattice parameter."""
    from sadpnet.model.realtest import exact_net_spots
    from sadpnet.model.spots import Spots

    net = exact_net_spots(_crystal("Si"), (0, 1, 1), 1.6)
    r = np.hypot(*net.g_inv_a.T)
    keep = (r <= 0.9) | np.isin(np.arange(len(r)), np.argsort(-r)[:2])
    inten = np.where(r <= 0.9, 1.0, 1e-3) * net.intensity
    spots = Spots(net.g_inv_a[keep], inten[keep] / inten[keep].max(), 1.6, 0.0)
    old = fit_classes(spots, pixel_size_inv_a=0.0133, missing_share=1.0)
    assert old[227][0].score <= old[225][0].score  # the earlier rule: no better than fcc
    fits = fit_classes(spots, pixel_size_inv_a=0.0133, missing_share=0.9)
    assert max(CLASSES, key=lambda c: fits[c][0].score) == 227
    assert fits[227][0].score > fits[225][0].score + 0.05
    assert fits[227][0].a_a == pytest.approx(5.43, rel=0.01)


def test_bcc_set_is_ambiguous_without_the_shared_lattice_parameter():
    """[001], [011], [111] of bcc are each explained by simple cubic as well (physics-notes): independent
    scores tie 221 with 229; one lattice parameter for all three separates them."""
    ev = [_evidence(_crystal("Fe"), z, seed=i) for i, z in enumerate(SET)]
    ind = independent_scores(ev)
    joint, _ = joint_scores(ev)
    i221, i229 = CLASSES.index(221), CLASSES.index(229)
    assert abs(ind[i221] - ind[i229]) < 0.05
    assert joint[i229] - joint[i221] > max(0.05, 2 * abs(ind[i221] - ind[i229]))


def test_blank_frames_are_unknown_and_noise_forms_no_net_while_a_crystal_does():
    """Blank frames have no spots (unknown by rule); noise peaks and ring maxima form no 2-D net (the feature
    the network's "unknown" output reads, with noisy blank frames), a crystal's spots do."""
    from sadpnet.data.stream import linear_image_array
    from sadpnet.model.ood_sets import amorphous_rings, noise_only

    blank = np.stack([np.full((256, 256), 20, np.uint8), np.zeros((256, 256), np.uint8)])
    for img in blank:
        assert is_unknown(pattern_evidence(linear_image_array(img), 0.0133, (128.0, 128.0)))
    junk = np.concatenate([noise_only(4, seed=5), amorphous_rings(4, seed=6)])
    nets = [pattern_evidence(linear_image_array(img), 0.0133, (128.0, 128.0)).net for img in junk]
    crystal = _evidence(_crystal("Al"), (0, 0, 1))
    assert not is_unknown(crystal) and crystal.net > 0.9
    assert np.mean(nets) < 0.5 and max(nets) < crystal.net


def test_joint_posterior_keeps_the_network_cubic_mass_and_lets_the_lattice_check_pick_the_class():
    """Fe on [001], [011], [111]: a network that prefers simple cubic on every pattern (as look-alike patterns
    make it) does not outvote the lattice check among the cubic classes; the cubic / other / unknown masses
    stay the network's product rule."""
    from sadpnet.model.spot_model import LABELS, SpotModel, joint_posterior

    ev = [_evidence(_crystal("Fe"), z, seed=i) for i, z in enumerate(SET)]
    probs = np.full((3, len(LABELS)), 0.02)
    probs[:, LABELS.index("221")] = 0.6
    probs[:, LABELS.index("229")] = 0.2
    probs[:, LABELS.index("other")] = 0.12
    probs /= probs.sum(1, keepdims=True)
    model = SpotModel([], kappa=40.0)  # probabilities given: no network is asked
    p = joint_posterior(model, ev, probs)
    q = np.exp(np.log(probs).sum(0))
    q /= q.sum()
    n = len(CLASSES)
    assert p.sum() == pytest.approx(1.0)
    assert p[:n].sum() == pytest.approx(q[:n].sum()) and p[n:] == pytest.approx(q[n:])
    assert LABELS[int(np.argmax(p))] == "229"
    model.kappa = 0.0  # no lattice check: the cubic mass is shared evenly
    assert joint_posterior(model, ev, probs)[:n] == pytest.approx(np.full(n, q[:n].sum() / n))


def test_kappa_is_fitted_large_when_the_joint_score_names_the_class_and_zero_when_it_misleads():
    from sadpnet.model.spot_model import SpotModel, fit_kappa

    ev = [_evidence(_crystal("Fe"), z, seed=i) for i, z in enumerate(SET)]
    model = SpotModel([])
    assert fit_kappa(model, [(ev, CLASSES.index(229))]).kappa >= 20
    assert fit_kappa(model, [(ev, CLASSES.index(225))]).kappa == 0.0
