"""Track ids stay with a moving face, survive a short gap and are never reused."""

from __future__ import annotations

import numpy as np

from scancci.inference import StreamOptions, VideoSource, stream
from scancci.inference.tracking import IoUTracker, TemporalSmoother, iou_matrix


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


def test_followed_faces_stay_on_the_detected_face_of_a_real_clip(recognizer, photos_dir) -> None:
    """Detect every 5th frame, follow in between: the same face, one track id, boxes close to
    what detecting every frame gives, and the same rows."""
    clip = photos_dir / "single_face.mp4"
    followed = [p for p, _ in stream(recognizer, VideoSource(clip, max_frames=15),
                                     StreamOptions(detect_every=5))]
    detected = [p for p, _ in stream(recognizer, VideoSource(clip, max_frames=15),
                                     StreamOptions(detect_every=1))]
    assert [p.frame for p in followed] == [p.frame for p in detected]
    for a, b in zip(followed, detected, strict=True):
        assert len(a.faces) == len(b.faces) == 1
        assert a.faces[0].track_id == b.faces[0].track_id == 0
        assert iou_matrix([a.faces[0].box], [b.faces[0].box])[0, 0] > 0.7
        assert [r.keys() for r in a.to_records()] == [r.keys() for r in b.to_records()]


def test_follower_gives_up_on_a_vanished_face(photos_dir) -> None:
    from scancci.faces import FaceDetector
    from scancci.imaging import load_image
    from scancci.inference.tracking import FaceFollower

    image = np.asarray(load_image(photos_dir / "0-f15-hao-ph.jpg"))
    follower = FaceFollower()
    follower.reset(image, FaceDetector().detect(image))
    shifted = np.roll(image, 6, axis=1)
    (moved,) = follower.follow(shifted)
    (again,) = FaceDetector().detect(shifted)
    assert iou_matrix([moved.box], [again.box])[0, 0] > 0.8
    assert follower.follow(np.zeros_like(image)) is None  # lost: the caller re-detects
