"""Shipped example crystals by name: one resolver (`sadpnet.crystal.resolve_cif`) used by every command."""

import json

import pytest

from sadpnet.cli.app import main
from sadpnet.crystal import resolve_cif, shipped_cifs
from sadpnet.errors import InputError
from sadpnet.resources import resource_path

COD_AL = resource_path("cifs", "crystals_COD", "Al.cif")


def _run(capsys, *argv):
    try:
        main(list(argv))
        code = 0
    except SystemExit as exc:
        code = exc.code
    out = capsys.readouterr()
    return code, out.out, out.err


def test_names_resolve_to_shipped_cifs_cod_first():
    assert resolve_cif("Al") == COD_AL and resolve_cif("Al.cif") == COD_AL and resolve_cif("al") == COD_AL
    assert resolve_cif("NaCl") == resource_path("cifs", "pymatgen_aflow", "cif_p1", "172_AB_cF8_225_a_b.cif")
    names = shipped_cifs()
    assert names["Fe"] == "crystals_COD/Fe.cif" and len(names) > 150
    assert all(resource_path("cifs", *rel.split("/")).is_file() for rel in names.values())


def test_an_existing_file_wins_and_paths_are_taken_literally(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "Al").write_text("mine")
    assert resolve_cif("Al").resolve() == (tmp_path / "Al").resolve()
    assert resolve_cif("sub/Fe.cif") == tmp_path.joinpath("sub", "Fe.cif").relative_to(tmp_path)


def test_unknown_name_lists_close_matches():
    with pytest.raises(InputError) as exc:
        resolve_cif("Alu")
    assert exc.value.where == "Alu" and "no shipped crystal of that name" in exc.value.problem
    assert "Al" in exc.value.problem.split("close shipped names: ")[1]
    with pytest.raises(InputError, match="no shipped crystal has a similar name"):
        resolve_cif("Qqqqq")


def test_cli_says_which_file_on_stderr_and_keeps_json_clean(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out, err = _run(capsys, "crystal", "Al", "--json")
    assert code == 0 and json.loads(out)["space_group"] == 225
    assert err.strip().splitlines() == [f"sadpnet: Al is not a file here; using the shipped {COD_AL}"]


def test_simulate_and_defect_take_names(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out, err = _run(capsys, "simulate", "Al", "--zone", "0", "0", "1", "--size", "64", "--cells", "4", "4", "4",
                          "-o", "al.png")
    assert code == 0 and (tmp_path / "al.png").is_file() and str(COD_AL) in err
    code, out, err = _run(capsys, "defect", "vacancy", "Fe", "--supercell", "2", "2", "2", "-o", "v.cif")
    assert code == 0 and "15 atoms" in out and "crystals_COD/Fe.cif" in err


def test_cli_unknown_name_is_one_line_exit_2(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out, err = _run(capsys, "simulate", "Alu", "--zone", "0", "0", "1", "-o", "x.png")
    assert code == 2 and len(err.strip().splitlines()) == 1 and err.startswith("sadpnet: error: Alu: no such file")
    assert list(tmp_path.iterdir()) == []
