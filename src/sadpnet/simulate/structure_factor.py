"""Kinematic structure factors of a periodic cell, and the reflections near the Ewald sphere.

F_hkl = sum_j occ_j f_j(|g|) DW_j(|g|) exp(2 pi i h . x_j)   (A; x_j fractional coordinates, g = h . B, 1/A)

with f_j from `sadpnet.simulate.scattering.electron_scattering_factor_a` (Lobato & Van Dyck 2014) and
DW_j = exp(-B_j g^2 / 4) (`debye_waller_factor`). `reflections` lists the reciprocal-lattice points of a
cell near the Ewald sphere for one orientation; the hkl list and F of every point inside a sphere of
reciprocal radius g are computed once per cell and cached, so sweeping orientations only rotates vectors.
"""

from __future__ import annotations

import hashlib
import math
import threading
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

from sadpnet.errors import InputError
from sadpnet.simulate.scattering import debye_waller_b_a2, debye_waller_factor, electron_scattering_factor_a

#: A reflection is extinct (not listed, not rendered) when |F|^2 < EXTINCTION_REL * (sum_j |occ_j f_j DW_j|)^2.
EXTINCTION_REL = 1e-6

#: Largest (reflections x atoms) a structure-factor table may cost (about 10 s of CPU).
MAX_TABLE_WORK = 2e8

_CACHE: "OrderedDict[tuple, _CellTable]" = OrderedDict()
_CACHE_SIZE = 32
_CACHE_LOCK = threading.Lock()


def _atoms_of(obj):
    """ase.Atoms of a Crystal, a Specimen (its repeating unit) or an ase.Atoms."""
    if hasattr(obj, "unit"):
        return obj.unit
    if hasattr(obj, "atoms"):
        return obj.atoms
    return obj


def _occupancy(atoms) -> np.ndarray:
    occ = atoms.arrays.get("occupancy")
    return np.ones(len(atoms)) if occ is None else np.asarray(occ, dtype=float)


def _species_b(atoms, debye_waller: bool | dict | float):
    """Per-atom B (A^2): 0 without Debye-Waller; a dict symbol -> B or one float overrides the defaults."""
    syms = atoms.get_chemical_symbols()
    if debye_waller is False or debye_waller is None:
        return np.zeros(len(atoms))
    if debye_waller is True:
        return np.array([debye_waller_b_a2(s) for s in syms])
    if isinstance(debye_waller, dict):
        return np.array([debye_waller_b_a2(s, debye_waller.get(s)) for s in syms])
    return np.array([debye_waller_b_a2(s, float(debye_waller)) for s in syms])


def atom_amplitudes(atoms_or_crystal, g_inv_a, debye_waller: bool | dict | float = True) -> np.ndarray:
    """occ_j f_j(g) DW_j(g) (A) of every atom j of a cell at reciprocal lengths g (1/A): shape (m, n)."""
    atoms = _atoms_of(atoms_or_crystal)
    g = np.atleast_1d(np.asarray(g_inv_a, dtype=float))
    occ = _occupancy(atoms)
    b = _species_b(atoms, debye_waller)
    out = np.empty((len(atoms), len(g)))
    for z, bz in sorted(set(zip(atoms.numbers.tolist(), b.tolist()))):
        sel = (atoms.numbers == z) & (b == bz)
        out[sel] = occ[sel][:, None] * (electron_scattering_factor_a([z], g)[0] * debye_waller_factor(bz, g))[None, :]
    return out


def structure_factors(atoms_or_crystal, hkl, debye_waller: bool | dict | float = True,
                      chunk: int = 4096) -> np.ndarray:
    """Structure factors F_hkl (A) of a periodic cell.

    Args:
        atoms_or_crystal: ``ase.Atoms`` (optional ``occupancy`` array), a `Crystal` (its conventional cell)
            or a `Specimen` (its repeating unit).
        hkl: Miller indices in that cell, shape (n, 3) (integers; floats are accepted for off-lattice q).
        debye_waller: True for the per-element defaults (`DEFAULT_B_A2`), False for none, a float B (A^2)
            for every atom, or a dict symbol -> B (A^2) overriding the defaults.
        chunk: reflections per block (bounds memory to chunk x atoms complex numbers).

    Returns:
        complex128 array (n,): F_hkl in A (|F|^2 in A^2).
    """
    atoms = _atoms_of(atoms_or_crystal)
    hkl = np.atleast_2d(np.asarray(hkl, dtype=float))
    if hkl.shape[-1] != 3:
        raise InputError(f"hkl must have shape (n, 3), got {hkl.shape}", "hkl")
    g = np.linalg.norm(hkl @ np.linalg.inv(np.asarray(atoms.cell, dtype=float)).T, axis=1)
    frac = atoms.get_scaled_positions(wrap=False)
    occ = _occupancy(atoms)
    b = _species_b(atoms, debye_waller)
    numbers = atoms.numbers
    out = np.zeros(len(hkl), dtype=complex)
    # group atoms by (Z, B): one scattering factor per group
    keys = sorted(set(zip(numbers.tolist(), b.tolist())))
    for z, bz in keys:
        sel = (numbers == z) & (b == bz)
        fz = electron_scattering_factor_a([z], g)[0] * debye_waller_factor(bz, g)
        xs, ws = frac[sel], occ[sel]
        for i in range(0, len(hkl), chunk):
            ph = np.exp(2j * np.pi * (hkl[i:i + chunk] @ xs.T))
            out[i:i + chunk] += fz[i:i + chunk] * (ph @ ws)
    return out


def _max_amplitude(atoms, g, debye_waller) -> np.ndarray:
    """sum_j |occ_j f_j DW_j| at |g| (A): the largest |F| the cell could have (for the extinction test)."""
    return np.abs(atom_amplitudes(atoms, g, debye_waller)).sum(axis=0)


@dataclass
class _CellTable:
    hkl: np.ndarray  # (n, 3) int
    g_cart: np.ndarray  # (n, 3) 1/A, crystal Cartesian frame
    f: np.ndarray  # (n,) complex, A
    g_max_inv_a: float
    envelope_g_inv_a: np.ndarray  # (m,) grid of |g|, 1/A
    envelope_a: np.ndarray  # (m,) sum_j occ_j f_j(g) DW_j(g), A: how F falls with |g| across a spot


def _fingerprint(atoms, debye_waller) -> tuple:
    h = hashlib.blake2b(digest_size=16)
    for arr in (np.asarray(atoms.cell, dtype=float), atoms.positions, atoms.numbers, _occupancy(atoms)):
        h.update(np.ascontiguousarray(arr).tobytes())
    dw = tuple(sorted(debye_waller.items())) if isinstance(debye_waller, dict) else debye_waller
    return (h.hexdigest(), len(atoms), dw)


def cell_table(atoms_or_crystal, g_max_inv_a: float, debye_waller: bool | dict | float = True) -> _CellTable:
    """All non-extinct reciprocal-lattice points of a cell with 0 < |g| <= g_max (cached per cell).

    Returns an object with ``hkl`` (n, 3) int, ``g_cart`` (n, 3) in 1/A (crystal Cartesian frame),
    ``f`` (n,) complex F_hkl in A, and ``envelope_g_inv_a``, ``envelope_a``: sum_j occ_j f_j DW_j (A) on a grid
    of |g| (how |F| falls off with |q| across a spot).
    """
    atoms = _atoms_of(atoms_or_crystal)
    key = _fingerprint(atoms, debye_waller)
    with _CACHE_LOCK:
        tab = _CACHE.get(key)
        if tab is not None and tab.g_max_inv_a >= g_max_inv_a:
            _CACHE.move_to_end(key)
            return tab
    g_lim = math.ceil(g_max_inv_a * 4.0) / 4.0  # round up so nearby requests share one table
    cell = np.asarray(atoms.cell, dtype=float)
    n_points = 4.0 / 3.0 * math.pi * g_lim ** 3 * abs(np.linalg.det(cell))
    if n_points * max(len(atoms), 1) > MAX_TABLE_WORK:
        raise InputError(f"the cell ({len(atoms)} atoms, {abs(np.linalg.det(cell)):.0f} A^3) has about {n_points:.2g} "
                         f"reciprocal-lattice points within {g_lim} 1/A: too large for the cell engine; use the atoms "
                         "engine (engine='atoms', --engine atoms)", "engine")
    b = np.linalg.inv(cell).T  # rows b_i, 1/A
    # |h_i| <= g_lim |a_i| bounds every point with |g| <= g_lim
    hmax = [int(math.floor(g_lim * np.linalg.norm(cell[i]))) + 1 for i in range(3)]
    r = [np.arange(-m, m + 1) for m in hmax]
    hkl = np.stack(np.meshgrid(*r, indexing="ij"), axis=-1).reshape(-1, 3)
    g_cart = hkl @ b
    gn = np.linalg.norm(g_cart, axis=1)
    keep = (gn <= g_lim) & (gn > 0)
    hkl, g_cart, gn = hkl[keep], g_cart[keep], gn[keep]
    f = structure_factors(atoms, hkl, debye_waller)
    allowed = np.abs(f) ** 2 >= EXTINCTION_REL * _max_amplitude(atoms, gn, debye_waller) ** 2
    grid = np.linspace(0.0, g_lim + 0.5, 1024)
    tab = _CellTable(hkl=hkl[allowed].astype(int), g_cart=g_cart[allowed], f=f[allowed], g_max_inv_a=g_lim,
                     envelope_g_inv_a=grid, envelope_a=_max_amplitude(atoms, grid, debye_waller))
    with _CACHE_LOCK:
        _CACHE[key] = tab
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
    return tab


@dataclass
class Reflections:
    """Reciprocal-lattice points near the Ewald sphere for one orientation (all arrays share length n).

    Attributes:
        hkl: (n, 3) int Miller indices in the cell given to `reflections`.
        g_lab: (n, 3) reciprocal vectors in the lab frame, 1/A (z along the zone axis, towards the source).
        excitation_error_inv_a: (n,) s = g_z - |g|^2 / (2 k), 1/A (positive inside the sphere).
        d_a: (n,) interplanar spacings, A.
        f: (n,) complex structure factors, A.
        envelope_g_inv_a, envelope_a: sum_j occ_j f_j(g) DW_j(g) (A) tabulated on a grid of |g| (1/A).
    """

    hkl: np.ndarray
    g_lab: np.ndarray
    excitation_error_inv_a: np.ndarray
    d_a: np.ndarray
    f: np.ndarray
    envelope_g_inv_a: np.ndarray | None = None
    envelope_a: np.ndarray | None = None

    @property
    def structure_factor_sq(self) -> np.ndarray:
        """|F|^2, A^2."""
        return np.abs(self.f) ** 2


def reflections(crystal, microscope, zone_axis=None, U=None, g_max_inv_a: float | None = None,
                s_max_inv_a: float = 0.05, *, debye_waller: bool | dict | float = True) -> Reflections:
    """Reflections of ``crystal`` within ``s_max_inv_a`` of the Ewald sphere and inside the detector.

    Args:
        crystal: `Crystal`, `Specimen` (its unit) or ``ase.Atoms``: the periodic cell whose hkl are listed.
        microscope: `sadpnet.simulate.microscope.Microscope` (wavelength; detector half-width by default).
        zone_axis: [uvw] in the direct lattice of that cell; used when ``U`` is None.
        U: 3x3 orientation matrix (r_lab = U @ r_cart, see `sadpnet.crystal.orientation_matrix`), or None.
        g_max_inv_a: keep |g_x|, |g_y| <= g_max (1/A); default: the detector half-width.
        s_max_inv_a: keep |s| <= s_max (1/A).
        debye_waller: as in `structure_factors`.
    """
    from sadpnet.crystal import orientation_matrix

    atoms = _atoms_of(crystal)
    if U is None:
        if zone_axis is None:
            raise InputError("reflections() needs a zone axis or an orientation matrix U", "zone")
        U = orientation_matrix(atoms.cell, zone_axis)
    U = np.asarray(U, dtype=float)
    if g_max_inv_a is None:
        g_max_inv_a = microscope.g_max_inv_a
    k = microscope.k_inv_a
    # a point with |g_x|,|g_y| <= g_max near the sphere has |g| <= sqrt(2) g_max (1 + small)
    tab = cell_table(atoms, math.sqrt(2.0) * g_max_inv_a * 1.02 + s_max_inv_a, debye_waller)
    g_lab = tab.g_cart @ U.T
    g2 = np.einsum("ij,ij->i", g_lab, g_lab)
    s = g_lab[:, 2] - g2 / (2.0 * k)
    keep = (np.abs(s) <= s_max_inv_a) & (np.abs(g_lab[:, 0]) <= g_max_inv_a) & (np.abs(g_lab[:, 1]) <= g_max_inv_a)
    return Reflections(hkl=tab.hkl[keep], g_lab=g_lab[keep], excitation_error_inv_a=s[keep],
                       d_a=1.0 / np.sqrt(g2[keep]), f=tab.f[keep], envelope_g_inv_a=tab.envelope_g_inv_a,
                       envelope_a=tab.envelope_a)
