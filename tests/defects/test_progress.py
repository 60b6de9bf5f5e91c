"""Relaxations and MD report progress to an observer (ASE's attach); the API is quiet without one and
gives the same atoms either way; the CLI draws the bar on stderr, ending at its total."""

import io
import re

import numpy as np
import pytest

from sadpnet.cli.app import main
from sadpnet.cli.progress import observed_steps
from sadpnet.defects.point import make_supercell, vacancy
from sadpnet.defects.relax import relax_positions
from sadpnet.defects.thermal import MD_OBSERVE_STEPS, md_snapshots
from sadpnet.resources import example_cif


def test_relaxation_observer_sees_every_step_and_the_final_force(al_crystal):
    atoms = vacancy(al_crystal, (2, 2, 2)).atoms
    seen = []
    r = relax_positions(atoms, "emt", fmax_ev_a=1e-3, observer=lambda *a: seen.append(a))
    quiet = relax_positions(atoms, "emt", fmax_ev_a=1e-3)
    steps = [s for s, _, _ in seen]
    assert steps == sorted(steps) and steps[-1] == r.steps >= 1 and {t for _, t, _ in seen} == {300}
    assert seen[-1][2] == pytest.approx(r.max_force_ev_a) and seen[-1][2] < 1e-3 < seen[0][2]
    np.testing.assert_array_equal(r.atoms.positions, quiet.atoms.positions)


def test_md_observer_counts_to_the_total(al_crystal):
    cell = make_supercell(al_crystal, (2, 2, 2))
    seen = []
    kw = dict(potential="emt", equilibration_steps=20, interval_steps=15)
    r = md_snapshots(cell, 300.0, 2, 3, observer=lambda *a: seen.append(a), **kw)
    quiet = md_snapshots(cell, 300.0, 2, 3, **kw)
    total = 20 + 2 * 15
    assert seen[-1][:2] == (total, total) and all(t == total for _, t, _ in seen)
    assert {s for s, _, _ in seen[:-1]} >= set(range(MD_OBSERVE_STEPS, total, MD_OBSERVE_STEPS))
    assert all(0 < temp < 3000 for _, _, temp in seen)
    for a, b in zip(r.snapshots, quiet.snapshots):
        np.testing.assert_array_equal(a.positions, b.positions)


def test_bar_ends_at_its_total_when_a_relaxation_converges_early():
    from rich.console import Console

    buf = io.StringIO()
    with observed_steps("relaxing", "largest force", "eV/A", console=Console(file=buf, width=120)) as observe:
        for step, force in enumerate([0.5, 0.1, 0.004]):
            observe(step, 300, force)
    text = buf.getvalue()
    assert "relaxing" in text and "2/2" in text and "largest force 0.004 eV/A" in text and "/300" not in text


def test_cli_relax_shows_the_bar_on_stderr(tmp_path, capsys):
    out = tmp_path / "v.cif"
    try:
        main(["defect", "vacancy", str(example_cif("Al")), "--supercell", "2", "2", "2", "--relax", "--potential",
              "emt", "-o", str(out)])
    except SystemExit as exc:  # click ends a successful command with exit code 0
        assert exc.code == 0
    cap = capsys.readouterr()
    assert out.is_file()
    steps = int(re.search(r"in (\d+) steps", cap.out).group(1))
    assert "relaxing (BFGS)" in cap.err and "largest force" in cap.err and f"{steps}/{steps}" in cap.err
    assert "relaxing" not in cap.out and len(cap.out.strip().splitlines()) == 1


def test_bar_is_hidden_when_the_step_fails():
    from rich.console import Console

    buf = io.StringIO()
    with pytest.raises(ValueError):
        with observed_steps("MD", "T", "K", console=Console(file=buf, width=120)) as observe:
            observe(0, 100, 300.0)
            raise ValueError("bad input")
    assert "MD" not in buf.getvalue()
