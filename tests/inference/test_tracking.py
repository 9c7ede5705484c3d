"""Track ids stay with a moving face, survive a short gap and are never reused."""

from __future__ import annotations

import numpy as np

from scancci.inference.tracking import IoUTracker, iou_matrix
from scancci.inference.video import TemporalSmoother


def test_iou_matrix() -> None:
    iou = iou_matrix([[0, 0, 10, 10]], [[0, 0, 10, 10], [5, 0, 15, 10], [20, 20, 30, 30]])
    np.testing.assert_allclose(iou, [[1.0, 50 / 150, 0.0]])


def test_two_moving_faces_keep_their_ids_in_any_order() -> None:
    tracker = IoUTracker()
    a, b = np.array([0, 0, 50, 50.0]), np.array([200, 0, 260, 60.0])
    assert tracker.update([a, b]) == [0, 1]
    for step in range(1, 6):
        shift = np.array([4, 2, 4, 2.0]) * step
        assert tracker.update([b + shift, a + shift]) == [1, 0]


def test_gap_shorter_than_max_missed_keeps_the_id_new_face_gets_a_new_one() -> None:
    tracker = IoUTracker(max_missed=2)
    box = [10, 10, 60, 60]
    assert tracker.update([box]) == [0]
    assert tracker.update([]) == []
    assert tracker.update([box]) == [0]
    for _ in range(3):
        tracker.update([])
    assert tracker.update([box]) == [1]  # too long gone: a new track, id 0 not reused


def test_smoothing_is_a_moving_average_per_track() -> None:
    smooth = TemporalSmoother(0.5)
    first = smooth(0, np.array([1.0, 0.0]))
    second = smooth(0, np.array([0.0, 1.0]))
    other = smooth(1, np.array([0.0, 1.0]))
    np.testing.assert_allclose(first, [1, 0])
    np.testing.assert_allclose(second, [0.5, 0.5])
    np.testing.assert_allclose(other, [0, 1])
