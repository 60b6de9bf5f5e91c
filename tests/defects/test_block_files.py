"""Large atom sets: ``sadpnet defect ... -o block.extxyz`` / ``.lmp`` (format by suffix) keep positions, cell,
species and the parent's information that block CIFs carry; ``sadpnet simulate`` reads them as it reads the CIF."""

import numpy as np
import pytest
from test_defect_cli import run_inprocess as _run

from sadpnet.cli.app import main
from sadpnet.resources import example_cif

AL = str(example_cif("Al"))
TWIN = ["defect", "twin", AL, "--plane", "1", "1", "1", "--direction", "1", "1", "-2", "--cells", "6", "4", "4"]


@pytest.fixture(scope="module")
def twin_files(tmp_path_factory):
    """The same small twin block written as CIF, extended XYZ and LAMMPS data by the CLI."""
    folder = tmp_path_factory.mktemp("twin")
    paths = {}
    for suffix in (".cif", ".extxyz", ".lmp"):
        paths[suffix] = folder / f"twin{suffix}"
        with pytest.raises(SystemExit) as e:
            main([*TWIN, "-o", str(paths[suffix])])
        assert e.value.code in (0, None)
    return paths


@pytest.mark.parametrize("suffix", [".extxyz", ".lmp"])
def test_round_trip_keeps_atoms_cell_and_parent(twin_files, suffix):
    import ase.io

    from sadpnet.crystal import read_cif
    from sadpnet.crystal.atom_files import header_comments, read_atom_file
    from sadpnet.simulate.api import _defect_header

    cif = read_cif(twin_files[".cif"], standardize_cell=False).atoms
    atoms, comments = read_atom_file(twin_files[suffix])
    assert len(atoms) == len(cif) > 300
    assert atoms.get_chemical_symbols() == cif.get_chemical_symbols()
    assert np.allclose(np.asarray(atoms.cell), np.asarray(cif.cell), atol=1e-6)
    d = atoms.get_scaled_positions(wrap=False) - cif.get_scaled_positions(wrap=False)
    assert np.abs((d - np.rint(d)) @ np.asarray(cif.cell)).max() < 1e-4  # CIF: ~6 decimals of fractions, wrapped
    assert comments == header_comments(twin_files[".cif"]) == header_comments(twin_files[suffix])
    head = _defect_header(twin_files[suffix])
    assert head == _defect_header(twin_files[".cif"])
    assert head["kind"] == "twin" and head["group"] == (225, "Fm-3m") and len(head["sites"]) == 4
    assert head["relation"].startswith("block") and head["cellpar"][0] == pytest.approx(4.0495, abs=1e-3)
    # the files are what ASE (and so OVITO/LAMMPS users) expect
    other = ase.io.read(twin_files[suffix], **({"format": "lammps-data", "atom_style": "atomic"}
                                               if suffix == ".lmp" else {}))
    assert np.abs(other.positions - atoms.positions).max() < 1e-6
    assert other.get_chemical_symbols() == atoms.get_chemical_symbols()
    if suffix == ".extxyz":
        assert other.info["sadpnet_header"] == comments


@pytest.mark.parametrize("suffix", [".extxyz", ".lmp"])
def test_simulate_reads_blocks_like_the_cif(twin_files, suffix, tmp_path, capsys):
    from sadpnet.simulate import simulate

    want = simulate(twin_files[".cif"], (1, 1, 0), engine="atoms", size_px=96, oversample=1)
    got = simulate(twin_files[suffix], (1, 1, 0), engine="atoms", size_px=96, oversample=1)
    assert got.space_group == want.space_group == 225 and len(want.spots) > 10
    assert [s.hkl for s in got.spots] == [s.hkl for s in want.spots]
    assert np.allclose(got.intensity, want.intensity, rtol=1e-4, atol=1e-6 * want.intensity.max())
    out = tmp_path / "p.png"
    code, stdout, stderr = _run(capsys, "simulate", str(twin_files[suffix]), "--zone", "1", "1", "0", "--engine",
                                "atoms", "--size", "64", "--oversample", "1", "-o", str(out))
    assert code == 0, stderr
    assert out.exists() and "spots" in stdout
    code, _, stderr = _run(capsys, "simulate", str(twin_files[suffix]), "--zone", "1", "1", "0", "-o", str(out))
    assert code == 2 and "--engine atoms" in stderr  # a block needs the atoms engine, as its CIF does


def test_dislocation_and_thermal_write_by_suffix(tmp_path, capsys):
    from sadpnet.crystal.atom_files import read_atom_file
    from sadpnet.simulate.api import _defect_header

    lmp = tmp_path / "dislocation.lmp"
    code, stdout, stderr = _run(capsys, "defect", "dislocation", AL, "--cells", "10", "8", "1", "--count", "1",
                                "-o", str(lmp))
    assert code == 0, stderr
    atoms, _ = read_atom_file(lmp)
    assert f"block of {len(atoms)} atoms" in stdout and _defect_header(lmp)["kind"] == "dislocation"
    out = tmp_path / "hot.extxyz"
    code, _, stderr = _run(capsys, "defect", "thermal", AL, "--temperature-k", "300", "--supercell", "2", "2", "2",
                           "--snapshots", "2", "-o", str(out))
    assert code == 0, stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dislocation.lmp", "hot_000.extxyz", "hot_001.extxyz"]
    assert len(read_atom_file(tmp_path / "hot_001.extxyz")[0]) == 32
    assert "spans 2x2x2" in _defect_header(tmp_path / "hot_000.extxyz")["relation"]


def test_bad_suffix_and_broken_files_exit_2(tmp_path, capsys):
    code, _, stderr = _run(capsys, *TWIN, "-o", str(tmp_path / "twin.pdb"))
    lines = stderr.strip().splitlines()
    assert code == 2 and len(lines) == 1 and "--output" in lines[0] and "twin.pdb" in lines[0]
    assert list(tmp_path.iterdir()) == []
    bad = tmp_path / "broken.extxyz"
    bad.write_text("3\nLattice=\"4 0 0 0 4 0 0 0 4\" Properties=species:S:1:pos:R:3\nAl 0 0 0\nAl 1 1\n")
    code, _, stderr = _run(capsys, "simulate", str(bad), "--zone", "0", "0", "1", "-o", str(tmp_path / "x.png"))
    lines = stderr.strip().splitlines()
    assert code == 2 and len(lines) == 1 and "broken.extxyz" in lines[0], stderr
    bad = tmp_path / "broken.lmp"
    bad.write_text("title\n\n2 atoms\n1 atom types\n0 4 xlo xhi\n0 4 ylo yhi\n0 4 zlo zhi\n\nAtoms # atomic\n\n"
                   "1 1 0 0 0\n2 1 1 1 1\n")
    code, _, stderr = _run(capsys, "simulate", str(bad), "--zone", "0", "0", "1", "-o", str(tmp_path / "x.png"))
    assert code == 2 and "broken.lmp" in stderr and "Masses" in stderr
    assert not (tmp_path / "x.png").exists()


def test_plain_extxyz_is_a_crystal(tmp_path):
    """An extended XYZ file from elsewhere (no sadpnet header) is read like a CIF: its space group found."""
    from sadpnet.crystal.atom_files import read_structure, write_atom_file
    from sadpnet.crystal import read_cif

    al = read_cif(AL)
    write_atom_file(al.atoms, tmp_path / "al.extxyz")
    c = read_structure(tmp_path / "al.extxyz")
    assert c.space_group_number == 225 and len(c.atoms) == 4
