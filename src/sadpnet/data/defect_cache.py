"""A reusable cache of atoms-engine defect specimens for the defect-aware training stream (issue 18).

Twins, dislocation arrays and the random-placement families (`sadpnet.data.stream_defects.ATOMS_FAMILIES`)
are built once per training crystal, ``per_crystal`` blocks per family, and stored; the stream then picks one
of the crystal's blocks (`DefectCache`, passed to `draw_defect` as ``cache``) instead of building one.

Layout of a cache folder (every file written to a temporary name, then renamed):

* ``cache.json``: what made it: format, sadpnet version, seed, blocks per crystal, families, block sizes;
* ``<key>/index.json``: one crystal (``key`` = `crystal_key`, a hash of its structure): its name and, per
  family, its block files (``[]`` where the crystal cannot take the family). Written after its blocks, so a
  crystal folder without it is incomplete and built again;
* ``<key>/<family>-<i>.npz``: one block: ``numbers``, ``positions`` (float32, A), ``cell`` (A), ``family``,
  ``params`` and ``options`` (JSON), ``zone_axis``, ``parent`` (the crystal key), ``format``, ``sadpnet``.

Every block is seeded by (seed, crystal key, family, draw index): the same cache whatever the order or the
number of workers. A twin draw that fails (a boundary position putting atoms too close) is retried with the
next draw index.

Measured (busy 2-core machine, `bench/bench_defect_cache.py`, docs/classifier-v2.md): a pattern from the cache
saves the build (twin 0.85 s, dislocation 0.7 s, thermal_random 0.2 s, point_random 0.02 s) but not the
render (0.9 s for a 40 x 30 x 20 block); building 2 blocks per family takes 3-27 s a crystal, about 9 MB.

Example:
    >>> from sadpnet.crystal import read_cif
    >>> from sadpnet.resources import example_cif
    >>> summary = build_defect_cache([read_cif(example_cif("Al"))], "out/defect-cache", per_crystal=2)
    >>> cache = DefectCache("out/defect-cache")
"""

from __future__ import annotations

import hashlib
import json
import time
from functools import lru_cache
from pathlib import Path

import numpy as np

from sadpnet.errors import InputError, SadpnetError

#: Format of the blocks and the index; a cache of another format is refused.
CACHE_FORMAT = 1


def crystal_key(crystal) -> str:
    """A stable 16-hex-digit hash of a `Crystal`'s structure: space group, cell (0.001 A) and the sorted
    (Z, fractional position (1e-4), occupancy) of its atoms; not of its name.

    Example:
        >>> crystal_key(read_cif(example_cif("Al")))  # doctest: +SKIP
        '3f0c...'
    """
    a = crystal.atoms
    cell = (np.round(np.asarray(a.cell, dtype=float), 3) + 0.0).tolist()
    frac = (np.round(a.get_scaled_positions() % 1.0, 4) % 1.0 + 0.0).tolist()
    occ = (np.round(crystal.occupancy, 3) + 0.0).tolist()
    rows = sorted(zip(a.numbers.tolist(), frac, occ))
    payload = json.dumps([int(crystal.space_group_number), cell, rows])
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


def _meta(seed: int, per_crystal: int, families) -> dict:
    from sadpnet import __version__
    from sadpnet.data.stream_defects import BLOCK_CELLS, RANDOM_BLOCK_CELLS

    return {"format": CACHE_FORMAT, "sadpnet": __version__, "seed": int(seed), "per_crystal": int(per_crystal),
            "families": list(families), "block_cells": list(BLOCK_CELLS),
            "random_block_cells": list(RANDOM_BLOCK_CELLS),
            "module": "sadpnet.data.defect_cache"}


def _read_json(path: Path, what: str) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise InputError(f"not a readable {what} ({type(exc).__name__}); delete it or rebuild the cache", path)
    if not isinstance(data, dict):
        raise InputError(f"not a {what} (not a JSON object); delete it or rebuild the cache", path)
    return data


def read_cache_meta(folder) -> dict:
    """The ``cache.json`` of a cache folder; `InputError` naming the file if missing, corrupt or of another format."""
    path = Path(folder) / "cache.json"
    if not path.is_file():
        raise InputError("no cache.json: not a defect cache (build it with build_defect_cache or "
                         "train-indexing --defect-cache)", folder)
    meta = _read_json(path, "defect-cache description")
    if meta.get("format") != CACHE_FORMAT:
        raise InputError(f"defect cache of format {meta.get('format')!r}; this sadpnet reads format {CACHE_FORMAT}: "
                         "use another folder", path)
    return meta


def _check_meta(folder: Path, wanted: dict) -> None:
    """Write ``cache.json``, or check that the one there asks for the same blocks (InputError naming it)."""
    from sadpnet.atomic_write import write_text_atomic

    if not (folder / "cache.json").exists():
        write_text_atomic(folder / "cache.json", json.dumps(wanted, indent=1) + "\n")
        return
    have = read_cache_meta(folder)
    keys = ("seed", "per_crystal", "families", "block_cells", "random_block_cells")
    diff = [f"{k} {have.get(k)!r} (asked {wanted[k]!r})" for k in keys if have.get(k) != wanted[k]]
    if diff:
        raise InputError(f"a cache made with other settings: {', '.join(diff)}; use another folder",
                         folder / "cache.json")


def build_defect_cache(crystals, out_dir, *, per_crystal: int = 2, seed: int = 0, families=None, workers: int = 1,
                       progress=None) -> dict:
    """Build (or complete) the cache in ``out_dir``: ``per_crystal`` blocks of every atoms-engine family for each
    of ``crystals`` (cubic `Crystal` objects; duplicates by `crystal_key` once). Crystals already complete are
    reused, not rebuilt. ``workers`` > 1 builds crystals in that many processes; ``progress(done, total)`` is
    called per crystal. Returns {crystals, built, reused, blocks, bytes, wall_s}.

    Example:
        >>> build_defect_cache([al, fe], "out/defect-cache", per_crystal=2, workers=2)["built"]
        2
    """
    from sadpnet.data.stream import map_workers
    from sadpnet.data.stream_defects import ATOMS_FAMILIES

    if int(per_crystal) < 1:
        raise InputError(f"must be at least 1, got {per_crystal}", "per_crystal")
    families = list(ATOMS_FAMILIES if families is None else families)
    unknown = [f for f in families if f not in ATOMS_FAMILIES]
    if unknown:
        raise InputError(f"not an atoms-engine family: {', '.join(unknown)}; choose from {', '.join(ATOMS_FAMILIES)}",
                         "families")
    folder = Path(out_dir)
    if folder.exists() and not folder.is_dir():
        raise InputError("exists and is not a folder", folder)
    folder.mkdir(parents=True, exist_ok=True)
    meta = _meta(seed, per_crystal, families)
    _check_meta(folder, meta)
    t0 = time.perf_counter()
    unique = {crystal_key(c): c for c in crystals}
    todo = [(c, k, str(folder), meta) for k, c in unique.items() if not (folder / k / "index.json").is_file()]
    built = map_workers(_build_crystal, todo, workers, progress)
    return {"crystals": len(unique), "built": len(todo), "reused": len(unique) - len(todo),
            "blocks": int(sum(built)), "bytes": int(sum(p.stat().st_size for p in folder.rglob("*.npz"))),
            "wall_s": time.perf_counter() - t0}


def _build_crystal(job) -> int:
    """Build every block of one crystal, then its index.json; returns the number of blocks written."""
    from sadpnet.atomic_write import write_text_atomic

    crystal, key, folder, meta = job
    index = {"key": key, "name": getattr(crystal, "name", ""), "families": {}}
    for family in meta["families"]:
        index["families"][family] = _build_family(crystal, key, Path(folder), meta, family)
    write_text_atomic(Path(folder) / key / "index.json", json.dumps(index, indent=1) + "\n")
    return sum(len(f) for f in index["families"].values())


#: Draws tried per wanted block: a draw can fail where another succeeds (a twin boundary at some fractions
#: puts atoms too close); a family none of whose draws succeed is recorded as one the crystal cannot take.
TRIES_PER_BLOCK = 2


def _build_family(crystal, key: str, folder: Path, meta: dict, family: str) -> list[str]:
    """Write up to ``per_crystal`` blocks of one family; their file names ([] when no draw succeeded)."""
    from sadpnet.data.stream_defects import _BUILDERS, ATOMS_FAMILIES

    files: list[str] = []
    for attempt in range(TRIES_PER_BLOCK * meta["per_crystal"]):
        if len(files) == meta["per_crystal"]:
            break
        rng = np.random.default_rng([meta["seed"], int(key[:8], 16), ATOMS_FAMILIES.index(family), attempt])
        try:
            drawn = _BUILDERS[family](crystal, (0, 0, 1), rng, 20)
        except (SadpnetError, ValueError, KeyError, RuntimeError):  # this draw (or the family) does not fit
            if attempt == 0 and family != "twin":
                break  # only the twin's failures depend on the draw (the boundary's position)
            continue
        name = f"{family}-{len(files)}.npz"
        _write_block(folder / key / name, drawn, key)
        files.append(name)
    return files


def _write_block(path: Path, drawn, key: str) -> None:
    from sadpnet import __version__
    from sadpnet.atomic_write import atomic_path

    unit = drawn.source.unit
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            np.savez(fh, numbers=unit.numbers.astype(np.uint8), positions=unit.positions.astype(np.float32),
                     cell=np.asarray(unit.cell, dtype=float), family=drawn.family, parent=key,
                     params=json.dumps(drawn.params), options=json.dumps(drawn.options),
                     zone_axis=np.array(drawn.zone_axis, dtype=int), format=CACHE_FORMAT, sadpnet=__version__)


class DefectCache:
    """A built cache, read by the stream: `blocks` lists a crystal's blocks of a family, `load` makes one a
    `DrawnDefect`. Construction reads ``cache.json`` (`InputError` naming it when missing or corrupt).

    Example:
        >>> cache = DefectCache("out/defect-cache")
        >>> drawn = draw_defect(al, (0, 0, 1), np.random.default_rng(0), cache=cache)
    """

    def __init__(self, folder):
        self.folder = Path(folder)
        self.meta = read_cache_meta(self.folder)
        self._indexes: dict = {}

    def blocks(self, crystal, family: str) -> list[Path] | None:
        """Paths of the crystal's blocks of ``family``: None when the crystal is not in the cache, [] when it
        cannot take the family."""
        key = crystal_key(crystal)
        if key not in self._indexes:
            path = self.folder / key / "index.json"
            self._indexes[key] = _read_json(path, "defect-cache index") if path.is_file() else None
        index = self._indexes[key]
        if index is None or family not in index.get("families", {}):
            return None
        return [self.folder / key / name for name in index["families"][family]]

    def load(self, path, crystal, zone_axis, rng: np.random.Generator):
        """The `DrawnDefect` of a block file: the block as a specimen of ``crystal``, seen on its twin's edge-on
        axis, a drawn dislocation-line axis, or ``zone_axis`` (random placements)."""
        from ase import Atoms

        from sadpnet.data.stream_defects import DISLOCATION_VIEW_AXES, DrawnDefect
        from sadpnet.defects.specimen import block_specimen

        z = _read_block(Path(path), crystal_key(crystal))
        family = str(z["family"])
        if family == "dislocation":
            zone = DISLOCATION_VIEW_AXES[int(rng.integers(len(DISLOCATION_VIEW_AXES)))]
        elif family == "twin":
            zone = tuple(int(v) for v in z["zone_axis"])
        else:
            zone = tuple(int(v) for v in zone_axis)
        atoms = Atoms(numbers=z["numbers"], positions=z["positions"].astype(float), cell=z["cell"], pbc=True)
        specimen = block_specimen(atoms, crystal, metadata={"defect": family, "cache_block": Path(path).name})
        params = {**json.loads(str(z["params"])), "cache_block": f"{Path(path).parent.name}/{Path(path).name}"}
        return DrawnDefect(specimen, zone, family, json.loads(str(z["options"])), params)


_BLOCK_KEYS = ("numbers", "positions", "cell", "family", "parent", "params", "options", "zone_axis", "format")


def _read_block(path: Path, key: str) -> dict:
    """A block's arrays; `InputError` naming the file when it is corrupt, of another format or of another crystal."""
    try:
        with np.load(path, allow_pickle=False) as f:
            z = {k: f[k] for k in _BLOCK_KEYS}
    except Exception as exc:  # noqa: BLE001 - zip, pickle, missing key, truncated file: all one message
        raise InputError(f"not a readable defect-cache block ({type(exc).__name__}); delete it or rebuild the "
                         "cache", path)
    if int(z["format"]) != CACHE_FORMAT:
        raise InputError(f"defect-cache block of format {int(z['format'])}; this sadpnet reads {CACHE_FORMAT}", path)
    if str(z["parent"]) != key:
        raise InputError(f"block of another crystal ({z['parent']}, not {key}); rebuild the cache", path)
    return z


@lru_cache(maxsize=4)
def open_cache(folder: str) -> DefectCache:
    """The `DefectCache` of ``folder``, opened once per process (worker processes open their own)."""
    return DefectCache(folder)
