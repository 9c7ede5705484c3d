"""What a detector finds (`DetectedFace`) and the box geometry shared by the detectors (NMS)
and the video tracker (matching)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, eq=False)
class DetectedFace:
    """One face: box (x1, y1, x2, y2) in pixels, 5 x 2 landmarks or None, detection score.

    `landmarks_estimated` is True when the landmarks were placed from the box geometry (OpenCV
    backend) instead of being detected.
    """

    box: tuple[float, float, float, float]
    landmarks: np.ndarray | None
    score: float
    landmarks_estimated: bool = False

    @property
    def area(self) -> float:
        """Box area in square pixels (to pick the largest face)."""
        x1, y1, x2, y2 = self.box
        return max(0.0, x2 - x1) * max(0.0, y2 - y1)


def iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
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
