"""Entry point of the ``sadpnet`` command (and ``python -m sadpnet``).

Each command group lives in its own module under ``sadpnet.cli`` and registers itself on
`sadpnet.cli.base.app` when imported. `main` turns `sadpnet.errors.InputError` into one line on stderr and
exit code 2.
"""

from __future__ import annotations

import importlib
import sys

from sadpnet.cli.base import app

#: Command modules, in the order their commands appear in ``--help``.
COMMAND_MODULES = (
    "crystal",
    "simulate",
    "defect",
    "dataset",
    "train",
    "indexing",
    "classify",
    "evaluate",
    "detector",
    "study",
    "serve",
    "demo",
)

for _name in COMMAND_MODULES:
    try:
        importlib.import_module(f"sadpnet.cli.{_name}")
    except ModuleNotFoundError as _exc:  # a command module not written yet
        if _exc.name != f"sadpnet.cli.{_name}":
            raise


def _leaf_command(argv: list[str]):
    """The command that ``argv`` runs (subcommands of groups followed down), found without running it."""
    import typer.main

    command = typer.main.get_command(app)  # typer's own (possibly vendored) click objects: duck-typed below
    for token in argv:
        if not hasattr(command, "get_command"):  # reached a command that is not a group
            break
        if token.startswith("-"):  # the groups' own options take no values (--help, --version)
            continue
        sub = command.get_command(command.context_class(command, info_name="sadpnet"), token)
        if sub is None:
            break
        command = sub
    return command


def option_name(where: str | None, argv: list[str]) -> str | None:
    """The option a user typed for a Python parameter name reported by the API (``voltage_kv`` ->
    ``--voltage-kv``); ``where`` itself when it names no option of the command that ``argv`` runs.

    Examples
    --------
    >>> option_name("voltage_kv", ["simulate", "Al", "--zone", "0", "0", "1", "-o", "x.png"])
    '--voltage-kv'
    """
    if not where:
        return where
    key = where.lstrip("-").replace("-", "_")
    for param in getattr(_leaf_command(argv), "params", []):
        names = [o for o in param.opts if o.startswith("--")]
        if names and key in {param.name, *(o.lstrip("-").replace("-", "_") for o in names)}:
            return names[0]
    return where


def main(argv: list[str] | None = None) -> None:
    """Run the CLI; bad input ends with one line on stderr and exit code 2. The Python parameter an API
    error names (``voltage_kv``) is shown as the option the user typed (``--voltage-kv``)."""
    from sadpnet.errors import InputError

    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        app(args=argv, prog_name="sadpnet")
    except InputError as exc:
        where = option_name(exc.where, argv)
        print(f"sadpnet: error: {exc.problem if where is None else f'{where}: {exc.problem}'}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":  # pragma: no cover
    main()
