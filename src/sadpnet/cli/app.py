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


def main(argv: list[str] | None = None) -> None:
    """Run the CLI; bad input ends with one line on stderr and exit code 2."""
    from sadpnet.errors import InputError

    try:
        app(args=argv, prog_name="sadpnet")
    except InputError as exc:
        print(f"sadpnet: error: {exc}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":  # pragma: no cover
    main()
