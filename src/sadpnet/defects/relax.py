"""Relax atomic positions (fixed cell) with an interatomic potential from `sadpnet.defects.potentials`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from sadpnet.errors import InputError


@dataclass
class RelaxResult:
    """Outcome of a relaxation.

    Attributes:
        atoms: relaxed copy (ase.Atoms, no calculator attached).
        potential: name of the potential used.
        energy_before_ev, energy_after_ev: potential energies, eV.
        steps: optimiser steps taken.
        converged: whether the largest force fell below ``fmax_ev_a``.
        max_force_ev_a: largest force left, eV/A.
        displacements_a: (N, 3) displacement of every atom, A (minimum image).
    """

    atoms: object
    potential: str
    energy_before_ev: float
    energy_after_ev: float
    steps: int
    converged: bool
    max_force_ev_a: float
    displacements_a: np.ndarray

    @property
    def max_displacement_a(self) -> float:
        """Largest displacement of any atom, A."""
        return float(np.linalg.norm(self.displacements_a, axis=1).max())


#: A progress observer: ``observer(step, total_steps, value)``; for relaxations the value is the largest force
#: (eV/A) and the total the most steps allowed, for MD the instantaneous temperature (K) and the steps to run.
Observer = Callable[[int, int, float], None]


def largest_force_ev_a(atoms) -> float:
    """Largest force on any atom of ``atoms`` (with a calculator), eV/A."""
    return float(np.linalg.norm(atoms.get_forces(), axis=1).max())


def relax_positions(atoms, potential: str | None = None, fmax_ev_a: float = 0.01, max_steps: int = 300,
                    observer: Observer | None = None) -> RelaxResult:
    """Minimise the energy of ``atoms`` over the positions (cell fixed) with ASE's BFGS (deterministic).

    Args:
        potential: name (see `sadpnet.defects.potentials.POTENTIALS`); default `default_potential`.
        fmax_ev_a: convergence threshold on the largest force, eV/A.
        max_steps: most optimiser steps.
        observer: called after every step as ``observer(step, max_steps, largest_force_ev_a)`` (ASE's
            ``opt.attach``), e.g. to draw a progress bar; None (default): quiet.

    Examples
    --------
    >>> seen = []
    >>> r = relax_positions(atoms, "emt", observer=lambda step, total, f: seen.append((step, f)))  # doctest: +SKIP
    >>> seen[-1] == (r.steps, r.max_force_ev_a)  # doctest: +SKIP
    True
    """
    from ase.geometry import find_mic
    from ase.optimize import BFGS

    from sadpnet.defects.potentials import attach, default_potential

    if fmax_ev_a <= 0 or max_steps < 1:
        raise InputError("relaxation needs fmax > 0 and at least one step", "relax")
    potential = potential or default_potential(set(atoms.get_chemical_symbols()))
    work = attach(atoms.copy(), potential)
    e0 = float(work.get_potential_energy())
    opt = BFGS(work, logfile=None, maxstep=0.1)
    if observer is not None:
        opt.attach(lambda: observer(int(opt.nsteps), max_steps, largest_force_ev_a(work)), interval=1)
    converged = bool(opt.run(fmax=fmax_ev_a, steps=max_steps))
    e1 = float(work.get_potential_energy())
    fmax = largest_force_ev_a(work)
    d = work.positions - atoms.positions
    if any(atoms.pbc):
        d, _ = find_mic(d, atoms.cell, atoms.pbc)
    out = work.copy()
    out.calc = None
    return RelaxResult(atoms=out, potential=potential, energy_before_ev=e0, energy_after_ev=e1, steps=int(opt.nsteps),
                       converged=converged, max_force_ev_a=fmax, displacements_a=d)
