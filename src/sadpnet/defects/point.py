"""Point defects in supercells: vacancies, substitutional atoms, interstitial atoms.

A supercell is the conventional cell repeated N1 x N2 x N3 times. The defect sits at (or next to) the
centre of the supercell. Interstitial sites are named for fcc and bcc lattices (tetrahedral, octahedral)
or given as fractional coordinates of the conventional cell.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from sadpnet.defects.block import MIN_DISTANCE_A, min_distance_a  # noqa: F401 (re-exported)
from sadpnet.errors import InputError

#: Interstitial sites relative to a lattice point, in conventional-cell fractions, by lattice.
INTERSTITIAL_SITES: dict[str, dict[str, tuple[float, float, float]]] = {
    "fcc": {"tetrahedral": (0.25, 0.25, 0.25), "octahedral": (0.5, 0.0, 0.0)},
    "bcc": {"tetrahedral": (0.5, 0.25, 0.0), "octahedral": (0.5, 0.0, 0.0)},
}

#: Largest supercell repeat accepted along one axis.
MAX_SUPERCELL = 20



@dataclass
class PointDefectResult:
    """A supercell holding one point defect.

    Attributes:
        atoms: the defected supercell (ase.Atoms, periodic).
        kind: "vacancy", "substitution" or "interstitial".
        supercell_size: (N1, N2, N3) conventional cells.
        site_position_a: Cartesian position of the defect site, A (3,).
        description: e.g. "vacancy (Al removed) 1/108".
        relax: `sadpnet.defects.relax.RelaxResult` when relaxed, else None.
        info: parameters (JSON-serialisable).
    """

    atoms: object
    kind: str
    supercell_size: tuple[int, int, int]
    site_position_a: np.ndarray
    description: str
    relax: object = None
    info: dict = field(default_factory=dict)


def check_supercell(size) -> tuple[int, int, int]:
    """(N1, N2, N3) as positive ints no larger than `MAX_SUPERCELL`; InputError otherwise."""
    try:
        n = tuple(int(x) for x in size)
        ok = len(n) == 3 and all(float(x) == int(x) for x in size)
    except (TypeError, ValueError):
        ok = False
    if not ok or not all(1 <= x <= MAX_SUPERCELL for x in n):
        raise InputError(f"supercell must be three integers from 1 to {MAX_SUPERCELL}, got {size!r}", "supercell")
    return n  # type: ignore[return-value]


def check_element(symbol: str) -> str:
    """A chemical symbol as written in the periodic table; InputError for unknown ones."""
    from ase.data import atomic_numbers

    s = str(symbol).strip()
    s = s[:1].upper() + s[1:].lower()
    if s not in atomic_numbers or s == "X":
        raise InputError(f"unknown element {symbol!r}", "element")
    return s


def make_supercell(crystal, size):
    """The conventional cell of ``crystal`` repeated ``size`` times (ase.Atoms); ordered crystals only."""
    n = check_supercell(size)
    if np.any(np.abs(crystal.occupancy - 1.0) > 1e-6):
        raise InputError("point defects need an ordered crystal (the CIF has partially occupied sites)", crystal.source)
    atoms = crystal.atoms.copy()
    for key in list(atoms.arrays):
        if key not in ("numbers", "positions"):
            del atoms.arrays[key]
    return atoms.repeat(n)


def _central_index(atoms, symbol: str | None = None) -> int:
    centre = np.asarray(atoms.cell).sum(0) / 2
    idx = np.arange(len(atoms))
    if symbol is not None:
        idx = idx[np.array(atoms.get_chemical_symbols()) == symbol]
        if idx.size == 0:
            raise InputError(f"the crystal has no {symbol} atom", "element")
    return int(idx[np.argmin(np.linalg.norm(atoms.positions[idx] - centre, axis=1))])


def _site_index(atoms, site, symbol: str | None = None) -> int:
    if site is None:
        return _central_index(atoms, symbol)
    try:
        i = int(site)
    except (TypeError, ValueError):
        raise InputError(f"site must be an atom index for this defect, got {site!r}", "site") from None
    if not 0 <= i < len(atoms):
        raise InputError(f"site index {i} does not exist (the supercell has atoms 0-{len(atoms) - 1})", "site")
    return i


def _fraction(n_defects: int, n_sites: int) -> str:
    from fractions import Fraction

    f = Fraction(n_defects, n_sites)
    return f"{f.numerator}/{f.denominator}"


def vacancy(crystal, size, site=None, element: str | None = None) -> PointDefectResult:
    """Remove one atom: index ``site`` of the supercell, or the (``element``) atom nearest its centre."""
    atoms = make_supercell(crystal, size)
    el = check_element(element) if element else None
    i = _site_index(atoms, site, el)
    removed = atoms[i].symbol
    pos = atoms.positions[i].copy()
    n_sites = int(np.sum(np.array(atoms.get_chemical_symbols()) == removed))  # sites of that species
    del atoms[i]
    return PointDefectResult(atoms=atoms, kind="vacancy", supercell_size=check_supercell(size), site_position_a=pos,
                             description=f"vacancy ({removed} removed) {_fraction(1, n_sites)}"
                             + ("" if n_sites == len(atoms) + 1 else f" of the {removed} sites"),
                             info={"site_index": i, "removed": removed})


def substitute(crystal, size, element: str, site=None) -> PointDefectResult:
    """Replace one atom (index ``site``, or the one nearest the centre) by ``element``."""
    el = check_element(element)
    atoms = make_supercell(crystal, size)
    i = _site_index(atoms, site)
    old = atoms[i].symbol
    if old == el:
        raise InputError(f"site {i} already holds {el}; choose another element or site", "element")
    n_sites = int(np.sum(np.array(atoms.get_chemical_symbols()) == old))
    atoms[i].symbol = el
    return PointDefectResult(atoms=atoms, kind="substitution", supercell_size=check_supercell(size),
                             site_position_a=atoms.positions[i].copy(),
                             description=f"{el} on a {old} site {_fraction(1, n_sites)}"
                             + ("" if n_sites == len(atoms) else f" of the {old} sites"),
                             info={"site_index": i, "replaced": old, "element": el})


def lattice_type(crystal) -> str | None:
    """"fcc" or "bcc" for one-element cubic F / I crystals with one atom per lattice point, else None."""
    n_atoms = len(crystal.atoms)
    one_element = len(set(crystal.atoms.get_chemical_symbols())) == 1
    if one_element and crystal.space_group_number == 225 and n_atoms == 4:
        return "fcc"
    if one_element and crystal.space_group_number == 229 and n_atoms == 2:
        return "bcc"
    return None


def interstitial_fraction(crystal, site: str) -> np.ndarray:
    """Fractional position (conventional cell) of interstitial ``site``: a name or "x,y,z"."""
    name = str(site).strip().lower()
    lat = lattice_type(crystal)
    if name in ("tetrahedral", "octahedral", "tet", "oct"):
        name = {"tet": "tetrahedral", "oct": "octahedral"}.get(name, name)
        if lat is None:
            raise InputError("named interstitial sites are known only for one-element fcc and bcc crystals; give "
                             "the site as fractional coordinates x,y,z", "site")
        base = crystal.atoms.get_scaled_positions()[0]
        return (base + np.array(INTERSTITIAL_SITES[lat][name])) % 1.0
    try:
        frac = np.array([float(x) for x in name.replace(",", " ").split()])
    except ValueError:
        frac = np.array([])
    if frac.shape != (3,) or not np.all(np.isfinite(frac)):
        raise InputError(f"site {site!r} does not exist: use tetrahedral, octahedral or fractional coordinates x,y,z",
                         "site")
    return frac % 1.0


def interstitial(crystal, size, element: str, site: str = "tetrahedral") -> PointDefectResult:
    """Add one ``element`` atom on interstitial ``site`` of the conventional cell nearest the supercell centre."""
    el = check_element(element)
    n = np.array(check_supercell(size))
    atoms = make_supercell(crystal, n)
    frac = interstitial_fraction(crystal, site)
    pos = ((frac + n // 2) / n) @ np.asarray(atoms.cell)
    from ase.geometry import get_distances

    _, dist = get_distances(pos[None, :], atoms.positions, cell=atoms.cell, pbc=True)
    if dist.min() < MIN_DISTANCE_A:
        raise InputError(f"site {site!r} lies {dist.min():.2f} A from an atom (an occupied site, not an interstitial)",
                         "site")
    atoms.append(el)
    atoms.positions[-1] = pos
    name = str(site).lower()
    return PointDefectResult(atoms=atoms, kind="interstitial", supercell_size=tuple(int(x) for x in n),
                             site_position_a=pos, description=f"{el} interstitial ({name}) in {len(atoms) - 1} atoms",
                             info={"element": el, "site": name, "nearest_atom_a": float(dist.min())})


def relax_defect(result: PointDefectResult, potential: str | None = None, fmax_ev_a: float = 0.01,
                 max_steps: int = 300, observer=None) -> PointDefectResult:
    """Relax the positions of ``result.atoms`` (see `sadpnet.defects.relax.relax_positions`, which also
    explains ``observer``, a progress callback) in place."""
    from sadpnet.defects.relax import relax_positions

    r = relax_positions(result.atoms, potential, fmax_ev_a=fmax_ev_a, max_steps=max_steps, observer=observer)
    result.atoms = r.atoms
    result.relax = r
    return result
