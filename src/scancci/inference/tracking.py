"""Face tracks across video frames: boxes matched to the previous frame's tracks by IoU
(optimal assignment), so a face keeps one id while it moves; ids are never reused."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import linear_sum_assignment

from scancci.faces.boxes import iou_matrix

__all__ = ["IoUTracker", "iou_matrix"]


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
