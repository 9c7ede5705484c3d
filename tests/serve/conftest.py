"""Fixtures of the service tests: a stand-in Predictor (no model) and small images."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import uvicorn

CLASSES = ("neutral", "happy", "sad")


class FakePredictor:
    """Faces at fixed fractions of the image (one in the centre unless `boxes` says otherwise),
    in the shape of `Face.to_dict()`; optionally blocks until `release` is set. `seen` keeps
    the settings of each call."""

    def __init__(self, *, block: bool = False, fail: Exception | None = None,
                 boxes: tuple[tuple[float, float, float, float], ...] = ((0.25, 0.25, 0.75, 0.75),)
                 ) -> None:
        self.fail = fail
        self.boxes = boxes
        self.release = threading.Event()
        if not block:
            self.release.set()
        self.entered = threading.Semaphore(0)
        self.seen: list[Any] = []

    def __call__(self, image: np.ndarray, *, attention: bool = False,
                 settings: Any = None) -> list[dict[str, Any]]:
        self.seen.append(settings)
        self.entered.release()
        self.release.wait(timeout=20)
        if self.fail is not None:
            raise self.fail
        h, w = image.shape[:2]
        return [{
            "face": i, "track_id": None, "x1": w * x1, "y1": h * y1, "x2": w * x2, "y2": h * y2,
            "detection_score": 0.99, "rotation": 0, "label": "happy", "landmarks": None,
            "prob_neutral": 0.2, "prob_happy": 0.7, "prob_sad": 0.1,
        } for i, (x1, y1, x2, y2) in enumerate(self.boxes)]

    def describe(self) -> dict[str, Any]:
        return {"name": "fake", "arch": "fake", "classes": list(CLASSES), "backend": "none",
                "precision": "fp32", "attention": False}


@pytest.fixture()
def fake_predictor() -> type[FakePredictor]:
    """The FakePredictor class (build it with block=True to hold requests inside)."""
    return FakePredictor


CHROMIUM = Path("/usr/bin/chromium")


def free_port() -> int:
    """A free TCP port on the loopback interface."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def running_server(app: Any) -> Iterator[str]:
    """Serve `app` with uvicorn on 127.0.0.1 in a background thread; yields its base URL."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture(scope="session")
def chromium_path() -> Path:
    """Debian's chromium; missing is a failure with the fix, never a skip."""
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: run scripts/ensure-browser.sh (as root it installs "
                    "the Debian packages chromium and chromium-driver)")
    return CHROMIUM


@pytest.fixture()
def serve_on_loopback() -> Any:
    """`with serve_on_loopback(app) as url:` runs the app with uvicorn on 127.0.0.1."""
    return running_server
