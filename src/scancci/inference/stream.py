"""The one stream loop: frames of any source, decoded ahead in a worker thread, predicted by
the Recognizer a chunk at a time, handed to sinks.

    with VideoSource("clip.mp4") as source, open_rows("frames.csv", rec.class_names) as rows:
        summary = run(rec, source, [rows])

`stream(recognizer, source)` yields (prediction, frame) pairs; `run` hands each to the sinks
and counts them. A unit of work is one source through the loop into its sinks; the loop holds
no global state (a Ray actor, or several threads, can each run one), and its per-stream state
(faces followed between detections, track ids, smoothing) is made afresh for every source.
Memory stays bounded however long the source: at most `source.prefetch` decoded frames wait
ahead of the chunk being predicted.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Generator, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import TypeVar

from tqdm import tqdm

from scancci.errors import InvalidInputError
from scancci.inference.background import ahead
from scancci.inference.frames import Frame
from scancci.inference.recognizer import Recognizer
from scancci.inference.results import Prediction
from scancci.inference.sinks import Sink
from scancci.inference.sources import Source
from scancci.inference.tracking import (
    FaceLocator,
    Tracks,
    check_detect_every,
    check_smoothing,
)

# Detections every this many frames of a video by default (in between, faces are carried by
# optical flow; a new face that enters waits at most this many frames). 1 detects every frame.
DETECT_EVERY = 5
T = TypeVar("T")


@dataclass(frozen=True)
class StreamOptions:
    """How the loop predicts.

    attention: also compute SCAN attention maps (SCAN-CCI models).
    detect_every: videos and webcams: detect faces every K-th frame, follow them in between.
    smoothing: videos and webcams: per-track moving average of probabilities, 0 (off) to < 1.
    chunk: frames predicted together (all their faces classified in one pass).
    """

    attention: bool = False
    detect_every: int = DETECT_EVERY
    smoothing: float = 0.0
    chunk: int = 8

    def __post_init__(self) -> None:
        """Bad values are refused here, before any file is opened."""
        check_detect_every(self.detect_every)
        check_smoothing(self.smoothing)
        if int(self.chunk) < 1:
            raise InvalidInputError(f"chunk must be at least 1, got {self.chunk}")


def stream(recognizer: Recognizer, source: Source, options: StreamOptions = StreamOptions()
           ) -> Generator[tuple[Prediction, Frame], None, None]:
    """(prediction, frame) for every frame of `source`, in order, decoded ahead in a worker
    thread. A sequential source's faces are followed between detections and tracked."""
    locate = tracks = None
    if options.attention:
        recognizer.check_attention()  # before the source's first frame is decoded
    if source.sequential:
        if recognizer.detector is not None:  # without one, each whole frame is the face
            locate = FaceLocator(recognizer.detect, options.detect_every)
        tracks = Tracks(recognizer.class_names, options.smoothing)
    frames = ahead(source, source.prefetch, name="scancci-decode")
    try:
        for chunk in chunks(frames, options.chunk):
            faces = locate(chunk) if locate else None
            predictions = recognizer.predict_frames(chunk, faces=faces,
                                                    attention=options.attention)
            for prediction, frame in zip(predictions, chunk, strict=True):
                yield (tracks(prediction) if tracks else prediction), frame
    finally:
        frames.close()


@dataclass
class Summary:
    """What a run did: predictions (images or frames), faces, photos without a face, tracks,
    unreadable inputs, a folder's other files, and what the sinks wrote."""

    unit: str  # "image" or "frame"
    predictions: int = 0
    faces: int = 0
    no_face: int = 0
    tracks: set[int] = field(default_factory=set)
    errors: list[str] = field(default_factory=list)
    outputs: dict[str, Path] = field(default_factory=dict)  # sink label -> its path
    ignored: int = 0  # a folder's files that are not images

    def add(self, prediction: Prediction) -> None:
        """Count one prediction."""
        self.predictions += 1
        self.faces += len(prediction.faces)
        self.tracks.update(f.track_id for f in prediction.faces if f.track_id is not None)
        if prediction.error:
            self.errors.append(prediction.error)
        elif not prediction.faces:
            self.no_face += 1

    def __str__(self) -> str:
        if self.unit == "frame":
            text = (f"{self.predictions} frames, {self.faces} faces in {len(self.tracks)} "
                    f"tracks, {len(self.errors)} broken frames")
        else:
            text = (f"{self.predictions} images, {self.faces} faces, {self.no_face} without a "
                    f"face, {len(self.errors)} unreadable")
        if self.ignored:
            text += f", {self.ignored} non-image files ignored"
        return text + "".join(f"; {label} -> {path}" for label, path in self.outputs.items())


def run(recognizer: Recognizer, source: Source, sinks: Sequence[Sink] = (),
        options: StreamOptions = StreamOptions(), *, progress: bool = False) -> Summary:
    """Every frame of `source` predicted and handed to each sink, in order; the sinks stay
    open (close them, e.g. with `with`, to finish their files)."""
    summary = Summary("frame" if source.sequential else "image",
                      outputs={sink.label: sink.path for sink in sinks},
                      ignored=getattr(source, "ignored", 0))
    unit = "frame" if source.sequential else "img"
    with tqdm(total=source.total, unit=unit, desc="predict", disable=not progress) as bar, \
            contextlib.closing(stream(recognizer, source, options)) as results:
        for prediction, frame in results:  # closed even when a sink raises: no thread left
            for sink in sinks:
                sink.write(prediction, frame)
            summary.add(prediction)
            bar.update()
    return summary


@contextlib.contextmanager
def torch_threads(count: int) -> Iterator[None]:
    """PyTorch's intra-op threads set to `count` inside the block, and restored after. For a
    process (the CLI) that runs a PyTorch model beside the decoding thread: with every core
    busy, PyTorch's spinning workers slow each other down ten-fold on 2 cores. The setting is
    process-wide, so only the process's owner should use it; nothing happens when PyTorch is
    not loaded (onnxruntime sessions size their own threads)."""
    torch = sys.modules.get("torch")
    if torch is None:
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(max(1, min(before, count)))
    try:
        yield
    finally:
        torch.set_num_threads(before)


def chunks(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """Consecutive lists of `size` items (the last one shorter), read lazily."""
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk
