"""The dataset store on disk: Zarr images + Parquet table + dataset card, written chunk by chunk.

Layout of a store folder ``DIR``::

    DIR/store.json        store version, spec hash, shape, dtype, chunking, state (building | complete),
                          simulator digest (the simulation code's hash; a resume with other code is refused),
                          intensity_mapping (the tags of the images' `IntensityMapping`; null when the spec
                          draws it per pattern: `pattern_mapping` of the row's augment column)
    DIR/spec.json         the normalised spec it was built from
    DIR/table.parquet     one row per pattern (`sadpnet.data.plan.TABLE_COLUMNS`), row i <-> images[i]
    DIR/images.zarr/      Zarr v3 array "images", (N, S, S) uint8 or uint16, one chunk = `chunk_patterns`
                          patterns, zstd-compressed
    DIR/progress/         one marker per finished chunk: chunk-<k>.done holding the SHA-256 of its pixels, and
                          chunk-<k>.relax.json (written before the marker) for chunks with relaxed
                          point-defect variants: potential, converged, steps, residual force, displacement
    DIR/card.json, card.md   written when the build completes: counts per class, split and zone axis, spec,
                          versions, build time

Every file is written atomically (Zarr's local store writes chunks to a temporary name and renames them;
our JSON/Parquet files use `sadpnet.atomic_write`), and a chunk's marker is written only after the chunk:
a build killed at any point leaves chunks that are either marked and complete or unmarked and redone.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

from sadpnet.atomic_write import atomic_path, write_text_atomic
from sadpnet.errors import InputError
from sadpnet.simulate.detector import IntensityMapping, intensity_mapping

#: Version of the store layout. A store written by a newer version is refused.
STORE_VERSION = 1
IMAGES = "images.zarr"


def _meta_path(root: Path) -> Path:
    return Path(root) / "store.json"


def read_meta(root: str | Path) -> dict:
    """store.json of a store; InputError if it is not a store or was written by a newer version."""
    root = Path(root)
    p = _meta_path(root)
    if not p.is_file():
        raise InputError("not a sadpnet dataset store (no store.json)", root)
    try:
        meta = json.loads(p.read_text())
    except json.JSONDecodeError:
        raise InputError("store.json is not valid JSON", p) from None
    v = meta.get("store_version")
    if not isinstance(v, int) or v > STORE_VERSION:
        raise InputError(f"written by a newer store version ({v}); this sadpnet reads versions up to "
                         f"{STORE_VERSION}: upgrade sadpnet", root)
    return meta


def read_spec(root: str | Path) -> dict:
    """spec.json of a store: the normalised spec it was built from."""
    p = Path(root) / "spec.json"
    try:
        return json.loads(p.read_text())
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot read the store's spec ({exc})", p) from None


def write_meta(root: Path, meta: dict) -> None:
    write_text_atomic(_meta_path(root), json.dumps(meta, indent=1, sort_keys=True))


def create_store(root: Path, spec: dict, spec_hash: str, table, n_chunk: int, size_px: int, dtype: str,
                 extra: dict | None = None) -> dict:
    """Write store.json (state building), spec.json, table.parquet and an empty image array."""
    import zarr
    from zarr.codecs import BloscCodec

    from sadpnet import __version__

    root.mkdir(parents=True, exist_ok=True)
    (root / "progress").mkdir(exist_ok=True)
    write_text_atomic(root / "spec.json", json.dumps(spec, indent=1, sort_keys=True))
    with atomic_path(root / "table.parquet") as tmp:
        table.to_parquet(tmp, index=False)
    n = len(table)
    zarr.create_array(store=str(root / IMAGES), shape=(n, size_px, size_px), chunks=(n_chunk, size_px, size_px),
                      dtype=dtype, fill_value=0, overwrite=True,
                      compressors=BloscCodec(cname="zstd", clevel=3, shuffle="bitshuffle"))
    one = spec_mapping(spec)
    meta = {"store_version": STORE_VERSION, "sadpnet_version": __version__, "spec_hash": spec_hash,
            "n_patterns": n, "image_size_px": size_px, "dtype": dtype, "chunk_patterns": n_chunk,
            "n_chunks": -(-n // n_chunk), "state": "building",
            "intensity_mapping": None if one is None else one.to_tags(), **(extra or {})}
    write_meta(root, meta)
    return meta


#: Render options that set the intensity mapping (in a spec's ``render`` or its drawn ``render_choices``).
MAPPING_KEYS = ("mapping", "gamma", "dynamic_range")


def pattern_mapping(spec: dict, augment: dict | None = None) -> IntensityMapping:
    """The `IntensityMapping` of one pattern of a store: the spec's ``render`` options, overridden by the
    render choices drawn for the pattern (``augment["render"]``, its table row's augment column), at the
    bit depth of ``storage.dtype``.

    Example:
        >>> pattern_mapping({"render": {}, "storage": {"dtype": "uint16"}}).to_tags()
        {'mapping': 'log', 'dynamic_range': 10000.0, 'full_scale': 65535.0}
    """
    render = {**(spec.get("render") or {}), **((augment or {}).get("render") or {})}
    bits = 16 if (spec.get("storage") or {}).get("dtype") == "uint16" else 8
    return intensity_mapping(render.get("mapping"), gamma=render.get("gamma"),
                             dynamic_range=render.get("dynamic_range"), bits=bits)


def spec_mapping(spec: dict) -> IntensityMapping | None:
    """The one `IntensityMapping` of every image of a spec's store, or None when it is drawn per pattern."""
    choices = (spec.get("augment") or {}).get("render_choices") or {}
    return None if set(MAPPING_KEYS) & set(choices) else pattern_mapping(spec)


def store_mapping(root: str | Path) -> IntensityMapping | None:
    """The `IntensityMapping` a store records (``store.json``; stores built before it was recorded: from
    their spec), or None when it is drawn per pattern (`pattern_mapping` of each row)."""
    meta = read_meta(root)
    if "intensity_mapping" not in meta:
        return spec_mapping(read_spec(root))
    tags = meta["intensity_mapping"]
    return None if tags is None else IntensityMapping.from_tags(tags, _meta_path(Path(root)))


def open_images(root: str | Path, mode: str = "r"):
    """The Zarr image array of a store."""
    import zarr

    return zarr.open_array(store=str(Path(root) / IMAGES), mode=mode)


def read_table(root: str | Path, columns: list[str] | None = None):
    import pandas as pd

    return pd.read_parquet(Path(root) / "table.parquet", columns=columns)


def chunk_digest(block: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(block).tobytes()).hexdigest()


def _marker(root: Path, k: int) -> Path:
    return Path(root) / "progress" / f"chunk-{k:07d}.done"


def done_chunks(root: str | Path) -> set[int]:
    """Chunks whose marker exists (finished and written)."""
    out = set()
    for p in (Path(root) / "progress").glob("chunk-*.done"):
        try:
            out.add(int(p.stem.split("-")[1].split(".")[0]))
        except ValueError:
            continue
    return out


def _disk_full(exc: OSError) -> bool:
    import errno

    return exc.errno in (errno.ENOSPC, errno.EDQUOT)


def disk_full_error(root: Path, k: int) -> InputError:
    return InputError(f"disk full while writing chunk {k}; free space and run the same command again to resume",
                      root)


def write_chunk(root: Path, images, k: int, n_chunk: int, block: np.ndarray) -> None:
    """Write chunk ``k`` (its rows of the image array) then its marker; a full disk is an InputError."""
    try:
        images[k * n_chunk: k * n_chunk + len(block)] = block
        write_text_atomic(_marker(root, k), chunk_digest(block))
    except OSError as exc:
        if _disk_full(exc):
            raise disk_full_error(root, k) from None
        raise


def write_chunk_images(root: Path, k: int, n_chunk: int, block: np.ndarray) -> str | None:
    """Write chunk ``k``'s pixels only (no marker) and return their digest; None when the disk is full. Runs in
    a local Dask worker, so that compressing and writing happen beside the simulation, not in the client."""
    try:
        open_images(root, mode="r+")[k * n_chunk: k * n_chunk + len(block)] = block
    except OSError as exc:
        if _disk_full(exc):
            return None
        raise
    return chunk_digest(block)


def write_marker(root: Path, k: int, digest: str) -> None:
    """The marker of chunk ``k``, whose pixels are already written; a full disk is an InputError."""
    try:
        write_text_atomic(_marker(root, k), digest)
    except OSError as exc:
        if _disk_full(exc):
            raise disk_full_error(root, k) from None
        raise


def _relax_path(root: Path, k: int) -> Path:
    return Path(root) / "progress" / f"chunk-{k:07d}.relax.json"


def write_relaxation(root: Path, k: int, records: list[dict]) -> None:
    """Relaxation records of chunk ``k`` (written before its marker; nothing when there are none)."""
    if records:
        write_text_atomic(_relax_path(root, k), json.dumps(records, sort_keys=True))


def read_relaxation(root: str | Path) -> list[dict]:
    """Every relaxed point-defect variant of a store, once each (material_id, defect_type, defect_params,
    relax_*), from the finished chunks' records, sorted."""
    out = {}
    for k in sorted(done_chunks(root)):
        p = _relax_path(Path(root), k)
        if p.is_file():
            for r in json.loads(p.read_text()):
                out[(r["material_id"], r["defect_type"], r["defect_params"])] = r
    return [out[k] for k in sorted(out)]


def verify_store(root: str | Path) -> list[int]:
    """Chunks whose pixels do not match their marker's digest (empty list: all marked chunks intact)."""
    meta = read_meta(root)
    images = open_images(root)
    n_chunk = meta["chunk_patterns"]
    bad = []
    for k in sorted(done_chunks(root)):
        block = images[k * n_chunk: min(meta["n_patterns"], (k + 1) * n_chunk)]
        if chunk_digest(block) != _marker(root, k).read_text().strip():
            bad.append(k)
    return bad
