"""Video and webcam prediction: frames decoded one packet at a time (PyAV, or OpenCV for
webcams and when PyAV is missing) in a background thread, classified a few frames at a time,
so memory stays bounded whatever the video length. Faces are detected every `detect_every`
frames and carried by optical flow in between (re-detected as soon as a face is lost or
drifts); they get stable track ids, probabilities can be smoothed over time per track, every
frame gives rows with a timestamp, and an annotated video can be written (in a background
thread too). Rotated phone videos are turned upright from their display matrix.
"""

from __future__ import annotations

import queue
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any

import cv2
import numpy as np
from tqdm import tqdm

from scancci.errors import InvalidInputError, error_detail
from scancci.faces.detect import DetectedFace
from scancci.inference.results import Face, Prediction
from scancci.inference.tracking import FaceFollower, IoUTracker
from scancci.inference.writer import ResultWriter
from scancci.sessions import spare_core_threads

if TYPE_CHECKING:  # type hints only: the Recognizer imports this module
    from scancci.inference.recognizer import Recognizer

# Detections every this many frames by default (in between, faces are carried by optical flow;
# a new face that enters waits at most this many frames). 1 detects every frame.
DETECT_EVERY = 5
PREFETCH = 16  # decoded frames held ahead of the classifier (bounds memory)
VIDEO_SUFFIXES = (".mp4", ".mov", ".avi", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv")


def is_video_file(path: str | Path) -> bool:
    """True when the file name has a video suffix."""
    return Path(path).suffix.lower() in VIDEO_SUFFIXES


@dataclass
class Frame:
    """One decoded frame (RGB) or the error that replaced it."""

    index: int
    timestamp: float | None
    image: np.ndarray | None
    error: str | None = None


@dataclass
class VideoSummary:
    """What a video run did."""

    output: Path | None
    annotated: Path | None
    frames: int = 0
    faces: int = 0
    tracks: set[int] = field(default_factory=set)
    errors: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        text = (f"{self.frames} frames, {self.faces} faces in {len(self.tracks)} tracks, "
                f"{len(self.errors)} broken frames")
        for label, path in (("rows", self.output), ("video", self.annotated)):
            if path:
                text += f"; {label} -> {path}"
        return text


def read_frames(source: str | Path | int, *, every: int = 1, max_frames: int | None = None
                ) -> Iterator[Frame]:
    """Frames of a video file (path) or webcam (integer index), every `every`-th frame, at
    most `max_frames` of them; a frame that cannot be decoded is yielded with `error` set."""
    if every < 1:
        raise InvalidInputError(f"every must be at least 1, got {every}")
    webcam = webcam_index(source)
    frames = _opencv_frames(webcam, webcam=True) if webcam is not None else _file_frames(source)
    kept = 0
    for frame in frames:
        if max_frames is not None and kept >= max_frames:
            break
        if frame.index % every:
            continue
        kept += 1
        yield frame


def webcam_index(source: str | Path | int) -> int | None:
    """The webcam index when `source` is an int or a string of digits, else None."""
    if isinstance(source, int):
        return source
    if isinstance(source, str) and source.isdigit():
        return int(source)
    return None


def _file_frames(source: str | Path) -> Iterator[Frame]:
    path = Path(source)
    if not path.is_file():
        raise InvalidInputError(f"{path}: no such video file")
    try:
        import av
    except ImportError:  # PyAV is a dependency, but OpenCV can read most files too
        yield from _opencv_frames(str(path), webcam=False)
        return
    yield from _pyav_frames(av, path)


def _pyav_frames(av: Any, path: Path) -> Iterator[Frame]:
    try:
        container = av.open(str(path))
    except (av.error.FFmpegError, OSError) as err:
        raise InvalidInputError(f"{path}: not a readable video ({error_detail(err)})") from err
    with container:
        if not container.streams.video:
            raise InvalidInputError(f"{path}: the file has no video stream")
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        rate = float(stream.average_rate or 30)
        index = 0  # frame numbers follow the timestamps, so a lost frame leaves a gap
        for packet in container.demux(stream):
            try:
                decoded = packet.decode()
            except av.error.FFmpegError as err:  # a broken frame: report it, keep going
                stamp = float(packet.pts * packet.time_base) if packet.pts is not None \
                    else index / rate
                index = max(index, round(stamp * rate))
                yield Frame(index, stamp, None, f"{path}: frame {index} at {stamp:.3f}s "
                                                f"cannot be decoded ({error_detail(err)})")
                index += 1
                continue
            for frame in decoded:
                stamp = float(frame.time) if frame.time is not None else index / rate
                index = max(index, round(stamp * rate))
                yield Frame(index, stamp, upright(frame.to_ndarray(format="rgb24"),
                                                  frame.rotation))
                index += 1


def upright(image: np.ndarray, rotation: float | None) -> np.ndarray:
    """The frame as it is meant to be shown: its display matrix turns it `rotation` degrees
    counter-clockwise (phone videos shot in portrait say -90 or 90)."""
    turns = round((rotation or 0) / 90) % 4
    return np.ascontiguousarray(np.rot90(image, turns)) if turns else image


def in_background(items: Iterable[Any], depth: int = PREFETCH) -> Iterator[Any]:
    """The items of `items`, produced by a worker thread at most `depth` ahead (decoding
    overlaps inference; FFmpeg, OpenCV and PyTorch release the GIL). Errors are re-raised here;
    closing the iterator stops the worker."""
    slots: queue.Queue[tuple[str, Any]] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def work() -> None:
        iterator = iter(items)
        try:
            for item in iterator:
                while not stop.is_set():
                    try:
                        slots.put(("item", item), timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            slots.put(("end", None))
        except BaseException as err:  # handed to the consumer, which re-raises it
            slots.put(("error", err))
        finally:
            getattr(iterator, "close", lambda: None)()  # closes the file in this thread

    worker = threading.Thread(target=work, name="scancci-decode", daemon=True)
    worker.start()
    try:
        while True:
            kind, value = slots.get()
            if kind == "end":
                return
            if kind == "error":
                raise value
            yield value
    finally:
        stop.set()
        while worker.is_alive():
            try:
                slots.get(timeout=0.1)
            except queue.Empty:
                continue
        worker.join()


def _opencv_frames(source: str | int, *, webcam: bool) -> Iterator[Frame]:
    capture = cv2.VideoCapture(source)
    if not capture.isOpened():
        capture.release()
        if webcam:
            raise InvalidInputError(
                f"no webcam at index {source}: it could not be opened (is a camera connected "
                "and free? try another index, e.g. 0 or 1)")
        raise InvalidInputError(f"{source}: not a readable video")
    start = time.monotonic()
    rate = capture.get(cv2.CAP_PROP_FPS) or 30.0
    index = 0
    try:
        while True:
            ok, bgr = capture.read()
            if not ok:
                break
            stamp = time.monotonic() - start if webcam else index / rate
            yield Frame(index, stamp, cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
            index += 1
    finally:
        capture.release()


def frame_rate(source: str | Path | int) -> float:
    """Frames per second of a video file (30 when unknown or for webcams)."""
    if webcam_index(source) is not None:
        return 30.0
    try:
        import av

        with av.open(str(source)) as container:
            return float(container.streams.video[0].average_rate or 30)
    except Exception:  # any unreadable file is reported by read_frames itself
        return 30.0


class TemporalSmoother:
    """Exponential moving average of each track's probabilities: p = a * p_prev + (1 - a) * p.

    alpha 0 turns smoothing off; 0.6 steadies labels over a few frames at 30 fps.
    """

    def __init__(self, alpha: float) -> None:
        if not 0.0 <= alpha < 1.0:
            raise InvalidInputError(f"smoothing must be in [0, 1), got {alpha}")
        self.alpha = alpha
        self._state: dict[int, np.ndarray] = {}

    def __call__(self, track_id: int, probs: np.ndarray) -> np.ndarray:
        """The smoothed probabilities of this track for this frame."""
        previous = self._state.get(track_id)
        smoothed = probs if previous is None else self.alpha * previous + (1 - self.alpha) * probs
        self._state[track_id] = smoothed
        return smoothed


def iter_video(recognizer: Recognizer, source: str | Path | int, *, every: int = 1,
               max_frames: int | None = None, smoothing: float = 0.0, attention: bool = False,
               chunk: int = 8, detect_every: int = DETECT_EVERY, progress: bool = True
               ) -> Iterator[tuple[Prediction, np.ndarray | None]]:
    """(prediction with track ids, RGB frame or None) per kept frame, `chunk` frames at a time:
    faces detected every `detect_every` frames (1: every frame, batched) and followed by
    optical flow in between."""
    if detect_every < 1:
        raise InvalidInputError(f"detect_every must be at least 1, got {detect_every}")
    tracker = IoUTracker()
    smoother = TemporalSmoother(smoothing)
    locate = _FaceLocator(recognizer, detect_every)
    torch = sys.modules.get("torch")  # limited only where a PyTorch network runs
    threads = torch.get_num_threads() if torch else 0
    if torch:
        torch.set_num_threads(inference_threads(threads))
    name = f"webcam:{source}" if webcam_index(source) is not None else str(source)
    total = _frame_count(source, every, max_frames)
    bar = tqdm(total=total, unit="frame", desc="video", disable=not progress)
    buffer: list[Frame] = []
    frames = in_background(read_frames(source, every=every, max_frames=max_frames))
    try:
        for frame in frames:
            buffer.append(frame)
            if len(buffer) >= chunk:
                yield from _predict_frames(recognizer, buffer, name, locate, tracker, smoother,
                                           attention)
                bar.update(len(buffer))
                buffer = []
        yield from _predict_frames(recognizer, buffer, name, locate, tracker, smoother,
                                   attention)
        bar.update(len(buffer))
    finally:
        frames.close()
        bar.close()
        if torch:
            torch.set_num_threads(threads)


def inference_threads(threads: int) -> int:
    """PyTorch threads while a video runs (of `threads`): one core is left to the decoding
    thread (with every core busy, PyTorch's spinning worker threads slow each other down
    ten-fold on 2 cores)."""
    return max(1, min(threads, spare_core_threads()))


class _FaceLocator:
    """The faces of each frame of a chunk: detected (all frames in one batch when
    detect_every is 1), or carried from the last detection by the FaceFollower."""

    def __init__(self, recognizer: Recognizer, detect_every: int) -> None:
        self.detector = recognizer.detector
        self.detect_every = detect_every
        self.follower = FaceFollower()
        self.since_detection: int | None = None  # None: the next frame must be detected

    def __call__(self, images: list[np.ndarray | None]) -> list[list[DetectedFace] | None]:
        if self.detect_every == 1:
            readable = [i for i, image in enumerate(images) if image is not None]
            found = self.detector.detect_batch([images[i] for i in readable]) if readable else []
            faces: list[list[DetectedFace] | None] = [None] * len(images)
            for i, detected in zip(readable, found, strict=True):
                faces[i] = detected
            return faces
        return [None if image is None else self._one(image) for image in images]

    def _one(self, image: np.ndarray) -> list[DetectedFace]:
        due = self.since_detection is None or self.since_detection + 1 >= self.detect_every
        followed = None if due else self.follower.follow(image)
        if followed is not None:
            self.since_detection = (self.since_detection or 0) + 1
            return followed
        faces = self.detector.detect(image)
        self.follower.reset(image, faces)
        self.since_detection = 0
        return faces


def _predict_frames(recognizer: Recognizer, frames: list[Frame], name: str,
                    locate: _FaceLocator, tracker: IoUTracker, smoother: TemporalSmoother,
                    attention: bool) -> Iterator[tuple[Prediction, np.ndarray | None]]:
    if not frames:
        return
    images = [f.image for f in frames]
    predictions = recognizer.predict_detected(
        images, locate(images), [name] * len(frames), errors=[f.error for f in frames],
        attention=attention, frames=[f.index for f in frames],
        timestamps=[f.timestamp for f in frames])
    for prediction, frame in zip(predictions, frames, strict=True):
        ids = tracker.update([face.box for face in prediction.faces])
        faces = tuple(_tracked(face, track_id, recognizer.class_names, smoother)
                      for face, track_id in zip(prediction.faces, ids, strict=True))
        yield replace(prediction, faces=faces), frame.image


def _tracked(face: Face, track_id: int, names: tuple[str, ...],
             smoother: TemporalSmoother) -> Face:
    if smoother.alpha == 0:
        return replace(face, track_id=track_id)
    probs = smoother(track_id, np.array([face.probabilities[n] for n in names]))
    return replace(face, track_id=track_id,
                   probabilities={n: float(p) for n, p in zip(names, probs, strict=True)},
                   label=names[int(np.argmax(probs))])


def _frame_count(source: str | Path | int, every: int, max_frames: int | None) -> int | None:
    """Frames that will be kept, for the progress bar (None when unknown)."""
    count = None
    if webcam_index(source) is None:
        try:
            import av

            with av.open(str(source)) as container:
                count = int(container.streams.video[0].frames) or None
        except Exception:  # read_frames reports unreadable files
            count = None
    if count is not None:
        count = (count + every - 1) // every
    if max_frames is not None:
        count = max_frames if count is None else min(count, max_frames)
    return count


class _BackgroundWriter:
    """Draws and encodes annotated frames in a worker thread, at most `depth` frames behind."""

    def __init__(self, video: VideoWriter, draw: Callable[[np.ndarray, Prediction], np.ndarray],
                 depth: int = PREFETCH) -> None:
        self.video, self.draw = video, draw
        self.slots: queue.Queue[tuple[np.ndarray, Prediction] | None] = queue.Queue(depth)
        self.error: BaseException | None = None
        self.worker = threading.Thread(target=self._work, name="scancci-encode", daemon=True)
        self.worker.start()

    def put(self, image: np.ndarray, prediction: Prediction) -> None:
        """Queue one frame (blocks while the worker is `depth` frames behind)."""
        if self.error is not None:
            raise self.error
        self.slots.put((image, prediction))

    def close(self) -> None:
        """Finish the queued frames, close the file, re-raise a worker error."""
        self.slots.put(None)
        self.worker.join()
        self.video.close()
        if self.error is not None:
            raise self.error

    def _work(self) -> None:
        while (item := self.slots.get()) is not None:
            if self.error is None:
                try:
                    self.video.write(self.draw(*item))
                except BaseException as err:  # re-raised by put/close in the caller's thread
                    self.error = err


class VideoWriter:
    """Writes annotated RGB frames to a video file with PyAV (H.264, or MPEG-4 if missing)."""

    def __init__(self, path: str | Path, fps: float) -> None:
        import av

        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._av = av
        self._container = av.open(str(self.path), mode="w")
        self._fps = fps
        self._stream: Any = None

    def write(self, image: np.ndarray) -> None:
        """Append one RGB frame (the first fixes the size)."""
        if self._stream is None:
            self._stream = self._open_stream(image.shape[1], image.shape[0])
        height, width = self._stream.height, self._stream.width
        if image.shape[:2] != (height, width):
            image = cv2.resize(image, (width, height))
        frame = self._av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="rgb24")
        for packet in self._stream.encode(frame):
            self._container.mux(packet)

    def close(self) -> None:
        """Flush the encoder and close the file."""
        if self._stream is not None:
            for packet in self._stream.encode():
                self._container.mux(packet)
        self._container.close()

    def _open_stream(self, width: int, height: int) -> Any:
        rate = Fraction(self._fps).limit_denominator(1001)
        for codec in ("libx264", "mpeg4"):
            try:
                stream = self._container.add_stream(codec, rate=rate)
                break
            except (self._av.error.FFmpegError, ValueError):
                continue
        else:  # pragma: no cover - PyAV wheels always carry mpeg4
            raise InvalidInputError(f"{self.path}: no H.264 or MPEG-4 encoder in this FFmpeg")
        stream.width, stream.height = width - width % 2, height - height % 2
        stream.pix_fmt = "yuv420p"
        if stream.codec_context.name == "libx264":  # a faster preset than x264's "medium"
            stream.options = {"preset": "veryfast", "crf": "23"}  # crf 23: x264's own default
        return stream


def predict_video(recognizer: Recognizer, source: str | Path | int,
                  output: str | Path | None = None, *, annotate: str | Path | None = None,
                  every: int = 1, max_frames: int | None = None, smoothing: float = 0.0,
                  attention: bool = False, detect_every: int = DETECT_EVERY,
                  progress: bool = True) -> VideoSummary:
    """Per-frame rows (with track ids and timestamps) to `output` (.csv/.jsonl) and an
    annotated video to `annotate` (drawn and encoded in a background thread); memory stays
    bounded for any length."""
    summary = VideoSummary(output=Path(output) if output else None,
                           annotated=Path(annotate) if annotate else None)
    writer = ResultWriter(output, recognizer.class_names, resume=False) if output else None
    video = _BackgroundWriter(VideoWriter(annotate, frame_rate(source) / every),
                              lambda image, p: recognizer.annotate(image, p, attention=attention)
                              ) if annotate else None
    try:
        for prediction, image in iter_video(recognizer, source, every=every,
                                            max_frames=max_frames, smoothing=smoothing,
                                            attention=attention, detect_every=detect_every,
                                            progress=progress):
            summary.frames += 1
            summary.faces += len(prediction.faces)
            summary.tracks.update(f.track_id for f in prediction.faces if f.track_id is not None)
            if prediction.error:
                summary.errors.append(prediction.error)
            if writer:
                writer.write(prediction)
            if video and image is not None:
                video.put(image, prediction)
    finally:
        if writer:
            writer.close()
        if video:
            video.close()
    return summary

