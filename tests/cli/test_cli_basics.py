import json
import subprocess
import sys

from sadpnet.resources import example_cif


def run(*args):
    return subprocess.run([sys.executable, "-m", "sadpnet", *args], capture_output=True, text=True)


def test_help_lists_commands():
    r = run("--help")
    assert r.returncode == 0
    assert "crystal" in r.stdout


def test_crystal_json():
    r = run("crystal", str(example_cif("Fe")), "--json")
    assert r.returncode == 0, r.stderr
    info = json.loads(r.stdout)
    assert info["space_group"] == 229 and info["crystal_system"] == "cubic"


def test_bad_input_exit_2_one_line(tmp_path):
    bad = tmp_path / "broken.cif"
    bad.write_text("nonsense")
    r = run("crystal", str(bad))
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "broken.cif" in lines[0]
