"""Thermal vibration: frozen-phonon snapshots from the Debye model or from molecular dynamics.

Debye model (harmonic, isotropic, one Debye temperature theta_D per element; B. E. Warren, *X-ray
Diffraction*, Dover 1990, eq. 11.23): the mean-square displacement along one axis is

    <u_x^2> = 3 hbar^2 T / (m k_B theta_D^2) * (phi(x) + x / 4),   x = theta_D / T,
    phi(x) = (1/x) * integral_0^x t / (e^t - 1) dt,

and the Debye-Waller B = 8 pi^2 <u_x^2>. A snapshot displaces every atom by an independent Gaussian of
that variance per axis (an Einstein-like picture that reproduces the Debye-Waller factor of each spot).

Molecular dynamics (ASE, Langevin NVT on an interatomic potential from `sadpnet.defects.potentials`):
equilibrate, then take K snapshots spaced by a fixed number of steps. Displacements are measured from the
ideal (starting) sites after removing the drift of the centre of mass.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field

import numpy as np

from sadpnet.errors import InputError
from sadpnet.ranges import TEMPERATURE_K

#: Debye temperatures theta_D (K) from low-temperature heat capacity, C. Kittel, *Introduction to Solid
#: State Physics*, 8th ed., Wiley 2005, chapter 5, table 1.
DEBYE_TEMPERATURE_K: dict[str, float] = {
    "Li": 344, "Na": 158, "K": 91, "Be": 1440, "Mg": 400, "Ca": 230, "Al": 428, "Si": 645, "Ge": 374,
    "C": 2230, "Ti": 420, "V": 380, "Cr": 630, "Mn": 410, "Fe": 470, "Co": 445, "Ni": 450, "Cu": 343,
    "Zn": 327, "Nb": 275, "Mo": 450, "Pd": 274, "Ag": 225, "Ta": 240, "W": 400, "Pt": 240, "Au": 165,
    "Pb": 105, "Sn": 200, "Zr": 291,
}

_HBAR_J_S = 1.054571817e-34
_KB_J_K = 1.380649e-23
_AMU_KG = 1.66053906660e-27


def debye_phi(x: float) -> float:
    """Debye function phi(x) = (1/x) int_0^x t/(e^t - 1) dt (phi(0) = 1)."""
    from scipy.integrate import quad

    if x <= 0:
        return 1.0
    val, _ = quad(lambda t: t / math.expm1(t) if t > 0 else 1.0, 0.0, x)
    return val / x


def debye_u2_a2(mass_amu: float, debye_temperature_k: float, temperature_k: float) -> float:
    """Mean-square displacement along one axis <u_x^2> (A^2) of the Debye model (zero-point motion included)."""
    if temperature_k < 0:
        raise InputError(f"temperature must be >= 0 K, got {temperature_k}", "temperature_k")
    theta = float(debye_temperature_k)
    if temperature_k == 0:  # limit T -> 0: 3 hbar^2 / (4 m k_B theta)
        u2 = 3 * _HBAR_J_S**2 / (4 * mass_amu * _AMU_KG * _KB_J_K * theta)
    else:
        x = theta / temperature_k
        u2 = 3 * _HBAR_J_S**2 * temperature_k / (mass_amu * _AMU_KG * _KB_J_K * theta**2) * (debye_phi(x) + x / 4)
    return u2 * 1e20


def debye_temperature_k(element: str) -> float:
    """theta_D of ``element`` from `DEBYE_TEMPERATURE_K`."""
    try:
        return float(DEBYE_TEMPERATURE_K[element])
    except KeyError:
        raise InputError(f"no Debye temperature for {element!r} in the built-in table (known: "
                         f"{', '.join(sorted(DEBYE_TEMPERATURE_K))})", "element") from None


def debye_sigma_a(numbers, temperature_k: float) -> np.ndarray:
    """Per-atom rms displacement per axis (A) of the Debye model, for atomic numbers ``numbers`` (N,)."""
    from ase.data import atomic_masses, chemical_symbols

    numbers = np.asarray(numbers)
    sigma = np.empty(len(numbers))
    for z in np.unique(numbers):
        el = chemical_symbols[int(z)]
        sigma[numbers == z] = math.sqrt(debye_u2_a2(float(atomic_masses[int(z)]), debye_temperature_k(el), temperature_k))
    return sigma


def debye_displacements(numbers, temperature_k: float, seed: int) -> np.ndarray:
    """Random Debye-model displacements (N, 3) in A for atoms of atomic numbers ``numbers`` (N,)."""
    rng = np.random.default_rng(seed)
    sigma = debye_sigma_a(numbers, temperature_k)
    return rng.standard_normal((len(sigma), 3)) * sigma[:, None]


@dataclass
class ThermalResult:
    """Thermal snapshots of a supercell.

    Attributes:
        reference: the ideal supercell (ase.Atoms).
        snapshots: list of displaced supercells (ase.Atoms), same atom order.
        method: "debye" or "md".
        temperature_k: target temperature.
        u_rms_a: rms displacement per axis over all snapshots, A.
        u_max_a: largest displacement magnitude of any atom in any snapshot, A.
        debye_u_rms_a: the Debye model's rms per axis for the same atoms, A (NaN when an element has no tabulated
            Debye temperature).
        info: method details (potential, steps, timestep, measured temperature, ...).
    """

    reference: object
    snapshots: list
    method: str
    temperature_k: float
    u_rms_a: float
    u_max_a: float
    debye_u_rms_a: float
    info: dict = field(default_factory=dict)

    @property
    def b_a2(self) -> float:
        """Debye-Waller B = 8 pi^2 <u_x^2> of the snapshots, A^2."""
        return 8 * math.pi**2 * self.u_rms_a**2


def displacements_a(reference, snapshot) -> np.ndarray:
    """Displacements (N, 3) of ``snapshot`` from ``reference`` (minimum image, centre-of-mass drift removed)."""
    from ase.geometry import find_mic

    d = snapshot.positions - reference.positions
    if any(reference.pbc):
        d, _ = find_mic(d, reference.cell, reference.pbc)
    m = reference.get_masses()
    return d - (m[:, None] * d).sum(0) / m.sum()


def _summarise(reference, snapshots, method, temperature_k, info) -> ThermalResult:
    d = np.concatenate([displacements_a(reference, s) for s in snapshots])
    try:
        debye = float(np.sqrt(np.mean(debye_sigma_a(reference.numbers, temperature_k) ** 2)))
    except InputError:  # an element without a tabulated Debye temperature (MD still works)
        debye = float("nan")
    return ThermalResult(reference=reference, snapshots=snapshots, method=method, temperature_k=temperature_k,
                         u_rms_a=float(np.sqrt(np.mean(d**2))), u_max_a=float(np.linalg.norm(d, axis=1).max()),
                         debye_u_rms_a=debye, info=info)


def debye_snapshots(supercell, temperature_k: float, n_snapshots: int = 1, seed: int = 0) -> ThermalResult:
    """``n_snapshots`` Debye-model snapshots of ``supercell`` (ase.Atoms) at ``temperature_k``."""
    _check(temperature_k, n_snapshots)
    rng = np.random.default_rng(seed)
    sigma = debye_sigma_a(supercell.numbers, temperature_k)
    snaps = []
    for _ in range(n_snapshots):
        s = supercell.copy()
        s.positions = supercell.positions + rng.standard_normal((len(s), 3)) * sigma[:, None]
        snaps.append(s)
    return _summarise(supercell, snaps, "debye", temperature_k, {"seed": seed})


#: MD steps between two calls of a progress observer.
MD_OBSERVE_STEPS = 10


def md_snapshots(supercell, temperature_k: float, n_snapshots: int = 1, seed: int = 0, *, potential: str | None = None,
                 timestep_fs: float = 2.0, equilibration_steps: int = 500, interval_steps: int = 100,
                 friction_per_fs: float = 0.01, observer=None) -> ThermalResult:
    """Langevin NVT molecular dynamics of ``supercell`` on ``potential``; ``n_snapshots`` frozen snapshots.

    Velocities start from a Maxwell-Boltzmann distribution at 2 T (half the kinetic energy flows into the
    potential energy of a harmonic crystal, which shortens the equilibration). ``observer``, if given, is
    called every `MD_OBSERVE_STEPS` steps and at the end as ``observer(step, total_steps, temperature_k)``
    (see `sadpnet.defects.relax.Observer`); total_steps = equilibration + snapshots x interval.
    """
    from ase import units
    from ase.constraints import FixCom
    from ase.md.langevin import Langevin
    from ase.md.velocitydistribution import MaxwellBoltzmannDistribution, Stationary

    from sadpnet.defects.potentials import attach, default_potential

    _check(temperature_k, n_snapshots)
    for name, value, ok, need in (("timestep_fs", timestep_fs, timestep_fs > 0, "> 0 fs"),
                                  ("equilibration_steps", equilibration_steps, equilibration_steps >= 0, ">= 0"),
                                  ("interval_steps", interval_steps, interval_steps >= 1, ">= 1")):
        if not ok:
            raise InputError(f"MD needs {need}, got {value}", name)
    potential = potential or default_potential(set(supercell.get_chemical_symbols()), purpose="md")
    atoms = attach(supercell.copy(), potential)
    rng = np.random.default_rng(seed)
    if temperature_k > 0:
        with warnings.catch_warnings():  # ASE 3.29 deprecates the name in favour of thermalize_momenta
            warnings.simplefilter("ignore", DeprecationWarning)
            MaxwellBoltzmannDistribution(atoms, temperature_K=2 * temperature_k, rng=rng)
        Stationary(atoms)
    atoms.set_constraint(FixCom())
    dyn = Langevin(atoms, timestep_fs * units.fs, temperature_K=temperature_k, friction=friction_per_fs / units.fs,
                   rng=rng, fixcm=False)
    total = equilibration_steps + n_snapshots * interval_steps
    if observer is not None:
        dyn.attach(lambda: observer(int(dyn.nsteps), total, float(atoms.get_temperature())), interval=MD_OBSERVE_STEPS)
    dyn.run(equilibration_steps)
    snaps, temps = [], []
    for _ in range(n_snapshots):
        dyn.run(interval_steps)
        s = supercell.copy()
        s.positions = atoms.positions.copy()
        snaps.append(s)
        temps.append(atoms.get_temperature())
    if observer is not None:
        observer(int(dyn.nsteps), total, float(atoms.get_temperature()))
    info = {"potential": potential, "seed": seed, "timestep_fs": timestep_fs, "equilibration_steps": equilibration_steps,
            "interval_steps": interval_steps, "friction_per_fs": friction_per_fs,
            "snapshot_temperatures_k": [round(float(t), 1) for t in temps]}
    return _summarise(supercell, snaps, "md", temperature_k, info)


def _check(temperature_k: float, n_snapshots: int) -> None:
    TEMPERATURE_K.check(temperature_k)
    if int(n_snapshots) < 1:
        raise InputError(f"need at least one snapshot, got {n_snapshots}", "snapshots")
