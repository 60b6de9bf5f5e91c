"""``sadpnet defect``: every command writes a CIF readable by sadpnet, ASE and pymatgen; bad input exits 2."""

import subprocess
import sys
import warnings

import pytest

from sadpnet.cli.app import main
from sadpnet.resources import example_cif

AL = str(example_cif("Al"))
FE = str(example_cif("Fe"))


def run_inprocess(capsys, *args):
    """Run the CLI in this process; returns (exit code, stdout, stderr)."""
    try:
        main(list(args))
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    out = capsys.readouterr()
    return code, out.out, out.err


def _read_everywhere(path):
    import ase.io
    from pymatgen.core import Structure

    from sadpnet.crystal import read_cif

    c = read_cif(path, standardize_cell=False)
    a = ase.io.read(path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        s = Structure.from_file(path)
    assert len(c.atoms) == len(a) == len(s)
    return c


CASES = [
    (["strain", AL, "--strain", "0.05", "0", "0", "0", "0", "0"], 4, "139 (I4/mmm)"),
    (["strain", FE, "--stress-gpa", "0", "0", "0", "0", "0", "2"], 2, "became"),
    (["thermal", AL, "--temperature-k", "300", "--supercell", "2", "2", "2", "--seed", "7"], 32, "rms displacement"),
    (["vacancy", AL, "--supercell", "3", "3", "3"], 107, "1/108"),
    (["vacancy", FE, "--supercell", "3", "3", "3", "--relax", "--potential", "eam"], 53, "largest displacement"),
    (["substitute", FE, "--supercell", "3", "3", "3", "--element", "Au"], 54, "Au on a Fe site"),
    (["interstitial", AL, "--supercell", "3", "3", "3", "--element", "C", "--site", "tetrahedral"], 109, "C interstitial"),
    (["dislocation", AL, "--line", "1", "1", "2", "--burgers", "0.5", "0.5", "0", "--cells", "10", "8", "1", "--count", "1"], None,
     "closes with [0.5 -0.5 0]"),
    (["twin", AL, "--plane", "1", "1", "1", "--direction", "1", "1", "-2", "--cells", "6", "4", "6"], None, "Sigma 3"),
]


@pytest.mark.parametrize("args,n_atoms,expect", CASES, ids=[c[0][0] + str(i) for i, c in enumerate(CASES)])
def test_commands_write_readable_cifs(tmp_path, capsys, args, n_atoms, expect):
    out = tmp_path / "out.cif"
    code, stdout, stderr = run_inprocess(capsys, "defect", *args, "-o", str(out))
    assert code == 0, stderr
    assert expect in stdout and str(out) in stdout
    assert len(stdout.strip().splitlines()) == 1  # one paragraph
    c = _read_everywhere(out)
    if n_atoms is not None:
        assert len(c.atoms) == n_atoms
    head = out.read_text().splitlines()[:5]
    assert head[0].startswith("# sadpnet ") and f"defect {args[0][:5]}" in head[0]
    assert head[1].startswith("# parameters: {") and head[2].startswith("# seed: ")
    assert "parent: " in head[3] and "space group" in head[3] and head[4].startswith("# cell: ")
    if args[0] == "thermal":
        assert head[2] == "# seed: 7"


BAD = [
    (["vacancy", AL, "--supercell", "0", "3", "3"], "supercell"),
    (["substitute", AL, "--supercell", "2", "2", "2", "--element", "Xq"], "unknown element"),
    (["strain", AL, "--strain", "0.5", "0", "0", "0", "0", "0"], "too large"),
    (["vacancy", AL, "--supercell", "2", "2", "2", "--site", "99"], "does not exist"),
    (["interstitial", AL, "--supercell", "2", "2", "2", "--element", "C", "--site", "cubic"], "does not exist"),
    (["twin", AL, "--plane", "1", "0", "0", "--direction", "0", "1", "0"], "mirror plane of the crystal"),
    (["dislocation", AL, "--line", "1", "1", "0", "--burgers", "0.5", "0.5", "0"], "edge dislocation"),
    (["thermal", AL, "--temperature-k", "300", "--method", "monte-carlo"], "--method"),
]


@pytest.mark.parametrize("args,msg", BAD, ids=[b[0][0] + str(i) for i, b in enumerate(BAD)])
def test_bad_input_one_line_exit_2_nothing_written(tmp_path, capsys, args, msg):
    out = tmp_path / "bad.cif"
    code, stdout, stderr = run_inprocess(capsys, "defect", *args, "-o", str(out))
    assert code == 2
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and msg in lines[0]
    assert list(tmp_path.iterdir()) == []


def test_real_process_exit_code(tmp_path):
    out = tmp_path / "x.cif"
    r = subprocess.run([sys.executable, "-m", "sadpnet", "defect", "vacancy", AL, "--supercell", "2", "0", "2", "-o",
                        str(out)], capture_output=True, text=True)
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1 and "supercell" in r.stderr
    assert not out.exists()


def test_simulator_reads_defect_cifs_as_specimens(tmp_path, capsys):
    """The CIF comments are the hand-off to `sadpnet simulate`: supercells keep their span, blocks stay whole."""
    from sadpnet.simulate.api import simulate

    vac, twin = tmp_path / "vac.cif", tmp_path / "twin.cif"
    assert run_inprocess(capsys, "defect", "vacancy", AL, "--supercell", "3", "3", "3", "-o", str(vac))[0] == 0
    assert run_inprocess(capsys, "defect", "twin", AL, "--cells", "6", "4", "6", "-o", str(twin))[0] == 0
    p = simulate(vac, (0, 0, 1), engine="atoms", size_px=64, oversample=1)
    assert p.metadata["repeats"] == [14, 10, 7] and p.metadata["n_atoms_unit"] == 107
    q = simulate(twin, (0, 1, 0), engine="atoms", size_px=64, oversample=1)
    assert q.metadata["repeats"] == [1, 1, 1] and q.intensity.sum() > 0
