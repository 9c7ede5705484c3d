"""The HTTP service: POST /predict, GET /health, GET /info and a web page at GET /.

Overload is answered, never queued without bound: at most `max_concurrency` requests are
handled at once and `max_queue` more wait for a slot (beyond that: 503 immediately), each
within `timeout_s`, waiting included (else 504). Inference runs
in a thread pool so the event loop keeps answering /health while a model works.
"""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from scancci.faces.names import DEFAULT_DETECTOR
from scancci.inference import Recognizer
from scancci.serve.limits import ServeLimits
from scancci.serve.predictor import Predictor, RecognizerPredictor
from scancci.serve.upload import decode_image, read_upload
from scancci.version import __version__

STATIC = Path(__file__).with_name("static")


def create_app(model: Any, *, limits: ServeLimits | None = None, detector: str = DEFAULT_DETECTOR,
               backend: str | None = None, precision: str = "fp32",
               **limit_overrides: Any) -> FastAPI:
    """Build the FastAPI app for `model`: a saved model path, a scancci module, a Recognizer,
    or any `Predictor`. Limits come from `limits` and keyword overrides (see ServeLimits).
    """
    limits = replace(limits or ServeLimits(), **limit_overrides)
    predictor = as_predictor(model, detector=detector, backend=backend, precision=precision)
    executor = ThreadPoolExecutor(max_workers=limits.max_concurrency,
                                  thread_name_prefix="scancci-infer")

    @asynccontextmanager
    async def lifespan(_: FastAPI):  # noqa: ANN202 - FastAPI's lifespan protocol
        yield
        executor.shutdown(wait=False, cancel_futures=True)

    app = FastAPI(title="scancci", version=__version__, lifespan=lifespan,
                  description="Facial expression recognition with SCAN-CCI")
    app.state.limits = limits
    app.state.predictor = predictor
    app.state.model_name = predictor.describe().get("name", "model")
    app.state.gate = _Gate(limits.max_concurrency, limits.max_queue)
    app.state.executor = executor
    _add_error_handlers(app)
    _add_routes(app)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return app


def as_predictor(model: Any, *, detector: str, backend: str | None, precision: str) -> Predictor:
    """Wrap whatever was given in a Predictor (a Recognizer is built for paths and modules)."""
    if callable(model) and hasattr(model, "describe"):
        return model
    if hasattr(model, "predict") and hasattr(model, "config"):  # a Recognizer already
        return RecognizerPredictor(model)
    recognizer = Recognizer(model, detector=detector, backend=backend, precision=precision)
    name = Path(model).name if isinstance(model, (str, Path)) else \
        getattr(recognizer.config, "pretrained", None) or type(model).__name__
    return RecognizerPredictor(recognizer, name=name)


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
    @app.get("/", include_in_schema=False)
    async def page() -> FileResponse:
        return FileResponse(STATIC / "index.html", media_type="text/html")

    @app.get("/health")
    async def health() -> dict[str, Any]:
        """Liveness: answers even while every inference slot is busy."""
        return {"status": "ok", "in_flight": app.state.gate.inside,
                "waiting": app.state.gate.waiting,
                "max_concurrency": app.state.limits.max_concurrency}

    @app.get("/info")
    async def info() -> dict[str, Any]:
        """Model, classes, version, limits and what the service can do."""
        model = app.state.predictor.describe()
        return {
            "service": "scancci",
            "version": __version__,
            "model": model,
            "classes": model.get("classes", []),
            "limits": app.state.limits.to_dict(),
            "capabilities": {
                "attention_overlay": bool(model.get("attention", False)),
                "upload": ["multipart/form-data (field 'file')", "image/* body"],
                "formats": ["jpeg", "png", "bmp", "tiff", "webp", "gif"],
            },
        }

    @app.post("/predict")
    async def predict(request: Request, attention: bool = False) -> Any:
        """Faces in the uploaded image: box, landmarks, probabilities, label [, attention_png]."""
        gate: _Gate = app.state.gate
        limits: ServeLimits = app.state.limits
        started = time.perf_counter()
        try:
            entered = await gate.try_enter(limits.timeout_s)
        except TimeoutError as err:
            raise HTTPException(504, f"no request slot freed up within {limits.timeout_s:g} s; "
                                     "the service is overloaded, retry later") from err
        if not entered:
            return JSONResponse(
                {"error": f"the service is busy (all {gate.capacity} request slots in use and "
                          f"{gate.queue} waiting); retry shortly"},
                status_code=503, headers={"Retry-After": "1"})
        handed_off = False
        try:
            data = await asyncio.wait_for(read_upload(request, limits.max_upload_bytes),
                                          limits.timeout_s)
            work = asyncio.get_running_loop().run_in_executor(
                app.state.executor, _infer, app.state.predictor, data, limits, attention)
            left = max(limits.timeout_s - (time.perf_counter() - started), 0.001)
            try:
                width, height, faces = await asyncio.wait_for(asyncio.shield(work), left)
            except TimeoutError:
                # a thread cannot be stopped: its slot stays taken until it finishes
                work.add_done_callback(lambda _: gate.leave())
                handed_off = True
                raise
        except TimeoutError as err:
            raise HTTPException(504, f"the request took longer than the {limits.timeout_s:g} s "
                                     "allowed; try a smaller image") from err
        finally:
            if not handed_off:
                gate.leave()
        return {
            "width": width,
            "height": height,
            "faces": faces,
            "model": app.state.model_name,
            "elapsed_ms": round((time.perf_counter() - started) * 1000, 1),
        }


def _infer(predictor: Predictor, data: bytes, limits: ServeLimits, attention: bool
           ) -> tuple[int, int, list[dict[str, Any]]]:
    image = decode_image(data, limits.max_pixels)
    faces = predictor(image, attention=attention)
    faces = sorted(faces, key=lambda f: -f.get("detection_score", 0.0))[: limits.max_faces]
    return image.width, image.height, faces


def _add_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, err: StarletteHTTPException) -> JSONResponse:
        return JSONResponse({"error": str(err.detail)}, status_code=err.status_code,
                            headers=getattr(err, "headers", None))

    @app.exception_handler(ValueError)
    async def bad_input(_: Request, err: ValueError) -> JSONResponse:
        return JSONResponse({"error": f"invalid input: {err}"}, status_code=422)

    @app.exception_handler(Exception)
    async def internal(_: Request, err: Exception) -> JSONResponse:
        return JSONResponse({"error": f"internal error ({type(err).__name__}): {err}"},
                            status_code=500)
