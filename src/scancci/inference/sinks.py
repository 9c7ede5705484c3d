"""Sinks: what the stream loop hands every prediction to, with the frame it came from.

- Rows: `open_rows(path, class_names)` picks the writer from the file suffix (`.csv`,
  `.jsonl`/`.ndjson`; `ROW_FORMATS` is where another format, such as Parquet, is added). Rows
  are appended and flushed prediction by prediction, so a crash (Ctrl-C, kill -9) loses at most
  the prediction being written; with `resume` the sources already in the file are read back
  (`done`) and a half-written last line is cut.
- `AnnotatedPictures`: one annotated picture per photo, keeping a folder's layout.
- `AnnotatedVideo`: the annotated frames as a video, drawn and encoded in a worker thread.

Drawing is passed in (`Recognizer.annotate`, or any function of image and prediction), so no
sink depends on the model.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path
from typing import IO, Any, ClassVar, Protocol

import cv2
import numpy as np
from PIL import Image

from scancci.errors import InvalidInputError
from scancci.inference.background import Behind
from scancci.inference.frames import Frame
from scancci.inference.results import Prediction, columns_for, records_to_csv, records_to_jsonl

Draw = Callable[[np.ndarray, Prediction], np.ndarray]  # image, prediction -> annotated image


class Sink(Protocol):
    """Consumes predictions; `close()` finishes the output (and re-raises a worker's error)."""

    @property
    def label(self) -> str:
        """What a summary calls the output: "rows", "pictures", "video"."""

    @property
    def path(self) -> Path:
        """Where it writes."""

    def write(self, prediction: Prediction, frame: Frame) -> None: ...

    def close(self) -> None: ...


class _Closing:
    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Any:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class RowsFile(_Closing):
    """Rows of predictions appended to a text file, flushed after each prediction; with
    `resume`, the sources already written are in `done` and new rows are appended."""

    label = "rows"
    suffixes: ClassVar[tuple[str, ...]] = ()

    def __init__(self, path: str | Path, class_names: tuple[str, ...], *, resume: bool = True
                 ) -> None:
        self.path = Path(path)
        self.columns = columns_for(class_names)
        self.done: set[str] = self.read_done(self.path) if resume else set()
        if resume and self.done:
            self.check_columns()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fresh = not resume or not self.path.exists() or self.path.stat().st_size == 0
        if not fresh:
            _drop_partial_last_line(self.path)
        self._file: IO[str] = self.path.open("w" if fresh else "a", encoding="utf-8",
                                             newline="")
        if fresh:
            self._file.write(self.header())

    def write(self, prediction: Prediction, frame: Frame | None = None) -> None:
        """Append the rows of one prediction and flush (a crash loses at most this one)."""
        self._file.write(self.text(prediction.to_records()))
        self._file.flush()

    def close(self) -> None:
        """Close the file."""
        self._file.close()

    def header(self) -> str:
        """What a new file starts with."""
        return ""

    def text(self, records: list[dict[str, Any]]) -> str:
        """The lines of these rows."""
        raise NotImplementedError

    def check_columns(self) -> None:
        """Refuse to append to a file written with other columns."""

    @classmethod
    def read_done(cls, path: Path) -> set[str]:
        """Sources with complete rows in an existing file (empty when there is none)."""
        raise NotImplementedError


class CsvRows(RowsFile):
    """Rows as CSV with a header; landmarks as a JSON string, None as an empty cell."""

    suffixes = (".csv",)

    def header(self) -> str:
        return records_to_csv([], columns=self.columns)

    def text(self, records: list[dict[str, Any]]) -> str:
        return records_to_csv(records, header=False, columns=self.columns)

    def check_columns(self) -> None:
        with self.path.open(encoding="utf-8", newline="") as handle:
            header = next(csv.reader(handle), [])
        if header != self.columns:
            raise InvalidInputError(
                f"{self.path} was written for other classes or by another version (columns "
                f"{', '.join(header[-3:])} ...); write to a new file or pass --no-resume to "
                "overwrite it")

    @classmethod
    def read_done(cls, path: Path) -> set[str]:
        return {row["source"] for row in csv.DictReader(_complete_lines(path))
                if row.get("source")}


class JsonlRows(RowsFile):
    """Rows as JSON lines (landmarks as nested lists)."""

    suffixes = (".jsonl", ".ndjson")

    def text(self, records: list[dict[str, Any]]) -> str:
        return records_to_jsonl(records)

    @classmethod
    def read_done(cls, path: Path) -> set[str]:
        done = set()
        for line in _complete_lines(path):
            try:
                done.add(json.loads(line)["source"])
            except (json.JSONDecodeError, KeyError, TypeError):
                continue
        return done


# suffix -> rows writer: the one place an output format is registered
ROW_FORMATS: dict[str, type[RowsFile]] = {s: w for w in (CsvRows, JsonlRows) for s in w.suffixes}


def rows_format(path: str | Path) -> type[RowsFile]:
    """The rows writer for a file name; an unknown suffix is refused."""
    suffix = Path(path).suffix.lower()
    if suffix not in ROW_FORMATS:
        raise InvalidInputError(f"{path}: unknown output format {suffix or '(no suffix)'!r}; "
                                "name the file .csv or .jsonl")
    return ROW_FORMATS[suffix]


def open_rows(path: str | Path, class_names: tuple[str, ...], *, resume: bool = True
              ) -> RowsFile:
    """The rows writer for `path` (by suffix), resuming an existing file unless told not to."""
    return rows_format(path)(path, class_names, resume=resume)


def read_done_sources(path: str | Path) -> set[str]:
    """Sources with complete rows in an existing output file (empty if there is none)."""
    return rows_format(path).read_done(Path(path))


def _complete_lines(path: Path) -> list[str]:
    if not path.is_file():
        return []
    with path.open(encoding="utf-8", newline="") as handle:
        return [line for line in handle if line.endswith("\n")]


def _drop_partial_last_line(path: Path) -> None:
    """Cut a line left half-written by an interrupted run so appending starts cleanly."""
    data = path.read_bytes()
    if data and not data.endswith(b"\n"):
        path.write_bytes(data[:data.rfind(b"\n") + 1])


class AnnotatedPictures(_Closing):
    """Each readable photo drawn and saved under `folder` at its source's relative path (a
    folder's layout is kept; `flat`: file name only), as .png for PNG sources, else .jpg."""

    label = "pictures"

    def __init__(self, folder: str | Path, draw: Draw, *, flat: bool = False) -> None:
        self.path = Path(folder)
        self.draw, self.flat = draw, flat

    def write(self, prediction: Prediction, frame: Frame) -> None:
        """Draw and save one picture (nothing for an unreadable file)."""
        if frame.image is None:
            return
        name = Path(prediction.source)
        if self.flat or name.is_absolute() or name.parts[:1] == ("..",):
            name = Path(name.name)
        path = self.path / name.with_suffix(".png" if name.suffix.lower() == ".png" else ".jpg")
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(self.draw(frame.image, prediction)).save(path, quality=92)

    def close(self) -> None:
        """Every picture is saved when written."""


class AnnotatedVideo(_Closing):
    """The annotated frames as a video at `fps`, drawn and encoded in a worker thread at most
    `depth` frames behind the loop (an undecodable frame is left out)."""

    label = "video"

    def __init__(self, path: str | Path, fps: float, draw: Draw, *, depth: int = 16) -> None:
        self.path = Path(path)
        encoder = VideoEncoder(self.path, fps)
        self._encoder = encoder
        self._behind: Behind[tuple[np.ndarray, Prediction]] = Behind(
            lambda item: encoder.write(draw(*item)), depth, name="scancci-encode")

    def write(self, prediction: Prediction, frame: Frame) -> None:
        """Queue one frame for drawing and encoding."""
        if frame.image is not None:
            self._behind.put((frame.image, prediction))

    def close(self) -> None:
        """Finish the queued frames and the file; re-raise an encoding error."""
        try:
            self._behind.close()
        finally:
            self._encoder.close()


class VideoEncoder:
    """Writes RGB frames to a video file with PyAV (H.264, or MPEG-4 if missing)."""

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
