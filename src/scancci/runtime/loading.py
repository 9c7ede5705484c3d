"""`load_model(source)`: the one loader for every model file scancci supports.

    load_model("runs/rafdb")              # a run folder, model.safetensors or model.json
    load_model("model_best.pth.tar")      # a checkpoint of the original SCAN-CCI code
    load_model("fer_mini_xception")       # a pretrained baseline, by name
    load_model("model.onnx")              # an ONNX export: its onnxruntime classifier

Everything but ONNX comes back as the PyTorch network (an `ExpressionModel`, eval mode); an ONNX
file cannot be an nn.Module, so it comes back as an `OnnxClassifier` with the same `.config`
and `.logits(batch)`. A file that is no model (a photo, a text file) is named as such, and a
FIFO or device is refused before it is opened.
"""

from __future__ import annotations

from pathlib import Path

import torch

from scancci.models.base import ExpressionModel
from scancci.models.formats import model_format
from scancci.models.io import load_network
from scancci.runtime.onnx_backend import OnnxClassifier


def load_model(source: str | Path, map_location: str | torch.device = "cpu"
               ) -> ExpressionModel | OnnxClassifier:
    """The model in `source` (a run folder, .safetensors, .json, original .pth/.pth.tar, .onnx
    or a pretrained baseline's name): a PyTorch network in eval mode, or for .onnx its
    onnxruntime classifier (CPU)."""
    if model_format(source) == "onnx":
        return OnnxClassifier(source)
    return load_network(source, map_location=map_location)
