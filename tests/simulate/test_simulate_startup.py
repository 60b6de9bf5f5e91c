"""Start-up of ``sadpnet simulate`` on a block (issue 19): the numerics that replaced scipy on its path agree with
scipy, and the command imports neither scipy nor ase.io (timed in bench/bench_simulate_startup.py)."""

import subprocess
import sys

import numpy as np
import pytest


@pytest.mark.parametrize("x", [0.0, 0.3, 5.0, 37.2, 250.0])
def test_bessel_j_is_scipy_jv(x):
    from scipy.special import jv

    from sadpnet.simulate.ewald_nufft import bessel_j

    n = int(x + 60)
    assert np.abs(bessel_j(n, x) - jv(np.arange(n), x)).max() < 1e-13


@pytest.mark.parametrize("k", [1, 3, 17, 120])
def test_dct2_matrix_is_scipy_dct(k):
    from scipy.fft import dct

    from sadpnet.simulate.ewald_nufft import dct2_matrix

    v = np.random.default_rng(k).normal(size=(k, k)) + 1j * np.random.default_rng(k + 1).normal(size=(k, k))
    want = dct(dct(v, type=2, axis=0), type=2, axis=1)
    d = dct2_matrix(k)
    assert np.abs(d @ v @ d.T - want).max() <= 1e-12 * np.abs(want).max()


@pytest.mark.parametrize("sigma", [0.3, 0.7, 2.0])
def test_gaussian_blur_is_scipy_gaussian_filter(sigma):
    from scipy.ndimage import gaussian_filter

    from sadpnet.simulate.detector import gaussian_blur

    img = (np.random.default_rng(0).random((64, 48)) ** 8 * 1000).astype(np.float32)
    want = gaussian_filter(img, sigma, mode="constant", truncate=3.0)
    got = gaussian_blur(img, sigma)
    assert got.dtype == np.float32 and got.shape == img.shape
    assert np.abs(got - want).max() <= 1e-6 * want.max()


def test_simulate_block_imports_no_scipy_nor_ase_io(tmp_path):
    from sadpnet.crystal import read_cif
    from sadpnet.defects.cif_out import write_defect_file
    from sadpnet.defects.twin import build_twin
    from sadpnet.resources import example_cif

    al = read_cif(example_cif("Al"))
    r = build_twin(al, (1, 1, 1), (1, 1, -2), 0.5, (6, 4, 4))
    frame = "; ".join(f"e{i + 1}=({' '.join(f'{x:.6f}' for x in row)})" for i, row in enumerate(r.frame))
    block = write_defect_file(r.atoms, tmp_path / "twin.extxyz", "twin", r.info, al, f"block in the parent's "
                              f"Cartesian frame, axes {frame}")
    code = ("import sys\nfrom sadpnet.cli.app import main\n"
            "try:\n    main(sys.argv[1:])\nexcept SystemExit as e:\n    assert not e.code, e.code\n"
            "print(sorted(m for m in ('scipy', 'ase.io', 'pandas', 'torch') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code, "simulate", str(block), "--zone", "1", "1", "0", "--engine",
                          "atoms", "--size", "64", "-o", str(tmp_path / "p.png")], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "[]" and (tmp_path / "p.png").exists()
