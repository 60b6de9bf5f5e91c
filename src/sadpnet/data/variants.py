"""Variants of a crystal named in a dataset spec, turned into what the simulator takes.

A variant is a mapping with a ``type``; `expand_variants` turns a spec's list into concrete variants
(one per parameter value) and `make_source` builds the crystal (or specimen) of one. Supported types:

* ``none``: the perfect crystal.
* ``lattice_scale``: ``scale_pct`` (list, %): the cell scaled isotropically by 1 + pct/100 (the spread of
  lattice parameters of real materials: thermal expansion, alloying). Same material (same group id).
* ``strain``: ``strain_voigt`` (a list of 6-vectors: xx, yy, zz, gamma_yz, gamma_xz, gamma_xy) or
  ``normal_pct`` (list, %: uniaxial normal strain along a) or ``shear_rad`` (list: gamma_xy), through
  `sadpnet.defects.strain.apply_strain` (the paper's uniform-strain defect).
* ``thermal``: ``temperature_k`` (list, K), ``supercell`` ([N1, N2, N3] conventional cells, default
  [3, 3, 3]), ``snapshots`` (per temperature, default 1): Debye-model snapshots
  (`sadpnet.defects.thermal.debye_snapshots`, seeded from the spec seed, the material and the snapshot
  number), repeated to the specimen size (`sadpnet.defects.specimen.supercell_specimen`); simulated without
  an extra Debye-Waller factor. With ``method: md`` the snapshots come from Langevin molecular dynamics
  (`sadpnet.defects.thermal.md_snapshots`) on ``potential`` (eam | emt | sevennet; default: the shipped
  potential that covers the elements, EAM first), after ``equilibration_steps`` (default 500) steps of 2 fs,
  one independent seeded run per snapshot; materials no shipped potential covers are skipped.
* ``vacancy``: ``supercell`` (list of [N1, N2, N3]): one vacancy (the atom nearest the supercell's
  centre, `sadpnet.defects.point.vacancy`), repeated to the specimen size.
* ``substitute``: ``element`` (list of symbols), ``supercell`` (list of [N1, N2, N3]), ``site`` (list of
  ``centre`` (default: the atom nearest the supercell's centre), ``random`` (an atom drawn with a seed fixed
  by the spec seed, the material and the variant) or atom indices): one substituted atom
  (`sadpnet.defects.point.substitute`).
* ``interstitial``: ``element`` (list), ``supercell`` (list of [N1, N2, N3]), ``site`` (list of
  ``tetrahedral`` / ``octahedral`` (one-element fcc and bcc crystals) or "x,y,z" fractions of the
  conventional cell; default tetrahedral): one interstitial atom (`sadpnet.defects.point.interstitial`).
* The three point-defect variants take ``relax: {potential: eam | emt | sevennet}`` (optional; default
  unrelaxed): the supercell's positions relaxed at fixed cell (`sadpnet.defects.relax.relax_positions`,
  BFGS, deterministic) before it is repeated to the specimen size.

A supercell variant that cannot be made for a material (a supercell too large for the cell engine, an
element without a tabulated Debye temperature, a substitution by the element already on the site, a named
interstitial site in a crystal that is not one-element fcc/bcc, a site too close to an atom, a potential
without parameters for the elements) is skipped for that material when the table is planned;
the store's card lists what was skipped.

* ``twin``: ``plane`` ([h, k, l]) and ``direction`` ([u, v, w] in the plane; both default to the crystal's
  usual twin, `sadpnet.defects.twin.default_twin`: (111)[1 1 -2], or (112)[1 1 -1] for I-centred crystals),
  ``fraction`` (list, height of the boundary in the block, 0.1-0.9, default [0.5]): one coherent mirror twin
  boundary (`sadpnet.defects.twin.build_twin`) in a block of the row's ``cells``.
* ``dislocation``: ``line`` ([u, v, w]) and ``burgers`` (3 fractions of the cell; both default to the usual
  edge dislocation, `sadpnet.defects.dislocation.default_edge`), ``count`` (list, 1-16, default [4]): an array of
  parallel edge dislocations (`sadpnet.defects.dislocation.build_dislocation_array`, anisotropic elastic field,
  cubic elements only) in a block of the row's ``cells``.
* Twins and dislocations are built at specimen size (no supercell repeat), so they are always simulated with
  the atoms engine (whatever ``simulation.engine`` says for the other rows); their zone axes are indices of the
  parent's conventional lattice. They cost seconds per pattern (see docs/datasets.md).

The defaults that depend on the material (twin plane, dislocation line) are filled in per material when the
table is planned (`with_defaults`), so the table's ``defect_params`` always hold the indices used.

Every defect type of `sadpnet.defects` can be named; an unknown ``type`` is refused with a message naming the
variant.
"""

from __future__ import annotations

import json

import numpy as np

from sadpnet.errors import InputError

SUPPORTED = ("none", "lattice_scale", "strain", "thermal", "vacancy", "substitute", "interstitial", "twin",
             "dislocation")

#: Variants built as one specimen-sized block (simulated with the atoms engine).
BLOCK_TYPES = ("twin", "dislocation")
_BLOCK_KEYS = {"twin": ({"type", "plane", "direction", "fraction"}, "fraction", 0.5, 0.1, 0.9),
               "dislocation": ({"type", "line", "burgers", "count"}, "count", 4, 1, 16)}

#: Keys any variant entry may carry besides its type's own (see `expand_variants`); not in ``defect_params``.
ENTRY_KEYS = ("zone_axes", "materials")

#: Variants made from a defected supercell (checked against the cell engine's size limit).
SUPERCELL_TYPES = ("thermal", "vacancy", "substitute", "interstitial")
_POINT_KEYS = {"vacancy": {"type", "supercell", "relax"},
               "substitute": {"type", "supercell", "element", "site", "relax"},
               "interstitial": {"type", "supercell", "element", "site", "relax"}}


def _sizes(i: int, v: dict, where: str, default=(3, 3, 3)) -> list[list[int]]:
    sizes = v.get("supercell", [list(default)])
    sizes = sizes if sizes and isinstance(sizes[0], (list, tuple)) else [sizes]
    for size in sizes:
        if len(size) != 3 or not all(isinstance(n, int) and not isinstance(n, bool) and 1 <= n <= 10 for n in size):
            raise InputError(f"variants[{i}].supercell: expected three integers 1-10, got {size}", where)
    return [list(size) for size in sizes]


def _relax(i: int, v: dict, where: str) -> dict:
    from sadpnet.defects.potentials import POTENTIALS

    r = v.get("relax")
    if r is None:
        return {}
    if not isinstance(r, dict) or set(r) != {"potential"} or r["potential"] not in POTENTIALS:
        raise InputError(f"variants[{i}].relax: expected {{potential: {' | '.join(POTENTIALS)}}}, got {r!r}", where)
    return {"relax": r["potential"]}


def _point_variants(i: int, v: dict, where: str) -> list[dict]:
    """Concrete vacancy / substitute / interstitial variants of spec entry ``i``."""
    t = v["type"]
    extra = set(v) - _POINT_KEYS[t]
    if extra:
        raise InputError(f"variants[{i}]: unknown keys {sorted(extra)} for {t} (known: "
                         f"{', '.join(sorted(_POINT_KEYS[t] - {'type'}))})", where)
    sizes, relax = _sizes(i, v, where), _relax(i, v, where)
    if t == "vacancy":
        return [{"type": t, "supercell": size, **relax} for size in sizes]
    from sadpnet.defects.point import check_element

    elements = v.get("element")
    elements = elements if isinstance(elements, list) else [elements]
    if not elements or elements == [None]:
        raise InputError(f"variants[{i}].element: {t} needs element (a symbol or a list of symbols)", where)
    try:
        elements = [check_element(e) for e in elements]
    except InputError as exc:
        raise InputError(f"variants[{i}].element: {exc.problem}", where) from None
    sites = v.get("site", ["centre" if t == "substitute" else "tetrahedral"])
    sites = sites if isinstance(sites, list) else [sites]
    for s in sites:
        ok = (isinstance(s, int) and not isinstance(s, bool) and s >= 0) if t == "substitute" and not isinstance(s, str) \
            else isinstance(s, str) and (t == "interstitial" or s in ("centre", "random"))
        if not ok:
            known = "centre, random or an atom index" if t == "substitute" else "tetrahedral, octahedral or 'x,y,z'"
            raise InputError(f"variants[{i}].site: expected {known}, got {s!r}", where)
    return [{"type": t, "element": e, "site": s, "supercell": size, **relax}
            for e in elements for s in sites for size in sizes]


def _md_settings(i: int, v: dict, where: str) -> dict:
    """The MD keys of a thermal entry ({} for the Debye model, the default: its variants stay as they were)."""
    method = v.get("method", "debye")
    if method not in ("debye", "md"):
        raise InputError(f"variants[{i}].method: expected debye or md, got {method!r}", where)
    if method == "debye":
        if "potential" in v or "equilibration_steps" in v:
            raise InputError(f"variants[{i}]: potential and equilibration_steps need method: md", where)
        return {}
    from sadpnet.defects.potentials import POTENTIALS

    pot = v.get("potential")
    if pot is not None and pot not in POTENTIALS:
        raise InputError(f"variants[{i}].potential: expected {', '.join(POTENTIALS)}, got {pot!r}", where)
    steps = v.get("equilibration_steps", 500)
    if not isinstance(steps, int) or isinstance(steps, bool) or not 0 <= steps <= 100000:
        raise InputError(f"variants[{i}].equilibration_steps: expected an integer 0-100000, got {steps!r}", where)
    return {"method": "md", "potential": pot, "equilibration_steps": steps}


def _materials(i: int, v: dict, where: str) -> list[str] | None:
    """The entry's ``materials`` (fnmatch patterns of material ids it is limited to), or None (all)."""
    if "materials" not in v:
        return None
    m = v["materials"]
    if not (isinstance(m, list) and m and all(isinstance(x, str) and x for x in m)):
        raise InputError(f"variants[{i}].materials: expected a list of material ids or patterns, got {m!r}", where)
    return list(m)


def _zone_axes(i: int, v: dict, where: str) -> list[list[int]] | None:
    """The entry's own ``zone_axes`` (a list of [u, v, w]), or None (the spec's zone axes)."""
    if "zone_axes" not in v:
        return None
    za = v["zone_axes"]
    ok = isinstance(za, list) and za and all(
        isinstance(z, list) and len(z) == 3 and all(isinstance(c, int) and not isinstance(c, bool) for c in z)
        and any(z) for z in za)
    if not ok:
        raise InputError(f"variants[{i}].zone_axes: expected a list of [u, v, w] integer triples, got {za!r}", where)
    return [list(z) for z in za]


def expand_variants(variants: list[dict], where: str = "spec") -> list[dict]:
    """One dict per concrete variant: {"type": ..., **parameters} with scalar parameters.

    Any entry may carry ``zone_axes`` (a list of [u, v, w]): its variants are then simulated on those axes
    instead of the spec's (e.g. twins only on axes that show the boundary edge-on); the concrete variants keep
    it as ``zone_axes``. Any entry may carry ``materials`` (a list of material ids or fnmatch patterns): its
    variants are then made only for those materials (kept as ``materials``; e.g. strain only on elements).
    """
    out: list[dict] = []
    for i, v in enumerate(variants):
        extra = {k: f(i, v, where) for k, f in zip(ENTRY_KEYS, (_zone_axes, _materials))}
        extra = {k: x for k, x in extra.items() if x is not None}
        if extra:
            n0 = len(out)
            out += expand_variants([{k: x for k, x in v.items() if k not in extra}], where)
            out[n0:] = [{**c, **extra} for c in out[n0:]]
            continue
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
        elif t in _POINT_KEYS:
            out += _point_variants(i, v, where)
        elif t in BLOCK_TYPES:
            out += _block_variants(i, v, where)
        elif t == "thermal":
            known = {"type", "temperature_k", "supercell", "snapshots", "method", "potential", "equilibration_steps"}
            extra = set(v) - known
            if extra:
                raise InputError(f"variants[{i}]: unknown keys {sorted(extra)} for {t} (known: "
                                 f"{', '.join(sorted(known - {'type'}))})", where)
            sizes = [v.get("supercell", [3, 3, 3])]
            for size in sizes:
                if len(size) != 3 or not all(isinstance(n, int) and 1 <= n <= 10 for n in size):
                    raise InputError(f"variants[{i}].supercell: expected three integers 1-10, got {size}", where)
            temps = v.get("temperature_k")
            temps = temps if isinstance(temps, list) else [temps]
            if not temps or not all(isinstance(x, (int, float)) and not isinstance(x, bool) and 0 < x <= 5000
                                    for x in temps):
                raise InputError(f"variants[{i}].temperature_k: expected temperatures in K (0-5000], got {temps}", where)
            n_snap = v.get("snapshots", 1)
            if not isinstance(n_snap, int) or not 1 <= n_snap <= 100:
                raise InputError(f"variants[{i}].snapshots: expected an integer 1-100, got {n_snap!r}", where)
            md = _md_settings(i, v, where)
            out += [{"type": "thermal", "temperature_k": float(x), "supercell": list(sizes[0]), "snapshot": k, **md}
                    for x in temps for k in range(n_snap)]
        else:
            raise InputError(f"variants[{i}].type: {t!r} is not supported in dataset specs "
                             f"(supported: {', '.join(SUPPORTED)})", where)
    return out


def _block_variants(i: int, v: dict, where: str) -> list[dict]:
    """Concrete twin / dislocation variants of spec entry ``i`` (one per fraction / count)."""
    t = v["type"]
    known, key, default, lo, hi = _BLOCK_KEYS[t]
    extra = set(v) - known
    if extra:
        raise InputError(f"variants[{i}]: unknown keys {sorted(extra)} for {t} (known: "
                         f"{', '.join(sorted(known - {'type'}))})", where)
    fixed = {}
    for k in sorted(known - {"type", key}):
        if k in v:
            x = v[k]
            if not (isinstance(x, list) and len(x) == 3 and all(isinstance(c, (int, float)) and not isinstance(c, bool)
                                                               for c in x)) or not any(x):
                raise InputError(f"variants[{i}].{k}: expected three numbers, not all zero, got {x!r}", where)
            if k != "burgers" and not all(float(c) == int(c) for c in x):
                raise InputError(f"variants[{i}].{k}: expected three integers, got {x!r}", where)
            fixed[k] = [float(c) for c in x] if k == "burgers" else [int(c) for c in x]
    vals = v.get(key, [default])
    vals = vals if isinstance(vals, list) else [vals]
    integer = t == "dislocation"
    if not vals or not all(isinstance(x, (int, float)) and not isinstance(x, bool) and lo <= x <= hi
                           and (not integer or int(x) == x) for x in vals):
        raise InputError(f"variants[{i}].{key}: expected {'integers' if integer else 'numbers'} {lo}-{hi}, got {vals!r}",
                         where)
    return [{"type": t, **fixed, key: int(x) if integer else float(x)} for x in vals]


def with_defaults(crystal, variant: dict) -> dict:
    """``variant`` with the material-dependent defaults filled in (twin plane and direction, dislocation line
    and Burgers vector); other variants unchanged."""
    t = variant["type"]
    if t == "twin" and not {"plane", "direction"} <= set(variant):
        from sadpnet.defects.twin import default_twin

        plane, direction = default_twin(crystal)
        return {"plane": list(plane), "direction": list(direction), **variant}
    if t == "dislocation" and not {"line", "burgers"} <= set(variant):
        from sadpnet.defects.dislocation import default_edge

        line, burgers = default_edge(crystal)
        return {"line": list(line), "burgers": [float(x) for x in burgers], **variant}
    return variant


def _block(crystal, variant: dict, cells):
    """The built twin / dislocation result of a block variant, about ``cells`` conventional cells."""
    if variant["type"] == "twin":
        from sadpnet.defects.twin import build_twin

        return build_twin(crystal, tuple(variant["plane"]), tuple(variant["direction"]), variant["fraction"],
                          tuple(cells))
    from sadpnet.defects.dislocation import build_dislocation_array

    return build_dislocation_array(crystal, tuple(variant["line"]), tuple(variant["burgers"]), variant["count"],
                                   tuple(cells))


def variant_json(variant: dict) -> str:
    """The variant's parameters as JSON (the table's ``defect_params``)."""
    return json.dumps({k: v for k, v in variant.items() if k != "type" and k not in ENTRY_KEYS}, sort_keys=True)


def why_not(crystal, variant: dict, g_half_max_inv_a: float) -> str | None:
    """Why ``variant`` cannot be made for ``crystal`` (then the plan skips it), or None.

    ``g_half_max_inv_a``: the largest detector half-width (1/A) of the spec's microscopes. A supercell is
    refused when the cell engine would refuse it: its structure-factor table (reciprocal-lattice points
    within the detector's corners, times atoms) would exceed the simulator's
    `sadpnet.simulate.structure_factor.MAX_TABLE_WORK` (estimated here with a 10 % margin).
    """
    import math

    t = variant["type"]
    if t in BLOCK_TYPES:  # built on a small block: the same checks (cubic, indices, elastic constants, overlaps)
        try:
            _block(crystal, with_defaults(crystal, variant), (4, 4, 4))
        except InputError as exc:
            return exc.problem
        return None
    if t not in SUPERCELL_TYPES:
        return None
    from sadpnet.simulate.structure_factor import MAX_TABLE_WORK

    n_atoms = len(crystal.atoms) * int(np.prod(variant["supercell"]))
    volume_a3 = abs(crystal.atoms.cell.volume) * int(np.prod(variant["supercell"]))
    g = math.ceil((math.sqrt(2) * 1.1 * g_half_max_inv_a + 0.1) * 4) / 4
    work = 4 / 3 * math.pi * g**3 * volume_a3 * n_atoms
    if work > MAX_TABLE_WORK:
        return f"supercell of {n_atoms} atoms, {volume_a3:.0f} A^3: too large for the cell engine"
    if t == "thermal" and variant.get("method") == "md":
        from sadpnet.defects.potentials import covers, default_potential

        els = set(crystal.atoms.get_chemical_symbols())
        try:
            pot = variant.get("potential") or default_potential(els, purpose="md")
        except InputError as exc:
            return exc.problem
        return None if covers(pot, els) else f"potential {pot} has no parameters for {'-'.join(sorted(els))}"
    if t == "thermal":
        from sadpnet.defects.thermal import debye_temperature_k

        for el in sorted(set(crystal.atoms.get_chemical_symbols())):
            try:
                debye_temperature_k(el)
            except InputError:
                return f"no Debye temperature for {el}"
    if t in _POINT_KEYS:
        try:
            res = _point_defect(crystal, variant)
        except InputError as exc:
            return exc.problem
        if variant.get("relax"):
            from sadpnet.defects.potentials import covers

            els = set(res.atoms.get_chemical_symbols())
            if not covers(variant["relax"], els):
                return f"potential {variant['relax']} has no parameters for {'-'.join(sorted(els))}"
    return None


def needs_seed(variant: dict) -> bool:
    """Whether the variant draws random numbers (then the plan fixes its ``seed`` in the table)."""
    return variant["type"] == "thermal" or (variant["type"] == "substitute" and variant.get("site") == "random")


def _point_defect(crystal, variant: dict):
    """The unrelaxed `sadpnet.defects.point.PointDefectResult` of a point-defect variant."""
    from sadpnet.defects import point

    size = tuple(int(n) for n in variant["supercell"])
    t = variant["type"]
    if t == "vacancy":
        return point.vacancy(crystal, size)
    if t == "interstitial":
        return point.interstitial(crystal, size, variant["element"], site=variant["site"])
    site = variant["site"]
    if site == "centre":
        site = None
    elif site == "random":
        n_atoms = len(crystal.atoms) * int(np.prod(size))
        site = int(np.random.default_rng(int(variant["seed"])).integers(n_atoms)) if "seed" in variant else None
    return point.substitute(crystal, size, variant["element"], site=site)


def variant_seed(spec_seed: int, material_id: str, variant: dict) -> int:
    """Seed of a random variant (thermal snapshot): stable for the spec seed, material and variant."""
    import hashlib

    key = f"{spec_seed}:{material_id}:{json.dumps(variant, sort_keys=True)}"
    return int(hashlib.sha256(key.encode()).hexdigest()[:8], 16)


def make_source(crystal, variant: dict, cells=(40, 30, 20)):
    """What to simulate for ``variant``: a `sadpnet.crystal.Crystal` (perfect, scaled, strained) or a
    `Specimen` covering at least ``cells`` conventional cells (supercell variants)."""
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
    if t in BLOCK_TYPES:
        from sadpnet.defects.specimen import block_specimen

        res = _block(crystal, with_defaults(crystal, variant), cells)
        return block_specimen(res.atoms, crystal, name=f"{t} in {crystal.formula}", metadata={"defect": t, **res.info})
    if t in SUPERCELL_TYPES:
        from sadpnet.defects.specimen import supercell_specimen

        size = tuple(int(n) for n in variant["supercell"])
        if t in _POINT_KEYS:
            res = _point_defect(crystal, variant)
            relax = {}
            if variant.get("relax"):
                from sadpnet.defects.point import relax_defect

                r = relax_defect(res, variant["relax"]).relax
                relax = {"relax_potential": r.potential, "relax_converged": bool(r.converged),
                         "relax_steps": int(r.steps), "relax_max_force_ev_a": float(r.max_force_ev_a),
                         "relax_max_displacement_a": float(r.max_displacement_a)}
            return supercell_specimen(res.atoms, crystal, size, cells, name=res.description,
                                      metadata={"defect": t, **res.info, **relax})
        from sadpnet.defects.point import make_supercell
        from sadpnet.defects.thermal import debye_snapshots, md_snapshots

        if variant.get("method") == "md":
            res = md_snapshots(make_supercell(crystal, size), variant["temperature_k"], 1, seed=int(variant["seed"]),
                               potential=variant.get("potential"), equilibration_steps=variant["equilibration_steps"])
        else:
            res = debye_snapshots(make_supercell(crystal, size), variant["temperature_k"], 1,
                                  seed=int(variant["seed"]))
        return supercell_specimen(res.snapshots[0], crystal, size, cells,
                                  metadata={"defect": "thermal", "temperature_k": variant["temperature_k"],
                                            **({"method": "md", **res.info} if res.method == "md" else {})})
    raise InputError(f"unsupported variant type {t!r}", "variants")
