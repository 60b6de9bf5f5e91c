"""Dataset specs: a YAML (or JSON) file that says which patterns a dataset holds.

A spec is validated key by key; an unknown key, a wrong type or an out-of-range value raises
`sadpnet.errors.InputError` naming the key (``spec.yaml: microscope.voltages_kv: ...``). All keys but
``name`` have defaults. The full schema, with units (see also docs/datasets.md)::

    name: paper-five                 # free text
    seed: 0                          # every random choice of the build derives from it
    crystals:
      space_groups: [213, 221, 225, 227, 229]   # corpus materials of these space groups ([] = all)
      ids: []                        # corpus material ids (added to the selection)
      globs: []                      # fnmatch patterns on material ids, e.g. "cod/*"
      subsets: [real, variants]      # corpus subsets: real (shipped CIFs), variants (derived)
      representatives_only: true     # one file per material (group)
      max_per_space_group: 0         # > 0: a seeded sample of at most this many materials per space group
      exclude: []                    # material ids or fnmatch patterns left out
      exclude_formulas: []           # materials of these formulas and the variants made from them left out
      cifs: []                       # extra CIF files outside the corpus (paths relative to the spec)
    splits:
      fractions: {train: 0.8, val: 0.1, test: 0.1}
      by: group                      # group (material) or family (material + the variants made from it)
      held_out: {formulas: [], split: test}   # these formulas (and variants made from them) go to `split`
    microscope:
      voltages_kv: [100, 200, 300]
      camera_lengths_mm: [250, 300, 350]
      image_size_px: 256
      detector_pixel_size_mm: 0.1
    zone_axes: standard              # standard (16 cubic axes, the N lowest-index axes for other systems),
                                     # or a list [[0,0,1], ...], or {lowest_index: N}
    simulation: {engine: cell, cells: [40, 30, 20], debye_waller: true, oversample: 4}
                                     # engine: cell | atoms | dynamical; oversample: sub-pixels per pixel side
    variants: [{type: none}]         # none | lattice_scale {scale_pct} | strain {normal_pct | shear_rad |
                                     # strain_voigt} | thermal {temperature_k, supercell, snapshots} |
                                     # vacancy {supercell, relax} | substitute {element, site, supercell,
                                     # relax} | interstitial {element, site, supercell, relax} | twin {plane,
                                     # direction, fraction} | dislocation {line, burgers, count};
                                     # any entry may add zone_axes: [[u,v,w], ...] (its own axes) and
                                     # materials: [ids or patterns] (only those materials)
                                     # (see sadpnet.data.variants)
    augment:
      rotations_per_pattern: 1       # copies with different in-plane rotations
      inplane_rotation_deg: [0, 0]   # uniform range; [0, 360] for random rotations
      tilt_mrad: 0                   # uniform tilt off the axis, |tilt| <= this, about x and y
      calibration_jitter_pct: 0      # camera length scaled by 1 + uniform(-p, p)/100
      cells_jitter: 0                # each of N1, N2, N3 varied by up to this many cells (thickness, size)
      render_choices: {}             # render key -> list of values, one drawn per pattern, e.g.
                                     # {noise: [null, 1.0e+6], beam_stop: [null, 6], mapping: [log, gamma]}
    render: {}                       # keyword arguments of sadpnet.simulate.detector.render
    storage: {dtype: uint8, chunk_patterns: 64}
    labels:                          # the visible_space_group column (sadpnet.data.visible)
      visible_shift_inv_a: 0.0133    # a spot moved by more than this (1/A, after the best scale and
                                     # rotation) makes a strained crystal's lowered symmetry visible
      visible_g_max_inv_a: 1.70      # only reflections up to this |g| (1/A) and inside the pattern count

`spec_hash` identifies a spec (its normalised content); a store built from one spec refuses another.
"""

from __future__ import annotations

import copy
import hashlib
import json
from pathlib import Path
from typing import Any

from sadpnet.data.variants import ENTRY_KEYS
from sadpnet.data.visible import VISIBLE_G_MAX_INV_A, VISIBLE_SHIFT_INV_A
from sadpnet.errors import InputError

DEFAULTS: dict[str, Any] = {
    "name": "",
    "seed": 0,
    "crystals": {"space_groups": [], "ids": [], "globs": [], "subsets": ["real", "variants"],
                 "representatives_only": True, "max_per_space_group": 0, "exclude": [], "exclude_formulas": [],
                 "cifs": []},
    "splits": {"fractions": {"train": 0.8, "val": 0.1, "test": 0.1}, "by": "group",
               "held_out": {"formulas": [], "split": "test"}},
    "microscope": {"voltages_kv": [100.0, 200.0, 300.0], "camera_lengths_mm": [250.0, 300.0, 350.0],
                   "image_size_px": 256, "detector_pixel_size_mm": 0.1},
    "zone_axes": "standard",
    "simulation": {"engine": "cell", "cells": [40, 30, 20], "debye_waller": True, "oversample": 4},
    "variants": [{"type": "none"}],
    "augment": {"rotations_per_pattern": 1, "inplane_rotation_deg": [0.0, 0.0], "tilt_mrad": 0.0,
                "calibration_jitter_pct": 0.0, "cells_jitter": 0, "render_choices": {}},
    "render": {},
    "storage": {"dtype": "uint8", "chunk_patterns": 64},
    "labels": {"visible_shift_inv_a": VISIBLE_SHIFT_INV_A, "visible_g_max_inv_a": VISIBLE_G_MAX_INV_A},
}
_FREE_DICTS = {"render", "render_choices"}  # passed through to another API, checked there


#: Keyword arguments of sadpnet.simulate.detector.render.
_RENDER_KEYS = ("direct_beam", "direct_beam_ratio", "psf_sigma_px", "beam_stop", "noise", "mapping", "gamma",
                "dynamic_range", "bits", "seed")


class _Checker:
    def __init__(self, where: str):
        self.where = where

    def fail(self, key: str, problem: str):
        raise InputError(f"{key}: {problem}", self.where)

    def number(self, key, v, lo=None, hi=None, integer=False):
        if isinstance(v, bool) or not isinstance(v, (int, float)) or (integer and int(v) != v):
            self.fail(key, f"expected {'an integer' if integer else 'a number'}, got {v!r}")
        if (lo is not None and v < lo) or (hi is not None and v > hi):
            self.fail(key, f"must be in [{lo}, {hi}], got {v!r}")
        return int(v) if integer else float(v)

    def numbers(self, key, v, lo=None, hi=None, integer=False, nonempty=True):
        if not isinstance(v, (list, tuple)):
            v = [v]
        if nonempty and not v:
            self.fail(key, "must not be empty")
        return [self.number(f"{key}[{i}]", x, lo, hi, integer) for i, x in enumerate(v)]

    def strings(self, key, v):
        if isinstance(v, str):
            v = [v]
        if not isinstance(v, (list, tuple)) or not all(isinstance(x, str) for x in v):
            self.fail(key, f"expected a list of strings, got {v!r}")
        return list(v)


def _merge(defaults: dict, given: dict, prefix: str, chk: _Checker) -> dict:
    if not isinstance(given, dict):
        chk.fail(prefix.rstrip("."), f"expected a mapping, got {type(given).__name__}")
    out = copy.deepcopy(defaults)
    for k, v in given.items():
        if k not in defaults:
            known = ", ".join(sorted(defaults))
            chk.fail(f"{prefix}{k}", f"unknown key (known here: {known})")
        if isinstance(defaults[k], dict) and k not in _FREE_DICTS and prefix + k != "splits.fractions":
            out[k] = _merge(defaults[k], v, f"{prefix}{k}.", chk)
        else:
            out[k] = v
    return out


def normalize_spec(raw: dict, where: str = "spec") -> dict:
    """Validated spec with defaults filled in (see the module docstring); raises InputError naming the key."""
    chk = _Checker(where)
    if not isinstance(raw, dict):
        chk.fail("(top level)", "a spec is a mapping of keys")
    s = _merge(DEFAULTS, raw, "", chk)
    s["name"] = str(s["name"])
    s["seed"] = chk.number("seed", s["seed"], 0, 2**32 - 1, integer=True)
    c = s["crystals"]
    c["space_groups"] = chk.numbers("crystals.space_groups", c["space_groups"], 1, 230, True, nonempty=False)
    for k in ("ids", "globs", "exclude", "exclude_formulas", "cifs", "subsets"):
        c[k] = chk.strings(f"crystals.{k}", c[k])
    for x in c["subsets"]:
        if x not in ("real", "variants"):
            chk.fail("crystals.subsets", f"unknown subset {x!r} (known: real, variants)")
    if not isinstance(c["representatives_only"], bool):
        chk.fail("crystals.representatives_only", "expected true or false")
    c["max_per_space_group"] = chk.number("crystals.max_per_space_group", c["max_per_space_group"], 0, None, True)
    base = Path(where).parent if where != "spec" else Path(".")
    c["cifs"] = [str((base / p).resolve()) if not Path(p).is_absolute() else p for p in c["cifs"]]
    sp = s["splits"]
    fr = sp["fractions"]
    if not isinstance(fr, dict) or not fr:
        chk.fail("splits.fractions", "expected a mapping split -> fraction")
    sp["fractions"] = {str(k): chk.number(f"splits.fractions.{k}", v, 0, 1) for k, v in fr.items()}
    if abs(sum(sp["fractions"].values()) - 1) > 1e-6:
        chk.fail("splits.fractions", f"fractions must add up to 1, got {sum(sp['fractions'].values())}")
    if sp["by"] not in ("group", "family"):
        chk.fail("splits.by", f"expected group or family, got {sp['by']!r}")
    ho = sp["held_out"]
    ho["formulas"] = chk.strings("splits.held_out.formulas", ho["formulas"])
    if ho["formulas"] and ho["split"] not in sp["fractions"]:
        chk.fail("splits.held_out.split", f"{ho['split']!r} is not one of the splits {list(sp['fractions'])}")
    m = s["microscope"]
    m["voltages_kv"] = chk.numbers("microscope.voltages_kv", m["voltages_kv"], 1, 5000)
    m["camera_lengths_mm"] = chk.numbers("microscope.camera_lengths_mm", m["camera_lengths_mm"], 1, 1e5)
    m["image_size_px"] = chk.number("microscope.image_size_px", m["image_size_px"], 8, 4096, True)
    m["detector_pixel_size_mm"] = chk.number("microscope.detector_pixel_size_mm", m["detector_pixel_size_mm"], 1e-4, 10)
    za = s["zone_axes"]
    if isinstance(za, str):
        if za != "standard":
            chk.fail("zone_axes", f"expected 'standard', a list of [u, v, w] or {{lowest_index: N}}, got {za!r}")
    elif isinstance(za, dict):
        if set(za) != {"lowest_index"}:
            chk.fail("zone_axes", f"unknown keys {sorted(set(za) - {'lowest_index'})} (known: lowest_index)")
        za["lowest_index"] = chk.number("zone_axes.lowest_index", za["lowest_index"], 1, 200, True)
    elif isinstance(za, list) and za:
        s["zone_axes"] = [chk.numbers(f"zone_axes[{i}]", ax, integer=True) for i, ax in enumerate(za)]
        for i, ax in enumerate(s["zone_axes"]):
            if len(ax) != 3 or not any(ax):
                chk.fail(f"zone_axes[{i}]", f"a zone axis is three integers, not all zero; got {ax}")
    else:
        chk.fail("zone_axes", f"expected 'standard', a non-empty list of [u, v, w] or {{lowest_index: N}}, got {za!r}")
    sim = s["simulation"]
    if sim["engine"] not in ("cell", "atoms", "dynamical"):
        chk.fail("simulation.engine", f"expected cell, atoms or dynamical, got {sim['engine']!r}")
    sim["cells"] = chk.numbers("simulation.cells", sim["cells"], 1, 10000, True)
    if len(sim["cells"]) != 3:
        chk.fail("simulation.cells", f"expected three integers, got {sim['cells']}")
    sim["oversample"] = chk.number("simulation.oversample", sim["oversample"], 1, 16, True)
    if not isinstance(sim["debye_waller"], (bool, int, float)):
        chk.fail("simulation.debye_waller", "expected true, false or a B factor in A^2")
    if not isinstance(s["variants"], list) or not s["variants"]:
        chk.fail("variants", "expected a non-empty list of {type: ..., parameters}")
    for i, v in enumerate(s["variants"]):
        if not isinstance(v, dict) or "type" not in v:
            chk.fail(f"variants[{i}]", "each variant is a mapping with a 'type'")
        # ENTRY_KEYS (zone_axes, materials) may be on any entry (checked by sadpnet.data.variants.expand_variants)
        if v["type"] == "lattice_scale":
            extra = set(v) - {"type", "scale_pct", *ENTRY_KEYS}
            if extra:
                chk.fail(f"variants[{i}]", f"unknown keys {sorted(extra)} for lattice_scale (known: scale_pct)")
            v["scale_pct"] = chk.numbers(f"variants[{i}].scale_pct", v.get("scale_pct", [0.0]), -20, 20)
        elif v["type"] == "none" and set(v) - {"type", *ENTRY_KEYS}:
            chk.fail(f"variants[{i}]", f"type none takes no parameters (but {', '.join(ENTRY_KEYS)}), got "
                                       f"{sorted(set(v) - {'type', *ENTRY_KEYS})}")
    a = s["augment"]
    a["rotations_per_pattern"] = chk.number("augment.rotations_per_pattern", a["rotations_per_pattern"], 1, 1000, True)
    a["inplane_rotation_deg"] = chk.numbers("augment.inplane_rotation_deg", a["inplane_rotation_deg"], -360, 360)
    if len(a["inplane_rotation_deg"]) == 1:
        a["inplane_rotation_deg"] *= 2
    if len(a["inplane_rotation_deg"]) != 2 or a["inplane_rotation_deg"][0] > a["inplane_rotation_deg"][1]:
        chk.fail("augment.inplane_rotation_deg", "expected a range [low, high] in degrees")
    a["tilt_mrad"] = chk.number("augment.tilt_mrad", a["tilt_mrad"], 0, 200)
    a["calibration_jitter_pct"] = chk.number("augment.calibration_jitter_pct", a["calibration_jitter_pct"], 0, 50)
    a["cells_jitter"] = chk.number("augment.cells_jitter", a["cells_jitter"], 0, 1000, True)
    if a["cells_jitter"] >= min(sim["cells"]):
        chk.fail("augment.cells_jitter", f"must be smaller than the smallest of simulation.cells {sim['cells']}")
    rc = a["render_choices"]
    if not isinstance(rc, dict) or not all(isinstance(v, list) and v for v in rc.values()):
        chk.fail("augment.render_choices", "expected a mapping of render keys to non-empty lists of values")
    for k in rc:
        if k not in _RENDER_KEYS or k == "seed":
            chk.fail(f"augment.render_choices.{k}", f"not a render option (known: {', '.join(_RENDER_KEYS)})")
    if not isinstance(s["render"], dict):
        chk.fail("render", "expected a mapping of keyword arguments of sadpnet.simulate.detector.render")
    for k in s["render"]:
        if k not in _RENDER_KEYS or k in ("seed", "bits"):
            chk.fail(f"render.{k}", "not a render option set by specs (known: "
                     f"{', '.join(x for x in _RENDER_KEYS if x not in ('seed', 'bits'))}; bits comes from storage.dtype)")
    st = s["storage"]
    if st["dtype"] not in ("uint8", "uint16"):
        chk.fail("storage.dtype", f"expected uint8 or uint16, got {st['dtype']!r}")
    st["chunk_patterns"] = chk.number("storage.chunk_patterns", st["chunk_patterns"], 1, 4096, True)
    lab = s["labels"]
    lab["visible_shift_inv_a"] = chk.number("labels.visible_shift_inv_a", lab["visible_shift_inv_a"], 0, 10)
    lab["visible_g_max_inv_a"] = chk.number("labels.visible_g_max_inv_a", lab["visible_g_max_inv_a"], 1e-3, 100)
    return s


def load_spec(path: str | Path) -> dict:
    """Read and validate a spec file (YAML or JSON)."""
    import yaml

    path = Path(path)
    if not path.is_file():
        raise InputError("no such spec file", path)
    try:
        raw = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise InputError(f"not valid YAML ({' '.join(str(exc).split())})", path) from None
    return normalize_spec(raw if raw is not None else {}, str(path))


#: Keys added after store version 1 was first used, left out of the hash while they hold their default
#: (so stores built before they existed still match their spec).
_LATER_KEYS = (("crystals", "exclude_formulas"), ("simulation", "oversample"), ("labels", "visible_shift_inv_a"),
               ("labels", "visible_g_max_inv_a"))


def spec_hash(spec: dict) -> str:
    """SHA-256 (hex, 16 chars) of the normalised spec."""
    s = copy.deepcopy(spec)
    for sect, key in _LATER_KEYS:
        if sect in s and s[sect].get(key, DEFAULTS[sect][key]) == DEFAULTS[sect][key]:
            s[sect].pop(key, None)
            if not s[sect]:  # a section added later, all at its defaults
                s.pop(sect)
    return hashlib.sha256(json.dumps(s, sort_keys=True).encode()).hexdigest()[:16]
