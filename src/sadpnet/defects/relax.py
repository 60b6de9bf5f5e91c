"""Relax atomic positions (fixed cell) with an interatomic potential from `sadpnet.defects.potentials`."""

from __future__ import annotations

from dataclasses import dataclass

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


def relax_positions(atoms, potential: str | None = None, fmax_ev_a: float = 0.01, max_steps: int = 300) -> RelaxResult:
    """Minimise the energy of ``atoms`` over the positions (cell fixed) with ASE's BFGS (deterministic).

    Args:
        potential: name (see `sadpnet.defects.potentials.POTENTIALS`); default `default_potential`.
        fmax_ev_a: convergence threshold on the largest force, eV/A.
        max_steps: most optimiser steps.
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
    converged = bool(opt.run(fmax=fmax_ev_a, steps=max_steps))
    e1 = float(work.get_potential_energy())
    fmax = float(np.linalg.norm(work.get_forces(), axis=1).max())
    d = work.positions - atoms.positions
    if any(atoms.pbc):
        d, _ = find_mic(d, atoms.cell, atoms.pbc)
    out = work.copy()
    out.calc = None
    return RelaxResult(atoms=out, potential=potential, energy_before_ev=e0, energy_after_ev=e1, steps=int(opt.nsteps),
                       converged=converged, max_force_ev_a=fmax, displacements_a=d)
