"""`sadpnet simulate` and the API's file output: formats, sidecar, bad input (exit 2, nothing written)."""

import json
import subprocess
import sys

import numpy as np
import pytest

from sadpnet.resources import example_cif


def run(*args):
    return subprocess.run([sys.executable, "-m", "sadpnet", *args], capture_output=True, text=True)


def test_simulate_png_and_spots(tmp_path):
    out, spots = tmp_path / "al.png", tmp_path / "al_spots.json"
    r = run("simulate", str(example_cif("Al")), "--zone", "0", "1", "1", "--voltage-kv", "200",
            "--camera-length-mm", "300", "--cells", "40", "30", "20", "--size", "256", "-o", str(out), "--spots", str(spots))
    assert r.returncode == 0, r.stderr
    from PIL import Image

    img = np.asarray(Image.open(out))
    assert img.shape == (256, 256) and img.dtype == np.uint8
    d = json.loads(spots.read_text())
    for key in ("wavelength_a", "pixel_size_inv_a", "zone_axis", "space_group", "spots"):
        assert key in d
    assert d["zone_axis"] == [0, 1, 1] and d["space_group"] == 225
    s = d["spots"][0]
    assert set(s) >= {"hkl", "g_inv_a", "d_a", "excitation_error_inv_a", "structure_factor_sq", "intensity", "pixel_xy"}
    assert s["intensity"] == 1.0 and len(s["g_inv_a"]) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["al.png", "al_spots.json"]


def test_api_formats(tmp_path):
    import tifffile

    from sadpnet.simulate import render, save_pattern, simulate

    p = simulate(example_cif("Fe"), (1, 1, 1), voltage_kv=300, camera_length_mm=250, size_px=128)
    img16 = render(p, bits=16)
    a, side = save_pattern(p, img16, tmp_path / "fe.tif")
    assert side == tmp_path / "fe.json" and tifffile.imread(a).dtype == np.uint16
    b, _ = save_pattern(p, None, tmp_path / "fe_raw.npy")
    np.testing.assert_array_equal(np.load(b), p.intensity)
    c, _ = save_pattern(p, img16, tmp_path / "fe16.png")
    from PIL import Image

    assert np.array_equal(np.asarray(Image.open(c)), img16)
    assert not [f for f in tmp_path.iterdir() if f.name.startswith(".")]  # no temporary files left


def test_api_accepts_supercell_cif(tmp_path):
    """A P1 supercell CIF (as `sadpnet defect` writes) is just a CIF."""
    from sadpnet.crystal import read_cif, write_cif
    from sadpnet.simulate import simulate

    al = read_cif(example_cif("Al"))
    path = tmp_path / "al_222_p1.cif"
    write_cif(al.atoms.repeat((2, 2, 2)), path, ["2x2x2 supercell"])
    p = simulate(path, (0, 0, 1), cells=(20, 15, 10))
    assert p.spots and p.intensity.max() > 0


@pytest.mark.parametrize("args, where", [
    (["--zone", "0", "0", "0"], "zone"),
    (["--zone", "0", "0", "1", "--voltage-kv", "-200"], "voltage"),
    (["--zone", "0", "0", "1", "--size", "0"], "size"),
    (["--zone", "0", "0", "1", "--cells", "0", "30", "20"], "cells"),
    (["--zone", "0", "0", "1", "--engine", "magic"], "engine"),
])
def test_bad_input_exit_2(tmp_path, args, where):
    out = tmp_path / "x.png"
    r = run("simulate", str(example_cif("Al")), *args, "-o", str(out))
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and where in lines[0]
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("content", [None, "data_broken\n_cell_length_a 4.05\nnonsense here\n"])
def test_missing_or_malformed_cif(tmp_path, content):
    cif = tmp_path / "in.cif"
    if content is not None:
        cif.write_text(content)
    out = tmp_path / "out" / "x.png"
    r = run("simulate", str(cif), "--zone", "0", "0", "1", "-o", str(out))
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "in.cif" in lines[0]
    assert not out.parent.exists() or list(out.parent.iterdir()) == []


def test_bad_output_suffix(tmp_path):
    r = run("simulate", str(example_cif("Al")), "--zone", "0", "0", "1", "-o", str(tmp_path / "x.jpg"))
    assert r.returncode == 2 and "output" in r.stderr and list(tmp_path.iterdir()) == []


def test_defect_cifs_keep_their_axes(tmp_path):
    """CIFs from `sadpnet defect` are read in their own cell (zone axes and hkl in the file's axes)."""
    from sadpnet.crystal import read_cif
    from sadpnet.defects.cif_out import write_defect_cif
    from sadpnet.simulate import simulate

    al = read_cif(example_cif("Al"))
    strained = al.atoms.copy()
    strained.set_cell(np.asarray(al.atoms.cell) * np.array([[1.04], [1.0], [1.0]]), scale_atoms=True)
    path = tmp_path / "strained.cif"
    write_defect_cif(strained, path, "strain", {"strain_voigt": [0.04, 0, 0, 0, 0, 0]}, al,
                     "the strained conventional cell (1 x 1 x 1 parent cells); zone axes index the strained lattice")
    p = simulate(path, (0, 0, 1))
    g = {s.hkl: s.g_inv_a for s in p.spots}
    assert g[(2, 0, 0)][0] == pytest.approx(2 / (1.04 * al.lattice_parameters[0]), rel=1e-6)
    assert g[(0, 2, 0)][1] == pytest.approx(2 / al.lattice_parameters[0], rel=1e-6)

    sc = al.atoms.repeat((3, 3, 3))
    del sc[0]
    path = tmp_path / "vacancy.cif"
    write_defect_cif(sc, path, "vacancy", {}, al, "3x3x3 supercell of the parent (spans 3x3x3 parent conventional cells)")
    p = simulate(path, (0, 1, 1), cells=(40, 30, 20))
    assert p.metadata["cells"] == [14, 10, 7] and p.metadata["debye_waller"] is True
    assert p.space_group == 225  # the average parent of the vacancy supercell
    hkls = {s.hkl for s in p.spots}
    assert (2, 0, 0) in hkls and (1, 1, -1) in hkls  # indexed in the parent's cell
    write_defect_cif(sc, path, "thermal", {}, al, "3x3x3 supercell of the parent (spans 3x3x3 parent conventional cells)")
    p = simulate(path, (0, 1, 1), cells=(40, 30, 20))
    assert p.metadata["debye_waller"] is False  # the snapshot's displacements are the vibration
    assert (6, 0, 0) in {s.hkl for s in p.spots}  # parent (200) in the supercell's indices

    block = al.atoms.repeat((3, 3, 3))
    block.center(vacuum=5.0)
    path = tmp_path / "block.cif"
    write_defect_cif(block, path, "twin", {}, al, "block in the parent's Cartesian frame, axes e1 e2 e3")
    r = run("simulate", str(path), "--zone", "0", "0", "1", "-o", str(tmp_path / "b.png"))
    assert r.returncode == 2 and "atoms" in r.stderr and not (tmp_path / "b.png").exists()


def test_block_cifs_are_indexed_in_their_parent(tmp_path):
    """A twin or dislocation block written by `sadpnet defect` carries its parent's sites and axes: simulated from
    the CIF, its spots are indexed in the parent on the parent's zone axis, as the study's in-memory block (same
    reflections, same |g|); files without the site lines still simulate, without spots."""
    from sadpnet.crystal import read_cif
    from sadpnet.defects.specimen import block_specimen
    from sadpnet.defects.twin import build_twin
    from sadpnet.simulate import simulate

    al = read_cif(example_cif("Al"))
    path = tmp_path / "twin.cif"
    r = run("defect", "twin", str(example_cif("Al")), "--cells", "8", "6", "4", "-o", str(path))
    assert r.returncode == 0, r.stderr
    assert sum(line.startswith("# parent site: Al ") for line in path.read_text().splitlines()) == 4
    from_cif = simulate(path, (1, 1, 0), engine="atoms", size_px=128)
    in_memory = simulate(block_specimen(build_twin(al, (1, 1, 1), (1, 1, -2), 0.5, (8, 6, 4)).atoms, al), (1, 1, 0),
                         engine="atoms", size_px=128)
    assert from_cif.space_group == 225 and len(from_cif.spots) > 10
    g_cif = {s.hkl: float(np.linalg.norm(s.g_inv_a)) for s in from_cif.spots}
    g_mem = {s.hkl: float(np.linalg.norm(s.g_inv_a)) for s in in_memory.spots}
    assert set(g_cif) == set(g_mem)
    assert max(abs(g_cif[h] - g_mem[h]) for h in g_cif) < 1e-6
    zolz = [s for s in from_cif.spots if np.dot(s.hkl, (1, 1, 0)) == 0]  # the thin block also lists Laue-zone spots
    assert sorted(abs(x) for x in zolz[0].hkl) == [1, 1, 1] and zolz[0].intensity == from_cif.spots[0].intensity

    old = tmp_path / "old.cif"
    old.write_text("\n".join(line for line in path.read_text().splitlines() if not line.startswith("# parent site:")))
    p = simulate(old, (0, 0, 1), engine="atoms", size_px=64)
    assert p.spots == [] and p.space_group is None


def test_huge_cell_refused_by_cell_engine():
    from ase.build import bulk

    from sadpnet.errors import InputError
    from sadpnet.simulate.cell_engine import simulate_cell
    from sadpnet.simulate.microscope import Microscope
    from sadpnet.crystal.specimen import Specimen

    big = Specimen(unit=bulk("Al", "fcc", a=4.05, cubic=True).repeat((12, 12, 12)))
    with pytest.raises(InputError, match="atoms engine"):
        simulate_cell(big, Microscope(200, 300), (0, 0, 1))


def test_cli_import_is_light():
    """`sadpnet --help` must answer fast: importing the CLI pulls in no numerical library (timed in
    bench/bench_cli_startup.py)."""
    code = ("import sys, sadpnet.cli.app; heavy = [m for m in ('numpy', 'torch', 'scipy', 'ase', 'abtem', "
            "'matplotlib', 'pandas', 'dask', 'finufft') if m in sys.modules]; print(heavy)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout.strip() == "[]", r.stdout + r.stderr
