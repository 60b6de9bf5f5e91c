"""The `atoms` engine: NUFFT on the Ewald sphere against float64 direct sums, repeats factorisation,
agreement with the `cell` engine, conventions and bad input."""

import numpy as np
import pytest

from sadpnet.crystal import read_cif
from sadpnet.errors import InputError
from sadpnet.resources import example_cif
from sadpnet.simulate.atoms_engine import direct_sum_pixels, simulate_atoms
from sadpnet.simulate.ewald_nufft import ewald_qz_inv_a, iter_sphere_amplitudes
from sadpnet.simulate.microscope import Microscope
from sadpnet.crystal.specimen import Specimen


@pytest.fixture(scope="module")
def crystals():
    return {name: read_cif(example_cif(name)) for name in ("Al", "Fe", "Si", "NaCl")}


@pytest.mark.parametrize("eps,n_tiles", [(1e-6, 1), (1e-6, 3), (1e-4, None), (1e-4, 2)])
def test_sphere_amplitudes_match_float64_direct_sum(eps, n_tiles):
    rng = np.random.default_rng(7)
    n = 3000
    pos = rng.uniform([-90, -70, -60], [90, 70, 60], (n, 3))
    pos -= 0.5 * (pos.min(axis=0) + pos.max(axis=0))  # the amplitudes' phase origin is the box centre
    w = rng.uniform(0.3, 1.0, n) + 0j
    groups = (rng.random(n) < 0.3).astype(int)
    k = 1 / 0.019687  # 300 kV
    m, os_ = 160, 4
    dq = 0.02 / os_
    qx = dq * (np.arange(m) - m / 2 - 1.5)
    qy = dq * (np.arange(m) - m / 2 + 2.5)
    amp = np.zeros((2, m, m), dtype=complex)
    for tile, qz, a in iter_sphere_amplitudes(pos, w, groups, 2, qx, qy, k, os_, eps=eps, n_tiles=n_tiles):
        assert np.allclose(qz, ewald_qz_inv_a(qx[tile.ix0:tile.ix1, None], qy[None, tile.iy0:tile.iy1], k))
        amp[:, tile.ix0:tile.ix1, tile.iy0:tile.iy1] = a
    ii = rng.integers(0, m, (300, 2))
    q = np.stack([qx[ii[:, 0]], qy[ii[:, 1]], ewald_qz_inv_a(qx[ii[:, 0]], qy[ii[:, 1]], k)], axis=1)
    for g in range(2):
        sel = groups == g
        ref = np.exp(2j * np.pi * q @ pos[sel].T) @ w[sel]
        err = np.abs(amp[g, ii[:, 0], ii[:, 1]] - ref).max() / np.abs(w[sel]).sum()
        assert err <= 10 * eps


def test_engine_matches_float64_direct_sum_on_pixels(crystals):
    """A spelled-out two-species block, off a low-index axis, rotated and tilted: relative error <= 1e-3."""
    nacl = crystals["NaCl"]
    spec = Specimen(unit=nacl.atoms.repeat((8, 6, 5)), parent=nacl, name="NaCl 8x6x5")
    mic = Microscope(300.0, 250.0, detector_pixels=128)
    kw = dict(inplane_rotation_deg=17.0, tilt_mrad=(4.0, -3.0))
    pat = simulate_atoms(spec, mic, (0, 1, 2), eps=1e-4, **kw)
    rng = np.random.default_rng(3)
    bright = np.argsort(pat.intensity.ravel())[-25:]
    rows, cols = np.unravel_index(bright, pat.intensity.shape)
    pix = np.concatenate([np.stack([rows, cols], 1), rng.integers(0, 128, (25, 2))])
    ref = direct_sum_pixels(spec, mic, (0, 1, 2), pix, **kw)
    got = pat.intensity[pix[:, 0], pix[:, 1]]
    assert ref.max() > 0
    assert np.abs(got - ref).max() <= 1e-3 * ref.max()
    assert pat.spots and pat.metadata["engine"] == "atoms"


def test_repeats_factorise(crystals):
    si = crystals["Si"]
    mic = Microscope(200.0, 300.0, detector_pixels=128)
    reps = (6, 5, 4)
    kw = dict(eps=1e-6, inplane_rotation_deg=-23.0, tilt_mrad=(6.0, 2.0))
    factorised = simulate_atoms(Specimen.from_crystal(si, reps), mic, (1, 1, 1), **kw)
    spelled = simulate_atoms(Specimen(unit=si.atoms.repeat(reps), parent=si), mic, (1, 1, 1), **kw)
    assert factorised.metadata["n_atoms_unit"] == 8 and spelled.metadata["n_atoms_unit"] == 8 * 120
    peak = factorised.intensity.max()
    assert peak > 0
    assert np.abs(factorised.intensity - spelled.intensity).max() <= 1e-4 * peak


@pytest.mark.parametrize("name", ["Al", "Fe", "Si"])
@pytest.mark.parametrize("zone", [(0, 0, 1), (0, 1, 1), (1, 1, 1), (1, 1, 2)])
def test_agrees_with_cell_engine(crystals, name, zone):
    """Perfect 40x30x20 blocks: same spots on the same pixels, relative intensities within 2 %, and the
    same absolute units."""
    from sadpnet.simulate.cell_engine import simulate_cell

    spec = Specimen.from_crystal(crystals[name], (40, 30, 20))
    mic = Microscope(200.0, 300.0)
    pa = simulate_atoms(spec, mic, zone, eps=1e-4)
    pc = simulate_cell(spec, mic, zone)
    da = {s.hkl: s for s in pa.spots}
    dc = {s.hkl: s for s in pc.spots}
    # the same spots, apart from ones at the listing threshold (1e-4 of the strongest)
    for h in set(da) ^ set(dc):
        assert (da.get(h) or dc.get(h)).intensity < 3e-4
    strong = [h for h in dc if dc[h].intensity >= 1e-2]
    assert len(strong) >= 4
    for h in strong:
        assert da[h].pixel_xy == pytest.approx(dc[h].pixel_xy, abs=1e-9)
        assert da[h].intensity == pytest.approx(dc[h].intensity, rel=0.02)
        assert da[h].structure_factor_sq == pytest.approx(dc[h].structure_factor_sq, rel=1e-9)
    # absolute units: the strongest spot's window holds the same integrated intensity (A^2 / A^2)
    top = pc.spots[0]
    c, r = (int(round(v)) for v in top.pixel_xy)
    w = pa.metadata["direct_beam_excluded_px"]
    win = np.s_[r - w:r + w + 1, c - w:c + w + 1]
    assert pa.intensity[win].sum() == pytest.approx(pc.intensity[win].sum(), rel=0.02)


def test_conventions_mirror_symmetry_and_direct_beam(crystals):
    """Al [001] is 4mm: with the beam on pixel (N/2, N/2) the image is mirror-symmetric about column N/2
    and row N/2; the (000) stencil is excluded."""
    mic = Microscope(200.0, 300.0, detector_pixels=128)
    pat = simulate_atoms(Specimen.from_crystal(crystals["Al"], (12, 12, 8)), mic, (0, 0, 1), eps=1e-6)
    img = pat.intensity
    n = img.shape[0]
    inner = img[1:, 1:]  # rows/columns 1..N-1 mirror onto N-1..1
    scale = img.max()
    assert np.abs(inner - inner[:, ::-1]).max() <= 1e-4 * scale
    assert np.abs(inner - inner[::-1, :]).max() <= 1e-4 * scale
    assert np.abs(inner - inner.T).max() <= 1e-4 * scale
    w = pat.metadata["direct_beam_excluded_px"]
    assert np.all(img[n // 2 - w:n // 2 + w + 1, n // 2 - w:n // 2 + w + 1] == 0)
    # a {200} spot sits where the reciprocal lattice puts it: 2/a from the centre along x
    cal = mic.pixel_size_inv_a
    col = n / 2 + 2 / 4.0495 / cal
    assert img[n // 2, int(round(col))] > 0.1 * scale


@pytest.mark.parametrize("oversample", [1, 3, 4])
def test_subpixel_grid_follows_the_detector_convention(crystals, oversample):
    """Sub-pixel i of column c sits at x = c - 1/2 + (i + 1/2)/os pixels, q_x = (x - N/2) cal; rows run
    downwards with q_y = (N/2 - y) cal (docs/conventions.md)."""
    from sadpnet.simulate.atoms_engine import _setup

    mic = Microscope(200.0, 300.0, detector_pixels=16)
    st = _setup(Specimen.from_crystal(crystals["Al"], (2, 2, 2)), mic, (0, 0, 1), 0.0, (0, 0), True, oversample)
    cal, n = mic.pixel_size_inv_a, 16
    sub = (np.arange(oversample) + 0.5) / oversample - 0.5
    x = (np.arange(n)[:, None] + sub[None, :]).ravel()  # column coordinate of every fine sample, pixels
    assert np.allclose(st.qx_inv_a, (x - n / 2) * cal)
    y = (np.arange(n)[:, None] + sub[None, :]).ravel()  # row coordinate, top to bottom
    assert np.allclose(st.qy_inv_a[::-1], (n / 2 - y) * cal)  # fine index iy = M - 1 - fine row


def test_chebyshev_phase_expansion():
    from sadpnet.simulate.ewald_nufft import chebyshev_table, phase_chebyshev_coefficients

    t, s = np.linspace(-1, 1, 61), np.linspace(-1, 1, 47)
    for c in (0.0, 0.7, 4.0, 15.0):
        coef = phase_chebyshev_coefficients(c, 1e-6)
        approx = chebyshev_table(t, coef.shape[0]).T @ coef @ chebyshev_table(s, coef.shape[1])
        assert np.abs(approx - np.exp(1j * c * np.outer(t, s))).max() <= 1e-6
        assert coef.shape[1] <= c + 16  # about c + a few terms: the expansion stays cheap


def test_specimen_without_parent_has_no_spots():
    from ase import Atoms

    rng = np.random.default_rng(1)
    cluster = Atoms("Cu200", positions=rng.normal(0, 8, (200, 3)))
    pat = simulate_atoms(Specimen(unit=cluster), Microscope(200.0, 300.0, detector_pixels=64), (0, 0, 1), eps=1e-4)
    assert pat.spots == [] and pat.space_group is None
    assert pat.intensity.shape == (64, 64)
    assert np.all(np.isfinite(pat.intensity)) and pat.intensity.min() >= 0 and pat.intensity.max() > 0


@pytest.mark.parametrize("kwargs,where", [({"eps": 0.0}, "eps"), ({"oversample": 0}, "oversample"),
                                          ({"zone_axis": (0, 0, 0)}, "zone")])
def test_bad_input(crystals, kwargs, where):
    spec = Specimen.from_crystal(crystals["Al"], (4, 4, 4))
    args = {"zone_axis": (0, 0, 1), **kwargs}
    zone = args.pop("zone_axis")
    with pytest.raises(InputError) as err:
        simulate_atoms(spec, Microscope(200.0, 300.0, detector_pixels=32), zone, **args)
    assert err.value.where == where
