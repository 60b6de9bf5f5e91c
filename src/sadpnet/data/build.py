"""Build a dataset store from a spec with Dask: plan, simulate and render chunk by chunk, resumably.

`build_dataset` plans the table (`sadpnet.data.plan`), creates the store (`sadpnet.data.store`), then
runs one Dask task per image chunk (``storage.chunk_patterns`` patterns) on a local cluster of
``workers`` processes (default: this machine's cores), on an existing cluster (``scheduler="tcp://..."``),
or in this process (``workers=0``, no Dask). At most a few chunks are in flight per worker, and each
finished chunk is written by this process and marked done, so memory stays bounded whatever the dataset
size. A rerun of the same spec skips marked chunks (resume after kill -9); a different spec is refused
unless ``overwrite``.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import time
from pathlib import Path

import numpy as np

from sadpnet.errors import InputError

#: Columns a worker needs to make a pattern.
_ROW_COLUMNS = ("material_id", "source", "zone_u", "zone_v", "zone_w", "voltage_kv", "camera_length_mm",
                "defect_type", "defect_params", "inplane_rotation_deg", "tilt_x_mrad", "tilt_y_mrad", "cells",
                "seed", "augment")


@functools.lru_cache(maxsize=8)
def _crystal(material_id: str, source: str):
    from sadpnet.data.corpus import load_crystal_from_row

    return load_crystal_from_row({"material_id": material_id, "source": source})


@functools.lru_cache(maxsize=64)
def _source_crystal(material_id: str, source: str, defect_type: str, defect_params: str, cells: str):
    from sadpnet.data.variants import make_source

    return make_source(_crystal(material_id, source), {"type": defect_type, **json.loads(defect_params)},
                       tuple(int(x) for x in cells.split()))


def _render_kwargs(render: dict) -> dict:
    from sadpnet.simulate.detector import BeamStop, Noise

    out = dict(render)
    if isinstance(out.get("beam_stop"), dict):
        out["beam_stop"] = BeamStop(**out["beam_stop"])
    if isinstance(out.get("noise"), dict):
        out["noise"] = Noise(**out["noise"])
    return out


def make_pattern_image(row: dict, spec: dict) -> np.ndarray:
    """The stored image (uint8/uint16, (S, S)) of one table row."""
    from sadpnet.simulate.api import simulate
    from sadpnet.data.store import MAPPING_KEYS, pattern_mapping
    from sadpnet.simulate.detector import render

    m, sim = spec["microscope"], spec["simulation"]
    crystal = _source_crystal(row["material_id"], row["source"], row["defect_type"], row["defect_params"],
                              row["cells"])
    aug = json.loads(row["augment"])
    from sadpnet.data.variants import BLOCK_TYPES

    engine = "atoms" if row["defect_type"] in BLOCK_TYPES and sim["engine"] == "cell" else sim["engine"]
    pattern = simulate(crystal, (int(row["zone_u"]), int(row["zone_v"]), int(row["zone_w"])),
                       voltage_kv=float(row["voltage_kv"]), camera_length_mm=float(row["camera_length_mm"]),
                       size_px=m["image_size_px"], detector_pixel_size_mm=m["detector_pixel_size_mm"],
                       engine=engine, cells=tuple(int(x) for x in row["cells"].split()),
                       inplane_rotation_deg=float(row["inplane_rotation_deg"]),
                       tilt_mrad=(float(row["tilt_x_mrad"]), float(row["tilt_y_mrad"])),
                       debye_waller=sim["debye_waller"], oversample=sim["oversample"])
    options = {k: v for k, v in {**spec["render"], **aug.get("render", {})}.items() if k not in MAPPING_KEYS}
    return render(pattern, mapping=pattern_mapping(spec, aug), seed=int(row["seed"]), **_render_kwargs(options))


def _reset_simulator_caches() -> None:
    """Empty the simulator's per-cell reflection cache, so that a chunk's images depend on its rows only.

    The cell engine's results differ in the last bits (relative 2e-7) depending on whether a cached
    reflection table was built for a wider reciprocal range; after quantisation that occasionally changes a
    pixel by one level. Starting each chunk from an empty cache (and a fixed order inside the chunk) makes
    the images byte-identical whatever worker runs the chunk and whatever it ran before.
    """
    try:
        from sadpnet.simulate import structure_factor
    except ImportError:  # pragma: no cover
        return
    cache = getattr(structure_factor, "_CACHE", None)
    if cache is not None:
        cache.clear()


def compute_chunk(rows: list[dict], spec: dict) -> np.ndarray:
    """Images of a chunk's rows, (n, S, S). Runs on a Dask worker (single-threaded numerics)."""
    return compute_chunk_records(rows, spec)[0]


#: Keys of a relaxed point-defect specimen's metadata recorded per variant (`sadpnet.data.store.read_relaxation`).
RELAX_KEYS = ("relax_potential", "relax_converged", "relax_steps", "relax_max_force_ev_a", "relax_max_displacement_a")


def compute_and_write_chunk(rows: list[dict], spec: dict, root: str, k: int, n_chunk: int) -> tuple:
    """On a local worker: compute chunk ``k`` and write its pixels into the store at ``root`` (same file
    system); returns (digest or None when the disk is full, relaxation records, patterns). The client then
    only writes the marker: compressing and writing run in parallel with the other workers' simulations."""
    from sadpnet.data.store import write_chunk_images

    block, relax = compute_chunk_records(rows, spec)
    return write_chunk_images(Path(root), k, n_chunk, block), relax, len(block)


def compute_chunk_records(rows: list[dict], spec: dict) -> tuple[np.ndarray, list[dict]]:
    """(images (n, S, S), relaxation records) of a chunk's rows: one record per relaxed point-defect variant
    of the chunk (material_id, defect_type, defect_params and `RELAX_KEYS`)."""
    _reset_simulator_caches()
    # largest reciprocal range first: the simulator's per-cell reflection table is then built once per material
    order = sorted(range(len(rows)), key=lambda i: (rows[i]["material_id"], -float(rows[i]["voltage_kv"]),
                                                     float(rows[i]["camera_length_mm"]), i))
    out = [None] * len(rows)
    for i in order:
        out[i] = make_pattern_image(rows[i], spec)
    records = {}
    for r in rows:
        key = (r["material_id"], r["defect_type"], r["defect_params"])
        if key in records:
            continue
        src = _source_crystal(r["material_id"], r["source"], r["defect_type"], r["defect_params"], r["cells"])
        meta = getattr(src, "metadata", None) or {}
        if "relax_converged" in meta:
            records[key] = {"material_id": key[0], "defect_type": key[1], "defect_params": key[2],
                            **{k: meta[k] for k in RELAX_KEYS}}
    return np.stack(out), list(records.values())


def simulator_digest() -> str:
    """SHA-256 (hex, 16 chars) of the code and data that turn a table row into an image (crystal, defects,
    simulate, and this stage's variants): a store records it, and a resume with other code is refused."""
    import hashlib

    root = Path(__file__).resolve().parents[1]
    h = hashlib.sha256()
    files = [p for d in ("crystal", "defects", "simulate") for p in sorted((root / d).rglob("*"))
             if p.is_file() and p.suffix not in (".pyc",) and "__pycache__" not in p.parts]
    for p in files + [root / "data" / "variants.py", root / "data" / "build.py"]:
        h.update(str(p.relative_to(root)).encode())
        h.update(p.read_bytes())
    return h.hexdigest()[:16]


def _prepare(spec_path: Path, out: Path, overwrite: bool):
    """(spec, hash, meta, table) of the store at ``out``, creating it or reopening it for a resume."""
    from sadpnet.data.corpus import corpus_digest
    from sadpnet.data.plan import plan_table
    from sadpnet.data.spec import load_spec, spec_hash
    from sadpnet.data.store import create_store, read_meta, read_table

    spec = load_spec(spec_path)
    h = spec_hash({**spec, "corpus_digest": corpus_digest()})  # same spec on another corpus: another store
    if out.exists() and not out.is_dir():
        raise InputError("exists and is not a folder", out)
    if out.is_dir() and any(out.iterdir()):
        if not (out / "store.json").is_file():
            raise InputError("exists, is not empty and is not a dataset store; refusing to write into it", out)
        meta = read_meta(out)
        if meta["spec_hash"] == h and meta.get("state") == "complete":
            return spec, h, meta, read_table(out), True
        if meta["spec_hash"] == h and meta.get("state") == "building":
            if meta.get("simulator_digest") == simulator_digest():
                return spec, h, meta, read_table(out), True
            if not overwrite:
                raise InputError("was started with other simulation code (crystal/defects/simulate changed since); "
                                 "resuming would mix images of two versions: use --overwrite to start again", out)
        if not overwrite:
            raise InputError(f"holds a store built from a different spec or corpus ({meta['spec_hash']} != {h}); "
                             "use --overwrite to replace it", out)
        shutil.rmtree(out)
    _, table = plan_table(spec, str(spec_path))
    st = spec["storage"]
    meta = create_store(out, spec, h, table, st["chunk_patterns"], spec["microscope"]["image_size_px"], st["dtype"],
                        extra={"simulator_digest": simulator_digest(),
                               "skipped_variants": table.attrs.get("skipped_variants", [])})
    return spec, h, meta, table, False


def build_dataset(spec_path: str | Path, out: str | Path, *, workers: int | None = None,
                  scheduler: str | None = None, overwrite: bool = False, progress: bool = True,
                  max_chunks: int | None = None) -> dict:
    """Build (or resume) the store of ``spec_path`` in ``out``; returns the dataset card.

    Args:
        workers: local Dask worker processes (default: the machine's cores); 0 runs in this process.
        scheduler: address of an existing Dask scheduler (``tcp://host:8786``); ``workers`` is then ignored.
        overwrite: replace a store built from another spec.
        progress: show a rich progress bar (patterns, rate, time left).
        max_chunks: stop after this many chunks (for tests and benchmarks; the store stays resumable).
    """
    from sadpnet.data.card import make_card, write_card
    from sadpnet.data.store import (disk_full_error, done_chunks, open_images, write_chunk, write_marker, write_meta,
                                    write_relaxation)

    spec_path, out = Path(spec_path), Path(out)
    t0 = time.perf_counter()
    spec, _, meta, table, _ = _prepare(spec_path, out, overwrite)
    n, n_chunk = meta["n_patterns"], meta["chunk_patterns"]
    done = done_chunks(out)
    todo = [k for k in range(meta["n_chunks"]) if k not in done]
    if not todo and meta.get("state") == "complete":
        from sadpnet.data.card import read_card

        return read_card(out)  # nothing to do: leave the store untouched
    if max_chunks is not None:
        todo = todo[:max_chunks]
    rows_table = table[list(_ROW_COLUMNS)]
    images = open_images(out, mode="r+")

    def rows_of(k):  # the rows of chunk k as plain dicts (made per chunk: no copy of the whole table)
        return rows_table.iloc[k * n_chunk: min(n, (k + 1) * n_chunk)].to_dict("records")

    done_before = sum(min(n, (k + 1) * n_chunk) - k * n_chunk for k in done)
    bar = _Bar(n, done_before, progress)
    workers_desc = "in process"
    with bar:
        if workers == 0 and scheduler is None:
            for k in todo:
                block, relax = compute_chunk_records(rows_of(k), spec)
                write_relaxation(out, k, relax)
                write_chunk(out, images, k, n_chunk, block)
                bar.advance(len(block))
        else:
            from dask.distributed import Client, LocalCluster, as_completed

            if scheduler:
                client, cluster = Client(scheduler), None
                workers_desc = f"scheduler {scheduler}"
            else:
                import dask

                nw = workers or os.cpu_count() or 1
                os.environ.setdefault("OMP_NUM_THREADS", "1")
                # Dask's nannies set MALLOC_TRIM_THRESHOLD_=65536 in their workers: glibc then returns every
                # large freed block to the OS, and the simulator's large NumPy temporaries cost 1.5x the CPU
                # (measured: 0.90 s -> 1.45 s per chunk). Local workers keep glibc's default.
                env = {k: v for k, v in dask.config.get("distributed.nanny.pre-spawn-environ", {}).items()
                       if k != "MALLOC_TRIM_THRESHOLD_"}
                with dask.config.set({"distributed.nanny.pre-spawn-environ": env}):
                    cluster = LocalCluster(n_workers=nw, threads_per_worker=1, processes=True,
                                           dashboard_address=":0", silence_logs=40)
                client = Client(cluster)
                workers_desc = f"{nw} local worker process{'es' if nw > 1 else ''}"
            try:
                nworkers = max(1, len(client.scheduler_info()["workers"]))
                spec_f = client.scatter(spec, broadcast=True)
                queue = list(todo)
                in_flight = as_completed()
                key_of = {}
                # local workers share this file system: they write their chunks' pixels themselves
                local = scheduler is None

                def submit(k):
                    if local:
                        return client.submit(compute_and_write_chunk, rows_of(k), spec_f, str(out), k, n_chunk,
                                             pure=False)
                    return client.submit(compute_chunk_records, rows_of(k), spec_f, pure=False)

                for _ in range(min(len(queue), 2 * nworkers + 1)):
                    k = queue.pop(0)
                    f = submit(k)
                    key_of[f.key] = k
                    in_flight.add(f)
                for f in in_flight:
                    k = key_of.pop(f.key)
                    if local:
                        digest, relax, n_done = f.result()
                        f.release()
                        if digest is None:
                            raise disk_full_error(out, k)
                        write_relaxation(out, k, relax)
                        write_marker(out, k, digest)
                    else:
                        block, relax = f.result()
                        f.release()
                        write_relaxation(out, k, relax)
                        write_chunk(out, images, k, n_chunk, block)
                        n_done = len(block)
                    bar.advance(n_done)
                    if queue:
                        k2 = queue.pop(0)
                        f2 = submit(k2)
                        key_of[f2.key] = k2
                        in_flight.add(f2)
            finally:
                client.close()
                if cluster is not None:
                    cluster.close()
    elapsed = time.perf_counter() - t0
    remaining = meta["n_chunks"] - len(done_chunks(out))
    meta = dict(meta)
    meta["build_seconds"] = round(meta.get("build_seconds", 0.0) + elapsed, 2)
    if remaining == 0:
        if meta.get("state") != "complete":
            meta["state"] = "complete"
            from sadpnet.data.store import read_relaxation

            card = make_card(table, spec, meta, meta["build_seconds"], workers_desc, relaxation=read_relaxation(out))
            write_card(out, card)
        write_meta(out, meta)
        from sadpnet.data.card import read_card

        return read_card(out)
    write_meta(out, meta)
    return {"state": "building", "chunks_left": remaining, "n_patterns": n}


class _Bar:
    """A rich progress bar counting patterns, with rate and time left (or nothing when disabled)."""

    def __init__(self, total: int, done: int, enabled: bool):
        self.enabled = enabled
        if enabled:
            from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn,
                                       TimeRemainingColumn)

            self.p = Progress(TextColumn("building"), BarColumn(), MofNCompleteColumn(),
                              TextColumn("{task.fields[rate]} patterns/s"), TimeElapsedColumn(),
                              TextColumn("left"), TimeRemainingColumn(), transient=False)
            self.task = self.p.add_task("build", total=total, completed=done, rate="-")
            self.t0, self.n0 = time.perf_counter(), 0

    def __enter__(self):
        if self.enabled:
            self.p.__enter__()
        return self

    def __exit__(self, *exc):
        if self.enabled:
            self.p.__exit__(*exc)

    def advance(self, k: int) -> None:
        if self.enabled:
            self.n0 += k
            rate = self.n0 / max(1e-9, time.perf_counter() - self.t0)
            self.p.update(self.task, advance=k, rate=f"{rate:.0f}")
