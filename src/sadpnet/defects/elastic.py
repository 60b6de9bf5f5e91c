"""Cubic elastic constants (cited table) and anisotropic Hooke's law in Voigt notation.

Voigt order: xx, yy, zz, yz, xz, xy. Strains use *engineering* shears (gamma_yz = 2 eps_yz), so that
sigma_voigt = C @ eps_voigt with the usual 6x6 stiffness matrix C. Stresses and stiffnesses in GPa.
"""

from __future__ import annotations

import numpy as np

from sadpnet.errors import InputError

#: Room-temperature adiabatic elastic constants (C11, C12, C44) of cubic elements, GPa, with sources.
#: Values as commonly tabulated (e.g. G. Simmons and H. Wang, "Single Crystal Elastic Constants and
#: Calculated Aggregate Properties", MIT Press 1971) from the measurements cited.
CUBIC_ELASTIC_CONSTANTS_GPA: dict[str, tuple[float, float, float, str]] = {
    "Al": (107.3, 60.9, 28.3, "Vallin, Mongy, Salama, Beckman, J. Appl. Phys. 35 (1964) 1825"),
    "Fe": (231.4, 134.7, 116.4, "Rayne and Chandrasekhar, Phys. Rev. 122 (1961) 1714"),
    "Cu": (168.4, 121.4, 75.4, "Overton and Gaffney, Phys. Rev. 98 (1955) 969"),
    "Ni": (246.5, 147.3, 124.7, "Alers, Neighbours and Sato, J. Phys. Chem. Solids 13 (1960) 40"),
    "Au": (192.3, 163.1, 42.0, "Neighbours and Alers, Phys. Rev. 111 (1958) 707"),
    "Ag": (124.0, 93.7, 46.1, "Neighbours and Alers, Phys. Rev. 111 (1958) 707"),
    "W": (522.4, 204.4, 160.6, "Featherston and Neighbours, Phys. Rev. 130 (1963) 1324"),
    # further cubic metals, room-temperature values as compiled by Simmons and Wang (1971)
    "Mo": (463.7, 157.8, 109.2, "Featherston and Neighbours, Phys. Rev. 130 (1963) 1324"),
    "Ta": (266.3, 158.2, 87.4, "Featherston and Neighbours, Phys. Rev. 130 (1963) 1324"),
    "Nb": (246.5, 133.3, 28.4, "Simmons and Wang (1971) compilation"),
    "V": (228.0, 118.7, 42.6, "Simmons and Wang (1971) compilation"),
    "Cr": (339.8, 58.6, 99.0, "Simmons and Wang (1971) compilation"),
    "Pt": (346.7, 250.7, 76.5, "Simmons and Wang (1971) compilation"),
    "Pd": (227.1, 176.0, 71.7, "Simmons and Wang (1971) compilation"),
    "Ir": (580.0, 242.0, 256.0, "Simmons and Wang (1971) compilation"),
    "Pb": (49.5, 42.3, 14.9, "Simmons and Wang (1971) compilation"),
}


def cubic_constants_gpa(element: str) -> tuple[float, float, float]:
    """(C11, C12, C44) in GPa of ``element`` from `CUBIC_ELASTIC_CONSTANTS_GPA`."""
    try:
        c11, c12, c44, _ = CUBIC_ELASTIC_CONSTANTS_GPA[element]
    except KeyError:
        raise InputError(f"no built-in elastic constants for {element!r} (known: "
                         f"{', '.join(CUBIC_ELASTIC_CONSTANTS_GPA)}); give --elastic C11 C12 C44", "elastic") from None
    return c11, c12, c44


def cubic_stiffness_gpa(c11: float, c12: float, c44: float) -> np.ndarray:
    """The 6x6 Voigt stiffness matrix (GPa) of a cubic crystal in its cubic axes.

    Raises:
        InputError: the constants violate the Born stability conditions (C11 > |C12|, C11 + 2 C12 > 0, C44 > 0).
    """
    c11, c12, c44 = float(c11), float(c12), float(c44)
    if not (c11 > abs(c12) and c11 + 2 * c12 > 0 and c44 > 0):
        raise InputError(f"elastic constants C11={c11} C12={c12} C44={c44} GPa are not mechanically stable "
                         "(need C11 > |C12|, C11 + 2 C12 > 0, C44 > 0)", "elastic")
    c = np.zeros((6, 6))
    c[:3, :3] = c12
    c[np.arange(3), np.arange(3)] = c11
    c[np.arange(3, 6), np.arange(3, 6)] = c44
    return c


def strain_from_stress(stress_gpa, stiffness_gpa: np.ndarray) -> np.ndarray:
    """Voigt strain (engineering shears) from Voigt stress ``stress_gpa`` (6,) through Hooke's law."""
    stress = np.asarray(stress_gpa, dtype=float).reshape(6)
    return np.linalg.solve(np.asarray(stiffness_gpa, dtype=float), stress)


def voigt_to_tensor(strain_voigt) -> np.ndarray:
    """Symmetric 3x3 strain tensor from a Voigt strain (xx, yy, zz, gamma_yz, gamma_xz, gamma_xy)."""
    e = np.asarray(strain_voigt, dtype=float).reshape(6)
    return np.array([[e[0], e[5] / 2, e[4] / 2],
                     [e[5] / 2, e[1], e[3] / 2],
                     [e[4] / 2, e[3] / 2, e[2]]])
