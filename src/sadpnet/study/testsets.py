"""Every test set of the paper for Al and Fe, and its patterns over the voltage x camera length x zone axis grid.

A test set is a `TestSetSpec` (material, defect, parameters, zone axes, the paper row it is compared with).
`paper_test_sets` lists them; `build_source` makes the specimen with `sadpnet.defects` (the atoms) and
`simulate_set` simulates it with `sadpnet.simulate` over a `Grid` and renders detector images. No physics is
written here: strain, thermal displacements, relaxed point defects, dislocations and twins come from the
defects stage, diffraction from the simulate stage.

Quick mode (`Grid.quick`) simulates a few grid points per set (the same points for every set of a material
and zone-axis list, drawn with the study's seed), full mode (`Grid.full`) the paper's whole grid.
"""

from __future__ import annotations

import functools
import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from sadpnet.errors import InputError
from sadpnet.study.paper import PAPER_SETTINGS

#: True space group of the two model materials.
SPACE_GROUPS = {"Al": 225, "Fe": 229}

#: Strain steps: full mode every 0.25 % (normal) and 0.0025 rad (shear); quick mode at least 8 steps each.
NORMAL_STRAINS_FULL = tuple(round(x, 4) for x in np.arange(0.0, 0.05 + 1e-9, 0.0025))
SHEAR_STRAINS_RAD_FULL = tuple(round(x, 4) for x in np.arange(0.0, 0.035 + 1e-9, 0.0025))
NORMAL_STRAINS_QUICK = (0.0, 0.01, 0.015, 0.02, 0.025, 0.03, 0.035, 0.04, 0.05)
SHEAR_STRAINS_RAD_QUICK = (0.0, 0.005, 0.01, 0.015, 0.02, 0.025, 0.03, 0.035)


@dataclass(frozen=True)
class TestSetSpec:
    """One test set of the study.

    Attributes:
        key: unique identifier, e.g. ``"Al-vacancy-3x3x3"``.
        label: the set in words, e.g. ``"Al vacancy 1/108 (3x3x3)"``.
        material: ``"Al"`` or ``"Fe"``.
        defect: one of pristine, strain-normal, strain-shear, thermal-md, thermal-debye, vacancy,
            substitution, interstitial, dislocation, twin; or one of thermal-md, vacancy, substitution,
            interstitial followed by ``-shuffled``: the same supercell, its repeats shuffled
            (`sadpnet.defects.specimen.shuffled_supercell_specimen`: defects at random places, no
            superlattice reflections), not a paper row.
        params: defect parameters as sorted (name, value) pairs (strain as a fraction or in rad,
            temperature_k, supercell, ...).
        zone_axes: the zone axes of the set, or None for the 16 standard cubic axes.
        paper_row: key of the `sadpnet.study.paper.PAPER_ROWS` row it is compared with, or None.
    """

    __test__ = False  # not a pytest test class

    key: str
    label: str
    material: str
    defect: str
    params: tuple = ()
    zone_axes: tuple | None = None
    paper_row: str | None = None

    @property
    def space_group(self) -> int:
        return SPACE_GROUPS[self.material]

    @property
    def param(self) -> dict:
        return dict(self.params)

    @property
    def shuffled(self) -> bool:
        """Whether the set's supercell repeats are shuffled (see `SHUFFLED_SUFFIX`)."""
        return self.defect.endswith(SHUFFLED_SUFFIX)

    @property
    def base(self) -> "TestSetSpec":
        """The periodic set a shuffled set is made from (itself otherwise)."""
        if not self.shuffled:
            return self
        import dataclasses

        return dataclasses.replace(self, key=self.key.removesuffix(SHUFFLED_SUFFIX),
                                   defect=self.defect.removesuffix(SHUFFLED_SUFFIX))

    @property
    def periodic_construction(self) -> bool:
        """Whether the set is a thermal or point-defect supercell repeated identically (the paper's way)."""
        return not self.shuffled and self.family in ("thermal", "point")

    @property
    def family(self) -> str:
        """Defect family used to group rows (strain-normal, thermal, point, dislocation, ...; shuffled
        supercell repeats: thermal-shuffled, point-shuffled)."""
        tail = SHUFFLED_SUFFIX if self.shuffled else ""
        d = self.base.defect
        if d in ("vacancy", "substitution", "interstitial"):
            return "point" + tail
        if d.startswith("thermal"):
            return "thermal" + tail
        return d


#: Suffix of the defect (and key) of a set whose supercell repeats are shuffled.
SHUFFLED_SUFFIX = "-shuffled"


#: Label suffix of a set whose supercell repeats are shuffled.
SHUFFLED_LABEL = ", random blocks"


def shuffled_sets(sets: list[TestSetSpec]) -> list[TestSetSpec]:
    """A random-blocks twin of every thermal and point-defect set: defects and displacements at random places
    through the whole specimen (`build_source`), as a microscopist meets them. It answers the same paper row:
    the study's primary rows are these; the paper's periodic construction keeps its own rows."""
    import dataclasses

    return [dataclasses.replace(s, key=s.key + SHUFFLED_SUFFIX, defect=s.defect + SHUFFLED_SUFFIX,
                                label=s.label + SHUFFLED_LABEL)
            for s in sets if s.defect in ("thermal-md", "thermal-debye", "vacancy", "substitution", "interstitial")]


def _p(**kw) -> tuple:
    return tuple(sorted((k, tuple(v) if isinstance(v, list) else v) for k, v in kw.items()))


def paper_test_sets(quick: bool = True, materials: tuple[str, ...] = ("Al", "Fe"),
                    shuffled: bool = True) -> list[TestSetSpec]:
    """All test sets of the paper (and their Fe counterparts asked for by issue 6), in report order; with
    ``shuffled``, also a random-blocks twin of every thermal and point-defect set (`shuffled_sets`)."""
    normal = NORMAL_STRAINS_QUICK if quick else NORMAL_STRAINS_FULL
    shear = SHEAR_STRAINS_RAD_QUICK if quick else SHEAR_STRAINS_RAD_FULL
    sets: list[TestSetSpec] = []
    for m in materials:
        sets.append(TestSetSpec(f"{m}-pristine", f"{m} pristine (0 K)", m, "pristine",
                                paper_row="pristine" if m == "Al" else None))
    for m in materials:
        for t in PAPER_SETTINGS["thermal_temperatures_k"]:
            row = f"thermal-{t:g}K" if m == "Al" else None
            sets.append(TestSetSpec(f"{m}-thermal-md-{t:g}K", f"{m} thermal {t:g} K (MD snapshot)", m,
                                    "thermal-md", _p(temperature_k=t), paper_row=row))
        for t in PAPER_SETTINGS["thermal_temperatures_k"]:
            sets.append(TestSetSpec(f"{m}-thermal-debye-{t:g}K", f"{m} thermal {t:g} K (Debye model)", m,
                                    "thermal-debye", _p(temperature_k=t), paper_row=None))
    for m in materials:
        sizes = PAPER_SETTINGS["point_defect_supercells"][m]
        for i, size in enumerate(sizes):  # first size = high concentration
            n_sites = len(_crystal(m).atoms) * int(np.prod(size))
            conc = "high" if i == 0 else "low"
            tag = "x".join(map(str, size))
            # the paper's high-concentration vacancy number is its Fe 3x3x3 case; Al 2x2x2 has no number of its own
            vac_row = None if (m == "Al" and conc == "high") else f"vacancy-{conc}"
            sets.append(TestSetSpec(f"{m}-vacancy-{tag}", f"{m} vacancy 1/{n_sites} ({tag})", m, "vacancy",
                                    _p(supercell=size), paper_row=vac_row))
            sub = PAPER_SETTINGS["substitute"][m]
            sets.append(TestSetSpec(f"{m}-substitution-{tag}", f"{m} substitutional {sub} 1/{n_sites} ({tag})", m,
                                    "substitution", _p(supercell=size, element=sub), paper_row=f"substitution-{conc}"))
    if "Al" in materials:
        sets.append(TestSetSpec("Al-interstitial-3x3x3", "Al interstitial C, tetrahedral site (3x3x3)", "Al",
                                "interstitial", _p(supercell=(3, 3, 3), element="C", site="tetrahedral"),
                                paper_row="interstitial"))
    if shuffled:
        sets += shuffled_sets(sets)
    if "Al" in materials:
        dis = PAPER_SETTINGS["dislocation"]
        for za in dis["zone_axes"]:
            tag = "".join(map(str, za))
            sets.append(TestSetSpec(f"Al-dislocation-{tag}", f"Al array of {dis['count']} edge dislocations, [{tag}]",
                                    "Al", "dislocation", _p(count=dis["count"], line=dis["line"]), zone_axes=(za,),
                                    paper_row="dislocation"))
    for m in materials:
        tw = PAPER_SETTINGS["twin"][m]
        za = tw["zone_axis"]
        sets.append(TestSetSpec(f"{m}-twin", f"{m} twin boundary ({''.join(map(str, tw['plane']))}), "
                                f"[{''.join(map(str, za))}]", m, "twin",
                                _p(plane=tw["plane"], direction=tw["direction"]), zone_axes=(za,), paper_row="twin"))
    for m in materials:
        for e in normal:
            sets.append(TestSetSpec(f"{m}-strain-normal-{e:.4f}", f"{m} normal strain {100 * e:.2f} %", m,
                                    "strain-normal", _p(strain=e), paper_row="strain-normal"))
        for g in shear:
            sets.append(TestSetSpec(f"{m}-strain-shear-{g:.4f}", f"{m} shear strain {g:.4f} rad", m,
                                    "strain-shear", _p(strain=g), paper_row="strain-shear"))
    return sets


#: Side of the detector's field of view, mm: the paper's 256 pixels of 0.1 mm (`Grid.with_size_px` keeps it).
FIELD_OF_VIEW_MM = 0.1 * PAPER_SETTINGS["image_size_px"]


@dataclass(frozen=True)
class Grid:
    """The microscope grid of the study.

    Attributes:
        voltages_kv, camera_lengths_mm: the grid's voltages (kV) and camera lengths (mm).
        zone_axes: the standard zone axes (sets with their own zone axes use theirs).
        patterns_per_set: grid points simulated per set; None = every point (full mode).
        size_px: detector image side, pixels.
        detector_pixel_size_mm: detector pixel side, mm (a smaller image with larger pixels keeps the field).
        cells: specimen size in conventional cells (a, b, c) for pristine and strained crystals.
        supercell_repeats: repeats of point-defect and thermal supercells (the paper: 10 x 10 x 10).
        seed: seed of the choice of grid points in quick mode.
    """

    voltages_kv: tuple[float, ...]
    camera_lengths_mm: tuple[float, ...]
    zone_axes: tuple[tuple[int, int, int], ...]
    patterns_per_set: int | None = None
    size_px: int = 256
    cells: tuple[int, int, int] = (40, 30, 20)
    supercell_repeats: tuple[int, int, int] = (10, 10, 10)
    seed: int = 0
    detector_pixel_size_mm: float = 0.1
    extra: dict = field(default_factory=dict, compare=False)

    @classmethod
    def full(cls, seed: int = 0, size_px: int = 256) -> "Grid":
        """The paper's whole grid, with ``size_px`` detector images (`with_size_px`)."""
        from sadpnet.crystal import STANDARD_CUBIC_ZONE_AXES
        from sadpnet.simulate.microscope import DEFAULT_CAMERA_LENGTHS_MM, DEFAULT_VOLTAGES_KV

        return cls(tuple(DEFAULT_VOLTAGES_KV), tuple(DEFAULT_CAMERA_LENGTHS_MM), tuple(STANDARD_CUBIC_ZONE_AXES),
                   None, seed=seed).with_size_px(size_px)

    @classmethod
    def quick(cls, seed: int = 0, patterns_per_set: int = 6, size_px: int = 256) -> "Grid":
        """``patterns_per_set`` points of the paper's grid per set, with ``size_px`` detector images."""
        g = cls.full(seed)
        return cls(g.voltages_kv, g.camera_lengths_mm, g.zone_axes, patterns_per_set, seed=seed).with_size_px(size_px)

    def with_size_px(self, size_px: int) -> "Grid":
        """This grid with ``size_px`` x ``size_px`` detector images of the same field of view as the paper's
        256 px of 0.1 mm: pixel side 0.1 mm x 256 / ``size_px``. `InputError` (naming ``size_px``) outside
        `sadpnet.ranges.STUDY_SIZE_PX`."""
        from dataclasses import replace

        from sadpnet.ranges import STUDY_SIZE_PX

        n = int(STUDY_SIZE_PX.check(size_px))
        if n != size_px:
            raise InputError(f"expected a whole number of pixels, got {size_px!r}", STUDY_SIZE_PX.name)
        return replace(self, size_px=n, detector_pixel_size_mm=FIELD_OF_VIEW_MM / n)

    def points(self, zone_axes: tuple | None) -> list[tuple[tuple[int, int, int], float, float]]:
        """Grid points (zone_axis, voltage_kv, camera_length_mm) of a set with these zone axes (None = standard).

        Every point in full mode; in quick mode ``patterns_per_set`` distinct points that cycle through the zone
        axes (each axis once before any twice) with voltage and camera length drawn from the seed, the same for
        every set with the same zone axes, so sets differ only by their defect.
        """
        axes = tuple(tuple(int(x) for x in z) for z in (zone_axes or self.zone_axes))
        every = [(z, v, cl) for z in axes for v in self.voltages_kv for cl in self.camera_lengths_mm]
        if self.patterns_per_set is None or self.patterns_per_set >= len(every):
            return every
        rng = np.random.default_rng([self.seed, len(axes), *[sum(z) for z in axes]])
        order = rng.permutation(len(axes))
        combos = [(float(v), float(cl)) for v in self.voltages_kv for cl in self.camera_lengths_mm]
        per_axis = [[combos[j] for j in rng.permutation(len(combos))] for _ in axes]
        pts = []
        for i in range(self.patterns_per_set):  # round robin over the axes, no grid point twice
            k = int(order[i % len(axes)])
            v, cl = per_axis[k][i // len(axes)]
            pts.append((axes[k], v, cl))
        return pts


def _crystal(material: str):
    from sadpnet.crystal import read_cif
    from sadpnet.resources import example_cif

    return read_cif(example_cif(material))


#: Thermal snapshots and relaxed point-defect supercells computed by this module with the default seed (0) and
#: shipped, because the MD and the ML-potential relaxations take minutes each on 2 cores (see docs/study.md;
#: ``sadpnet study --rebuild-specimens`` recomputes them).
SHIPPED_SPECIMENS = Path(__file__).resolve().parent / "specimens"

#: Supercell of the thermal snapshots (the paper's ab initio MD cell).
THERMAL_SUPERCELL = (3, 3, 3)


def _unit_file(spec: TestSetSpec, seed: int) -> str:
    return f"{spec.key}.seed{seed}.extxyz"


def _read_unit(path: Path):
    from ase.io import read

    atoms = read(path, format="extxyz")
    meta = json.loads(atoms.info.pop("sadpnet", "{}"))
    return atoms, meta


def _write_unit(path: Path, atoms, meta: dict) -> None:
    from ase.io import write

    from sadpnet.atomic_write import atomic_path

    a = atoms.copy()
    a.calc = None
    for key in list(a.arrays):
        if key not in ("numbers", "positions"):
            del a.arrays[key]
    a.info = {"sadpnet": json.dumps(meta, sort_keys=True, default=str)}
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        write(tmp, a, format="extxyz")


def _make_unit(spec: TestSetSpec, crystal, seed: int):
    """The expensive part of a thermal-MD or point-defect set: (supercell atoms, metadata)."""
    p = spec.param
    if spec.defect == "thermal-md":
        from sadpnet.defects.point import make_supercell
        from sadpnet.defects.thermal import md_snapshots

        r = md_snapshots(make_supercell(crystal, THERMAL_SUPERCELL), p["temperature_k"], 1, seed=seed)
        return r.snapshots[0], {"method": "md", "temperature_k": r.temperature_k, "u_rms_a": r.u_rms_a,
                                "u_max_a": r.u_max_a, "debye_u_rms_a": r.debye_u_rms_a, **r.info}
    from sadpnet.defects import point

    size = tuple(p["supercell"])
    if spec.defect == "vacancy":
        r = point.vacancy(crystal, size)
    elif spec.defect == "substitution":
        r = point.substitute(crystal, size, p["element"])
    else:
        r = point.interstitial(crystal, size, p["element"], p["site"])
    r = point.relax_defect(r)
    rr = r.relax
    return r.atoms, {"description": r.description, "potential": rr.potential, "relax_steps": rr.steps,
                     "converged": rr.converged, "max_force_ev_a": rr.max_force_ev_a,
                     "max_displacement_a": rr.max_displacement_a, **r.info}


def cached_unit(spec: TestSetSpec, crystal, seed: int, cache_dir: Path | None, rebuild: bool = False):
    """(supercell atoms, metadata) of a thermal-MD or point-defect set, computed once per seed.

    Looked up in ``cache_dir`` then among the shipped specimens (unless ``rebuild``); computed otherwise and
    written to ``cache_dir``. The metadata records where it came from ("origin").
    """
    name = _unit_file(spec, seed)
    if not rebuild:
        for d, origin in ((cache_dir, "cache"), (SHIPPED_SPECIMENS, "shipped")):
            if d is not None and (Path(d) / name).is_file():
                atoms, meta = _read_unit(Path(d) / name)
                return atoms, {**meta, "origin": f"{origin}: {name}"}
    atoms, meta = _make_unit(spec, crystal, seed)
    if cache_dir is not None:
        _write_unit(Path(cache_dir) / name, atoms, meta)
    return atoms, {**meta, "origin": "computed in this run"}


def build_source(spec: TestSetSpec, grid: Grid, seed: int = 0, cache_dir: Path | None = None,
                 rebuild: bool = False):
    """What to simulate for a set, and how: ``(Crystal or Specimen, simulate keyword arguments)``.

    Pristine: the crystal (``grid.cells``). Strain: the strained crystal (`sadpnet.defects.strain`), zone axes
    in the strained lattice. Thermal and point defects: the supercell (3x3x3 MD snapshot, Debye snapshot, or
    the relaxed defect supercell of `sadpnet.defects.point`) repeated ``grid.supercell_repeats`` times
    (shuffled sets: the same repeats, each translated at random, simulated atom by atom with engine "atoms");
    snapshots carry their displacements, so they are simulated without a Debye-Waller factor. Dislocation
    arrays and twins: one block of about ``grid.cells`` cells (`sadpnet.defects.dislocation`,
    `sadpnet.defects.twin`), simulated atom by atom (engine "atoms").
    """
    from sadpnet.defects.specimen import block_specimen, supercell_specimen

    crystal = _crystal(spec.material)
    p = spec.param
    if spec.defect == "pristine":
        return crystal, {"engine": "cell"}
    if spec.defect in ("strain-normal", "strain-shear"):
        from sadpnet.defects.strain import apply_strain

        voigt = np.zeros(6)
        voigt[0 if spec.defect == "strain-normal" else 5] = p["strain"]  # e_xx along a, or gamma_xy
        return apply_strain(crystal, voigt).crystal, {"engine": "cell"}
    if spec.defect == "thermal-debye":
        from sadpnet.defects.point import make_supercell
        from sadpnet.defects.thermal import debye_snapshots

        r = debye_snapshots(make_supercell(crystal, THERMAL_SUPERCELL), p["temperature_k"], 1, seed=seed)
        meta = {"method": "debye", "temperature_k": r.temperature_k, "u_rms_a": r.u_rms_a, "u_max_a": r.u_max_a}
        size, unit = THERMAL_SUPERCELL, r.snapshots[0]
    elif spec.base.defect in ("thermal-md", "vacancy", "substitution", "interstitial"):
        unit, meta = cached_unit(spec.base, crystal, seed, cache_dir, rebuild)
        size = THERMAL_SUPERCELL if spec.base.defect == "thermal-md" else tuple(p["supercell"])
    elif spec.base.defect == "thermal-debye":
        return _random_debye(spec, crystal, grid, seed), {"engine": "atoms", "debye_waller": False}
    elif spec.defect == "dislocation":
        from sadpnet.defects.dislocation import build_dislocation_array

        dis = PAPER_SETTINGS["dislocation"]
        r = build_dislocation_array(crystal, line=dis["line"], burgers=(0.5, 0.5, 0.0), count=dis["count"],
                                    cells=grid.cells)
        return block_specimen(r.atoms, crystal, name=spec.label, metadata={"defect": "dislocation", **r.info}), \
            {"engine": "atoms"}
    elif spec.defect == "twin":
        from sadpnet.defects.twin import build_twin

        r = build_twin(crystal, plane=p["plane"], direction=p["direction"], cells=grid.cells)
        return block_specimen(r.atoms, crystal, name=spec.label, metadata={"defect": "twin", **r.info}), \
            {"engine": "atoms"}
    else:
        raise InputError(f"unknown defect {spec.defect!r}", "test set")
    cells = tuple(int(s) * int(r) for s, r in zip(size, grid.supercell_repeats))
    thermal = spec.defect.startswith("thermal")
    if spec.shuffled:
        from sadpnet.defects.specimen import shuffled_supercell_specimen

        specimen = shuffled_supercell_specimen(unit, crystal, size, cells=cells, seed=seed, name=spec.label,
                                               metadata={"defect": spec.base.defect, **meta})
        return specimen, {"engine": "atoms", "debye_waller": not thermal}
    specimen = supercell_specimen(unit, crystal, size, cells=cells, name=spec.label,
                                  metadata={"defect": spec.defect, **meta})
    return specimen, {"engine": "cell", "debye_waller": not thermal}


def _random_debye(spec: TestSetSpec, crystal, grid: Grid, seed: int):
    """The random-blocks Debye set: an independent Debye snapshot of the thermal supercell in every block of
    the specimen (the first one is the periodic set's snapshot), each at a random lattice translation."""
    from sadpnet.defects.point import make_supercell
    from sadpnet.defects.specimen import random_supercell_specimen
    from sadpnet.defects.thermal import debye_snapshots

    cells = tuple(int(s) * int(r) for s, r in zip(THERMAL_SUPERCELL, grid.supercell_repeats))
    n_blocks = int(np.prod(grid.supercell_repeats))
    r = debye_snapshots(make_supercell(crystal, THERMAL_SUPERCELL), spec.param["temperature_k"], n_blocks, seed=seed)
    meta = {"defect": spec.base.defect, "method": "debye", "temperature_k": r.temperature_k, "u_rms_a": r.u_rms_a,
            "u_max_a": r.u_max_a}
    return random_supercell_specimen(r.snapshots, crystal, THERMAL_SUPERCELL, cells=cells, seed=seed,
                                     name=spec.label, metadata=meta)


@dataclass
class SetPatterns:
    """The simulated patterns of one set.

    Attributes:
        spec: the set.
        images: (N, size_px, size_px) uint8 detector images.
        points: the N grid points (zone_axis, voltage_kv, camera_length_mm).
        pixel_size_inv_a: (N,) calibration of each image, 1/A per pixel.
        status: "ok", or why the set is not available.
        build_s, simulate_s: wall time to build the specimen and to simulate + render, s (of the run that
            computed them when the patterns come from the cache).
        source, options: what was simulated (None when loaded from the cache) and the simulate options.
        source_meta: how the specimen was made (`source_metadata`); from_cache: patterns reused from a cache.
    """

    spec: TestSetSpec
    images: np.ndarray
    points: list
    pixel_size_inv_a: np.ndarray
    status: str = "ok"
    build_s: float = 0.0
    simulate_s: float = 0.0
    source: object = None
    options: dict = field(default_factory=dict)
    source_meta: dict = field(default_factory=dict)
    from_cache: bool = False


def simulate_points(source, points, grid: Grid, options: dict | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Simulate and render ``source`` at every grid point: (N, size, size) uint8 images and (N,) 1/A per pixel.

    ``options``: keyword arguments of `sadpnet.simulate.api.simulate` (engine, debye_waller).
    """
    from sadpnet.simulate.api import simulate
    from sadpnet.simulate.detector import render

    images, cal = [], []
    for zone, v, cl in points:
        pat = simulate(source, zone, voltage_kv=v, camera_length_mm=cl, size_px=grid.size_px, cells=grid.cells,
                       detector_pixel_size_mm=grid.detector_pixel_size_mm, **(options or {}))
        images.append(np.asarray(render(pat), dtype=np.uint8))
        cal.append(pat.pixel_size_inv_a)
    return np.stack(images), np.asarray(cal, dtype=float)


@functools.lru_cache(maxsize=1)
def code_fingerprint() -> str:
    """SHA-256 (16 hex digits) of the code and data a set's patterns depend on: the crystal, defects and simulate
    stages, this module and the shipped specimens. Cached patterns of other code are never reused."""
    import hashlib

    import sadpnet

    root = Path(sadpnet.__file__).resolve().parent
    files = sorted([*root.joinpath("crystal").rglob("*.py"), *root.joinpath("defects").rglob("*.py"),
                    *root.joinpath("simulate").rglob("*.py"), *root.joinpath("simulate", "data").rglob("*"),
                    Path(__file__).resolve(), *SHIPPED_SPECIMENS.glob("*")])
    h = hashlib.sha256()
    for f in files:
        if f.is_file():
            h.update(str(f.relative_to(root)).encode() + b"\0" + f.read_bytes())
    return h.hexdigest()[:16]


def patterns_file(cache_dir: Path, spec: TestSetSpec, grid: Grid, seed: int) -> Path:
    """Where the patterns of one set are cached: the name holds a hash of set, grid, seed and code."""
    import hashlib

    from dataclasses import asdict

    g = {k: v for k, v in asdict(grid).items() if k != "extra"}
    key = json.dumps([spec.key, spec.params, spec.zone_axes, g, seed, code_fingerprint()], default=str)
    return Path(cache_dir) / "patterns" / f"{spec.key}-{hashlib.sha256(key.encode()).hexdigest()[:16]}.npz"


def _save_patterns(path: Path, sp: "SetPatterns", meta: dict) -> None:
    from sadpnet.atomic_write import atomic_path

    path.parent.mkdir(parents=True, exist_ok=True)
    info = {"points": [[list(z), v, cl] for z, v, cl in sp.points], "build_s": sp.build_s,
            "simulate_s": sp.simulate_s, "options": sp.options, "source_meta": meta}
    with atomic_path(path, suffix=".npz") as tmp:
        with open(tmp, "wb") as f:
            np.savez(f, images=sp.images, pixel_size_inv_a=sp.pixel_size_inv_a,
                     info=np.array(json.dumps(info, default=str)))


def _load_patterns(path: Path, spec: TestSetSpec) -> "SetPatterns":
    with np.load(path, allow_pickle=False) as z:
        info = json.loads(str(z["info"]))
        points = [(tuple(int(x) for x in p[0]), float(p[1]), float(p[2])) for p in info["points"]]
        return SetPatterns(spec, z["images"], points, z["pixel_size_inv_a"], "ok", info["build_s"],
                           info["simulate_s"], None, info["options"], {**info["source_meta"], "patterns": "cached"},
                           from_cache=True)


def source_metadata(source) -> dict:
    """What the defects stage recorded about a specimen (JSON-safe), or the crystal's name."""
    if source is None:
        return {}
    meta = dict(getattr(source, "metadata", {}) or {})
    meta.setdefault("name", getattr(source, "name", ""))
    try:
        json.dumps(meta)
    except TypeError:
        meta = {k: str(v) for k, v in meta.items()}
    return meta


def simulate_set(spec: TestSetSpec, grid: Grid, seed: int = 0, cache_dir: Path | None = None,
                 rebuild: bool = False) -> SetPatterns:
    """Build the set's specimen and simulate it over the grid.

    With ``cache_dir``, the patterns are kept in ``cache_dir/patterns`` and reused by a later run with the same
    set, grid, seed and code (`code_fingerprint`), so an interrupted full run resumes; ``rebuild`` ignores
    cached specimens and patterns. A defects or simulator API that is missing (ImportError) becomes a
    "not available" status, so the report still lists the set; any other error ends the study.
    """
    cached = patterns_file(cache_dir, spec, grid, seed) if cache_dir is not None else None
    if cached is not None and cached.is_file() and not rebuild:
        return _load_patterns(cached, spec)
    points = grid.points(spec.zone_axes)
    empty = np.zeros((0, grid.size_px, grid.size_px), np.uint8)
    t0 = time.perf_counter()
    try:
        source, options = build_source(spec, grid, seed, cache_dir, rebuild)
    except ImportError as exc:
        return SetPatterns(spec, empty, [], np.zeros(0), f"not available: defects stage ({exc})",
                           time.perf_counter() - t0)
    t1 = time.perf_counter()
    try:
        images, cal = simulate_points(source, points, grid, options)
    except ImportError as exc:
        return SetPatterns(spec, empty, [], np.zeros(0), f"not available: simulator ({exc})", t1 - t0,
                           time.perf_counter() - t1)
    meta = source_metadata(source)
    out = SetPatterns(spec, images, points, cal, "ok", t1 - t0, time.perf_counter() - t1, source, options, meta)
    if cached is not None:
        _save_patterns(cached, out, meta)
    return out
