"""Planning a dataset: which materials, which split each goes to, and one table row per pattern.

Everything random is drawn here, from the spec's seed, before any pattern is simulated: the table fixes
every pattern completely (material, zone axis, microscope, variant, augmentation, noise seed), so a build
is the same whatever the number of workers and whatever order they finish in.
"""

from __future__ import annotations

import fnmatch
import json
from pathlib import Path

import numpy as np

from sadpnet.errors import InputError

#: Columns of the pattern table, in order (see docs/datasets.md).
TABLE_COLUMNS = (
    "pattern_index", "material_id", "group_id", "family_id", "split", "formula", "space_group",
    "space_group_symbol", "crystal_system", "specimen_space_group", "specimen_crystal_system", "visible_space_group",
    "source", "zone_axis", "zone_u", "zone_v", "zone_w",
    "voltage_kv", "camera_length_mm", "pixel_size_inv_a", "defect_type", "defect_params",
    "inplane_rotation_deg", "tilt_x_mrad", "tilt_y_mrad", "cells", "seed", "augment",
)


def select_materials(spec: dict, where: str = "spec"):
    """The materials a spec selects: DataFrame of corpus rows (plus rows for extra CIFs), sorted by id."""
    import pandas as pd

    from sadpnet.data.corpus import load_index

    c = spec["crystals"]
    df = load_index()
    subsets = set(c["subsets"])
    is_var = df.material_id.str.startswith("var/")
    df = df[(is_var & ("variants" in subsets)) | (~is_var & ("real" in subsets))]
    if c["representatives_only"]:
        df = df[df.representative]
    chosen = pd.Series(False, index=df.index)
    if c["space_groups"]:
        chosen |= df.space_group.isin(c["space_groups"])
    for mid in c["ids"]:
        hit = df.material_id == mid
        if not hit.any():
            all_ids = set(load_index().material_id)
            why = "not in the selected subsets" if mid in all_ids else "no such material in the corpus"
            raise InputError(f"crystals.ids: {mid!r}: {why}", where)
        chosen |= hit
    for pat in c["globs"]:
        chosen |= df.material_id.map(lambda m, p=pat: fnmatch.fnmatchcase(m, p))
    if not (c["space_groups"] or c["ids"] or c["globs"] or c["cifs"]):
        chosen[:] = True
    df = df[chosen]
    for pat in c["exclude"]:
        df = df[~df.material_id.map(lambda m, p=pat: fnmatch.fnmatchcase(m, p))]
    if c["exclude_formulas"]:
        gone = set(c["exclude_formulas"])
        df = df[~(df.formula.isin(gone) | df.family_id.str.split("-", n=1).str[1].isin(gone))]
    if c["max_per_space_group"]:
        rng = np.random.default_rng([spec["seed"], 1])
        keep = []
        for _, g in df.sort_values("material_id").groupby("space_group", sort=True):
            idx = list(g.index)
            if len(idx) > c["max_per_space_group"]:
                # materials named in ids first, then real ones, then variants; a seeded choice within each
                named = [i for i in idx if df.at[i, "material_id"] in set(c["ids"])]
                real = [i for i in idx if not df.at[i, "material_id"].startswith("var/") and i not in set(named)]
                var = [i for i in idx if i not in set(real) | set(named)]
                order = named + list(rng.permutation(real)) + list(rng.permutation(var))
                idx = order[: c["max_per_space_group"]]
            keep += idx
        df = df.loc[sorted(keep)]
    rows = [df]
    if c["cifs"]:
        rows.append(_extra_cif_rows(c["cifs"], where))
    out = pd.concat(rows, ignore_index=True).sort_values("material_id").reset_index(drop=True)
    if out.empty:
        raise InputError("crystals: the selection is empty (no corpus material matches)", where)
    return out


def _extra_cif_rows(paths: list[str], where: str):
    import pandas as pd

    from sadpnet.crystal import read_cif

    rows = []
    for p in paths:
        if not Path(p).is_file():
            raise InputError(f"crystals.cifs: no such CIF file {p}", where)
        cr = read_cif(p)
        gid = f"{cr.space_group_number}-{cr.formula}"
        rows.append({"material_id": f"file/{Path(p).stem}", "group_id": gid, "family_id": gid, "source": str(p),
                     "licence": "user file", "formula": cr.formula, "space_group": cr.space_group_number,
                     "space_group_symbol": cr.space_group_symbol, "crystal_system": cr.crystal_system,
                     "n_atoms": len(cr.atoms), "representative": True, "rule": ""})
    return pd.DataFrame(rows)


def assign_splits(materials, spec: dict):
    """Split name per material (Series aligned with ``materials``): by group or family, stratified by space
    group, seeded; held-out formulas (and variants derived from them) all go to the held-out split."""
    import pandas as pd

    sp = spec["splits"]
    key = materials.group_id if sp["by"] == "group" else materials.family_id
    held = set(sp["held_out"]["formulas"])
    fam_formula = materials.family_id.str.split("-", n=1).str[1]
    is_held = materials.formula.isin(held) | fam_formula.isin(held)
    split = pd.Series("", index=materials.index, dtype=object)
    split[is_held] = sp["held_out"]["split"]
    held_keys = set(key[is_held])
    names = list(sp["fractions"])
    fracs = np.array([sp["fractions"][n] for n in names])
    rng = np.random.default_rng([spec["seed"], 2])
    free = materials[~is_held & ~key.isin(held_keys)]
    for sg, g in free.groupby("space_group", sort=True):
        keys = sorted(set(key[g.index]))
        perm = [keys[i] for i in rng.permutation(len(keys))]
        # largest-remainder allocation of the keys of this space group to the splits
        want = fracs * len(perm)
        n = np.floor(want).astype(int)
        for i in np.argsort(-(want - n), kind="stable")[: len(perm) - n.sum()]:
            n[i] += 1
        bounds = np.concatenate([[0], np.cumsum(n)])
        of = {k: names[j] for j in range(len(names)) for k in perm[bounds[j]:bounds[j + 1]]}
        split[g.index] = [of[k] for k in key[g.index]]
    # a non-held material sharing a key with a held one goes with it
    split[~is_held & key.isin(held_keys)] = sp["held_out"]["split"]
    return split


def zone_axes_for(crystal, spec: dict) -> list[tuple[int, int, int]]:
    from sadpnet.crystal import STANDARD_CUBIC_ZONE_AXES, lowest_index_zone_axes

    za = spec["zone_axes"]
    if isinstance(za, list):
        return [tuple(int(x) for x in ax) for ax in za]
    if isinstance(za, dict):
        return lowest_index_zone_axes(np.asarray(crystal.atoms.cell), za["lowest_index"])
    if crystal.crystal_system == "cubic":
        return [tuple(ax) for ax in STANDARD_CUBIC_ZONE_AXES]
    return lowest_index_zone_axes(np.asarray(crystal.atoms.cell), len(STANDARD_CUBIC_ZONE_AXES))


def variant_zone_axes(crystal, spec: dict, variant: dict) -> list[tuple[int, int, int]]:
    """The variant's own zone axes if its spec entry names them, else the spec's (`zone_axes_for`)."""
    if variant.get("zone_axes"):
        return [tuple(int(x) for x in z) for z in variant["zone_axes"]]
    return zone_axes_for(crystal, spec)


def _strained(crystal, variant: dict):
    """The strained crystal of a strain variant (its own space group, spglib, is the row's
    ``specimen_space_group``), else ``crystal`` itself (a lattice scale keeps the group; thermal snapshots and
    point defects are labelled by their average structure)."""
    if variant["type"] != "strain":
        return crystal
    from sadpnet.data.variants import make_source

    return make_source(crystal, variant)


def plan_table(spec: dict, where: str = "spec"):
    """(materials DataFrame, pattern table DataFrame with `TABLE_COLUMNS`) for a spec.

    Variants that cannot be made for a material (`sadpnet.data.variants.why_not`) are skipped; the list is in
    ``table.attrs["skipped_variants"]`` (material, variant, reason).
    """
    import pandas as pd

    from sadpnet.crystal import crystal_system
    from sadpnet.data.corpus import load_crystal_from_row
    from sadpnet.data.variants import (expand_variants, needs_seed, variant_json, variant_seed, why_not,
                                       with_defaults)
    from sadpnet.data.visible import visible_space_group
    from sadpnet.simulate.microscope import Microscope

    materials = select_materials(spec, where)
    materials["split"] = assign_splits(materials, spec)
    variants = expand_variants(spec["variants"], where)
    m, aug, sim = spec["microscope"], spec["augment"], spec["simulation"]
    rng = np.random.default_rng([spec["seed"], 3])
    cols: dict[str, list] = {c: [] for c in TABLE_COLUMNS}
    skipped: list[dict] = []
    g_half = max(Microscope(float(kv), float(cl) * (1 - aug["calibration_jitter_pct"] / 100), m["image_size_px"],
                            m["detector_pixel_size_mm"]).g_max_inv_a
                 for kv in m["voltages_kv"] for cl in m["camera_lengths_mm"])
    for _, mat in materials.iterrows():
        mid = mat.material_id
        crystal = load_crystal_from_row(mat)
        for variant in variants:
            if variant.get("materials") and not any(fnmatch.fnmatchcase(mid, p) for p in variant["materials"]):
                continue  # the spec limits this variant to other materials
            variant = with_defaults(crystal, variant)
            if needs_seed(variant):  # the seed of a random variant (snapshot, site), fixed in the table
                variant = {**variant, "seed": variant_seed(spec["seed"], mid, variant)}
            reason = why_not(crystal, variant, g_half)
            if reason:
                skipped.append({"material_id": mid, "variant": variant_json(variant), "type": variant["type"],
                                "reason": reason})
                continue
            specimen = _strained(crystal, variant)
            # the material's group is the corpus's (spglib at the source's tolerance, the space_group column);
            # at the loader's 1e-3 A a few relaxed structures come out lower (four mp20 C2/m ones as 1, 5, 8)
            parent_sg = int(mat.space_group)
            sp_sg = parent_sg if specimen is crystal else int(specimen.space_group_number)
            visible = {}  # (zone axis, field) -> visible_space_group (sadpnet.data.visible)
            # widest reciprocal range (high voltage, short camera length) first, see build.compute_chunk
            for kv in sorted(m["voltages_kv"], reverse=True):
                for cl in sorted(m["camera_lengths_mm"]):
                    for ax in variant_zone_axes(crystal, spec, variant):
                        for _ in range(aug["rotations_per_pattern"]):
                            rot = float(rng.uniform(*aug["inplane_rotation_deg"]))
                            tilt = rng.uniform(-aug["tilt_mrad"], aug["tilt_mrad"], 2) if aug["tilt_mrad"] else np.zeros(2)
                            jit = float(rng.uniform(-1, 1)) * aug["calibration_jitter_pct"] / 100
                            cj = aug["cells_jitter"]
                            cells = [int(n + (rng.integers(-cj, cj + 1) if cj else 0)) for n in sim["cells"]]
                            seed = int(rng.integers(0, 2**31 - 1))
                            choices = {k: vals[int(rng.integers(len(vals)))]
                                       for k, vals in sorted(aug["render_choices"].items())}
                            cl_act = float(cl) * (1 + jit)
                            mic = Microscope(float(kv), cl_act, m["image_size_px"], m["detector_pixel_size_mm"])
                            g_vis = round(min(mic.g_max_inv_a, spec["labels"]["visible_g_max_inv_a"]), 3)
                            if (tuple(ax), g_vis) not in visible:
                                visible[tuple(ax), g_vis] = visible_space_group(
                                    crystal, specimen, ax, shift_inv_a=spec["labels"]["visible_shift_inv_a"],
                                    g_max_inv_a=g_vis, parent_group=parent_sg)
                            for k, v in (
                                ("material_id", mid), ("group_id", mat.group_id), ("family_id", mat.family_id),
                                ("split", mat.split), ("formula", mat.formula), ("space_group", int(mat.space_group)),
                                ("space_group_symbol", mat.space_group_symbol), ("crystal_system", mat.crystal_system),
                                ("specimen_space_group", sp_sg), ("specimen_crystal_system", crystal_system(sp_sg)),
                                ("visible_space_group", visible[tuple(ax), g_vis]),
                                ("source", mat.source), ("zone_axis", "[" + " ".join(str(x) for x in ax) + "]"),
                                ("zone_u", ax[0]), ("zone_v", ax[1]), ("zone_w", ax[2]), ("voltage_kv", float(kv)),
                                ("camera_length_mm", cl_act), ("pixel_size_inv_a", mic.pixel_size_inv_a),
                                ("defect_type", variant["type"]), ("defect_params", variant_json(variant)),
                                ("inplane_rotation_deg", rot), ("tilt_x_mrad", float(tilt[0])),
                                ("tilt_y_mrad", float(tilt[1])), ("cells", " ".join(map(str, cells))), ("seed", seed),
                                ("augment", json.dumps({"nominal_camera_length_mm": float(cl),
                                                        "calibration_jitter": jit, "cells": cells,
                                                        "render": choices}, sort_keys=True)),
                            ):
                                cols[k].append(v)
    n = len(cols["material_id"])
    cols["pattern_index"] = list(range(n))
    table = pd.DataFrame(cols, columns=list(TABLE_COLUMNS))
    if table.empty:
        raise InputError("the plan holds no pattern (every variant was skipped for every material)", where)
    table.attrs["skipped_variants"] = skipped
    return materials, table
