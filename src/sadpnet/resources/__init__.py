"""Files shipped with sadpnet: CIFs and experimental images (with provenance, see PROVENANCE.md), and
the default models. Use `resource_path` to locate them."""

from __future__ import annotations

from pathlib import Path

_ROOT = Path(__file__).resolve().parent


def resource_path(*parts: str) -> Path:
    """Path of a shipped file, e.g. ``resource_path("cifs", "crystals_COD", "Al.cif")``."""
    return _ROOT.joinpath(*parts)


def example_cif(name: str) -> Path:
    """Path of one of the example CIFs by short name: Al, Fe, Si, Cu, W, ... (see `EXAMPLE_CIFS`)."""
    try:
        return resource_path("cifs", *EXAMPLE_CIFS[name].split("/"))
    except KeyError:
        from sadpnet.errors import InputError

        raise InputError(f"unknown example crystal {name!r}; known: {', '.join(EXAMPLE_CIFS)}") from None


#: Example crystals used in docs, tests and the demo (paths under resources/cifs/).
EXAMPLE_CIFS: dict[str, str] = {
    "Al": "crystals_COD/Al.cif",
    "Cu": "crystals_COD/Cu.cif",
    "Fe": "crystals_COD/Fe.cif",
    "W": "crystals_COD/W.cif",
    "Si": "crystals_COD/Si.cif",
    "NaCl": "pymatgen_aflow/cif_p1/172_AB_cF8_225_a_b.cif",  # B1 prototype (species as in the AFLOW library)
    "CsCl": "pymatgen_aflow/cif_p1/240_AB_cP2_221_b_a.cif",  # B2 prototype
    "beta-Mn": "pymatgen_aflow/cif_p1/279_A_cP20_213_cd.cif",
    "Mg": "crystals_COD/Mg.cif",
    "TiO2-rutile": "dans_diffraction/Rutile.cif",
}
