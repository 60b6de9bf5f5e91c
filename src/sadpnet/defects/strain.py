"""Uniform (homogeneous) strain of a crystal, given directly or from a stress through Hooke's law.

The strain acts in the Cartesian frame of the conventional standard cell (for cubic crystals: the cubic
axes x, y, z): every cell vector a_i becomes (1 + eps) a_i, with eps the symmetric strain tensor built from
the Voigt strain (engineering shears); fractional coordinates are kept.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sadpnet.defects.elastic import cubic_constants_gpa, cubic_stiffness_gpa, strain_from_stress, voigt_to_tensor
from sadpnet.errors import InputError
from sadpnet.ranges import STRAIN

#: spglib tolerance used to name the symmetry of the strained cell, A (the cell is exact; keep it tight).
STRAIN_SYMPREC_A = 1e-5


@dataclass
class StrainResult:
    """A strained crystal.

    Attributes:
        crystal: the strained `sadpnet.crystal.Crystal` (its own symmetry found by spglib).
        strain_voigt: (6,) strain applied (xx, yy, zz, gamma_yz, gamma_xz, gamma_xy).
        stress_gpa: (6,) stress it came from, or None.
        stiffness_gpa: (6, 6) stiffness used, or None.
    """

    crystal: object
    strain_voigt: np.ndarray
    stress_gpa: np.ndarray | None = None
    stiffness_gpa: np.ndarray | None = None


def check_strain(strain_voigt) -> np.ndarray:
    """The strain as a (6,) float array; InputError unless six finite values inside `sadpnet.ranges.STRAIN`."""
    try:
        e = np.asarray(strain_voigt, dtype=float).reshape(6)
    except (TypeError, ValueError):
        raise InputError(f"strain needs six numbers (Voigt order xx yy zz yz xz xy), got {strain_voigt!r}",
                         "strain") from None
    if not np.all(np.isfinite(e)):
        raise InputError(f"strain components must be finite, got {e.tolist()}", "strain")
    STRAIN.check(e[np.argmax(np.abs(e))])
    return e


def strained_atoms(atoms, strain_voigt):
    """Copy of ``atoms`` with its cell deformed by ``strain_voigt`` (fractional coordinates kept)."""
    eps = voigt_to_tensor(check_strain(strain_voigt))
    out = atoms.copy()
    out.set_cell(np.asarray(atoms.cell) @ (np.eye(3) + eps).T, scale_atoms=True)
    return out


def apply_strain(crystal, strain_voigt=None, *, stress_gpa=None, elastic_gpa=None) -> StrainResult:
    """Strain ``crystal`` (a `Crystal`) by a Voigt strain, or by the strain a Voigt stress causes.

    Args:
        strain_voigt: (6,) strain, engineering shears; or None when ``stress_gpa`` is given.
        stress_gpa: (6,) stress in GPa (Voigt order); converted with anisotropic Hooke's law.
        elastic_gpa: (C11, C12, C44) in GPa; default from the cited table for single-element cubic crystals.
    """
    from sadpnet.crystal import crystal_from_atoms

    stiffness = stress = None
    if (strain_voigt is None) == (stress_gpa is None):
        raise InputError("give either a strain or a stress (not both)", "strain")
    if stress_gpa is not None:
        stress = np.asarray(stress_gpa, dtype=float).reshape(6)
        if elastic_gpa is None:
            if crystal.crystal_system != "cubic" or len(set(crystal.atoms.get_chemical_symbols())) != 1:
                raise InputError("built-in elastic constants exist only for cubic elements; give --elastic C11 C12 C44",
                                 "elastic")
            elastic_gpa = cubic_constants_gpa(crystal.atoms.get_chemical_symbols()[0])
        stiffness = cubic_stiffness_gpa(*elastic_gpa)
        strain_voigt = strain_from_stress(stress, stiffness)
    e = check_strain(strain_voigt)
    atoms = strained_atoms(crystal.atoms, e)
    strained = crystal_from_atoms(atoms, name=f"{crystal.name} strained", source=crystal.source,
                                  symprec_a=STRAIN_SYMPREC_A)
    return StrainResult(crystal=strained, strain_voigt=e, stress_gpa=stress, stiffness_gpa=stiffness)
