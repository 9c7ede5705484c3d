"""Streaming result files: rows appended and flushed image by image, CSV or JSONL chosen by
the file suffix, and resumable (the sources already written are read back and skipped)."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import IO, Any

from scancci.errors import InvalidInputError
from scancci.inference.results import Prediction, columns_for, records_to_csv, records_to_jsonl

FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl"}


def output_format(path: str | Path) -> str:
    """"csv" or "jsonl" from the file suffix; anything else is refused."""
    suffix = Path(path).suffix.lower()
    if suffix not in FORMATS:
        raise InvalidInputError(f"{path}: unknown output format {suffix or '(no suffix)'!r}; "
                                "name the file .csv or .jsonl")
    return FORMATS[suffix]


class ResultWriter:
    """Appends Prediction rows to a CSV/JSONL file, flushing after each prediction."""

    def __init__(self, path: str | Path, class_names: tuple[str, ...], *, resume: bool = True
                 ) -> None:
        self.path = Path(path)
        self.format = output_format(self.path)
        self.columns = columns_for(class_names)
        self.done: set[str] = read_done_sources(self.path, self.format) if resume else set()
        if resume and self.done:
            _check_columns(self.path, self.format, self.columns)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fresh = not resume or not self.path.exists() or self.path.stat().st_size == 0
        if not fresh:
            _drop_partial_last_line(self.path)
        self._file: IO[str] = self.path.open("w" if fresh else "a", encoding="utf-8",
                                             newline="")
        if fresh and self.format == "csv":
            self._file.write(records_to_csv([], columns=self.columns))

    def write(self, prediction: Prediction) -> None:
        """Append the rows of one prediction and flush (a crash loses at most this image)."""
        records = prediction.to_records()
        if self.format == "csv":
            text = records_to_csv(records, header=False, columns=self.columns)
        else:
            text = records_to_jsonl(records)
        self._file.write(text)
        self._file.flush()

    def close(self) -> None:
        """Close the file."""
        self._file.close()

    def __enter__(self) -> ResultWriter:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def read_done_sources(path: Path, fmt: str) -> set[str]:
    """Sources with complete rows in an existing output file (empty if there is none)."""
    if not path.is_file():
        return set()
    done: set[str] = set()
    with path.open(encoding="utf-8", newline="") as handle:
        if fmt == "csv":
            for row in csv.DictReader(_complete_lines(handle)):
                if row.get("source"):
                    done.add(row["source"])
        else:
            for line in _complete_lines(handle):
                try:
                    done.add(json.loads(line)["source"])
                except (json.JSONDecodeError, KeyError, TypeError):
                    continue
    return done


def _complete_lines(handle: IO[str]) -> list[str]:
    return [line for line in handle if line.endswith("\n")]


def _drop_partial_last_line(path: Path) -> None:
    """Cut a line left half-written by an interrupted run so appending starts cleanly."""
    data = path.read_bytes()
    if data and not data.endswith(b"\n"):
        path.write_bytes(data[:data.rfind(b"\n") + 1])


def _check_columns(path: Path, fmt: str, columns: list[str]) -> None:
    if fmt != "csv":
        return
    with path.open(encoding="utf-8", newline="") as handle:
        header = next(csv.reader(handle), [])
    if header != columns:
        raise InvalidInputError(
            f"{path} was written for other classes or by another version (columns "
            f"{', '.join(header[-3:])} ...); write to a new file or pass --no-resume to "
            "overwrite it")
