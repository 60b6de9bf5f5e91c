"""The dataset card: what a store holds (counts per class, split and zone axis), how and when it was built.

Written as ``card.json`` (machine-readable) and ``card.md`` (a Markdown summary) when a build completes;
the counts are computed from the table, so they always match it.
"""

from __future__ import annotations

import json
import platform
from pathlib import Path

from sadpnet.atomic_write import write_text_atomic


def _versions() -> dict:
    import importlib.metadata as md

    out = {"python": platform.python_version()}
    for pkg in ("sadpnet", "numpy", "zarr", "dask", "distributed", "pandas", "pyarrow", "spglib", "ase"):
        try:
            out[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            out[pkg] = None
    return out


def make_card(table, spec: dict, meta: dict, build_seconds: float, workers: str,
              relaxation: list[dict] | None = None) -> dict:
    """The card of a store from its table (pandas DataFrame), spec and store metadata; ``relaxation``: the
    records of the relaxed point-defect variants (`sadpnet.data.store.read_relaxation`)."""
    def counts(col):
        return {str(k): int(v) for k, v in table[col].value_counts().sort_index().items()}

    per_split = {}
    for split, g in table.groupby("split", sort=True):
        per_split[str(split)] = {
            "patterns": int(len(g)), "materials": int(g.material_id.nunique()), "groups": int(g.group_id.nunique()),
            "per_space_group": {str(k): int(v) for k, v in g.space_group.value_counts().sort_index().items()},
            "materials_per_space_group": {str(k): int(v) for k, v in g.groupby("space_group").material_id.nunique().items()},
        }
    return {
        "name": spec.get("name", ""), "n_patterns": int(len(table)), "n_materials": int(table.material_id.nunique()),
        "image_size_px": meta["image_size_px"], "dtype": meta["dtype"], "store_version": meta["store_version"],
        "spec_hash": meta["spec_hash"], "simulator_digest": meta.get("simulator_digest"),
        "per_space_group": counts("space_group"),
        "per_crystal_system": counts("crystal_system"), "per_zone_axis": counts("zone_axis"),
        "per_split": per_split, "per_defect_type": counts("defect_type"),
        "voltages_kv": sorted(float(x) for x in table.voltage_kv.unique()),
        "pixel_size_inv_a_range": [float(table.pixel_size_inv_a.min()), float(table.pixel_size_inv_a.max())],
        "held_out_formulas": spec["splits"]["held_out"]["formulas"],
        "skipped_variants": meta.get("skipped_variants", []),
        "build_seconds": round(float(build_seconds), 2), "workers": workers, "versions": _versions(), "spec": spec,
        "relaxation": relaxation_summary(relaxation or []),
    }


def relaxation_summary(records: list[dict]) -> dict:
    """Convergence of the relaxed point-defect variants: counts, the largest residual force (eV/A) and steps,
    the variants that did not converge, and every record."""
    if not records:
        return {"n_relaxed": 0}
    bad = [r for r in records if not r["relax_converged"]]
    return {"n_relaxed": len(records), "n_converged": len(records) - len(bad),
            "max_residual_force_ev_a": max(float(r["relax_max_force_ev_a"]) for r in records),
            "max_steps": max(int(r["relax_steps"]) for r in records),
            "max_displacement_a": max(float(r["relax_max_displacement_a"]) for r in records),
            "potentials": sorted({r["relax_potential"] for r in records}),
            "not_converged": [f"{r['material_id']} {r['defect_type']} {r['defect_params']}" for r in bad],
            "variants": records}


def card_markdown(card: dict) -> str:
    lines = [f"# Dataset card: {card['name'] or '(unnamed)'}", "",
             f"{card['n_patterns']} patterns of {card['n_materials']} materials, {card['image_size_px']} px "
             f"{card['dtype']}; store version {card['store_version']}, spec {card['spec_hash']}, simulator "
             f"{card.get('simulator_digest')}; built in "
             f"{card['build_seconds']} s ({card['workers']}).", "",
             "| split | patterns | materials | " + " | ".join(f"SG {k}" for k in card["per_space_group"]) + " |",
             "|---|---|---|" + "---|" * len(card["per_space_group"])]
    for s, d in card["per_split"].items():
        lines.append(f"| {s} | {d['patterns']} | {d['materials']} | " + " | ".join(
            f"{d['per_space_group'].get(k, 0)} ({d['materials_per_space_group'].get(k, 0)} mat.)"
            for k in card["per_space_group"]) + " |")
    lines += ["", "Patterns per zone axis: " + ", ".join(f"{k} {v}" for k, v in card["per_zone_axis"].items()), "",
              "Patterns per defect type: " + ", ".join(f"{k} {v}" for k, v in card["per_defect_type"].items()), "",
              f"Variants skipped (could not be made for a material): {len(card.get('skipped_variants', []))}"
              + "".join(f"\n- {s['material_id']} {s['type']} {s['variant']}: {s['reason']}"
                        for s in card.get("skipped_variants", [])[:20]), "",
              _relaxation_line(card.get("relaxation") or {}), "",
              f"Voltages (kV): {card['voltages_kv']}; calibration {card['pixel_size_inv_a_range'][0]:.5f}-"
              f"{card['pixel_size_inv_a_range'][1]:.5f} 1/A per pixel. Held out: {card['held_out_formulas'] or 'none'}.",
              "", "Versions: " + ", ".join(f"{k} {v}" for k, v in card["versions"].items()), ""]
    return "\n".join(lines)


def _relaxation_line(r: dict) -> str:
    if not r.get("n_relaxed"):
        return "Relaxed point-defect variants: none."
    line = (f"Relaxed point-defect variants: {r['n_relaxed']} ({', '.join(r['potentials'])}), {r['n_converged']} "
            f"converged (largest force left {r['max_residual_force_ev_a']:.3g} eV/A, at most {r['max_steps']} steps, "
            f"largest displacement {r['max_displacement_a']:.3g} A)")
    return line + "".join(f"\n- not converged: {v}" for v in r["not_converged"][:20])


def write_card(root: Path, card: dict) -> None:
    write_text_atomic(Path(root) / "card.json", json.dumps(card, indent=1, sort_keys=True))
    write_text_atomic(Path(root) / "card.md", card_markdown(card))


def read_card(root: str | Path) -> dict:
    from sadpnet.data.store import read_meta
    from sadpnet.errors import InputError

    read_meta(root)
    p = Path(root) / "card.json"
    if not p.is_file():
        raise InputError("the build is not complete (no card.json); run the same build command to resume", root)
    return json.loads(p.read_text())
