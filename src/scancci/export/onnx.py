"""ONNX export with a dynamic batch, the model config inside the file, and a parity check.

Uses PyTorch's torch.export-based exporter (`dynamo=True`, the default since PyTorch 2.9;
needs onnxscript). The graph computes the logits and, for SCAN-CCI models, the global SCAN
attention map, so a deployed model keeps its explanation.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import onnx
import torch
from torch import nn

from scancci.errors import InvalidInputError
from scancci.export.inputs import ImageLike, check_batches
from scancci.export.verify import ParityReport, compare, enforce, torch_runner
from scancci.export.wrapper import ExportWrapper, has_attention, output_names, resolve_model
from scancci.models.base import ExpressionModel
from scancci.models.io import config_json
from scancci.runtime.metadata import INPUT, write_onnx_metadata
from scancci.runtime.onnx_backend import OnnxClassifier

MIN_OPSET = 17
DEFAULT_OPSET = 18


@dataclass(frozen=True)
class ExportResult:
    """Where the export was written and how closely it matches PyTorch."""

    path: Path
    report: ParityReport

    def __str__(self) -> str:
        return f"wrote {self.path}\n{self.report}"


def export_onnx(model: ExpressionModel | str | Path, path: str | Path, *,
                opset: int = DEFAULT_OPSET, with_attention: bool | None = None,
                images: ImageLike | Sequence[ImageLike] | None = None, num_random: int = 4,
                tolerance: float = 1e-3) -> ExportResult:
    """Export `model` (module or saved model) to ONNX at `path` and verify it against PyTorch.

    The batch axis is dynamic. `images` (files, a folder, PIL images or arrays) are the real
    inputs of the check; `num_random` random inputs are added. Above `tolerance` (max absolute
    difference of logits and attention) the file is deleted and ExportParityError raised.
    """
    if opset < MIN_OPSET:
        raise InvalidInputError(f"opset {opset} is too old: use {MIN_OPSET} or newer")
    module = resolve_model(model).float()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    attention = has_attention(module) if with_attention is None else with_attention
    _export_graph(ExportWrapper(module, with_attention=attention).eval(), path,
                  input_size=int(module.config.input_size), opset=opset, attention=attention)
    proto = onnx.load(str(path))
    write_onnx_metadata(proto, config_json(module.config), precision="fp32",
                        outputs=output_names(attention))
    onnx.checker.check_model(proto)
    onnx.save(proto, str(path))
    report = verify_onnx(module, path, images=images, num_random=num_random, tolerance=tolerance)
    return ExportResult(path=path, report=report)


def verify_onnx(model: ExpressionModel, path: str | Path, *, images: Any = None, num_random: int = 4,
                tolerance: float = 1e-3, metric: str = "logits") -> ParityReport:
    """Compare an ONNX file with its PyTorch model; delete it and raise above tolerance."""
    batches = check_batches(model.config, images, num_random=num_random)
    candidate = OnnxClassifier(path)
    report = compare(torch_runner(model), candidate.run, batches,
                     name=f"onnxruntime {candidate.precision} ({Path(path).name})",
                     tolerance=tolerance, metric=metric,
                     temperature=float(getattr(model.config, "temperature", 1.0)))
    del candidate  # release the file before a possible delete (Windows)
    return enforce(report, path)


def _export_graph(wrapper: nn.Module, path: Path, *, input_size: int, opset: int,
                  attention: bool) -> None:
    example = torch.randn(2, 3, input_size, input_size)
    batch = torch.export.Dim("batch", min=1, max=4096)
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            wrapper, (example,), str(path), dynamo=True, external_data=False,
            opset_version=opset, input_names=[INPUT], output_names=output_names(attention),
            dynamic_shapes={"x": {0: batch}}, verbose=False,
        )
