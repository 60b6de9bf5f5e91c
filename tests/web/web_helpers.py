"""Shared helpers of the web tests: synthetic spot patterns written in each format, a small fake classifier,
and a uvicorn server in a thread."""

from __future__ import annotations

import socket
import struct
import threading
import time
from pathlib import Path

import numpy as np

from sadpnet.errors import InputError
from sadpnet.resources import resource_path

DM3 = resource_path("experimental", "kvmani_pycrystallography", "z2_saed.dm3")
SI_TIF = resource_path("experimental", "kvmani_pycrystallography", "Si_110_alphaBetaPaper.tif")


def spot_pattern(size_px: int = 96, spacing_px: float = 14.0, seed: int = 0) -> np.ndarray:
    """(size, size) float32: a square lattice of Gaussian spots around the centre, bright direct beam,
    weak Poisson-like noise (seeded)."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:size_px, 0:size_px].astype(np.float32)
    c = size_px / 2.0
    img = np.zeros((size_px, size_px), np.float32)
    n = int(c // spacing_px)
    for i in range(-n, n + 1):
        for j in range(-n, n + 1):
            amp = 2000.0 if (i, j) == (0, 0) else 300.0 * np.exp(-0.05 * (i * i + j * j))
            img += amp * np.exp(-((x - c - i * spacing_px) ** 2 + (y - c - j * spacing_px) ** 2) / (2 * 1.2**2))
    img += 10.0 + rng.normal(0.0, 1.0, img.shape).astype(np.float32)
    return img


def to_u8(img: np.ndarray) -> np.ndarray:
    return np.clip(255.0 * img / img.max(), 0, 255).astype(np.uint8)


def write_mrc(path: Path, img: np.ndarray) -> None:
    """A minimal MRC2014 file (mode 2, float32, one section), header written by hand."""
    data = np.ascontiguousarray(img, dtype="<f4")
    ny, nx = data.shape
    header = bytearray(1024)
    struct.pack_into("<3i", header, 0, nx, ny, 1)  # nx, ny, nz
    struct.pack_into("<i", header, 12, 2)  # mode 2: float32
    struct.pack_into("<3i", header, 28, nx, ny, 1)  # mx, my, mz
    struct.pack_into("<3f", header, 40, float(nx), float(ny), 1.0)  # cell size, A
    struct.pack_into("<3f", header, 52, 90.0, 90.0, 90.0)
    struct.pack_into("<3i", header, 64, 1, 2, 3)  # mapc, mapr, maps
    struct.pack_into("<3f", header, 76, float(data.min()), float(data.max()), float(data.mean()))
    header[208:212] = b"MAP "
    header[212:216] = bytes([0x44, 0x44, 0, 0])  # little endian
    path.write_bytes(bytes(header) + data.tobytes())


def write_formats(folder: Path, img: np.ndarray) -> dict[str, Path]:
    """The same pattern as PNG (8 and 16 bit), JPEG, TIFF (float32), MRC and NPY files in ``folder``."""
    import tifffile
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    out = {}
    out["png8"] = folder / "pattern8.png"
    Image.fromarray(to_u8(img)).save(out["png8"])
    out["png16"] = folder / "pattern16.png"
    Image.fromarray(np.clip(60000.0 * img / img.max(), 0, 65535).astype(np.uint16)).save(out["png16"])
    out["jpeg"] = folder / "pattern.jpg"
    Image.fromarray(to_u8(img)).save(out["jpeg"], quality=95)
    out["tiff"] = folder / "pattern.tif"
    tifffile.imwrite(out["tiff"], img.astype(np.float32))
    out["mrc"] = folder / "pattern.mrc"
    write_mrc(out["mrc"], img)
    out["npy"] = folder / "pattern.npy"
    np.save(out["npy"], img.astype(np.float32))
    return out


class FakeModel:
    """Stands in for `sadpnet.model.infer.Classifier` in API tests: the answer is made from the image itself
    (its shape and mean), so results of concurrent requests can be told apart; ``delay_s`` widens overlaps."""

    card = {"name": "fake-test-model", "architecture": "none", "classes": ["213", "221", "225", "227", "229"]}

    def __init__(self, delay_s: float = 0.0, unknown: bool = False):
        self.delay_s = delay_s
        self.unknown = unknown
        self.calls = 0

    def classify_images(self, patterns, *, calibration_inv_a_per_px=None, top_k=5, ensemble=False):
        self.calls += 1
        if self.delay_s:
            time.sleep(self.delay_s)
        images = []
        for p in patterns:
            cal = p.pixel_size_inv_a if p.pixel_size_inv_a is not None else calibration_inv_a_per_px
            if cal is None:
                raise InputError("the image has no reciprocal-space calibration", p.source)
            sg = (213, 221, 225, 227, 229)[p.image.shape[1] % 5]
            top = [{"space_group": sg, "symbol": "?", "crystal_system": "cubic", "probability": 0.9}]
            images.append({"source": str(p.source), "top": top[:top_k], "prediction": top[0],
                           "unknown": {"verdict": self.unknown, "score": 2.0 if self.unknown else 0.0,
                                       "threshold": 1.0, "score_name": "fake"},
                           "centre_xy": [float(v) for v in p.centre_xy],
                           "calibration": {"pixel_size_inv_a": float(cal), "source": "x"},
                           "shape": list(p.image.shape), "mean": float(p.image.mean())})
        ens = None
        if ensemble:
            ens = {"n_images": len(images), "rule": "product", "top": images[0]["top"],
                   "prediction": images[0]["prediction"],
                   "unknown": {"verdict": False, "n_unknown": 0, "score": 0.0, "score_name": "fake"}}
        return {"result_version": 1, "model": {"name": self.card["name"]}, "images": images, "ensemble": ens}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ServerThread:
    """uvicorn serving ``app`` on 127.0.0.1:<free port> in a daemon thread (context manager)."""

    def __init__(self, app):
        import uvicorn

        self.port = free_port()
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning",
                                                    lifespan="off"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self):
        self.thread.start()
        t0 = time.monotonic()
        while not self.server.started:
            if time.monotonic() - t0 > 20 or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc):
        self.server.should_exit = True
        self.thread.join(timeout=10)
