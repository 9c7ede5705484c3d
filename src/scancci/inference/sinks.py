"""Sinks: what the stream loop hands every prediction to, with the frame it came from.

- Rows: `open_rows(path, class_names)` picks the writer from the output's name: `.csv`,
  `.jsonl`/`.ndjson` (`ROW_FORMATS`), or a Parquet dataset (a folder of part files) for
  `.parquet`, an existing folder or a name without a suffix. Every writer records the sources
  it finished (`complete`), keyed by file path, size, mtime and model (`SourceKey`), and a
  resumed writer knows them (`done`) and drops the rows of a source that was not finished, so
  an interrupted run (Ctrl-C, kill -9) started again has no duplicate and no missing row.
- `AnnotatedPictures`: one annotated picture per photo, keeping a folder's layout.
- `AnnotatedVideo`: the annotated frames as a video, drawn and encoded in a worker thread.

Drawing is passed in (`Recognizer.annotate`, or any function of image and prediction), so no
sink depends on the model.
"""

from __future__ import annotations

import csv
import fcntl
import json
import os
import shutil
import time
import uuid
from collections.abc import Callable, Sequence
from fractions import Fraction
from pathlib import Path
from typing import IO, Any, ClassVar, Protocol

import cv2
import numpy as np
from PIL import Image

from scancci.errors import InvalidInputError, MissingDependencyError, error_detail
from scancci.inference.background import Behind
from scancci.inference.frames import Frame
from scancci.inference.results import (
    COLUMN_TYPES,
    PROB_PREFIX,
    Prediction,
    columns_for,
    records_to_csv,
    records_to_jsonl,
)
from scancci.inference.sources import SourceKey, file_key

Draw = Callable[[np.ndarray, Prediction], np.ndarray]  # image, prediction -> annotated image

# A Parquet dataset's committed parts: rows in part-*.parquet; the keys of the sources they
# finish in _done/ under the same name (readers skip "_" folders); files are written to _tmp/
# and renamed into place, so a part is whole or absent.
PARQUET_SUFFIX = ".parquet"
DONE_DIR, TMP_DIR, LOCK_FILE = "_done", "_tmp", "_lock"
PART_ROWS = 20_000  # a part is committed once this many rows of finished sources wait...
PART_SECONDS = 10.0  # ...or this long after the last one (at most this much work is redone)


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


class Rows(_Closing):
    """Rows of predictions with the record of the sources they finish.

    `write(prediction, frame)` appends a prediction's rows; a photo read from a file (a frame
    without a frame number, with a path) is finished by its one prediction and recorded at
    once; a video is recorded by whoever runs it (`complete(key, name)`, after its last frame).
    `write_records` appends rows made elsewhere (an engine's workers). `done` holds the keys of
    the finished sources, read back when resuming; rows written after the last finished source
    are dropped when resuming, unless the writer was closed normally (then they are kept, but
    their sources are not done). One run writes an output at a time (a lock says so).
    """

    label = "rows"

    def __init__(self, path: str | Path, class_names: Sequence[str]) -> None:
        self.path = Path(path)
        self.columns = columns_for(class_names)
        self.done: set[SourceKey] = set()
        self._pending = 0  # rows written since the last finished source

    def write(self, prediction: Prediction, frame: Frame | None = None) -> None:
        """Append the rows of one prediction; record a photo file's source as finished."""
        self.write_records(prediction.to_records())
        if frame is not None and frame.index is None and frame.path is not None:
            self.complete(file_key(frame.path, prediction.model or "", prediction.model_version),
                          prediction.source)

    def write_records(self, records: list[dict[str, Any]]) -> None:
        """Append rows (dicts with the columns)."""
        self._append(records)
        self._pending += len(records)

    def complete(self, key: SourceKey, name: str) -> None:
        """Record that every row of the source `key` (rows call it `name`) is written."""
        self._record({"source": name, **key._asdict(), "rows": self._pending})
        self._pending = 0
        self.done.add(key)

    def discard(self) -> None:
        """Drop the rows written since the last finished source (one that failed midway)."""
        self._drop_pending()
        self._pending = 0

    def close(self, finished: bool = True) -> None:
        """Finish the output; `finished` False (an exception is on its way) leaves the rows of
        an unfinished source to be dropped by the next resume."""
        raise NotImplementedError

    def __exit__(self, *exc: object) -> None:
        self.close(finished=exc[0] is None)

    def _append(self, records: list[dict[str, Any]]) -> None:
        raise NotImplementedError

    def _record(self, entry: dict[str, Any]) -> None:
        raise NotImplementedError

    def _drop_pending(self) -> None:
        raise NotImplementedError

    def _mismatch(self, found: Sequence[str]) -> InvalidInputError:
        return InvalidInputError(
            f"{self.path} was written for other classes or by another version (columns "
            f"{', '.join(list(found)[-3:])} ...); write to a new output or pass --no-resume "
            "to overwrite it")


class TextRows(Rows):
    """Rows appended to a text file (flushed after each write, so a crash loses at most the
    rows being written) and, beside it, the finished sources as JSON lines in
    OUTPUT.done.jsonl, each with the rows file's size after its rows: resuming cuts the rows
    file back to the last recorded size (a half-written line, an unfinished video)."""

    suffixes: ClassVar[tuple[str, ...]] = ()

    def __init__(self, path: str | Path, class_names: Sequence[str], *, resume: bool = True
                 ) -> None:
        super().__init__(path, class_names)
        self.ledger = ledger_path(self.path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fresh = not resume or not self.path.exists() or self.path.stat().st_size == 0
        if not fresh:  # checked before anything is written, the ledger included
            self.check_columns()
            if not self.ledger.exists():
                raise InvalidInputError(
                    f"{self.path} has rows but no record of the sources they finish "
                    f"({self.ledger.name}; written by another tool or an older scancci): "
                    "write to a new output, or pass --no-resume to overwrite it")
        self._ledger: IO[str] = _locked(self.ledger, self.path)
        if fresh:
            self._ledger.truncate(0)
            self._file: IO[bytes] = self.path.open("wb")
            self._file.write(self.header().encode())
            self._end = self._file.tell()
        else:
            try:
                self._resume()
            except BaseException:
                self._ledger.close()
                raise
            self._file = self.path.open("ab")
        self._file.flush()

    def _resume(self) -> None:
        entries = _json_lines(self.ledger)
        end = max((e.get("end", 0) for e in entries), default=len(self.header().encode()))
        if end > self.path.stat().st_size:
            raise InvalidInputError(
                f"{self.ledger} records {end} bytes of rows but {self.path} has "
                f"{self.path.stat().st_size}: the two no longer match; write to a new output "
                "or pass --no-resume")
        os.truncate(self.path, end)  # the rows of an unfinished source and half lines go
        self._end = end
        self.done = {_key(e) for e in entries if "path" in e}
        _drop_partial_last_line(self.ledger)

    def _append(self, records: list[dict[str, Any]]) -> None:
        self._file.write(self.text(records).encode("utf-8"))
        self._file.flush()

    def _record(self, entry: dict[str, Any]) -> None:
        entry["end"] = self._end = self._file.tell()
        self._ledger.write(json.dumps(entry) + "\n")
        self._ledger.flush()

    def _drop_pending(self) -> None:
        self._file.truncate(self._end)

    def close(self, finished: bool = True) -> None:
        """Close the files; after a normal run, rows of no finished source are kept."""
        if self._file.closed:
            return
        if finished and self._pending:
            self._record({"rows": self._pending})  # kept on resume, their source not done
        self._file.close()
        self._ledger.close()  # and its lock

    def header(self) -> str:
        """What a new file starts with."""
        return ""

    def text(self, records: list[dict[str, Any]]) -> str:
        """The lines of these rows."""
        raise NotImplementedError

    def check_columns(self) -> None:
        """Refuse to append to a file written with other columns."""


class CsvRows(TextRows):
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
            raise self._mismatch(header)


class JsonlRows(TextRows):
    """Rows as JSON lines (landmarks as nested lists)."""

    suffixes = (".jsonl", ".ndjson")

    def text(self, records: list[dict[str, Any]]) -> str:
        return records_to_jsonl(records)

    def check_columns(self) -> None:
        with self.path.open(encoding="utf-8") as handle:
            first = handle.readline()
        try:
            found = list(json.loads(first)) if first.endswith("\n") else self.columns
        except json.JSONDecodeError:
            found = ["(not JSON lines)"]
        if found != self.columns:
            raise self._mismatch(found)


class ParquetRows(Rows):
    """Rows as a Parquet dataset: a folder that `pandas.read_parquet(folder)` and
    `pyarrow.dataset.dataset(folder)` read whole. Rows of finished sources are committed as
    part files (at least every `part_seconds`, at most `part_rows` rows each), each with the
    keys of its sources in `_done/` under the same name; resuming deletes a part whose keys
    never landed, so an interrupted run loses at most its last `part_seconds` of work."""

    def __init__(self, path: str | Path, class_names: Sequence[str], *, resume: bool = True,
                 part_rows: int = PART_ROWS, part_seconds: float = PART_SECONDS) -> None:
        super().__init__(path, class_names)
        self._pa, self._pq = require_pyarrow(f"--output {path} (a Parquet dataset)")
        self.schema = arrow_schema(self.columns)
        self.part_rows, self.part_seconds = int(part_rows), float(part_seconds)
        self._check_folder()
        for folder in (DONE_DIR, TMP_DIR):
            (self.path / folder).mkdir(parents=True, exist_ok=True)
        self._lock = _locked(self.path / LOCK_FILE, self.path)
        shutil.rmtree(self.path / TMP_DIR)
        (self.path / TMP_DIR).mkdir()
        try:
            if resume:
                self._resume()
            else:
                for part in self._parts() + sorted((self.path / DONE_DIR).glob("part-*")):
                    part.unlink()
        except BaseException:
            self._lock.close()
            raise
        self._run = time.strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:6]
        self._count = 0
        self._records: list[dict[str, Any]] = []
        self._finished = 0  # records of finished sources, at the head of _records
        self._keys: list[dict[str, Any]] = []
        self._last = time.monotonic()

    def _check_folder(self) -> None:
        if self.path.exists() and not self.path.is_dir():
            raise InvalidInputError(f"{self.path} is a file: a Parquet output is a folder of "
                                    "part files; name a folder (or .csv/.jsonl for one file)")
        if self.path.is_dir() and any(self.path.iterdir()) \
                and not (self.path / DONE_DIR).is_dir():
            raise InvalidInputError(f"{self.path} holds other files and no {DONE_DIR}/: it is "
                                    "not a scancci Parquet output; name a new or empty folder")

    def _parts(self) -> list[Path]:
        return sorted(self.path.glob("part-*" + PARQUET_SUFFIX))

    def _resume(self) -> None:
        parts = self._parts()
        for part in parts:  # rows whose keys never landed: their sources will be redone
            if not (self.path / DONE_DIR / part.name).exists():
                part.unlink()
        parts = self._parts()
        if parts:
            found = self._pq.read_schema(parts[0]).names
            if found != self.columns:
                raise self._mismatch(found)
        done = sorted((self.path / DONE_DIR).glob("part-*" + PARQUET_SUFFIX))
        for part in done:
            self.done.update(_key(e) for e in self._pq.read_table(part).to_pylist())

    def _append(self, records: list[dict[str, Any]]) -> None:
        self._records.extend(records)

    def _drop_pending(self) -> None:
        del self._records[self._finished:]

    def _record(self, entry: dict[str, Any]) -> None:
        self._keys.append(entry)
        self._finished = len(self._records)
        if self._finished >= self.part_rows \
                or time.monotonic() - self._last >= self.part_seconds:
            self.commit()

    def commit(self, upto: int | None = None) -> None:
        """Write the rows of the finished sources (or the first `upto` rows) as a part."""
        upto = self._finished if upto is None else upto
        self._last = time.monotonic()
        if not upto and not self._keys:
            return
        name = f"part-{self._run}-{self._count:05d}{PARQUET_SUFFIX}"
        self._count += 1
        rows = self._pa.Table.from_pylist(self._records[:upto], schema=self.schema)
        self._write(rows, self.path / name)
        keys = self._pa.Table.from_pylist(self._keys, schema=done_schema(self._pa))
        self._write(keys, self.path / DONE_DIR / name)  # last: the part now counts
        del self._records[:upto]
        self._finished = max(0, self._finished - upto)
        self._keys = []

    def _write(self, table: Any, target: Path) -> None:
        temporary = self.path / TMP_DIR / target.name
        self._pq.write_table(table, temporary, compression="zstd")
        os.replace(temporary, target)

    def close(self, finished: bool = True) -> None:
        """Commit what is left: after a normal run every row (rows of no finished source are
        kept, their sources not done); after an exception only the finished sources'."""
        if self._lock.closed:
            return
        try:
            self.commit(len(self._records) if finished else None)
        finally:
            self._lock.close()


def done_schema(pa: Any) -> Any:
    """The columns of a `_done/` part: one row per finished source."""
    return pa.schema([("source", pa.string()), ("path", pa.string()), ("size", pa.int64()),
                      ("mtime_ns", pa.int64()), ("model", pa.string()),
                      ("model_version", pa.string()), ("rows", pa.int64())])


ARROW_TYPES = {"str": "string", "int": "int64", "float": "float64"}


def arrow_schema(columns: Sequence[str]) -> Any:
    """The Arrow schema of the rows (types from `results.COLUMN_TYPES`; probabilities float)."""
    pa, _ = require_pyarrow("a Parquet output")
    fields = []
    for column in columns:
        kind = "float" if column.startswith(PROB_PREFIX) else COLUMN_TYPES[column]
        fields.append((column, pa.list_(pa.list_(pa.float64())) if kind == "points"
                       else getattr(pa, ARROW_TYPES[kind])()))
    return pa.schema(fields)


def require_pyarrow(what: str) -> tuple[Any, Any]:
    """pyarrow and pyarrow.parquet, or one line naming the extra that installs them."""
    try:
        import pyarrow
        import pyarrow.parquet
    except ImportError as err:
        raise MissingDependencyError(f"{what} needs pyarrow, which is not installed: "
                                     "pip install 'scancci[ray]'") from err
    return pyarrow, pyarrow.parquet


# suffix -> rows writer of one file; Parquet datasets are folders (see rows_format)
ROW_FORMATS: dict[str, type[TextRows]] = {s: w for w in (CsvRows, JsonlRows)
                                          for s in w.suffixes}


def rows_format(path: str | Path) -> type[Rows]:
    """The rows writer for an output name; an unknown suffix is refused."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in ROW_FORMATS:
        return ROW_FORMATS[suffix]
    if suffix in ("", PARQUET_SUFFIX) or path.is_dir():
        return ParquetRows
    raise InvalidInputError(f"{path}: unknown output format {suffix!r}; name the file .csv, "
                            ".jsonl or .parquet (or a folder, for Parquet part files)")


def open_rows(path: str | Path, class_names: Sequence[str], *, resume: bool = True) -> Rows:
    """The rows writer for `path` (by its name), resuming an existing output unless told not
    to."""
    writer: Any = rows_format(path)
    return writer(path, class_names, resume=resume)


def read_done_sources(path: str | Path) -> set[SourceKey]:
    """The keys of the sources an existing output finished (empty if there is none)."""
    path = Path(path)
    if rows_format(path) is ParquetRows:
        done = path / DONE_DIR
        if not done.is_dir():
            return set()
        _, pq = require_pyarrow(f"reading {path}")
        return {_key(e) for part in sorted(done.glob("part-*" + PARQUET_SUFFIX))
                if (path / part.name).exists() for e in pq.read_table(part).to_pylist()}
    return {_key(e) for e in _json_lines(ledger_path(path)) if "path" in e}


def ledger_path(path: Path) -> Path:
    """Where a text rows file records its finished sources."""
    return path.with_name(path.name + ".done.jsonl")


def _key(entry: dict[str, Any]) -> SourceKey:
    return SourceKey(*(entry[field] for field in SourceKey._fields))


def _locked(path: Path, output: Path) -> IO[str]:
    """`path` opened for appending and locked, or a clear error if another run holds it."""
    handle = path.open("a+", encoding="utf-8")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as err:
        handle.close()
        raise InvalidInputError(f"{output} is being written by another run (locked: "
                                f"{error_detail(err)}); wait for it or write elsewhere") from err
    return handle


def _json_lines(path: Path) -> list[dict[str, Any]]:
    """The complete JSON lines of a file (a half-written last line is left out)."""
    if not path.is_file():
        return []
    entries = []
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            if line.endswith("\n"):
                try:
                    entries.append(json.loads(line))
                except json.JSONDecodeError:
                    continue
    return entries


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
