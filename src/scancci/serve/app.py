"""The HTTP service: POST /predict, GET /health, GET /info, /openapi.json and a web page at /.

A request's upload is read first, within the upload limits (a timeout on every read and on the
whole upload, a byte cap), holding nothing but its connection; only then does it wait for one
of `max_concurrency` model slots, with at most `max_queue` requests waiting (beyond that: 503
at once), slot wait and inference within `timeout_s` (else 504). Inference runs in a thread
pool, so the event loop keeps answering /health while a model works. Every refusal is one JSON
shape, `{"error": "..."}` (400, 408, 413, 415, 503, 504), and every answer is documented by
pydantic models in /openapi.json. The interactive /docs page would load its scripts from a CDN,
which fails offline, so it is off.
"""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

from fastapi import FastAPI, HTTPException, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from scancci.errors import InvalidInputError, ScanCCIError, error_detail
from scancci.faces.detect import check_thresholds
from scancci.faces.names import DEFAULT_DETECTOR
from scancci.inference import Recognizer
from scancci.serve.limits import ServeLimits
from scancci.serve.predictor import FaceSettings, Predictor, RecognizerPredictor
from scancci.serve.schemas import ErrorOut, HealthOut, InfoOut, prediction_model
from scancci.serve.upload import FORMATS, decode_image, read_upload
from scancci.version import __version__

STATIC = Path(__file__).with_name("static")
REFUSALS = {400: "bad request (unreadable image, bad field)",
            408: "the upload was too slow (read_timeout_s, upload_timeout_s)",
            413: "the image file or its pixel count is over the limit",
            415: "not an image upload", 503: "every model slot and queue place is taken",
            504: "no slot or no answer within timeout_s"}
# POST /predict's body, read by hand (before a slot is taken), so documented here
REQUEST_BODY = {"requestBody": {"required": True, "content": {
    "multipart/form-data": {"schema": {"type": "object", "required": ["file"], "properties": {
        "file": {"type": "string", "format": "binary", "description": f"the image ({FORMATS})"},
        "attention": {"type": "boolean", "description": "as the query parameter"},
        "detector": {"type": "string", "description": "as the query parameter"},
        "min_score": {"type": "number", "description": "as the query parameter"},
        "min_face_size": {"type": "number", "description": "as the query parameter"}}}},
    "image/*": {"schema": {"type": "string", "format": "binary"}}}}}


def create_app(model: Any, *, limits: ServeLimits | None = None, detector: str = DEFAULT_DETECTOR,
               backend: str | None = None, precision: str = "fp32",
               min_score: float | None = None, min_face_size: float | None = None,
               rotation: int | str | None = None, **limit_overrides: Any) -> FastAPI:
    """Build the FastAPI app for `model`: a saved model path, a pretrained baseline's name, a
    scancci module, a Recognizer, or any `Predictor`. Limits come from `limits` and keyword
    overrides (see ServeLimits); detector settings as for `Recognizer`."""
    limits = replace(limits or ServeLimits(), **limit_overrides)
    predictor = as_predictor(model, detector=detector, backend=backend, precision=precision,
                             min_score=min_score, min_face_size=min_face_size,
                             rotation=rotation)
    executor = ThreadPoolExecutor(max_workers=limits.max_concurrency,
                                  thread_name_prefix="scancci-infer")

    @asynccontextmanager
    async def lifespan(_: FastAPI):  # noqa: ANN202 - FastAPI's lifespan protocol
        yield
        executor.shutdown(wait=False, cancel_futures=True)

    app = FastAPI(title="scancci", version=__version__, lifespan=lifespan,
                  description="Facial expression recognition with SCAN-CCI",
                  docs_url=None, redoc_url=None)
    app.state.limits = limits
    app.state.predictor = predictor
    app.state.model = predictor.describe()
    app.state.model_name = app.state.model.get("name", "model")
    app.state.settings = getattr(predictor, "settings", dict)()
    app.state.gate = _Gate(limits.max_concurrency, limits.max_queue)
    app.state.executor = executor
    _add_error_handlers(app)
    _add_routes(app)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return app


def as_predictor(model: Any, *, detector: str, backend: str | None, precision: str,
                 min_score: float | None = None, min_face_size: float | None = None,
                 rotation: int | str | None = None) -> Predictor:
    """Wrap whatever was given in a Predictor (a Recognizer is built for paths and modules)."""
    if callable(model) and hasattr(model, "describe"):
        return model
    if isinstance(model, Recognizer):
        return RecognizerPredictor(model)
    return RecognizerPredictor(Recognizer(model, detector=detector, backend=backend,
                                          precision=precision, min_score=min_score,
                                          min_face_size=min_face_size, rotation=rotation))


class _Gate:
    """At most `capacity` requests inside and `queue` more waiting for a slot; beyond, 503."""

    def __init__(self, capacity: int, queue: int) -> None:
        self.capacity, self.queue = capacity, queue
        self.inside = self.waiting = 0
        self._slots = asyncio.Semaphore(capacity)

    async def try_enter(self, timeout: float) -> bool:
        """False at once when every slot is taken and the queue is full; a TimeoutError when
        no slot frees up within `timeout` seconds."""
        if self._slots.locked():
            if self.waiting >= self.queue:
                return False
            self.waiting += 1
            try:
                await asyncio.wait_for(self._slots.acquire(), timeout)
            finally:
                self.waiting -= 1
        else:
            await self._slots.acquire()  # a slot is free: returns without yielding to the loop
        self.inside += 1
        return True

    def leave(self) -> None:
        self.inside -= 1
        self._slots.release()


def _add_routes(app: FastAPI) -> None:
    classes = list(app.state.model.get("classes", []))

    @app.get("/", include_in_schema=False)
    async def page() -> FileResponse:
        return FileResponse(STATIC / "index.html", media_type="text/html")

    @app.get("/health", response_model=HealthOut)
    async def health() -> dict[str, Any]:
        """Liveness: answers even while every inference slot is busy."""
        return {"status": "ok", "in_flight": app.state.gate.inside,
                "waiting": app.state.gate.waiting,
                "max_concurrency": app.state.limits.max_concurrency}

    @app.get("/info", response_model=InfoOut)
    async def info() -> dict[str, Any]:
        """Model, classes, version, limits, detector settings and what the service can do."""
        return {
            "service": "scancci",
            "version": __version__,
            "model": app.state.model,
            "classes": classes,
            "limits": app.state.limits.to_dict(),
            "settings": app.state.settings,
            "capabilities": {
                "attention_overlay": bool(app.state.model.get("attention", False)),
                "upload": ["multipart/form-data (field 'file')", "image/* body"],
                "fields": ["attention", "detector", "min_score", "min_face_size"],
                "formats": ["jpeg", "png", "bmp", "tiff", "webp", "gif"],
            },
        }

    @app.post("/predict", response_model=prediction_model(classes),
              response_model_exclude_unset=True, openapi_extra=REQUEST_BODY,
              responses={code: {"model": ErrorOut, "description": text}
                         for code, text in REFUSALS.items()})
    async def predict(
        request: Request,
        attention: bool = Query(False, description="also return each face's SCAN attention "
                                                   "overlay (models with attention only)"),
        detector: str | None = Query(None, description="none: the whole image is one face (a "
                                                       "pre-cut crop); default the service's"),
        min_score: float | None = Query(None, description="drop faces scoring below"),
        min_face_size: float | None = Query(None, description="drop faces smaller (pixels)"),
    ) -> Any:
        """Every face of the uploaded image (multipart field `file`, or an image/* body): its
        box, landmarks, detection score, turn, label and one `prob_<class>` per class, the same
        fields as the rows of `scancci predict`. Fields may come as query parameters or as
        form fields."""
        started = time.perf_counter()
        limits: ServeLimits = app.state.limits
        upload = await read_upload(request, limits)  # before a slot: a slow client holds none
        attention, settings = _request_settings(upload.fields, attention, detector, min_score,
                                                min_face_size)
        if attention and not app.state.model.get("attention", False):
            raise InvalidInputError(f"attention: the model {app.state.model_name} has no "
                                    "attention maps (only SCAN-CCI models do); ask without it")
        width, height, faces = await _run(app, upload.data, attention, settings)
        applied = {**app.state.settings,
                   **{k: v for k, v in vars(settings).items() if v is not None}}
        return {"width": width, "height": height, "faces": faces, "model": app.state.model,
                "settings": applied,
                "elapsed_ms": round((time.perf_counter() - started) * 1000, 1)}


async def _run(app: FastAPI, data: bytes, attention: bool, settings: FaceSettings
               ) -> tuple[int, int, list[dict[str, Any]]]:
    """Decode and predict in a model slot, within `timeout_s` from now (503, 504)."""
    gate: _Gate = app.state.gate
    limits: ServeLimits = app.state.limits
    started = time.perf_counter()
    try:
        entered = await gate.try_enter(limits.timeout_s)
    except TimeoutError as err:
        raise HTTPException(504, f"no request slot freed up within {limits.timeout_s:g} s; "
                                 "the service is overloaded, retry later") from err
    if not entered:
        raise HTTPException(503, f"the service is busy (all {gate.capacity} request slots in "
                                 f"use and {gate.queue} waiting); retry shortly",
                            headers={"Retry-After": "1"})
    handed_off = False
    try:
        work = asyncio.get_running_loop().run_in_executor(
            app.state.executor, _infer, app.state.predictor, data, limits, attention, settings)
        left = max(limits.timeout_s - (time.perf_counter() - started), 0.001)
        try:
            return await asyncio.wait_for(asyncio.shield(work), left)
        except TimeoutError:
            # a thread cannot be stopped: its slot stays taken until it finishes
            work.add_done_callback(lambda _: gate.leave())
            handed_off = True
            raise HTTPException(504, f"the request took longer than the {limits.timeout_s:g} s "
                                     "allowed; try a smaller image") from None
    finally:
        if not handed_off:
            gate.leave()


def _infer(predictor: Predictor, data: bytes, limits: ServeLimits, attention: bool,
           settings: FaceSettings) -> tuple[int, int, list[dict[str, Any]]]:
    image = decode_image(data, limits.max_pixels)
    faces = predictor(image, attention=attention, settings=settings)
    if len(faces) > limits.max_faces:  # the best-scoring ones, in their order
        ranked = sorted(range(len(faces)), key=lambda i: -(faces[i].get("detection_score") or 0))
        faces = [faces[i] for i in sorted(ranked[:limits.max_faces])]
    return int(image.shape[1]), int(image.shape[0]), faces


def _request_settings(form: dict[str, str], attention: bool, detector: str | None,
                      min_score: float | None, min_face_size: float | None
                      ) -> tuple[bool, FaceSettings]:
    """The request's fields (form fields over query parameters), checked (400 naming them)."""
    if "attention" in form:
        text = form["attention"].strip().lower()
        if text not in ("true", "false", "1", "0", "on", "off", "yes", "no", ""):
            raise InvalidInputError(f"attention: expected true or false, got {text!r}")
        attention = text in ("true", "1", "on", "yes")
    detector = form.get("detector", detector) or None
    score = _form_number(form, "min_score", min_score)
    size = _form_number(form, "min_face_size", min_face_size)
    check_thresholds(0.5 if score is None else score, 0 if size is None else size,
                     names=("min_score", "min_face_size"))
    return attention, FaceSettings(detector, score, size)


def _form_number(form: dict[str, str], name: str, default: float | None) -> float | None:
    if not form.get(name, "").strip():
        return default
    try:
        return float(form[name])
    except ValueError:
        raise InvalidInputError(f"{name}: expected a number, got {form[name]!r}") from None


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=headers)


def _add_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, err: StarletteHTTPException) -> JSONResponse:
        return _error(err.status_code, str(err.detail), getattr(err, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def bad_field(_: Request, err: RequestValidationError) -> JSONResponse:
        problems = "; ".join(f"{'.'.join(str(p) for p in e.get('loc', ())[1:]) or 'request'}: "
                             f"{e.get('msg', 'invalid')}" for e in err.errors())
        return _error(400, f"invalid request: {problems}")

    @app.exception_handler(ScanCCIError)
    async def user_error(_: Request, err: ScanCCIError) -> JSONResponse:
        return _error(400, str(err))

    @app.exception_handler(ValueError)
    async def bad_input(_: Request, err: ValueError) -> JSONResponse:
        return _error(400, f"invalid input: {error_detail(err)}")

    @app.exception_handler(MemoryError)
    async def no_memory(_: Request, err: MemoryError) -> JSONResponse:
        return _error(503, "not enough memory for this image right now; retry or send a "
                           "smaller one", {"Retry-After": "5"})

    @app.exception_handler(Exception)
    async def internal(_: Request, err: Exception) -> JSONResponse:
        return _error(500, f"internal error ({type(err).__name__}): {error_detail(err)}")
