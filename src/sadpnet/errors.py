"""Errors that sadpnet reports to users.

`InputError` is raised for bad user input (a broken CIF, an unknown element, a zone axis of 0 0 0, an
unreadable image, ...). Its message is one line that names the file or parameter and the problem; the
CLI prints it and exits with code 2.
"""

from __future__ import annotations

from pathlib import Path


class SadpnetError(Exception):
    """Base class of sadpnet's own errors."""


class InputError(SadpnetError, ValueError):
    """Bad user input. ``str(err)`` is one line: ``"<where>: <problem>"``."""

    def __init__(self, problem: str, where: str | Path | None = None):
        problem = " ".join(str(problem).split())  # always one line
        self.problem = problem
        self.where = None if where is None else str(where)
        super().__init__(problem if where is None else f"{where}: {problem}")
