"""What the service calls to answer POST /predict: a Recognizer behind a small interface.

The app depends only on `Predictor` (a callable returning JSON-ready faces, plus `describe()`
for GET /info), so endpoints and limits are testable with any stand-in, and the Recognizer's
backend (PyTorch or onnxruntime, fp32/bf16/int8) is a choice made when the service starts.
Faces are `Face.to_dict()`: the same fields as the rows of `scancci predict`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from scancci.errors import InvalidInputError
from scancci.faces.names import NO_DETECTOR
from scancci.inference.frames import Frame
from scancci.serve.overlay import attention_png


@dataclass(frozen=True)
class FaceSettings:
    """A request's own detector settings; None keeps the service's. detector: "none" treats
    the whole image as one face (a pre-cut face crop)."""

    detector: str | None = None
    min_score: float | None = None
    min_face_size: float | None = None


class Predictor(Protocol):
    """Faces of one image as JSON-ready dicts, and a description of the model behind them."""

    def __call__(self, image: np.ndarray, *, attention: bool = False,
                 settings: FaceSettings = FaceSettings()) -> list[dict[str, Any]]:
        """Faces (`Face.to_dict()` fields[, attention_png]) of an H x W x 3 RGB image."""
        ...

    def describe(self) -> dict[str, Any]:
        """Model name, classes, backend, precision and capabilities for GET /info."""
        ...


class RecognizerPredictor:
    """Adapts `scancci.inference.Recognizer` to `Predictor`."""

    def __init__(self, recognizer: Any) -> None:
        self.recognizer = recognizer

    def __call__(self, image: np.ndarray, *, attention: bool = False,
                 settings: FaceSettings = FaceSettings()) -> list[dict[str, Any]]:
        recognizer = self.configured(settings)
        (prediction,) = recognizer.predict_frames([Frame("<upload>", image)],
                                                  attention=attention)
        names = recognizer.class_names
        faces = []
        for i, face in enumerate(prediction.faces):
            out = face.to_dict(i, names)
            if attention and face.attention is not None:
                out["attention_png"] = attention_png(face.attention)
            faces.append(out)
        return faces

    def configured(self, settings: FaceSettings) -> Any:
        """The Recognizer with a request's settings (sharing the loaded networks)."""
        detector = self.recognizer.detector
        if settings == FaceSettings():
            return self.recognizer
        if settings.detector not in (None, NO_DETECTOR, self.detector_name):
            raise InvalidInputError(
                f"detector={settings.detector!r}: this service runs {self.detector_name}; send "
                f"detector={NO_DETECTOR} to read the whole image as one face, or leave it out")
        if settings.detector == NO_DETECTOR:
            return self.recognizer.configured(no_detector=True)
        if detector is None:
            raise InvalidInputError("min_score/min_face_size: this service has no face "
                                    "detector (it was started with --detector none)")
        return self.recognizer.configured(min_score=settings.min_score,
                                          min_face_size=settings.min_face_size)

    @property
    def detector_name(self) -> str:
        """The service's detector, or "none"."""
        detector = self.recognizer.detector
        return NO_DETECTOR if detector is None else str(detector.backend)

    def settings(self) -> dict[str, Any]:
        """The service's detector settings, as /info and every answer report them."""
        detector = self.recognizer.detector
        if detector is None:
            return {"detector": NO_DETECTOR}
        return {"detector": self.detector_name, "min_score": detector.min_score,
                "min_face_size": detector.min_face_size, "rotation": detector.rotation}

    def describe(self) -> dict[str, Any]:
        config = self.recognizer.config
        identity = self.recognizer.identity  # what the rows' model columns say
        return {
            "name": identity.name,
            "version": identity.version,
            "arch": config.arch,
            "num_classes": config.num_classes,
            "classes": list(config.class_names),
            "input_size": config.input_size,
            "temperature": config.temperature,
            "crop_margin": getattr(config, "crop_margin", None),
            "backend": getattr(self.recognizer, "backend", "torch"),
            "precision": getattr(self.recognizer, "precision", "fp32"),
            "detector": self.detector_name,
            "attention": bool(self.recognizer.has_attention),
            "pretrained": getattr(config, "pretrained", None),
        }
