"""Run a scancci model on onnxruntime: export it to a temporary ONNX file (int8 on request)."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from scancci.export.onnx import export_onnx
from scancci.export.quantize import quantize_onnx
from scancci.runtime.onnx_backend import OnnxClassifier


def onnx_classifier(model: Any, *, precision: str = "fp32") -> OnnxClassifier:
    """An OnnxClassifier over a parity-checked temporary export of `model` (a module or
    anything `load_model` reads); the files live as long as the classifier."""
    folder = tempfile.TemporaryDirectory(prefix="scancci-onnx-")
    path = export_onnx(model, Path(folder.name) / "model.onnx").path
    if precision == "int8":
        path = quantize_onnx(path, Path(folder.name) / "model.int8.onnx").path
    return OnnxClassifier(path, precision=precision, keep_alive=folder)
