"""Crystals: read and write CIFs, standardise with spglib, reciprocal lattice, zone axes, orientation;
random crystals of any space group (`random_crystal`, priors in `CrystalPrior`)."""

from sadpnet.crystal.cif import Crystal, crystal_from_atoms, crystal_system, read_cif, write_cif
from sadpnet.crystal.shipped import resolve_cif, shipped_cifs
from sadpnet.crystal.specimen import DEFAULT_CELLS, Specimen
from sadpnet.crystal.prior import CrystalPrior, fit_prior, load_prior
from sadpnet.crystal.synthetic import GenerationError, non_cubic_groups, random_crystal, sample_crystals
from sadpnet.crystal.lattice import (
    STANDARD_CUBIC_ZONE_AXES,
    check_zone_axis,
    d_spacing_a,
    lowest_index_zone_axes,
    orientation_matrix,
    reciprocal_basis,
    reference_reflection,
)

__all__ = [
    "Crystal", "read_cif", "write_cif", "crystal_from_atoms", "crystal_system", "resolve_cif", "shipped_cifs",
    "STANDARD_CUBIC_ZONE_AXES", "check_zone_axis", "d_spacing_a", "lowest_index_zone_axes",
    "orientation_matrix", "reciprocal_basis", "reference_reflection", "Specimen", "DEFAULT_CELLS",
    "CrystalPrior", "fit_prior", "load_prior", "random_crystal", "sample_crystals", "non_cubic_groups",
    "GenerationError",
]
