"""What the service calls to answer POST /predict: a Recognizer behind a small interface.

The app depends only on `Predictor` (a callable returning JSON-ready faces, plus `describe()`
for GET /info), so endpoints and limits are testable with any stand-in, and the Recognizer's
backend (PyTorch or onnxruntime, fp32/bf16/int8) is a choice made when the service starts.
"""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np
from PIL import Image

from scancci.serve.overlay import attention_png


class Predictor(Protocol):
    """Faces of one image as JSON-ready dicts, and a description of the model behind them."""

    def __call__(self, image: Image.Image, *, attention: bool = False) -> list[dict[str, Any]]:
        """Faces (box, landmarks, detection_score, probabilities, label[, attention_png])."""
        ...

    def describe(self) -> dict[str, Any]:
        """Model name, classes, backend, precision and capabilities for GET /info."""
        ...


class RecognizerPredictor:
    """Adapts `scancci.inference.Recognizer` to `Predictor`."""

    def __init__(self, recognizer: Any, *, name: str = "model") -> None:
        self.recognizer = recognizer
        self.name = name

    def __call__(self, image: Image.Image, *, attention: bool = False) -> list[dict[str, Any]]:
        # already upright RGB (decode_image): an array skips load_image's copies
        prediction = self.recognizer.predict(np.asarray(image), attention=attention)
        if prediction.error:
            raise ValueError(prediction.error)
        return [face_to_dict(face, attention=attention) for face in prediction.faces]

    def describe(self) -> dict[str, Any]:
        config = self.recognizer.config
        return {
            "name": self.name,
            "arch": config.arch,
            "num_classes": config.num_classes,
            "classes": list(config.class_names),
            "input_size": config.input_size,
            "temperature": config.temperature,
            "backend": getattr(self.recognizer, "backend", "torch"),
            "precision": getattr(self.recognizer, "precision", "fp32"),
            "detector": _detector_name(self.recognizer),
            "attention": self.supports_attention,
            "pretrained": getattr(config, "pretrained", None),
        }

    @property
    def supports_attention(self) -> bool:
        """True when the classifier returns SCAN attention maps (SCAN-CCI models only)."""
        return str(self.recognizer.config.arch).startswith("scancci")


def face_to_dict(face: Any, *, attention: bool) -> dict[str, Any]:
    """One face as JSON: box [x1, y1, x2, y2], landmarks [[x, y] x 5] or null, scores, label."""
    landmarks = None if face.landmarks is None else np.asarray(face.landmarks).tolist()
    out = {
        "box": [round(float(v), 2) for v in face.box],
        "landmarks": landmarks,
        "detection_score": float(face.detection_score),
        "label": face.label,
        "probabilities": {k: float(v) for k, v in face.probabilities.items()},
    }
    if attention and getattr(face, "attention", None) is not None:
        out["attention_png"] = attention_png(face.attention)
    return out


def _detector_name(recognizer: Any) -> str:
    detector = getattr(recognizer, "detector", None)
    return str(getattr(detector, "backend", detector) or "unknown")
