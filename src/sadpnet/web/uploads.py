"""Uploads: the request-size limit (413), the accepted file types (415) and per-request temporary files.

* `UploadLimitMiddleware` (pure ASGI) refuses a request whose ``Content-Length`` exceeds the limit before
  reading it, and counts the bytes of every request body while it streams in (chunked uploads, lying
  headers): past the limit it stops the upload with HTTP 413.
* `ACCEPTED_SUFFIXES`: the microscope-file types the page and the API accept (file name suffix, lower case);
  anything else is HTTP 415.
* `saved_uploads` copies the uploaded files into a fresh `tempfile.TemporaryDirectory` (one per request,
  removed when the block ends, whatever happens) under safe names that keep the suffix, so the readers in
  `sadpnet.io` pick the format from the name.
"""

from __future__ import annotations

import contextlib
import re
import shutil
import tempfile
from pathlib import Path
from typing import BinaryIO, Iterator, Sequence

#: File suffixes (lower case) of the formats `sadpnet.io.load_pattern` reads, as the web page offers them.
ACCEPTED_SUFFIXES: tuple[str, ...] = (".dm3", ".dm4", ".tif", ".tiff", ".png", ".jpg", ".jpeg", ".mrc", ".emd", ".npy")


class UnsupportedType(Exception):
    """A file whose type the readers do not know (HTTP 415)."""


def too_large_message(limit_bytes: int) -> str:
    return f"upload larger than this server's limit of {limit_bytes / 2**20:g} MB per request"


class UploadLimitMiddleware:
    """ASGI middleware: HTTP 413 for request bodies over ``limit_bytes``.

    Checks the ``Content-Length`` header first (nothing is read), then counts the body bytes as the
    application receives them; past the limit the application's next ``receive()`` raises
    ``fastapi.HTTPException(413)``, which FastAPI turns into the JSON error response (the rest of the body is
    never read or stored).
    """

    def __init__(self, app, limit_bytes: int):
        self.app = app
        self.limit_bytes = int(limit_bytes)

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_bytes
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = 0
                if declared > limit:
                    await _send_json(send, 413, too_large_message(limit))
                    return
        received = 0

        async def counting_receive():
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    from fastapi import HTTPException

                    raise HTTPException(status_code=413, detail=too_large_message(limit))
            return message

        await self.app(scope, counting_receive, send)


async def _send_json(send, status: int, detail: str) -> None:
    import json

    body = json.dumps({"detail": detail}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})


def check_suffix(filename: str | None) -> str:
    """The lower-case suffix of ``filename`` if it is an accepted type, else `UnsupportedType`."""
    suffix = Path(filename or "").suffix.lower()
    if suffix not in ACCEPTED_SUFFIXES:
        shown = filename or "(no file name)"
        raise UnsupportedType(
            f"{shown}: file type {suffix or '(none)'!r} cannot be read; accepted: {', '.join(ACCEPTED_SUFFIXES)}")
    return suffix


def safe_name(index: int, filename: str) -> str:
    """A file-system-safe name for the ``index``-th upload that keeps the original suffix."""
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", Path(filename).stem)[:80] or "upload"
    return f"{index:03d}_{stem}{Path(filename).suffix.lower()}"


@contextlib.contextmanager
def saved_uploads(files: Sequence[tuple[str, BinaryIO]]) -> Iterator[list[Path]]:
    """Copy ``(filename, file object)`` pairs into a new temporary directory; yield their paths.

    The suffixes must have been checked (`check_suffix`). The directory and everything in it is removed
    when the block ends, also on errors.
    """
    with tempfile.TemporaryDirectory(prefix="sadpnet-web-") as tmp:
        paths = []
        for i, (filename, fobj) in enumerate(files):
            path = Path(tmp) / safe_name(i, filename)
            fobj.seek(0)
            with open(path, "wb") as out:
                shutil.copyfileobj(fobj, out, 1 << 20)
            paths.append(path)
        yield paths
