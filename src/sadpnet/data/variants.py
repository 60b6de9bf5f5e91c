"""Variants of a crystal named in a dataset spec, turned into what the simulator takes.

A variant is a mapping with a ``type``; `expand_variants` turns a spec's list into concrete variants
(one per parameter value) and `make_source` builds the crystal (or specimen) of one. Supported types:

* ``none``: the perfect crystal.
* ``lattice_scale``: ``scale_pct`` (list, %): the cell scaled isotropically by 1 + pct/100 (the spread of
  lattice parameters of real materials: thermal expansion, alloying). Same material (same group id).
* ``strain``: ``strain_voigt`` (a list of 6-vectors: xx, yy, zz, gamma_yz, gamma_xz, gamma_xy) or
  ``normal_pct`` (list, %: uniaxial normal strain along a) or ``shear_rad`` (list: gamma_xy), through
  `sadpnet.defects.strain.apply_strain` (the paper's uniform-strain defect).

Other defect types of `sadpnet.defects` are not wired into dataset specs yet and are refused with a
message naming the variant.
"""

from __future__ import annotations

import json

import numpy as np

from sadpnet.errors import InputError

SUPPORTED = ("none", "lattice_scale", "strain")


def expand_variants(variants: list[dict], where: str = "spec") -> list[dict]:
    """One dict per concrete variant: {"type": ..., **parameters} with scalar parameters."""
    out: list[dict] = []
    for i, v in enumerate(variants):
        t = v["type"]
        if t == "none":
            out.append({"type": "none"})
        elif t == "lattice_scale":
            out += [{"type": "lattice_scale", "scale_pct": float(p)} for p in v["scale_pct"]]
        elif t == "strain":
            extra = set(v) - {"type", "strain_voigt", "normal_pct", "shear_rad"}
            if extra:
                raise InputError(f"variants[{i}]: unknown keys {sorted(extra)} for strain "
                                 "(known: strain_voigt, normal_pct, shear_rad)", where)
            for e in v.get("strain_voigt", []):
                if len(e) != 6:
                    raise InputError(f"variants[{i}].strain_voigt: expected 6 components, got {e}", where)
                out.append({"type": "strain", "strain_voigt": [float(x) for x in e]})
            for p in v.get("normal_pct", []):
                out.append({"type": "strain", "strain_voigt": [float(p) / 100, 0, 0, 0, 0, 0]})
            for g in v.get("shear_rad", []):
                out.append({"type": "strain", "strain_voigt": [0, 0, 0, 0, 0, float(g)]})
            if not any(k in v for k in ("strain_voigt", "normal_pct", "shear_rad")):
                raise InputError(f"variants[{i}]: strain needs strain_voigt, normal_pct or shear_rad", where)
        else:
            raise InputError(f"variants[{i}].type: {t!r} is not supported in dataset specs "
                             f"(supported: {', '.join(SUPPORTED)})", where)
    return out


def variant_json(variant: dict) -> str:
    """The variant's parameters as JSON (the table's ``defect_params``)."""
    return json.dumps({k: v for k, v in variant.items() if k != "type"}, sort_keys=True)


def make_source(crystal, variant: dict):
    """The crystal to simulate for ``variant`` (a `sadpnet.crystal.Crystal`)."""
    t = variant["type"]
    if t == "none":
        return crystal
    if t == "lattice_scale":
        import copy

        c = copy.copy(crystal)
        atoms = crystal.atoms.copy()
        atoms.set_cell(np.asarray(atoms.cell) * (1 + variant["scale_pct"] / 100), scale_atoms=True)
        c.atoms = atoms
        return c
    if t == "strain":
        from sadpnet.defects.strain import apply_strain

        return apply_strain(crystal, variant["strain_voigt"]).crystal
    raise InputError(f"unsupported variant type {t!r}", "variants")
