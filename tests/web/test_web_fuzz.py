"""Fuzzed uploads: truncated and corrupted DM3/TIFF/PNG headers, images whose header claims 100000 x 100000
pixels, zero-byte files. Each gets a 4xx with one line (never a 5xx), nothing is decoded past the size
limit, and the server still answers a valid request afterwards. Bounded: a fixed, seeded set of files."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest
from fastapi.testclient import TestClient
from web_helpers import DM3, FakeModel, spot_pattern, to_u8

from sadpnet.io.readers import MAX_IMAGE_PIXELS
from sadpnet.web.app import create_app

HEADER_BYTES = {"dm3": 2048, "tif": 256, "png": 64}  # where each format's header and first tags lie
CUTS = (1, 4, 8, 13, 24, 33, 60, 100, 200, 400, 1000, 2000)


def _png_bytes(img_u8: np.ndarray) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(img_u8).save(buf, format="PNG")
    return buf.getvalue()


def _tif_bytes(img: np.ndarray) -> bytes:
    import tifffile

    buf = io.BytesIO()
    tifffile.imwrite(buf, img.astype(np.uint16))
    return buf.getvalue()


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png_claiming(width: int, height: int) -> bytes:
    """A valid PNG header (correct CRCs) that claims width x height 8-bit grey pixels, with one tiny IDAT:
    a decompression bomb's header (decoding it would allocate width x height bytes)."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", zlib.compress(b"\0" * 1024))
            + _chunk(b"IEND", b""))


def tif_claiming(width: int, height: int) -> bytes:
    """A little-endian baseline TIFF whose tags claim width x height 8-bit grey pixels in one strip of 16
    bytes (the rest is missing)."""
    tags = [(256, 4, width), (257, 4, height), (258, 3, 8), (259, 3, 1), (262, 3, 1), (273, 4, 8 + 2 + 12 * 9 + 4),
            (277, 3, 1), (278, 4, height), (279, 4, min(width * height, 2**32 - 1))]
    ifd = struct.pack("<H", len(tags)) + b"".join(
        struct.pack("<HHI", tag, typ, 1) + (struct.pack("<HH", value, 0) if typ == 3 else struct.pack("<I", value))
        for tag, typ, value in tags) + struct.pack("<I", 0)
    return b"II*\x00" + struct.pack("<I", 8) + ifd + b"\0" * 16


def dm3_claiming(side: int) -> bytes:
    """The shipped z2_saed.dm3 with its main image's tags patched to side x side pixels (the data array's
    element count, big-endian in the tag header, and the two little-endian dimensions after "Dimensions")."""
    data = bytearray(DM3.read_bytes())
    count_at = data.index(struct.pack(">I", 1024 * 1024))
    data[count_at:count_at + 4] = struct.pack(">I", side * side)
    dims = data.index(b"Dimensions", count_at)
    for _ in range(2):
        at = data.index(struct.pack("<I", 1024), dims)
        data[at:at + 4] = struct.pack("<I", side)
        dims = at + 4
    return bytes(data)


def npy_claiming(rows: int, cols: int) -> bytes:
    buf = io.BytesIO()
    np.save(buf, np.zeros((4, 4), np.uint8))
    head = buf.getvalue()
    n = struct.unpack("<H", head[8:10])[0]
    text = head[10:10 + n].decode("latin1").replace("(4, 4)", f"({rows}, {cols})")
    return head[:10] + text.rstrip("\n ").ljust(n - 1).encode("latin1") + b"\n" + b"\0" * 16


@pytest.fixture(scope="module")
def valid_files():
    img = spot_pattern(96)
    return {"dm3": DM3.read_bytes(), "tif": _tif_bytes(img), "png": _png_bytes(to_u8(img))}


def fuzzed(valid_files):
    """(name, bytes, must_fail): truncations within the header (must fail) and seeded byte flips in it
    (may still be readable: then 200 is right)."""
    rng = np.random.default_rng(19)
    out = []
    for ext, data in valid_files.items():
        for cut in CUTS:
            if cut < HEADER_BYTES[ext] or ext == "dm3":
                out.append((f"cut{cut}.{ext}", data[:cut], True))
        for i in range(8 if ext == "dm3" else 12):
            buf = bytearray(data)
            for pos in rng.integers(0, HEADER_BYTES[ext], size=1 + i % 3):
                buf[pos] ^= int(rng.integers(1, 256))
            out.append((f"flip{i}.{ext}", bytes(buf), False))
    for ext in ("dm3", "dm4", "tif", "png", "jpg", "mrc", "emd", "npy"):
        out.append((f"empty.{ext}", b"", True))
    out += [("bomb.png", png_claiming(100_000, 100_000), True),
            ("bomb9000.png", png_claiming(9000, 9000), True),  # under Pillow's own limit, over sadpnet's
            ("bomb.tif", tif_claiming(100_000, 100_000), True),
            ("bomb.npy", npy_claiming(100_000, 100_000), True),
            ("bomb.dm3", dm3_claiming(50_000), True)]
    return out


@pytest.fixture(scope="module")
def client():
    return TestClient(create_app(model=FakeModel(), max_upload_mb=8))


def test_fuzzed_uploads_get_one_line_4xx_and_the_server_keeps_answering(client, valid_files, monkeypatch):
    from PIL import ImageFile

    decoded = []
    real_load = ImageFile.ImageFile.load

    def recording_load(im):  # what Pillow is asked to decode, by size
        decoded.append(im.size)
        return real_load(im)

    monkeypatch.setattr(ImageFile.ImageFile, "load", recording_load)
    codes = {}
    for name, data, must_fail in fuzzed(valid_files):
        for url in ("/api/classify", "/api/inspect"):
            r = client.post(url, files={"file": (name, data)}, data={"calibration_inv_a_per_px": "0.01"})
            codes[(name, url)] = r.status_code
            assert r.status_code < 500, (name, url, r.text)
            if must_fail or r.status_code != 200:
                assert 400 <= r.status_code < 500, (name, url, r.status_code)
                detail = r.json()["detail"]
                assert isinstance(detail, str) and detail.startswith(name) and "\n" not in detail, (name, detail)
    assert all(w * h <= MAX_IMAGE_PIXELS for w, h in decoded), decoded  # the bombs were never decoded
    refused = sum(400 <= c < 500 for c in codes.values())
    assert refused >= len(codes) // 2  # most corruptions are caught, not silently read
    for ext, data in valid_files.items():  # and the server still answers
        r = client.post("/api/classify", files={"file": (f"valid.{ext}", data)},
                        data={"calibration_inv_a_per_px": "0.01"})
        assert r.status_code == 200, r.text


@pytest.mark.parametrize("name,data,words", [
    ("bomb.png", png_claiming(100_000, 100_000), "pixels"),
    ("bomb9000.png", png_claiming(9000, 9000), "image of 9000 x 9000 pixels is larger than sadpnet reads"),
    ("bomb.tif", tif_claiming(100_000, 100_000), "image of 100000 x 100000 pixels is larger than sadpnet reads"),
    ("bomb.npy", npy_claiming(100_000, 100_000), "bomb.npy: not a readable NPY file"),
    ("bomb.dm3", dm3_claiming(50_000), "bomb.dm3: not a readable DM3 file"),
])
def test_size_bombs_are_refused_by_the_readers_for_the_cli_too(tmp_path, name, data, words):
    """The check lies in sadpnet.io, so `sadpnet classify` and every other reader of files get it."""
    from sadpnet.errors import InputError
    from sadpnet.io import load_pattern

    path = tmp_path / name
    path.write_bytes(data)
    before = _peak_rss_mib()
    with pytest.raises(InputError, match=words) as err:
        load_pattern(path)
    assert "\n" not in str(err.value)
    assert _peak_rss_mib() - before < 200  # nothing near the claimed size was allocated (1-20 GB)


def _peak_rss_mib() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
