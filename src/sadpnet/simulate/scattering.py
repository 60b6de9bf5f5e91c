"""Electron scattering factors and Debye-Waller factors, shared by every engine.

Conventions: reciprocal lengths ``g_inv_a`` are |g| = 1/d in 1/A, *without* 2 pi (docs/conventions.md).

* `electron_scattering_factor_a`: the electron scattering amplitude f_e(g) of neutral atoms in A, from the
  parametrisation of I. Lobato and D. Van Dyck, Acta Cryst. A70 (2014) 636-649 (doi:10.1107/S205327331401643X),
  f_e(g) = sum_{i=1..5} a_i (2 + b_i g^2) / (1 + b_i g^2)^2, with g = 1/d. The coefficients (Z = 1-103) are
  shipped in ``simulate/data/lobato2014.json`` (copied from abTEM 1.0.11's ``lobato.json``; checked against
  abTEM in tests/simulate/test_scattering.py).
* `debye_waller_factor`: the amplitude factor exp(-B s^2) of an isotropic mean-square displacement
  B = 8 pi^2 <u_x^2>, with s = sin(theta)/lambda = g/2, i.e. exp(-B g^2 / 4); the intensity factor is its
  square, exp(-2 B s^2).
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import numpy as np

from sadpnet.errors import InputError

_DATA = Path(__file__).resolve().parent / "data" / "lobato2014.json"

#: Isotropic Debye-Waller B (A^2) at room temperature (about 295-300 K), per element.
#: Elemental crystals: V. F. Sears and S. A. Shelley, Acta Cryst. A47 (1991) 441-446, room-temperature
#: values of B = 8 pi^2 <u_x^2> (the same values, within a few %, as L.-M. Peng, G. Ren, S. L. Dudarev and
#: M. J. Whelan, Acta Cryst. A52 (1996) 456-470, Table 1 at 300 K). Entries marked "approx." are rounded
#: literature values for the element in the compounds sadpnet ships (NaCl, CsCl, TiO2, beta-Mn, Mg): a
#: per-element default cannot be right for every compound; pass ``b_a2`` where it matters.
DEFAULT_B_A2: dict[str, float] = {
    "Li": 4.9, "Na": 1.6,  # Na: approx., in NaCl (metallic Na is 6.6)
    "Mg": 1.5,  # approx., hcp Mg
    "Al": 0.81, "Si": 0.52, "K": 10.7, "V": 0.58, "Cr": 0.263, "Fe": 0.34, "Ni": 0.34, "Cu": 0.56,
    "Ge": 0.61, "Nb": 0.45, "Mo": 0.22, "Pd": 0.45, "Ag": 0.73, "Ta": 0.32, "W": 0.161, "Pt": 0.37,
    "Au": 0.62, "Pb": 2.11,
    "Mn": 0.40,  # approx., beta-Mn
    "Ti": 0.45, "O": 0.55,  # approx., rutile TiO2
    "Cl": 1.2,  # approx., in NaCl
    "Cs": 2.6,  # approx., in CsCl
    "C": 0.15,  # approx., diamond
}

#: B (A^2) used for an element missing from `DEFAULT_B_A2`: a typical value for a metal at room temperature.
FALLBACK_B_A2 = 0.5


@lru_cache(maxsize=1)
def _lobato_table() -> tuple[np.ndarray, np.ndarray, dict[str, int]]:
    """(a (104, 5) in A, b (104, 5) in A^2, symbol -> Z) indexed by atomic number (row 0 unused, NaN)."""
    data = json.loads(_DATA.read_text())["parameters"]
    a = np.full((104, 5), np.nan)
    b = np.full((104, 5), np.nan)
    symbols = {}
    for sym, p in data.items():
        z = int(p["Z"])
        a[z] = p["a_a"]
        b[z] = p["b_a2"]
        symbols[sym] = z
    return a, b, symbols


def atomic_number(symbol: str) -> int:
    """Atomic number of a chemical symbol (1-103)."""
    try:
        return _lobato_table()[2][symbol]
    except KeyError:
        raise InputError(f"unknown chemical element {symbol!r} (sadpnet knows Z = 1-103)", "element") from None


def electron_scattering_factor_a(numbers, g_inv_a) -> np.ndarray:
    """Electron scattering amplitude f_e (A) of neutral atoms, Lobato & Van Dyck (2014).

    Args:
        numbers: atomic numbers, shape (m,) (ints 1-103).
        g_inv_a: reciprocal lengths |g| = 1/d, 1/A without 2 pi, shape (n,).

    Returns:
        float64 array of shape (m, n): f_e(Z_i, g_j) in A.
    """
    z = np.atleast_1d(np.asarray(numbers)).astype(int)
    if z.size and (z.min() < 1 or z.max() > 103):
        raise InputError(f"atomic numbers must be 1-103, got {sorted(set(z.tolist()))}", "element")
    g2 = np.atleast_1d(np.asarray(g_inv_a, dtype=float)) ** 2
    a, b, _ = _lobato_table()
    bz = b[z][:, :, None]  # (m, 5, 1)
    x = 1.0 + bz * g2[None, None, :]
    return np.sum(a[z][:, :, None] * (1.0 + x) / (x * x), axis=1)


def debye_waller_b_a2(symbol: str, b_a2: float | None = None) -> float:
    """Isotropic Debye-Waller B (A^2) of an element: ``b_a2`` if given (checked, >= 0), else the room-
    temperature default `DEFAULT_B_A2`, else `FALLBACK_B_A2` (0.5 A^2) for elements without a default."""
    if b_a2 is not None:
        if not (np.isfinite(b_a2) and b_a2 >= 0):
            raise InputError(f"Debye-Waller B must be a number >= 0 A^2, got {b_a2!r}", "debye_waller")
        return float(b_a2)
    return DEFAULT_B_A2.get(symbol, FALLBACK_B_A2)


def debye_waller_factor(b_a2, g_inv_a) -> np.ndarray:
    """Amplitude Debye-Waller factor exp(-B g^2 / 4) = exp(-B s^2), s = sin(theta)/lambda = g/2.

    ``b_a2`` (A^2) and ``g_inv_a`` (1/A, no 2 pi) broadcast against each other (e.g. (m, 1) and (n,) give
    (m, n)). Multiply f_e by it; the intensity is reduced by its square, exp(-2 B s^2).
    """
    return np.exp(-np.asarray(b_a2, dtype=float) * np.asarray(g_inv_a, dtype=float) ** 2 / 4.0)
