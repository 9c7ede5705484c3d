"""Sources: what the stream loop reads, each yielding `Frame`s with their metadata.

`ImageSource` (one photo), `PhotoFiles` (listed photo files), `FolderSource` (every photo under
a folder), `VideoSource` (a video file, decoded packet by packet with PyAV, or OpenCV when PyAV
is missing) and `WebcamSource` (OpenCV). Each opens and probes its input once, when it is made: a missing or
unreadable input is an error before the loop starts, and `total` (frames it will yield, for a
progress bar) and `fps` (for an annotated video) come from that one probe. A frame or photo
that cannot be decoded is yielded with `error` set, so the loop writes a row for it and goes on.
`open_source` picks the source for a path or webcam index, as `scancci predict` does.

A corpus (`open_corpus`: a folder tree of photos and videos, or a text file listing them) is
the list of files a corpus run (`scancci.inference.predict.predict_corpus`, or an engine) reads
source by source; `SourceKey` is what a finished source is remembered by when a run resumes.

A source is iterated once. Its attributes tell the loop how to read it: `sequential` (the
frames of one scene in order: faces are followed and tracked) and `prefetch` (frames worth
decoding ahead: small video frames, but photos can be 12 megapixels each).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple, Protocol

import cv2
import numpy as np

from scancci.errors import InvalidInputError, error_detail
from scancci.imaging import describe_source, is_image_file, read_rgb
from scancci.inference.frames import Frame

VIDEO_SUFFIXES = (".mp4", ".mov", ".avi", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv")
LIST_SUFFIXES = (".txt", ".lst")  # a text file of paths, one per line: a corpus


class Source(Protocol):
    """Frames of one input, iterated once; `close()` frees the input if it is never iterated."""

    @property
    def name(self) -> str:
        """What a summary calls the input."""

    @property
    def sequential(self) -> bool:
        """Frames of one scene, in order (videos, webcams): faces are followed and tracked."""

    @property
    def total(self) -> int | None:
        """Frames it will yield, when known."""

    @property
    def fps(self) -> float | None:
        """Frames per second of what it yields (None for photos)."""

    @property
    def prefetch(self) -> int:
        """Frames worth decoding ahead of the classifier."""

    def __iter__(self) -> Iterator[Frame]: ...

    def close(self) -> None: ...


def is_video_file(path: str | Path) -> bool:
    """True when the file name has a video suffix."""
    return Path(path).suffix.lower() in VIDEO_SUFFIXES


def webcam_index(source: str | Path | int) -> int | None:
    """The webcam index when `source` is an int or a string of digits, else None."""
    if isinstance(source, int):
        return source
    if isinstance(source, str) and source.isdigit():
        return int(source)
    return None


class _Photos:
    """What photo sources share: no order between photos, decoded 8 ahead."""

    sequential = False
    fps: float | None = None
    prefetch = 8

    def close(self) -> None:
        """Nothing is held open between photos."""

    def __enter__(self) -> _Photos:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class ImageSource(_Photos):
    """One photo: a path, encoded bytes, a PIL image or an RGB array. `name` is the source
    its row carries (default: the path, or the kind of in-memory image)."""

    def __init__(self, image: Any, *, name: str | None = None) -> None:
        if isinstance(image, (str, Path)) and not Path(image).exists():
            raise InvalidInputError(f"{image}: no such file, folder or webcam index")
        self.image = image
        self.name = describe_source(image) if name is None else name
        self.total = 1

    def __iter__(self) -> Iterator[Frame]:
        array, error = read_rgb(self.image)
        path = os.path.abspath(self.image) if isinstance(self.image, (str, Path)) else None
        yield Frame(self.name, array, error=error, path=path)


class PhotoFiles(_Photos):
    """Photo files read one by one, each named as given: `files` is (name, path) pairs. A file
    that is missing or cannot be decoded is yielded with its reason."""

    def __init__(self, files: Sequence[tuple[str, str | Path]], *, name: str = "photos"
                 ) -> None:
        self.name = name
        self.files = [(source, Path(path)) for source, path in files]
        self.total = len(self.files)

    def __iter__(self) -> Iterator[Frame]:
        for source, path in self.files:
            array, error = read_rgb(path)
            yield Frame(source, array, error=error, path=os.path.abspath(path))


class FolderSource(PhotoFiles):
    """Every image file under `folder` (recursive unless told otherwise; sorted), read one by
    one; rows name them by their path relative to the folder (`/`-separated). `ignored`
    counts the other files. (A corpus run, `open_corpus`, reads a folder's videos too.)"""

    def __init__(self, folder: str | Path, *, recursive: bool = True) -> None:
        self.root = Path(folder)
        if not self.root.is_dir():
            raise InvalidInputError(f"{self.root}: no such folder")
        walk = self.root.rglob("*") if recursive else self.root.iterdir()
        files = sorted(p for p in walk if p.is_file())
        self.paths = [p for p in files if is_image_file(p)]
        self.ignored = len(files) - len(self.paths)
        super().__init__([(self.relative(p), p) for p in self.paths], name=str(folder))

    def relative(self, path: Path) -> str:
        """The source name of one of the folder's files."""
        return path.relative_to(self.root).as_posix()


class VideoSource:
    """The frames of a video file, every `every`-th one, at most `max_frames` of them (after
    `every`). Frame numbers and timestamps come from the stream (a lost frame leaves a gap);
    frames are turned upright from a phone video's display matrix. The file is opened and
    probed once, here; iterating decodes from that same container and closes it. Rows name it
    `name` (default: the path as given)."""

    sequential = True
    prefetch = 16

    def __init__(self, path: str | Path, *, every: int = 1, max_frames: int | None = None,
                 name: str | None = None) -> None:
        check_counts(every, max_frames)
        self.path = Path(path)
        if not self.path.is_file():
            raise InvalidInputError(f"{self.path}: no such video file")
        self.name = str(path) if name is None else name
        self.file: str | None = os.path.abspath(self.path)
        self.every, self.max_frames = every, max_frames
        self._reader = _open_video(self.path)
        self.fps = self._reader.rate / every
        self.total = _kept(self._reader.count, every, max_frames)

    def __iter__(self) -> Iterator[Frame]:
        if self._reader.closed:
            raise InvalidInputError(f"{self.name} was read (or closed) already: a video source "
                                    "is read once; open a new one")
        kept = 0
        try:
            for index, stamp, image, error in self._reader.frames():
                if self.max_frames is not None and kept >= self.max_frames:
                    break
                if index % self.every:
                    continue
                kept += 1
                yield Frame(self.name, image, index, stamp, error, self.file)
        finally:
            self.close()

    def close(self) -> None:
        """Close the file (iterating closes it too)."""
        self._reader.close()

    def __enter__(self) -> VideoSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class WebcamSource(VideoSource):
    """The frames of webcam `index` (OpenCV), timestamps in seconds since the first read;
    `every` and `max_frames` as for a video (without `max_frames` it runs until the camera
    stops or the run is interrupted). Rows call it "webcam:INDEX"."""

    def __init__(self, index: int, *, every: int = 1, max_frames: int | None = None) -> None:
        check_counts(every, max_frames)
        self.name = f"webcam:{index}"
        self.file = None
        self.every, self.max_frames = every, max_frames
        self._reader = _CaptureReader(index, webcam=True)
        self.fps = self._reader.rate / every
        self.total = max_frames


def source_kind(path: str | Path | int) -> str:
    """"webcam" (an int, or a string of digits that is no file), "folder", "list" (a .txt or
    .lst file of paths), "video" (by suffix) or "image" (its content is checked when read);
    nothing is opened."""
    if webcam_index(path) is not None and not Path(str(path)).exists():
        return "webcam"
    path = Path(str(path))
    if path.is_dir():
        return "folder"
    if is_video_file(path):
        return "video"
    if not path.exists():
        raise InvalidInputError(f"{path}: no such file, folder or webcam index")
    return "list" if path.suffix.lower() in LIST_SUFFIXES else "image"


def open_source(path: str | Path | int, *, every: int = 1, max_frames: int | None = None
                ) -> Source:
    """The source `source_kind` names for a path or webcam index (a folder: its photos);
    `every` and `max_frames` apply to videos and webcams. A list file is a corpus
    (`open_corpus`), not one source."""
    kind, name = source_kind(path), str(path)
    if kind == "webcam":
        return WebcamSource(int(name), every=every, max_frames=max_frames)
    if kind == "folder":
        return FolderSource(name)
    if kind == "video":
        return VideoSource(name, every=every, max_frames=max_frames)
    if kind == "list":
        raise InvalidInputError(f"{path} lists files: it is a corpus, read by predict_corpus")
    return ImageSource(name)


class SourceKey(NamedTuple):
    """What a finished source is remembered by: the file's absolute path, size and mtime (a
    changed file is read again) and the model (another model reads it again)."""

    path: str
    size: int  # -1: the file did not exist
    mtime_ns: int
    model: str
    model_version: str | None


def file_key(path: str | Path, model: str, model_version: str | None) -> SourceKey:
    """The key of a file as it is now, for the given model."""
    path = os.path.abspath(path)
    try:
        stat = os.stat(path)
    except OSError:
        return SourceKey(path, -1, -1, model, model_version)
    return SourceKey(path, stat.st_size, stat.st_mtime_ns, model, model_version)


@dataclass(frozen=True)
class CorpusFile:
    """One file of a corpus: the name its rows carry, its absolute path, and whether it is
    read as a photo or a video (by suffix)."""

    name: str
    path: str
    kind: str  # "image" or "video"

    def key(self, model: str, model_version: str | None) -> SourceKey:
        """Its key as the file is now."""
        return file_key(self.path, model, model_version)


@dataclass(frozen=True)
class Corpus:
    """The files of a corpus, photos and videos, in a stable order; `ignored` counts the
    files of its folders that are neither."""

    name: str
    files: tuple[CorpusFile, ...]
    ignored: int = 0


def open_corpus(path: str | Path) -> Corpus:
    """A corpus: every photo and video under a folder (recursive, sorted; named by their path
    relative to it), the files a .txt/.lst file lists (one path per line, relative to the
    list's folder unless absolute; listed folders are expanded; blank lines and lines starting
    with # are skipped; a listed file that is missing becomes an error row), or one file."""
    kind = source_kind(path)
    if kind == "webcam":
        raise InvalidInputError(f"{path}: a webcam is a stream, not a corpus")
    if kind == "folder":
        files, ignored = _folder_files(Path(path), "")
        return Corpus(str(path), tuple(files), ignored)
    if kind == "list":
        return _list_corpus(Path(path))
    return Corpus(str(path), (_corpus_file(str(path), Path(path)),))


def _corpus_file(name: str, path: Path) -> CorpusFile:
    return CorpusFile(name, os.path.abspath(path), "video" if is_video_file(path) else "image")


def _folder_files(root: Path, prefix: str) -> tuple[list[CorpusFile], int]:
    """The photos and videos under `root`, named `prefix` + their relative path."""
    files = sorted(p for p in root.rglob("*") if p.is_file())
    media = [p for p in files if is_image_file(p) or is_video_file(p)]
    return ([_corpus_file(prefix + p.relative_to(root).as_posix(), p) for p in media],
            len(files) - len(media))


def _list_corpus(listing: Path) -> Corpus:
    try:
        lines = listing.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as err:
        raise InvalidInputError(f"{listing}: not a readable list of paths "
                                f"({error_detail(err)})") from err
    files: dict[str, CorpusFile] = {}  # by path: a file listed twice is read once
    ignored = 0
    for line in (raw.strip() for raw in lines):
        if not line or line.startswith("#"):
            continue
        path = Path(line) if Path(line).is_absolute() else listing.parent / line
        if path.is_dir():
            found, skipped = _folder_files(path, line.rstrip("/") + "/")
            ignored += skipped
        else:
            found = [_corpus_file(line, path)]
        for item in found:
            files.setdefault(item.path, item)
    return Corpus(str(listing), tuple(files.values()), ignored)


def upright(image: np.ndarray, rotation: float | None) -> np.ndarray:
    """The frame as it is meant to be shown: its display matrix turns it `rotation` degrees
    counter-clockwise (phone videos shot in portrait say -90 or 90)."""
    turns = round((rotation or 0) / 90) % 4
    return np.ascontiguousarray(np.rot90(image, turns)) if turns else image


def check_counts(every: int, max_frames: int | None) -> None:
    """Refuse --every below 1 and --max-frames below 1, before anything is opened."""
    if int(every) < 1:
        raise InvalidInputError(f"--every must be at least 1 (every N-th frame), got {every}")
    if max_frames is not None and int(max_frames) < 1:
        raise InvalidInputError(f"--max-frames must be at least 1, got {max_frames}")


def _kept(count: int | None, every: int, max_frames: int | None) -> int | None:
    """Frames a source yields from `count` in the file (None when unknown)."""
    kept = None if not count else (count + every - 1) // every
    if max_frames is not None:
        kept = max_frames if kept is None else min(kept, max_frames)
    return kept


# A decoded frame: (index, timestamp, RGB image or None, error or None).
_Decoded = tuple[int, float | None, np.ndarray | None, str | None]


def _open_video(path: Path) -> _PyAVReader | _CaptureReader:
    try:
        import av
    except ImportError:  # PyAV is a dependency, but OpenCV can read most files too
        return _CaptureReader(str(path), webcam=False)
    return _PyAVReader(av, path)


class _PyAVReader:
    """A video file opened with PyAV: its frame rate and frame count, then its frames."""

    def __init__(self, av: Any, path: Path) -> None:
        self.av, self.path = av, path
        try:
            self.container = av.open(str(path))
        except (av.error.FFmpegError, OSError) as err:
            raise InvalidInputError(f"{path}: not a readable video ({error_detail(err)})") from err
        if not self.container.streams.video:
            self.container.close()
            raise InvalidInputError(f"{path}: the file has no video stream")
        self.stream = self.container.streams.video[0]
        self.stream.thread_type = "AUTO"
        self.rate = float(self.stream.average_rate or 30)
        self.count = int(self.stream.frames) or None
        self.closed = False

    def frames(self) -> Iterator[_Decoded]:
        index = 0  # frame numbers follow the timestamps, so a lost frame leaves a gap
        for packet in self.container.demux(self.stream):
            try:
                decoded = packet.decode()
            except self.av.error.FFmpegError as err:  # a broken frame: report it, keep going
                stamp = float(packet.pts * packet.time_base) if packet.pts is not None \
                    else index / self.rate
                index = max(index, round(stamp * self.rate))
                yield index, stamp, None, (f"{self.path}: frame {index} at {stamp:.3f}s cannot "
                                           f"be decoded ({error_detail(err)})")
                index += 1
                continue
            for frame in decoded:
                stamp = float(frame.time) if frame.time is not None else index / self.rate
                index = max(index, round(stamp * self.rate))
                yield index, stamp, upright(frame.to_ndarray(format="rgb24"), frame.rotation), \
                    None
                index += 1

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.container.close()


class _CaptureReader:
    """A webcam or (without PyAV) a video file opened with OpenCV."""

    def __init__(self, source: str | int, *, webcam: bool) -> None:
        self.capture = cv2.VideoCapture(source)
        self.webcam = webcam
        if not self.capture.isOpened():
            self.capture.release()
            if webcam:
                raise InvalidInputError(
                    f"no webcam at index {source}: it could not be opened (is a camera "
                    "connected and free? try another index, e.g. 0 or 1)")
            raise InvalidInputError(f"{source}: not a readable video")
        self.closed = False
        self.rate = 30.0 if webcam else (self.capture.get(cv2.CAP_PROP_FPS) or 30.0)
        self.count = None if webcam else int(self.capture.get(cv2.CAP_PROP_FRAME_COUNT)) or None

    def frames(self) -> Iterator[_Decoded]:
        start = time.monotonic()
        index = 0
        while True:
            ok, bgr = self.capture.read()
            if not ok:
                return
            stamp = time.monotonic() - start if self.webcam else index / self.rate
            yield index, stamp, cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), None
            index += 1

    def close(self) -> None:
        self.closed = True
        self.capture.release()
