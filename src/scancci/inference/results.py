"""Typed results: a frozen `Face` per detected face inside a per-image (or per-frame)
`Prediction`, flattened to rows (one per face, one explicit row for an image without a face or
an unreadable file) for CSV, JSONL and pandas.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from scancci.errors import ScanCCIError

PROB_PREFIX = "prob_"
# Columns every row has, in this order; then one `prob_<class>` column per class.
BASE_COLUMNS = ("source", "frame", "timestamp", "width", "height", "face", "track_id",
                "x1", "y1", "x2", "y2", "detection_score", "rotation", "label", "landmarks",
                "status", "error", "model", "model_version")
# The columns of one face (`Face.to_dict`): the same fields in rows, JSON lines and the service.
FACE_FIELDS = ("face", "track_id", "x1", "y1", "x2", "y2", "detection_score", "rotation",
               "label", "landmarks")
# status: "face" (a row per face), "no_face" (image read, no face found), "error" (unreadable).
# model, model_version: the model's name and "sha256:" + 16 hex digits of its weights file.

# The type of every column (typed outputs such as Parquet use it; CSV and JSONL need none):
# "int" and "float" may be missing (None), "points" is the 5 x 2 landmarks, prob_<class> float.
COLUMN_TYPES = {"source": "str", "frame": "int", "timestamp": "float", "width": "int",
                "height": "int", "face": "int", "track_id": "int", "x1": "float", "y1": "float",
                "x2": "float", "y2": "float", "detection_score": "float", "rotation": "int",
                "label": "str",
                "landmarks": "points", "status": "str", "error": "str", "model": "str",
                "model_version": "str"}


@dataclass(frozen=True, eq=False)
class Face:
    """One face: box (x1, y1, x2, y2 pixels), 5 x 2 landmarks or None, detection score (None
    without a detector: the whole image was the face), probabilities (class name ->
    probability, summing to 1), top label, optional track id (videos), the quarter turn
    (degrees clockwise) that showed it upright to the detector, and optional global SCAN
    attention map (h x w in [0, 1], on the aligned crop)."""

    box: tuple[float, float, float, float]
    landmarks: tuple[tuple[float, float], ...] | None
    detection_score: float | None
    probabilities: dict[str, float]
    label: str
    track_id: int | None = None
    attention: np.ndarray | None = field(default=None, repr=False)
    rotation: int = 0

    @property
    def confidence(self) -> float:
        """Probability of the top label."""
        return float(self.probabilities[self.label])

    def to_dict(self, index: int | None = None, class_names: Sequence[str] = ()
                ) -> dict[str, Any]:
        """The face as JSON-ready fields, the same in rows, JSON lines and the service:
        FACE_FIELDS (`face` is its index in the image) then `prob_<class>` per class (in
        `class_names` order, default the probabilities' own)."""
        x1, y1, x2, y2 = (round(float(v), 2) for v in self.box)
        landmarks = None if self.landmarks is None else \
            [[round(float(x), 2), round(float(y), 2)] for x, y in self.landmarks]
        score = None if self.detection_score is None else round(float(self.detection_score), 5)
        out: dict[str, Any] = {"face": index, "track_id": self.track_id, "x1": x1, "y1": y1,
                               "x2": x2, "y2": y2, "detection_score": score,
                               "rotation": self.rotation, "label": self.label,
                               "landmarks": landmarks}
        for name in class_names or self.probabilities:
            out[PROB_PREFIX + name] = float(self.probabilities[name])
        return out


@dataclass(frozen=True, eq=False)
class Prediction:
    """Faces of one image or video frame. `error` is set (and faces empty) when the input could
    not be read; an image without a face has no error and no faces."""

    source: str
    width: int
    height: int
    faces: tuple[Face, ...] = ()
    error: str | None = None
    frame: int | None = None
    timestamp: float | None = None
    class_names: tuple[str, ...] = ()
    model: str | None = None  # the model's name
    model_version: str | None = None  # "sha256:" + 16 hex digits of its weights

    @property
    def ok(self) -> bool:
        """True when the input was read (whether or not it holds a face)."""
        return self.error is None

    def to_records(self) -> list[dict[str, Any]]:
        """One dict per face (columns BASE_COLUMNS + prob_<class>); one row if no face."""
        common = {"source": self.source, "frame": self.frame, "timestamp": self.timestamp,
                  "width": self.width, "height": self.height}
        if self.timestamp is not None:
            common["timestamp"] = round(float(self.timestamp), 4)
        model = {"model": self.model, "model_version": self.model_version}
        names = self.class_names or (tuple(self.faces[0].probabilities) if self.faces else ())
        if not self.faces:
            return [_row(common, None, None, names, self.error, model)]
        return [_row(common, i, face, names, None, model) for i, face in enumerate(self.faces)]

    def to_jsonl(self) -> str:
        """The records as JSON lines (landmarks as nested lists), newline-terminated."""
        return records_to_jsonl(self.to_records())

    def to_csv(self, header: bool = True) -> str:
        """The records as CSV text (landmarks as a JSON string)."""
        return records_to_csv(self.to_records(), header=header)

    def to_pandas(self) -> Any:
        """The records as a pandas DataFrame (needs pandas)."""
        return records_to_pandas(self.to_records())


def _row(common: dict[str, Any], index: int | None, face: Face | None,
         names: Sequence[str], error: str | None, model: dict[str, str | None]
         ) -> dict[str, Any]:
    row = dict(common)
    if face is None:
        row.update(dict.fromkeys(FACE_FIELDS))
    else:
        row.update({k: v for k, v in face.to_dict(index, names).items() if k in FACE_FIELDS})
    row["status"] = "face" if face is not None else ("error" if error else "no_face")
    row["error"] = error
    row.update(model)
    for name in names:
        row[PROB_PREFIX + name] = None if face is None else float(face.probabilities[name])
    return row


def columns_for(class_names: Sequence[str]) -> list[str]:
    """Column order of the rows for a model with these classes."""
    return [*BASE_COLUMNS, *(PROB_PREFIX + name for name in class_names)]


def records_to_jsonl(records: Iterable[dict[str, Any]]) -> str:
    """JSON lines, one record per line."""
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)


def records_to_csv(records: Sequence[dict[str, Any]], *, header: bool = True,
                   columns: Sequence[str] | None = None) -> str:
    """CSV text; lists (landmarks) are written as JSON strings, None as an empty cell."""
    columns = list(columns or (records[0].keys() if records else BASE_COLUMNS))
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, extrasaction="ignore",
                            lineterminator="\n")
    if header:
        writer.writeheader()
    for record in records:
        writer.writerow({k: _cell(record.get(k)) for k in columns})
    return buffer.getvalue()


def records_to_pandas(records: Sequence[dict[str, Any]]) -> Any:
    """A pandas DataFrame of the records; pandas is optional and imported only here."""
    try:
        import pandas as pd
    except ImportError as err:
        raise ScanCCIError("to_pandas() needs pandas, which is not installed: `pip install "
                           "pandas`, or use to_records() / to_csv() instead") from err
    return pd.DataFrame.from_records(list(records))


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, (list, tuple, dict)):
        return json.dumps(value)
    return value
