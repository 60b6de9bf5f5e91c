"""The web page for microscopists and its JSON API (FastAPI), a thin layer over sadpnet's Python API.

``create_app(model_dir=None, max_upload_mb=64)`` loads the classifier once (`sadpnet.model.infer.load_model`)
and serves:

* ``GET /``: the page (``static/index.html`` + ``app.js`` + ``style.css``; plain HTML/CSS/JS).
* ``POST /api/classify``: multipart, field ``file`` (repeat it for several patterns of one specimen),
  optional ``calibration_inv_a_per_px`` (1/A per pixel, used for files without one), ``ensemble``
  (default: true when several files), ``top_k`` (default `sadpnet.model.DEFAULT_TOP_K`, as the CLI), ``model``
  (a shipped model's name, `sadpnet.web.models`; default: the server's model). Returns the JSON of
  ``sadpnet classify --json`` (`sadpnet.model.infer`; ``images[i].source`` is the uploaded file name,
  ``model.dir`` the model's name instead of the server's folder).
* ``POST /api/inspect``: one ``file`` (+ optional calibration): what the page shows before classifying: the
  calibration read from the file, the direct-beam centre, a log-scaled preview PNG and the spots that the
  spot-indexing classifier reads (`sadpnet.web.preview.spot_list`).
* ``POST /api/match``: JSON ``{space_group, spots_g_inv_a, ...}``: the simulated pattern of a reference
  crystal of that space group on the zone axis and in-plane rotation that best fit the spots
  (`sadpnet.web.match`).
* ``GET /api/health``, ``GET /api/model?model=NAME`` (the model card), ``GET /api/models`` (the names a request
  may choose, the server's default and the default top-k); ``/docs`` and ``/openapi.json`` (OpenAPI).

Errors: request body over ``max_upload_mb`` -> 413 (Content-Length checked, bytes counted while streaming);
a file type the readers do not know -> 415; a file that cannot be read, or bad parameters -> 422; each with
``{"detail": "<one line>"}`` naming the uploaded file and the form field, never a server path or a CLI flag
(`sadpnet.web.messages`). Every upload goes to a `tempfile.TemporaryDirectory` removed when the request
ends. Endpoints are plain ``def`` functions, so FastAPI runs the CPU-bound work in its thread pool, off the
event loop; the model itself is called under a lock (torch's thread setting is process-wide).
"""

from __future__ import annotations

import hashlib
import math
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Annotated, Any

from fastapi import File, Form, Query, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from fastapi_offline import FastAPIOffline
from pydantic import BaseModel, Field

from sadpnet import __version__
from sadpnet.errors import InputError
from sadpnet.model import DEFAULT_TOP_K
from sadpnet.web.messages import named_as_uploaded, public_message, validation_message
from sadpnet.web.models import MODEL_FIELD, ModelChoice, shipped_name_of
from sadpnet.web.uploads import ACCEPTED_SUFFIXES, UnsupportedType, UploadLimitMiddleware, check_suffix, saved_uploads
from sadpnet.web.batch import add_batch_route  # POST /api/classify-batch

STATIC_DIR = Path(__file__).resolve().parent / "static"

_ERRORS = {
    413: {"description": "Upload larger than the server's limit (GET /api/health: max_upload_mb)."},
    415: {"description": "A file type that cannot be read (see GET /api/health: accepted_suffixes)."},
    422: {"description": "A file that cannot be read, or bad parameters: {\"detail\": \"<one line>\"}."},
}


class MatchRequest(BaseModel):
    space_group: int = Field(ge=1, le=230, description="Space-group number to show (usually the prediction).")
    spots_g_inv_a: list[tuple[float, float]] = Field(
        description="Measured spots, lab-frame (g_x, g_y) in 1/A (from POST /api/inspect).", max_length=500)
    pixel_size_inv_a: float = Field(gt=0, description="Calibration of the measured image, 1/A per pixel.")
    field_radius_inv_a: float | None = Field(None, gt=0, description="Half-width of the simulated image, 1/A, "
                                             "e.g. the measured image's (default: the farthest spot + 15 %).")
    voltage_kv: float = Field(200.0, gt=0, le=3000, description="Acceleration voltage, kV.")
    size_px: int = Field(256, ge=64, le=1024, description="Side of the simulated image, pixels.")


def create_app(model_dir: str | Path | None = None, max_upload_mb: float = 64, *, model: Any = None,
               model_loader=None):
    """The FastAPI application.

    Args:
        model_dir: model directory (safetensors + card.json) or a shipped model's name; None: the shipped
            default model. Requests may choose another shipped model by name (`sadpnet.web.models`).
        max_upload_mb: largest accepted request body, MiB (several files together); larger -> HTTP 413.
        model: an already loaded classifier (anything with ``.card`` and
            ``classify_images(patterns, *, calibration_inv_a_per_px, top_k, ensemble) -> dict``, like
            `sadpnet.model.infer.Classifier`); when given, ``model_dir`` is not read (tests inject one).
        model_loader: loads a shipped model's folder on a request's first use of it (default
            `sadpnet.model.infer.load_model`; tests inject a fake).

    Raises:
        InputError: ``max_upload_mb`` not positive, or the model directory cannot be loaded.
    """
    if not (max_upload_mb > 0):
        raise InputError(f"must be a positive number of MB, got {max_upload_mb}", "--max-upload-mb")
    limit_bytes = int(max_upload_mb * 2**20)
    models = _model_choice(model_dir, model, model_loader)
    model = models.default
    model_lock = threading.Lock()
    threading.Thread(target=_warm_up, args=(getattr(model, "card", None) or {},), daemon=True,
                     name="sadpnet-web-warm-up").start()

    app = FastAPIOffline(  # FastAPI whose /docs and /redoc serve bundled files instead of a CDN's
        title="sadpnet",
        version=__version__,
        description="Classify the crystal structure (space group) of selected-area electron diffraction "
        "patterns straight from microscope files (DM3/DM4, TIFF, PNG, JPEG, MRC, EMD, NPY).",
    )
    app.state.model = model
    app.state.models = models
    app.state.max_upload_bytes = limit_bytes
    app.add_middleware(UploadLimitMiddleware, limit_bytes=limit_bytes)

    _add_error_handlers(app)

    @app.exception_handler(UnsupportedType)
    async def _unsupported(request: Request, exc: UnsupportedType):
        return JSONResponse(status_code=415, content={"detail": str(exc)})

    def _check_calibration(value: float | None) -> float | None:
        if value is not None and not (value > 0 and value < float("inf")):
            raise InputError(f"must be a positive number of 1/A per pixel, got {value}",
                             "calibration_inv_a_per_px field")
        return value

    patterns_cache = PatternCache(max_items=8)
    app.state.pattern_cache = patterns_cache

    def _load(paths, names):
        """Read the saved uploads (`sadpnet.io.load_pattern`, the file's own calibration only: the form's
        calibration is applied by the classifier to files without one), each named as uploaded (its
        ``source``, and in errors). Files already read (the page inspects and classifies the same file) come
        from the cache."""
        import dataclasses

        from sadpnet.io import load_pattern

        patterns = []
        with named_as_uploaded(paths, names):
            for path, name in zip(paths, names):
                pattern = patterns_cache.get_or_load(PatternCache.key(path), lambda path=path: load_pattern(path))
                patterns.append(dataclasses.replace(pattern, source=name))
        return patterns

    @app.get("/", include_in_schema=False)
    def index():
        return FileResponse(STATIC_DIR / "index.html", media_type="text/html")

    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    @app.get("/api/health", summary="Is the server up, and with which model and limits")
    def health() -> dict:
        card = getattr(model, "card", {}) or {}
        return {"status": "ok", "version": __version__, "model": card.get("name"),
                "max_upload_mb": limit_bytes / 2**20, "accepted_suffixes": list(ACCEPTED_SUFFIXES)}

    @app.get("/api/model", summary="The model card (what the model is, how it was trained, how well it does)")
    def model_card(
        model: Annotated[str | None, Query(description="A shipped model's name (GET /api/models); default: "
                                                       "the server's model.")] = None,
    ) -> dict:
        return dict(getattr(models.get(model), "card", {}) or {})

    _add_models_route(app, models)

    @app.post("/api/classify", summary="Classify one or several patterns of one specimen", responses=_ERRORS)
    def classify(
        file: Annotated[list[UploadFile], File(description="Microscope file(s); repeat the field for several patterns "
                                                            "of one specimen (combined by the ensemble rule).")],
        calibration_inv_a_per_px: Annotated[float | None, Form(description="1/A per pixel, for files without a "
                                                                          "calibration of their own.")] = None,
        ensemble: Annotated[bool | None, Form(description="Combine the files (default: true when several).")] = None,
        top_k: Annotated[int, Form(ge=1, le=230, description="How many space groups to list.")] = DEFAULT_TOP_K,
        model: Annotated[str | None, Form(description="A shipped model's name (GET /api/models); default: the "
                                                      "server's model.")] = None,
    ) -> dict:
        """Returns the JSON of ``sadpnet classify --json`` (see sadpnet.model.infer); 413/415/422 on bad uploads."""
        calibration = _check_calibration(calibration_inv_a_per_px)
        chosen = models.get(model)
        names = [f.filename or f"file {i + 1}" for i, f in enumerate(file)]
        for name in names:
            check_suffix(name)
        use_ensemble = len(file) > 1 if ensemble is None else bool(ensemble)
        with saved_uploads([(n, f.file) for n, f in zip(names, file)]) as paths:
            patterns = _load(paths, names)
            with model_lock, named_as_uploaded(paths, names):
                result = chosen.classify_images(patterns, calibration_inv_a_per_px=calibration, top_k=top_k,
                                                ensemble=use_ensemble)
        for entry, name in zip(result.get("images", []), names):
            entry["source"] = name
        if isinstance(result.get("model"), dict) and "dir" in result["model"]:
            result["model"]["dir"] = models.public_name(chosen)  # the name, not the server's folder
        return _json_safe(result)

    @app.post("/api/inspect", summary="What the page shows of a file before classifying it", responses=_ERRORS)
    def inspect(
        file: Annotated[UploadFile, File(description="One microscope file.")],
        calibration_inv_a_per_px: Annotated[float | None, Form(description="1/A per pixel, for a file without "
                                                                          "one.")] = None,
        max_preview_px: Annotated[int, Form(ge=64, le=2048, description="Largest side of the preview PNG.")] = 512,
    ) -> dict:
        """The calibration (1/A per pixel, and whether the file or the form gave it), the direct-beam centre,
        image size, a log-scaled preview (PNG data URL) and the spots the spot-indexing classifier reads
        (`sadpnet.web.preview.spot_list`: pixels of the file's image, and 1/A when calibrated)."""
        from sadpnet.web.preview import preview_png, spot_list

        calibration = _check_calibration(calibration_inv_a_per_px)
        name = file.filename or "file"
        check_suffix(name)
        with saved_uploads([(name, file.file)]) as paths:
            (pattern,) = _load(paths, [name])
        image, mask = pattern.image, pattern.mask
        saturated = getattr(pattern, "saturated", None)
        # the preview shows saturated pixels (the brightest spots); the spot finder reads the classifier's mask
        if mask is not None and saturated is not None:
            mask = mask | saturated
        centre = None if pattern.centre_xy is None else [float(pattern.centre_xy[0]), float(pattern.centre_xy[1])]
        cal, cal_source = pattern.pixel_size_inv_a, (pattern.metadata or {}).get("calibration_source", "file")
        if cal is None and calibration is not None:  # as the classifier does: the form's value, if the file has none
            cal, cal_source = calibration, "option"
        meta = dict(pattern.metadata or {})
        return {
            "filename": name, "height_px": int(image.shape[0]), "width_px": int(image.shape[1]),
            "pixel_size_inv_a": None if cal is None else float(cal),
            "calibration_source": cal_source if cal is not None else None,
            "voltage_kv": _number(meta.get("voltage_kv")), "camera_length_mm": _number(meta.get("camera_length_mm")),
            "format": meta.get("format"), "centre_xy": centre,
            "masked_fraction": None if mask is None else round(1.0 - float(mask.mean()), 4),
            "spots": spot_list(pattern, cal), "preview_png": preview_png(image, mask, max_px=max_preview_px),
        }

    @app.post("/api/match", summary="The simulated pattern that best matches measured spots", responses=_ERRORS)
    def match(req: MatchRequest) -> dict:
        """Simulates a reference crystal of ``space_group`` on its low-index zone axes, finds the zone axis and
        in-plane rotation whose spots best fit the measured ones, and returns that pattern rendered as a PNG
        data URL with its spots (same lab frame as the measured image)."""
        from sadpnet.web.match import best_match

        return best_match(req.space_group, req.spots_g_inv_a, voltage_kv=req.voltage_kv, size_px=req.size_px,
                          field_radius_inv_a=req.field_radius_inv_a, measured_pixel_size_inv_a=req.pixel_size_inv_a)

    add_batch_route(app, model, model_lock)
    return app


def _model_choice(model_dir, model, model_loader) -> ModelChoice:
    """The server's models: ``model`` (injected) or the one at ``model_dir``, plus the shipped ones by name."""
    from sadpnet.model.infer import load_model

    loader = model_loader or load_model
    if model is not None:
        return ModelChoice(model, None, loader)
    return ModelChoice(load_model(model_dir), shipped_name_of(model_dir), loader)


def _add_error_handlers(app) -> None:
    """422 with one line for bad input and bad parameters, worded for a web user (`sadpnet.web.messages`)."""

    @app.exception_handler(InputError)
    async def _input_error(request: Request, exc: InputError):
        return JSONResponse(status_code=422, content={"detail": public_message(str(exc))})

    @app.exception_handler(RequestValidationError)
    async def _invalid_request(request: Request, exc: RequestValidationError):
        return JSONResponse(status_code=422, content={"detail": validation_message(exc.errors())})


def _add_models_route(app, models: ModelChoice) -> None:
    """``GET /api/models``: what the page offers in its model choice, and the default top-k."""

    @app.get("/api/models", summary="The models a request may choose (field 'model') and the default top-k")
    def list_models() -> dict:
        return {**models.describe(), "field": MODEL_FIELD, "default_top_k": DEFAULT_TOP_K}


class PatternCache:
    """A small thread-safe LRU of loaded patterns keyed by (SHA-256 of the file, suffix), at most ``max_items``
    patterns and ``max_bytes`` of arrays (the newest is always kept).

    `get_or_load` reads each key once even when requests for it overlap (the page inspects and classifies
    the same file at the same time): later callers wait for the first one's result.
    """

    def __init__(self, max_items: int = 8, max_bytes: int = 256 * 2**20):
        self.max_items = int(max_items)
        self.max_bytes = int(max_bytes)
        self._items: OrderedDict = OrderedDict()
        self._loading: dict[tuple, threading.Event] = {}
        self._lock = threading.Lock()

    @staticmethod
    def key(path: Path) -> tuple:
        h = hashlib.sha256()
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
        return h.hexdigest(), path.suffix.lower()

    def get_or_load(self, key: tuple, load):
        """The cached value of ``key``, else ``load()`` (once at a time per key), cached."""
        while True:
            with self._lock:
                if key in self._items:
                    self._items.move_to_end(key)
                    return self._items[key]
                event = self._loading.get(key)
                owner = event is None
                if owner:
                    event = self._loading[key] = threading.Event()
            if not owner:
                event.wait()
                continue  # cached now, or the loader failed and this caller tries (and reports) itself
            try:
                value = load()
                with self._lock:
                    self._items[key] = value
                    while len(self._items) > 1 and (len(self._items) > self.max_items
                                                    or sum(map(_nbytes, self._items.values())) > self.max_bytes):
                        self._items.popitem(last=False)
                return value
            finally:
                with self._lock:
                    self._loading.pop(key, None)
                event.set()

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


def _nbytes(pattern) -> int:
    return sum(getattr(getattr(pattern, name, None), "nbytes", 0) for name in ("image", "mask", "saturated"))


def _warm_up(card: dict) -> None:
    """Import the reader, peak finder and simulator and read the reference crystals of the model's space
    groups in the background, so the first upload does not pay for them. Failures are left to the requests."""
    try:
        import sadpnet.io  # noqa: F401
        import sadpnet.simulate.api  # noqa: F401
        import sadpnet.simulate.detector  # noqa: F401
        from sadpnet.web.match import reference_crystal
        import scipy.ndimage  # noqa: F401 - the spot finder's filters
        from sadpnet.model.spot_classifier import pattern_spots  # noqa: F401

        for label in card.get("classes", []):
            if str(label).isdigit() and 1 <= int(label) <= 230:
                reference_crystal(int(label))
    except Exception:  # noqa: BLE001 - warm-up only; the same error shows up in the request that needs it
        pass


def _json_safe(value):
    """``value`` with non-finite floats (e.g. an infinite unknown-score threshold) as None: strict JSON."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    return value


def _number(value) -> float | None:
    try:
        return None if value is None else float(value)
    except (TypeError, ValueError):
        return None
