"""What a stream of frames of one scene carries from frame to frame (the stream loop makes
one of each per video or webcam run):

- `FaceLocator`: faces detected every `detect_every` frames and carried in between by
  `FaceFollower` (sparse optical flow), re-detected as soon as one is lost;
- `Tracks`: stable track ids (`IoUTracker`: boxes matched to the previous frame's tracks by IoU,
  optimal assignment; ids never reused) and per-track smoothing of the probabilities
  (`TemporalSmoother`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Protocol

import cv2
import numpy as np

from scancci.errors import InvalidInputError
from scancci.faces.boxes import iou_matrix, is_upright
from scancci.faces.detect import DetectedFace
from scancci.inference.frames import Frame
from scancci.inference.results import Face, Prediction

__all__ = ["FaceFollower", "FaceLocator", "IoUTracker", "TemporalSmoother", "Tracks",
           "check_detect_every", "check_smoothing", "iou_matrix"]


def check_detect_every(detect_every: int) -> int:
    """--detect-every as an int, at least 1."""
    if int(detect_every) < 1:
        raise InvalidInputError(f"--detect-every must be at least 1, got {detect_every}")
    return int(detect_every)


def check_smoothing(alpha: float) -> float:
    """--smoothing as a float in [0, 1)."""
    if not 0.0 <= float(alpha) < 1.0:
        raise InvalidInputError(f"--smoothing must be in [0, 1), got {alpha}")
    return float(alpha)


class Detect(Protocol):
    """images -> the faces of each; `rotation` None: the detector's own setting."""

    def __call__(self, images: list[np.ndarray], *, rotation: int | None = None
                 ) -> list[list[DetectedFace]]: ...


def best_assignment(overlap: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows and columns of the one-to-one matching with the largest total overlap: the
    Hungarian algorithm, or directly the best pair when there is one track or one box (one
    face on screen: no 0.8 s SciPy import)."""
    if min(overlap.shape) == 1:
        r, c = np.unravel_index(int(np.argmax(overlap)), overlap.shape)
        return np.array([r]), np.array([c])
    from scipy.optimize import linear_sum_assignment  # several faces only

    return linear_sum_assignment(-overlap)


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
            rows, cols = best_assignment(overlap)
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


@dataclass
class _Followed:
    face: DetectedFace
    points: np.ndarray  # K x 1 x 2 float32 points tracked inside the face


@dataclass
class FaceFollower:
    """Carries detected faces from one frame to the next with sparse optical flow (pyramidal
    Lucas-Kanade, checked forward and backward, as the median-flow tracker does): each box and
    its landmarks move by the median displacement of the points tracked inside the box and
    scale by the median change of their spread. Much cheaper than a detection; `follow`
    returns None when a face is lost or drifts (too few points survive the check), so the
    caller re-detects.

    max_side: frames are tracked on a grey copy whose longer side is at most this.
    max_error: largest forward-backward error (pixels of the tracked copy) a point may have.
    min_points: fewest surviving points to keep following a face.
    """

    max_side: int = 480
    max_error: float = 1.0
    min_points: int = 6
    _gray: np.ndarray | None = field(default=None, repr=False)
    _scale: float = 1.0
    _faces: list[_Followed] = field(default_factory=list, repr=False)

    def reset(self, image: np.ndarray, faces: Sequence[DetectedFace]) -> None:
        """Start following `faces`, just detected on the RGB `image`."""
        self._gray, self._scale = self._prepare(image)
        self._faces = [_Followed(face, self._points(face)) for face in faces]

    def follow(self, image: np.ndarray) -> list[DetectedFace] | None:
        """The followed faces moved onto this RGB frame, or None when one is lost."""
        if self._gray is None:
            return None
        gray, scale = self._prepare(image)
        if gray.shape != self._gray.shape:
            return None
        moved = [self._move(f, self._gray, gray, scale) for f in self._faces]
        if any(m is None for m in moved):
            return None
        self._gray, self._scale = gray, scale
        self._faces = [m for m in moved if m is not None]
        return [f.face for f in self._faces]

    def _prepare(self, image: np.ndarray) -> tuple[np.ndarray, float]:
        gray = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
        scale = min(1.0, self.max_side / max(gray.shape[:2]))
        if scale < 1.0:
            size = (max(1, round(gray.shape[1] * scale)), max(1, round(gray.shape[0] * scale)))
            gray = cv2.resize(gray, size, interpolation=cv2.INTER_AREA)
        return gray, scale

    def _points(self, face: DetectedFace) -> np.ndarray:
        """Corners inside the (slightly shrunk) face box of the tracked copy, plus landmarks."""
        assert self._gray is not None
        x1, y1, x2, y2 = (v * self._scale for v in face.box)
        dx, dy = (x2 - x1) * 0.1, (y2 - y1) * 0.1
        mask = np.zeros_like(self._gray)
        mask[max(0, int(y1 + dy)):max(0, int(y2 - dy)), max(0, int(x1 + dx)):max(0, int(x2 - dx))] = 255
        side = max(1.0, min(x2 - x1, y2 - y1))
        corners = cv2.goodFeaturesToTrack(self._gray, maxCorners=40, qualityLevel=0.01,
                                          minDistance=max(2.0, side / 12), mask=mask)
        points = [] if corners is None else [corners.reshape(-1, 2)]
        if face.landmarks is not None:
            points.append(np.asarray(face.landmarks, np.float32) * self._scale)
        if not points:
            return np.zeros((0, 1, 2), np.float32)
        return np.concatenate(points).astype(np.float32).reshape(-1, 1, 2)

    def _move(self, followed: _Followed, before: np.ndarray, after: np.ndarray, scale: float
              ) -> _Followed | None:
        points = followed.points
        if len(points) < self.min_points:
            return None
        # OpenCV's stubs refuse None for the output points, which OpenCV allocates itself
        ahead, ok, _ = cv2.calcOpticalFlowPyrLK(  # type: ignore[call-overload]
            before, after, points, None, winSize=(15, 15), maxLevel=3)
        back, ok_back, _ = cv2.calcOpticalFlowPyrLK(  # type: ignore[call-overload]
            after, before, ahead, None, winSize=(15, 15), maxLevel=3)
        error = np.linalg.norm((back - points).reshape(-1, 2), axis=1)
        good = (ok.ravel() == 1) & (ok_back.ravel() == 1) & (error < self.max_error)
        if good.sum() < self.min_points:
            return None
        old, new = points.reshape(-1, 2)[good], ahead.reshape(-1, 2)[good]
        shift = np.median(new - old, axis=0)
        spread_old = np.linalg.norm(old - old.mean(0), axis=1)
        spread_new = np.linalg.norm(new - new.mean(0), axis=1)
        usable = spread_old > 1e-3
        zoom = float(np.median(spread_new[usable] / spread_old[usable])) if usable.any() else 1.0
        face = _moved_face(followed.face, shift / scale, zoom, after.shape, scale)
        return None if face is None else _Followed(face, new.reshape(-1, 1, 2))


def _moved_face(face: DetectedFace, shift: np.ndarray, zoom: float, shape: tuple[int, ...],
                scale: float) -> DetectedFace | None:
    """The face moved by `shift` and scaled by `zoom` about its box centre (original pixels);
    None when the box has left the frame."""
    x1, y1, x2, y2 = face.box
    centre = np.array([(x1 + x2) / 2, (y1 + y2) / 2]) + shift
    half = np.array([x2 - x1, y2 - y1]) / 2 * zoom
    width, height = shape[1] / scale, shape[0] / scale
    box = (max(0.0, centre[0] - half[0]), max(0.0, centre[1] - half[1]),
           min(width, centre[0] + half[0]), min(height, centre[1] + half[1]))
    if box[2] - box[0] < half[0] or box[3] - box[1] < half[1]:  # mostly outside the frame
        return None
    landmarks = None if face.landmarks is None else \
        ((face.landmarks - [(x1 + x2) / 2, (y1 + y2) / 2]) * zoom + centre).astype(np.float32)
    return DetectedFace((float(box[0]), float(box[1]), float(box[2]), float(box[3])), landmarks,
                        face.score, face.landmarks_estimated, face.rotation)


class FaceLocator:
    """The faces of each frame of a stream, chunk by chunk: with `detect_every` 1, every frame
    detected (the chunk in one batch); else detected on every `detect_every`-th frame (and
    whenever a followed face is lost) and followed in between.

    The quarter turn is settled once per stream: the turn that shows the first face upright
    is used for the rest of the stream. Until then, a detection looks at the frame as it is,
    and searches the other turns (the detector's "auto") at most once every SEARCH_EVERY
    frames, so a stream without faces costs about one detection per detected frame, not four
    or more.
    """

    SEARCH_EVERY = 30  # frames: about a second of video between searches of the turns

    def __init__(self, detect: Detect, detect_every: int) -> None:
        self.detect, self.detect_every = detect, check_detect_every(detect_every)
        self.follower = FaceFollower()
        self.since_detection: int | None = None  # None: the next frame must be detected
        self.rotation: int | None = None  # None: not settled yet
        self.seen = 0  # frames located so far
        self.searched_at: int | None = None  # frame count at the last search of the turns

    def __call__(self, frames: Sequence[Frame]) -> list[list[DetectedFace] | None]:
        """Faces per frame (undecodable frames stay None)."""
        if self.detect_every == 1:
            images = [f.image for f in frames if f.image is not None]
            found = iter(self._detect(images))
            faces = [None if f.image is None else next(found) for f in frames]
        else:
            faces = [None if f.image is None else self._one(f.image) for f in frames]
        self.seen += len(frames)
        return faces

    def _detect(self, images: list[np.ndarray]) -> list[list[DetectedFace]]:
        if not images:
            return []
        rotation = self.rotation
        if rotation is None:  # not settled: search the turns now and then, else look as is
            if self.searched_at is None or self.seen - self.searched_at >= self.SEARCH_EVERY:
                self.searched_at = self.seen
            else:
                rotation = 0
        found = self.detect(images, rotation=rotation)
        if self.rotation is None:  # settled by the first face seen upright (at its turn)
            upright = [f for faces in found for f in faces if f.rotation or is_upright(f)]
            self.rotation = upright[0].rotation if upright else None
        return found

    def _one(self, image: np.ndarray) -> list[DetectedFace]:
        due = self.since_detection is None or self.since_detection + 1 >= self.detect_every
        followed = None if due else self.follower.follow(image)
        if followed is not None:
            self.since_detection = (self.since_detection or 0) + 1
            return followed
        faces = self._detect([image])[0]
        self.follower.reset(image, faces)
        self.since_detection = 0
        return faces


class TemporalSmoother:
    """Exponential moving average of each track's probabilities: p = a * p_prev + (1 - a) * p.

    alpha 0 turns smoothing off; 0.6 steadies labels over a few frames at 30 fps.
    """

    def __init__(self, alpha: float) -> None:
        self.alpha = check_smoothing(alpha)
        self._state: dict[int, np.ndarray] = {}

    def __call__(self, track_id: int, probs: np.ndarray) -> np.ndarray:
        """The smoothed probabilities of this track for this frame."""
        previous = self._state.get(track_id)
        smoothed = probs if previous is None else self.alpha * previous + (1 - self.alpha) * probs
        self._state[track_id] = smoothed
        return smoothed


class Tracks:
    """Gives each face of a stream's predictions its track id and, with `smoothing` > 0, its
    track's smoothed probabilities (and the label they give)."""

    def __init__(self, class_names: Sequence[str], smoothing: float = 0.0) -> None:
        self.names = tuple(class_names)
        self.tracker = IoUTracker()
        self.smoother = TemporalSmoother(smoothing)

    def __call__(self, prediction: Prediction) -> Prediction:
        """The prediction with tracked (and smoothed) faces."""
        ids = self.tracker.update([face.box for face in prediction.faces])
        faces = tuple(self._tracked(face, track_id)
                      for face, track_id in zip(prediction.faces, ids, strict=True))
        return replace(prediction, faces=faces)

    def _tracked(self, face: Face, track_id: int) -> Face:
        if self.smoother.alpha == 0:
            return replace(face, track_id=track_id)
        probs = self.smoother(track_id, np.array([face.probabilities[n] for n in self.names]))
        return replace(face, track_id=track_id,
                       probabilities={n: float(p) for n, p in zip(self.names, probs, strict=True)},
                       label=self.names[int(np.argmax(probs))])
