"""Face tracks across video frames: boxes matched to the previous frame's tracks by IoU
(optimal assignment), so a face keeps one id while it moves; ids are never reused."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import linear_sum_assignment


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


@dataclass
class _Track:
    track_id: int
    box: np.ndarray
    missed: int = 0


@dataclass
class IoUTracker:
    """Assigns stable ids to boxes frame after frame.

    min_iou: smallest overlap with a track's last box to continue it. max_missed: frames a
    track survives without a match (a face hidden for a moment keeps its id).
    """

    min_iou: float = 0.3
    max_missed: int = 10
    _tracks: list[_Track] = field(default_factory=list)
    _next_id: int = 0

    def update(self, boxes: Sequence[Sequence[float]]) -> list[int]:
        """Track ids for this frame's boxes (same order)."""
        boxes_arr = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
        ids: list[int | None] = [None] * len(boxes_arr)
        matched: set[int] = set()
        if self._tracks and len(boxes_arr):
            previous = np.stack([t.box for t in self._tracks])
            overlap = iou_matrix(previous, boxes_arr)
            rows, cols = linear_sum_assignment(-overlap)
            for r, c in zip(rows, cols, strict=True):
                if overlap[r, c] >= self.min_iou:
                    track = self._tracks[r]
                    track.box, track.missed = boxes_arr[c], 0
                    ids[c] = track.track_id
                    matched.add(r)
        for r, track in enumerate(self._tracks):
            if r not in matched:
                track.missed += 1
        self._tracks = [t for t in self._tracks if t.missed <= self.max_missed]
        for c, box in enumerate(boxes_arr):
            if ids[c] is None:
                ids[c] = self._next_id
                self._tracks.append(_Track(self._next_id, box))
                self._next_id += 1
        return [int(i) for i in ids if i is not None]
