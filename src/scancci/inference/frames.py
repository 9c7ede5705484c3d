"""`Frame`: what every source yields and the Recognizer turns into a `Prediction` (a photo, a
video frame or a webcam frame, or the reason it could not be decoded)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, eq=False)
class Frame:
    """One decoded RGB image (H x W x 3 uint8) with where it came from, or `error` (and no
    image) when it could not be read.

    source: the name rows carry (a path, relative for a folder's files; "webcam:0").
    index: the frame number in a video (gaps where frames were skipped); None for a photo.
    timestamp: seconds from the start of the video (or webcam run); None for a photo.
    path: the file it was read from, absolute (what resuming keys on); None for in-memory
    images and webcams.
    """

    source: str
    image: np.ndarray | None
    index: int | None = None
    timestamp: float | None = None
    error: str | None = None
    path: str | None = None
