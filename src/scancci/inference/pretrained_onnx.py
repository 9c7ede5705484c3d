"""The pretrained zoo on onnxruntime: each baseline converted once to ONNX (parity-checked
against its PyTorch port, kept in `scancci.cache`), so that `scancci predict` with the default
model runs without importing PyTorch: a second or less to start instead of several."""

from __future__ import annotations

from pathlib import Path

from scancci.cache import cached_file
from scancci.models.zoo import get_pretrained
from scancci.runtime.onnx_backend import OnnxClassifier
from scancci.version import __version__


def pretrained_onnx_path(name: str) -> Path:
    """The cached ONNX file of zoo model `name` (built on first use: the shipped weights are
    sha256-checked, loaded into the PyTorch port and exported)."""
    entry = get_pretrained(name)
    file = f"{entry.name}-{entry.sha256[:16]}-scancci{__version__}.onnx"
    return cached_file(file, lambda path: _export(entry.name, path), what=f"the {name} model")


def pretrained_onnx_classifier(name: str) -> OnnxClassifier:
    """Zoo model `name` as an fp32 OnnxClassifier over its cached conversion."""
    return OnnxClassifier(pretrained_onnx_path(name))


def _export(name: str, path: Path) -> None:
    from scancci.export.onnx import export_onnx  # PyTorch and the exporter: once per machine
    from scancci.models.pretrained import load_pretrained

    export_onnx(load_pretrained(name), path)
