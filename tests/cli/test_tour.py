"""The tour (docs/tour.md; the README shows the same block) runs as written from the root of a clone.

Cheap commands run in order in a temporary folder holding links to the clone's ``src/`` and ``specs/``;
each must exit 0 and write the files it names. The commands in `TOO_LONG_FOR_CI` are not run; they must
parse (every option exists, required arguments given) and answer ``--help``.
"""

import re
import shlex
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sadpnet.cli.app import app, main

ROOT = Path(__file__).resolve().parents[2]
TOUR = ROOT / "docs" / "tour.md"

#: Tour commands not run in CI (prefix of the command line -> why), each with the time it takes.
TOO_LONG_FOR_CI = {
    "defect vacancy Fe --supercell 3 3 3 --relax": "108 atoms relaxed on SevenNet: 218 s measured on a busy 2-core machine",
    "dataset build": "thousands of simulated patterns: tens of minutes",
    "train": "trains a ResNet: tens of minutes",
    "train-indexing": "draws and indexes 3,000+ patterns: about half an hour on 2 cores",
    "evaluate-real": "simulates and indexes 1,460 test patterns: minutes",
    "evaluate": "needs the model trained above",
    "dataset lookalikes": "needs the dataset built and the predictions of evaluate",
    "attach-detector": "needs the models trained above",
    "attach-mixture": "needs the models trained above",
    "study": "the robustness study: minutes to hours",
    "serve": "a web server: runs until stopped",
}


def tour_commands(markdown: Path = TOUR) -> list[list[str]]:
    """The ``sadpnet`` command lines of the first ```bash block of ``markdown``, as argument lists (without
    ``sadpnet``; continuation lines joined, comments dropped)."""
    block = re.search(r"```bash\n(.*?)```", markdown.read_text(), re.S).group(1)
    lines = block.replace("\\\n", " ").splitlines()
    commands = [shlex.split(line, comments=True) for line in lines]
    return [c[1:] for c in commands if c and c[0] == "sadpnet"]


def _too_long(argv: list[str]) -> str | None:
    line = " ".join(argv)
    return next((why for prefix, why in TOO_LONG_FOR_CI.items() if line == prefix or line.startswith(prefix + " ")),
                None)


def _leaf(argv):
    import typer.main

    command, rest = typer.main.get_command(app), list(argv)
    while hasattr(command, "get_command") and rest:
        command = command.get_command(command.context_class(command), rest.pop(0))
    return command, rest


def test_the_tour_block_is_there_and_every_skip_names_a_tour_command():
    commands = tour_commands()
    assert len(commands) >= 15 and commands[0] == ["crystal", "Al"]
    lines = [" ".join(c) for c in commands]
    for prefix in TOO_LONG_FOR_CI:
        assert any(line == prefix or line.startswith(prefix + " ") for line in lines), prefix
    assert not any(".cif" in c[1] for c in commands if c[0] in ("crystal", "simulate") and c[1] != "al_disl.cif")


@pytest.mark.parametrize("argv", [c for c in tour_commands() if _too_long(c)], ids=lambda c: " ".join(c[:3]))
def test_long_commands_parse(argv):
    command, rest = _leaf(argv)
    command.make_context(argv[0], list(rest))  # raises a usage error on an unknown option or missing argument
    r = CliRunner().invoke(app, [*argv[: len(argv) - len(rest)], "--help"])
    assert r.exit_code == 0 and "Usage:" in r.output


def _written(argv: list[str]) -> list[str]:
    return [argv[i + 1] for i, a in enumerate(argv[:-1]) if a in ("-o", "--output", "--spots")]


@pytest.mark.slow
def test_cheap_tour_commands_run_as_written(tmp_path, monkeypatch, capsys):
    for name in ("src", "specs"):
        (tmp_path / name).symlink_to(ROOT / name)
    monkeypatch.chdir(tmp_path)
    ran = []
    for argv in tour_commands():
        if _too_long(argv):
            continue
        try:
            main(list(argv))
            code = 0
        except SystemExit as exc:
            code = exc.code
        err = capsys.readouterr().err
        assert code == 0, f"sadpnet {' '.join(argv)}: exit {code}: {err}"
        for path in _written(argv):
            assert Path(path).exists(), f"sadpnet {' '.join(argv)} did not write {path}"
        ran.append(argv[0])
    assert {"crystal", "simulate", "defect", "classify", "demo"} <= set(ran)
