"""What a detector finds (`DetectedFace`), the box geometry shared by the detectors (NMS) and the
video tracker (matching), and the quarter turns of an image (a phone photo saved without its
EXIF rotation shows its faces sideways)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike


@dataclass(frozen=True, eq=False)
class DetectedFace:
    """One face: box (x1, y1, x2, y2) in pixels, 5 x 2 landmarks or None, detection score.

    `landmarks_estimated` is True when the landmarks were placed from the box geometry (OpenCV
    backend) instead of being detected. `rotation`: the quarter turn (degrees clockwise: 0, 90,
    180, 270) that shows this face upright, i.e. the turn of the image it was found in; box and
    landmarks are always in the pixels of the image as given.
    """

    box: tuple[float, float, float, float]
    landmarks: np.ndarray | None
    score: float
    landmarks_estimated: bool = False
    rotation: int = 0

    @property
    def area(self) -> float:
        """Box area in square pixels (to pick the largest face)."""
        x1, y1, x2, y2 = self.box
        return max(0.0, x2 - x1) * max(0.0, y2 - y1)

    @property
    def size(self) -> float:
        """The box's shorter side in pixels (what a minimum face size is compared with)."""
        x1, y1, x2, y2 = self.box
        return max(0.0, min(x2 - x1, y2 - y1))


def whole_image_face(shape: tuple[int, ...]) -> DetectedFace:
    """The face of a pre-cut face image: the whole image, no landmarks."""
    height, width = shape[:2]
    return DetectedFace((0.0, 0.0, float(width), float(height)), None, 1.0)


def is_upright(face: DetectedFace) -> bool:
    """Whether the face's eyes-to-mouth axis points down the image (within 45 degrees); a face
    without landmarks counts as upright."""
    if face.landmarks is None:
        return True
    points = np.asarray(face.landmarks, dtype=np.float64).reshape(5, 2)
    dx, dy = points[3:].mean(axis=0) - points[:2].mean(axis=0)
    return bool(dy > abs(dx))


def turn_image(image: np.ndarray, rotation: int) -> np.ndarray:
    """The image turned `rotation` degrees clockwise (a multiple of 90), contiguous."""
    turns = (rotation // 90) % 4
    return image if not turns else np.ascontiguousarray(np.rot90(image, -turns))


def unturn_points(points: np.ndarray, rotation: int, shape: tuple[int, ...]) -> np.ndarray:
    """Points (N x 2, continuous pixel coordinates) of the image turned `rotation` degrees
    clockwise, mapped back to the image as given, whose height and width are `shape[:2]`."""
    height, width = shape[:2]
    u, v = points[:, 0], points[:, 1]
    turns = (rotation // 90) % 4
    if turns == 1:
        x, y = v, height - u
    elif turns == 2:
        x, y = width - u, height - v
    elif turns == 3:
        x, y = width - v, u
    else:
        x, y = u, v
    return np.stack([x, y], axis=1).astype(np.float32)


def unturn_face(face: DetectedFace, rotation: int, shape: tuple[int, ...]) -> DetectedFace:
    """A face found in the image turned `rotation` degrees clockwise, in the pixels of the image
    as given (`shape`), remembering the turn."""
    if not rotation:
        return face
    x1, y1, x2, y2 = face.box
    corners = unturn_points(np.array([[x1, y1], [x2, y2]], np.float64), rotation, shape)
    (a, b), (c, d) = corners
    box = (float(min(a, c)), float(min(b, d)), float(max(a, c)), float(max(b, d)))
    landmarks = None if face.landmarks is None else \
        unturn_points(np.asarray(face.landmarks, np.float64), rotation, shape)
    return DetectedFace(box, landmarks, face.score, face.landmarks_estimated, rotation)


def iou_matrix(a: ArrayLike, b: ArrayLike) -> np.ndarray:
    """Intersection over union of every box in `a` (N x 4) with every box in `b` (M x 4)."""
    a = np.asarray(a, dtype=np.float64).reshape(-1, 4)
    b = np.asarray(b, dtype=np.float64).reshape(-1, 4)
    x1 = np.maximum(a[:, None, 0], b[None, :, 0])
    y1 = np.maximum(a[:, None, 1], b[None, :, 1])
    x2 = np.minimum(a[:, None, 2], b[None, :, 2])
    y2 = np.minimum(a[:, None, 3], b[None, :, 3])
    inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    union = area_a[:, None] + area_b[None, :] - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-9), 0.0)
