"""A broken CIF says, in one line naming the file, what is wrong in it (Python API and CLI)."""

import pytest

from sadpnet.cli.app import main
from sadpnet.crystal import read_cif
from sadpnet.errors import InputError

CELL = """_cell_length_a 4.05
_cell_length_b 4.05
_cell_length_c 4.05
_cell_angle_alpha 90
_cell_angle_beta 90
_cell_angle_gamma 90
_symmetry_space_group_name_H-M 'F m -3 m'
"""
SITES = """loop_
_atom_site_label
_atom_site_type_symbol
_atom_site_fract_x
_atom_site_fract_y
_atom_site_fract_z
{el}1 {el} 0 0 0
"""

BROKEN = [
    ("text.cif", "Dear colleague,\nplease find the structure attached.\n",
     "not a CIF: no data block (a CIF starts its structure with a 'data_NAME' line)"),
    ("empty.cif", "", "the file is empty"),
    ("nocell.cif", "data_x\n_symmetry_space_group_name_H-M 'F m -3 m'\n" + SITES.format(el="Al"),
     "no cell parameters (_cell_length_a, _cell_length_b ...)"),
    ("noatoms.cif", "data_x\n" + CELL, "no atom sites (_atom_site_fract_x ...)"),
    ("element.cif", "data_x\n" + CELL + SITES.format(el="Xq"), "unknown element 'Xq' in the atom sites"),
]


@pytest.mark.parametrize("name,text,problem", BROKEN, ids=[b[0] for b in BROKEN])
def test_read_cif_says_what_is_missing(tmp_path, name, text, problem):
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(InputError) as exc:
        read_cif(path)
    assert exc.value.where == str(path) and exc.value.problem == problem
    assert "AssertionError" not in str(exc.value)


@pytest.mark.parametrize("name,text,problem", BROKEN, ids=[b[0] for b in BROKEN])
def test_cli_prints_one_line_naming_the_file(tmp_path, capsys, name, text, problem):
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(SystemExit) as exc:
        main(["crystal", str(path)])
    err = capsys.readouterr().err.strip().splitlines()
    assert exc.value.code == 2 and err == [f"sadpnet: error: {path}: {problem}"]


def test_the_good_version_of_the_same_file_reads(tmp_path):
    path = tmp_path / "al.cif"
    path.write_text("data_x\n" + CELL + SITES.format(el="Al"))
    c = read_cif(path)
    assert c.space_group_number == 225 and len(c.atoms) == 4
