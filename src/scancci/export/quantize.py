"""int8 quantisation of an exported ONNX model with onnxruntime, checked against the fp32 file.

Static quantisation (QDQ, per-channel weights, activations calibrated on images) when
calibration images are given; dynamic quantisation (weights only, activations scaled per
batch at run time) otherwise. The result is compared with the fp32 ONNX model (itself checked
against PyTorch at export) on the calibration images and random inputs: top-1 agreement and
the largest probability difference are printed, and the file is refused above tolerance.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnx import numpy_helper
from onnxruntime.quantization import (
    CalibrationDataReader,
    QuantFormat,
    QuantType,
    quant_pre_process,
    quantize_dynamic,
    quantize_static,
)

from scancci.errors import InvalidInputError
from scancci.export.inputs import ImageLike, check_batches, collect_images, preprocess
from scancci.export.onnx import ExportResult
from scancci.export.verify import compare, enforce
from scancci.models.io import config_json
from scancci.runtime.metadata import INPUT, write_onnx_metadata
from scancci.runtime.onnx_backend import OnnxClassifier

METHODS = ("auto", "static", "dynamic")
# int8 changes probabilities a little; an export whose probabilities move more is refused.
INT8_TOLERANCE = 0.25


class _ImageReader(CalibrationDataReader):
    """Feeds preprocessed calibration images to onnxruntime, a few at a time."""

    def __init__(self, batch: np.ndarray, chunk: int = 8) -> None:
        self._chunks: Iterator[np.ndarray] = iter(np.array_split(batch, max(1, len(batch) // chunk)))

    def get_next(self) -> dict[str, np.ndarray] | None:
        chunk = next(self._chunks, None)
        return None if chunk is None else {INPUT: chunk}


def int8_path(fp32_path: str | Path) -> Path:
    """Where the int8 copy of an fp32 export goes by default: model.onnx -> model.int8.onnx."""
    return Path(fp32_path).with_suffix(".int8.onnx")


def quantize_onnx(fp32_path: str | Path, path: str | Path | None = None, *,
                  images: ImageLike | Sequence[ImageLike] | None = None, method: str = "auto",
                  num_random: int = 4, tolerance: float = INT8_TOLERANCE) -> ExportResult:
    """Write an int8 copy of the fp32 ONNX export at `path` (default `int8_path(fp32_path)`),
    metadata kept, verified."""
    path = int8_path(fp32_path) if path is None else path
    if method not in METHODS:
        raise InvalidInputError(f"unknown quantisation method {method!r}; use one of {METHODS}")
    fp32 = OnnxClassifier(fp32_path, precision="fp32")
    calibration = collect_images(images)
    if method == "auto":
        method = "static" if calibration else "dynamic"
    if method == "static" and not calibration:
        raise InvalidInputError("static int8 quantisation needs calibration images (images=...)")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    real = preprocess(calibration, fp32.config)  # once: for calibration and for the check
    with tempfile.TemporaryDirectory(prefix="scancci-quant-") as tmp:
        prepared = Path(tmp) / "prepared.onnx"
        quant_pre_process(str(fp32.path), str(prepared), skip_symbolic_shape=True)
        if method == "static":
            reader = _ImageReader(real)
            quantize_static(str(prepared), str(path), reader, quant_format=QuantFormat.QDQ,
                            per_channel=True, activation_type=QuantType.QUInt8,
                            weight_type=QuantType.QInt8,
                            nodes_to_exclude=infinite_padding(onnx.load(str(prepared))))
        else:
            quantize_dynamic(str(prepared), str(path), weight_type=QuantType.QUInt8)
    _write_int8_metadata(fp32, path, method)
    batches = check_batches(fp32.config, None, num_random=num_random, preprocessed=real)
    int8 = OnnxClassifier(path, precision="int8")
    report = compare(fp32.run, int8.run, batches, name=f"onnxruntime int8 {method} ({path.name})",
                     tolerance=tolerance, metric="probabilities",
                     temperature=float(fp32.config.temperature),
                     reference_name=f"onnxruntime fp32 ({fp32.path.name})",
                     # static int8 is calibrated on images: noise lies outside its activation
                     # ranges, so random inputs are reported but only real ones are held to it
                     checked=("real",) if method == "static" else None)
    del int8
    return ExportResult(path=path, report=enforce(report, path))


def infinite_padding(model: onnx.ModelProto) -> list[str]:
    """The Pad nodes that pad with an infinite value (a max pooling's "same" padding, as the
    Keras ports write it) and the nodes that read them: they stay fp32, since an infinite range
    has no int8 scale (calibrating it gives NaN and every prediction wrong)."""
    values = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}
    values.update({n.output[0]: numpy_helper.to_array(n.attribute[0].t)
                   for n in model.graph.node if n.op_type == "Constant" and n.attribute
                   and n.attribute[0].name == "value"})
    pads = [n for n in model.graph.node if n.op_type == "Pad" and len(n.input) > 2
            and n.input[2] in values and not np.isfinite(values[n.input[2]]).all()]
    padded = {name for n in pads for name in n.output}
    return [n.name for n in pads] + [n.name for n in model.graph.node if padded & set(n.input)]


def _write_int8_metadata(fp32: Any, target: Path, method: str) -> None:
    """The fp32 model's config and outputs (as its open session read them), marked int8."""
    proto = onnx.load(str(target))
    outputs = [o.name for o in fp32.session.get_outputs()]
    write_onnx_metadata(proto, config_json(fp32.config), precision="int8", outputs=outputs)
    proto.metadata_props.add(key="scancci.quantization", value=method)
    onnx.save(proto, str(target))
