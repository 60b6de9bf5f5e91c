"""Every command's ``--help`` is legible at 80 columns: each option name appears whole, no line is wider."""

import re

import pytest
import typer.main
from typer.testing import CliRunner

from sadpnet.cli.app import app


def _walk(command, path=()):
    yield path, command
    if hasattr(command, "list_commands"):  # a group (typer may vendor its own click: no isinstance)
        ctx = command.context_class(command, info_name=path[-1] if path else "sadpnet")
        for name in command.list_commands(ctx):
            yield from _walk(command.get_command(ctx, name), path + (name,))


COMMANDS = list(_walk(typer.main.get_command(app)))


def test_the_tree_has_the_nested_commands():
    paths = {" ".join(p) for p, _ in COMMANDS}
    assert {"", "simulate", "defect", "defect vacancy", "dataset build", "study"} <= paths
    assert len(paths) > 20


@pytest.mark.parametrize("path,command", COMMANDS, ids=[" ".join(p) or "sadpnet" for p, _ in COMMANDS])
def test_help_at_80_columns_shows_every_option_whole(monkeypatch, path, command):
    monkeypatch.setenv("COLUMNS", "80")
    r = CliRunner().invoke(app, [*path, "--help"], terminal_width=80)
    assert r.exit_code == 0, r.output
    names = [o for p in command.params if p.param_type_name == "option" for o in (*p.opts, *p.secondary_opts)]
    assert "--help" in r.output
    for name in names:
        assert re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", r.output), f"{name} cut in {' '.join(path)} --help"
    assert "\u2026" not in r.output  # rich's ellipsis of a cut cell
    assert max(len(line) for line in r.output.splitlines()) <= 80
