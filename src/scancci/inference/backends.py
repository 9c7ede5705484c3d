"""Which classifier backend runs a model: one rule for the API, the CLI and the service.

`.onnx` files run on onnxruntime, everything else on PyTorch; a scancci model asked to run on
onnxruntime is exported to a temporary file first (see `scancci.export.onnx_classifier`).
The backends themselves live in `scancci.runtime`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from scancci.devices import resolve_device
from scancci.errors import InvalidInputError, MissingDependencyError, unknown_name
from scancci.models import optimize_for_inference
from scancci.models.io import load_model
from scancci.runtime.onnx_backend import OnnxClassifier
from scancci.runtime.torch_backend import TorchClassifier

BACKENDS = ("torch", "onnx")
PRECISIONS = ("fp32", "bf16", "int8")


def is_onnx_file(model: Any) -> bool:
    """True for a path to an .onnx file."""
    return isinstance(model, (str, Path)) and Path(model).suffix.lower() == ".onnx"


def default_backend(model: Any) -> str:
    """"onnx" for .onnx files, else "torch": what --backend means when not given."""
    return "onnx" if is_onnx_file(model) else "torch"


def create_classifier(model: Any, *, backend: str | None = None, precision: str = "fp32",
                      device: str | torch.device = "cpu") -> Any:
    """A Classifier for a saved model path, a scancci module, an .onnx file or a classifier;
    `backend` None picks `default_backend(model)`."""
    backend = default_backend(model) if backend is None else backend
    device = resolve_device(device)
    if backend not in BACKENDS:
        raise unknown_name("backend", backend, BACKENDS)
    if precision not in PRECISIONS:
        raise unknown_name("precision", precision, PRECISIONS)
    if _is_classifier(model):
        return model
    if backend == "onnx":
        if not is_onnx_file(model):
            return _exported_classifier(model, precision)
        # An .onnx file carries its own precision; only a non-default request is checked.
        return OnnxClassifier(model, precision=None if precision == "fp32" else precision)
    if isinstance(model, (str, Path)):
        if is_onnx_file(model):
            raise InvalidInputError(f"{model} is an ONNX file: use backend='onnx' "
                                    "(--backend onnx) to run it")
        loaded = load_model(model, map_location="cpu")
        if torch.device(device).type == "cpu" and precision in ("fp32", "bf16"):
            # our own copy, so the fused eval-only fast path (same logits within 1e-4)
            loaded = optimize_for_inference(loaded, precision=precision)
            precision = loaded.precision  # fp32 where this CPU has no native bf16
        return TorchClassifier(loaded, precision=precision, device=device, channels_last=True)
    if not isinstance(model, torch.nn.Module) or not hasattr(model, "config"):
        raise InvalidInputError(
            f"expected a saved model path, a scancci model or a classifier, got "
            f"{type(model).__name__}")
    return TorchClassifier(model, precision=precision, device=device)


def _is_classifier(obj: Any) -> bool:
    return not isinstance(obj, (str, Path, torch.nn.Module)) and hasattr(obj, "config") \
        and callable(getattr(obj, "logits", None))


def _exported_classifier(model: Any, precision: str) -> Any:
    """A scancci model on onnxruntime: exported on the fly, which needs the `export` extra."""
    try:
        from scancci.export.classifier import onnx_classifier  # optional extra: onnx, onnxscript
    except ModuleNotFoundError as err:
        raise MissingDependencyError(
            f"running a PyTorch model on onnxruntime exports it first, which needs {err.name}: "
            "pip install 'scancci[export]' (or export once with `scancci export` and pass the "
            ".onnx file)") from err
    return onnx_classifier(model, precision=precision)
