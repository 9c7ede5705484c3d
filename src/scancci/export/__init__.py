"""Deployment exports: ONNX (fp32, int8) and TorchScript, each verified against PyTorch.

`scancci.runtime.onnx_backend.OnnxClassifier` runs an ONNX export as a Recognizer backend;
`onnx_classifier(model)` exports a model on the fly and runs it there.
"""

from scancci.export.classifier import onnx_classifier
from scancci.export.onnx import ExportResult, export_onnx, verify_onnx
from scancci.export.quantize import quantize_onnx
from scancci.export.torchscript import export_torchscript, load_torchscript
from scancci.export.verify import ExportParityError, ParityReport

__all__ = [
    "ExportParityError",
    "ExportResult",
    "ParityReport",
    "export_onnx",
    "export_torchscript",
    "load_torchscript",
    "onnx_classifier",
    "quantize_onnx",
    "verify_onnx",
]
