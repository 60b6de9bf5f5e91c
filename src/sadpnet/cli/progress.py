"""Rich progress bars on stderr for the CLI's long steps (relaxations, MD), fed by the API's observers.

The Python API stays quiet unless given an observer (`sadpnet.defects.relax.Observer`); the CLI passes
the one `observed_steps` yields. The bar goes to stderr, so stdout keeps only the command's result; where
stderr is not a terminal, rich prints the bar once, in its final state, when the step ends.
"""

from __future__ import annotations

from contextlib import contextmanager


@contextmanager
def observed_steps(title: str, value_label: str, unit: str, console=None):
    """A progress bar for a step-wise computation; yields ``observer(step, total, value)``.

    Args:
        title: what runs, e.g. ``"relaxing (emt)"``.
        value_label, unit: how the observed value is shown, e.g. ``"largest force"``, ``"eV/A"``.
        console: a ``rich.console.Console`` (default: one on stderr).

    On leaving, the bar ends at its total: a relaxation that converges early has done all it needed, so
    its total becomes the steps taken. When the step fails, the bar is hidden (the error line stays alone).

    Examples
    --------
    >>> with observed_steps("relaxing", "largest force", "eV/A") as observe:  # doctest: +SKIP
    ...     relax_positions(atoms, "emt", observer=observe)
    """
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    bar = Progress(TextColumn(title), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[value]}"),
                   TimeElapsedColumn(), console=console or Console(stderr=True))
    task = bar.add_task(title, total=None, value="")
    done = {"step": 0}

    def observe(step: int, total: int, value: float) -> None:
        done["step"] = step
        bar.update(task, completed=step, total=total, value=f"{value_label} {value:.4g} {unit}")

    with bar:
        try:
            yield observe
        except BaseException:  # bad input or a crash: its one-line message alone, no half bar above it
            bar.update(task, visible=False)
            raise
        bar.update(task, total=done["step"], completed=done["step"])
