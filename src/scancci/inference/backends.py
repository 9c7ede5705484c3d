"""Classifier backends: what turns a batch of aligned, normalised face crops into logits.

A Classifier has `.config` (the model's ModelConfig), `.logits(batch)` and `.attention(batch)`
on float32 numpy batches, so the Recognizer runs PyTorch (fp32 or bf16 autocast) and
onnxruntime (`scancci.export.runtime.OnnxClassifier`, fp32 or int8) the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import cv2
import numpy as np
import torch

from scancci.errors import InvalidInputError, unknown_name

BACKENDS = ("torch", "onnx")
PRECISIONS = ("fp32", "bf16", "int8")


@runtime_checkable
class Classifier(Protocol):
    """Logits (and optionally SCAN attention) for normalised B x 3 x S x S float32 batches."""

    config: Any

    def logits(self, batch: np.ndarray) -> np.ndarray:
        """Raw logits, B x C."""
        ...

    def attention(self, batch: np.ndarray) -> np.ndarray | None:
        """Global attention maps B x h x w in [0, 1], or None when the model has none."""
        ...


class TorchClassifier:
    """A scancci model run by PyTorch: fp32, or bf16 autocast; channels-last memory layout."""

    def __init__(self, model: torch.nn.Module, *, precision: str = "fp32",
                 device: str | torch.device = "cpu", channels_last: bool = False) -> None:
        if precision not in ("fp32", "bf16"):
            raise InvalidInputError(
                f"the torch backend runs precision 'fp32' or 'bf16', not {precision!r}; int8 "
                "runs on onnxruntime (backend='onnx', precision='int8')")
        self.device = torch.device(device)
        # channels_last rewrites the weights in place: only done on a model we loaded
        # ourselves, never on a caller's module (its tensors would turn non-contiguous).
        layout = torch.channels_last if channels_last else torch.preserve_format
        self.model = model.eval().to(self.device, memory_format=layout)
        self.channels_last = channels_last
        self.config = model.config
        self.precision = precision

    def run(self, batch: np.ndarray, *, attention: bool = False
            ) -> tuple[np.ndarray, np.ndarray | None]:
        """Logits (B x C) and, when asked and available, attention maps (B x h x w)."""
        x = torch.from_numpy(np.ascontiguousarray(batch, dtype=np.float32)).to(self.device)
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        with torch.inference_mode(), torch.autocast(self.device.type, dtype=torch.bfloat16,
                                                    enabled=self.precision == "bf16"):
            output = self.model(x, return_attention=attention)
        logits = output.logits.float().cpu().numpy()
        maps = getattr(output, "attention", None) if attention else None
        if maps is not None and maps.get("global") is not None:
            return logits, maps["global"].float().cpu().numpy()
        return logits, None

    def logits(self, batch: np.ndarray) -> np.ndarray:
        """Raw logits, B x C (softmax(logits / config.temperature) gives probabilities)."""
        return self.run(batch)[0]

    def attention(self, batch: np.ndarray) -> np.ndarray | None:
        """Global SCAN attention maps, B x h x w in [0, 1]; None for plain baselines."""
        return self.run(batch, attention=True)[1]

    def __repr__(self) -> str:
        return f"TorchClassifier({self.config.arch!r}, precision={self.precision!r})"


def is_onnx_file(model: Any) -> bool:
    """True for a path to an .onnx file."""
    return isinstance(model, (str, Path)) and Path(model).suffix.lower() == ".onnx"


def default_backend(model: Any) -> str:
    """"onnx" for .onnx files, else "torch": what --backend means when not given."""
    return "onnx" if is_onnx_file(model) else "torch"


def create_classifier(model: Any, *, backend: str = "torch", precision: str = "fp32",
                      device: str | torch.device = "cpu") -> Any:
    """A Classifier for a saved model path, a scancci module, an .onnx file or a classifier."""
    if backend not in BACKENDS:
        raise unknown_name("backend", backend, BACKENDS)
    if precision not in PRECISIONS:
        raise unknown_name("precision", precision, PRECISIONS)
    if _is_classifier(model):
        return model
    if backend == "onnx":
        from scancci.export.runtime import OnnxClassifier

        # An .onnx file carries its own precision; only a non-default request is checked.
        return OnnxClassifier(model, precision=None if is_onnx_file(model) and precision == "fp32"
                              else precision)
    if isinstance(model, (str, Path)):
        if is_onnx_file(model):
            raise InvalidInputError(f"{model} is an ONNX file: use backend='onnx' "
                                    "(--backend onnx) to run it")
        from scancci.models import load_model

        loaded = load_model(model, map_location="cpu")
        return TorchClassifier(loaded, precision=precision, device=device, channels_last=True)
    if not isinstance(model, torch.nn.Module) or not hasattr(model, "config"):
        raise InvalidInputError(
            f"expected a saved model path, a scancci model or a classifier, got "
            f"{type(model).__name__}")
    return TorchClassifier(model, precision=precision, device=device)


def preprocess_crops(crops: Sequence[np.ndarray], config: Any) -> np.ndarray:
    """RGB uint8 crops -> normalised float32 B x 3 x S x S at the model's input size."""
    size = int(config.input_size)
    mean = np.asarray(config.mean, dtype=np.float32)
    std = np.asarray(config.std, dtype=np.float32)
    batch = np.empty((len(crops), 3, size, size), dtype=np.float32)
    for i, crop in enumerate(crops):
        crop = np.asarray(crop)
        if crop.ndim != 3 or crop.shape[2] != 3:
            raise InvalidInputError(f"face crops must be H x W x 3 RGB, got shape {crop.shape}")
        if crop.shape[:2] != (size, size):
            crop = cv2.resize(crop, (size, size), interpolation=cv2.INTER_LINEAR)
        hwc = (crop.astype(np.float32) / 255.0 - mean) / std
        batch[i] = hwc.transpose(2, 0, 1)  # 3 x S x S
    return batch


def softmax(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    """Probabilities: softmax(logits / temperature) along the last axis, in float64."""
    scaled = np.asarray(logits, dtype=np.float64) / float(temperature)
    scaled -= scaled.max(axis=-1, keepdims=True)
    exp = np.exp(scaled)
    return exp / exp.sum(axis=-1, keepdims=True)


def classify(classifier: Any, batch: np.ndarray, *, attention: bool = False
             ) -> tuple[np.ndarray, np.ndarray | None]:
    """Logits and (when asked) attention in one pass where the backend supports it."""
    if hasattr(classifier, "run"):
        return classifier.run(batch, attention=attention)
    logits = classifier.logits(batch)
    return logits, classifier.attention(batch) if attention else None


def _is_classifier(obj: Any) -> bool:
    return not isinstance(obj, (str, Path, torch.nn.Module)) and hasattr(obj, "config") \
        and callable(getattr(obj, "logits", None))
