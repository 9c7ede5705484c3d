"""Results: one row per face, one explicit row for no face or an unreadable file; CSV, JSONL,
pandas; resumable writers."""

from __future__ import annotations

import csv
import io
import json
import sys

import numpy as np
import pytest

from scancci.errors import InvalidInputError, ScanCCIError
from scancci.inference import Face, Frame, Prediction
from scancci.inference.sinks import open_rows, read_done_sources

NAMES = ("neutral", "happy", "sad")


def face(label: str = "happy", track_id: int | None = None) -> Face:
    probs = {"neutral": 0.2, "happy": 0.7, "sad": 0.1} if label == "happy" else \
        {"neutral": 0.6, "happy": 0.3, "sad": 0.1}
    return Face(box=(1.0, 2.0, 30.5, 40.25), landmarks=((5.0, 6.0),) * 5, detection_score=0.99,
                probabilities=probs, label=label, track_id=track_id)


def test_one_row_per_face_with_probabilities() -> None:
    prediction = Prediction("a.jpg", 100, 80, (face(), face("neutral", 3)), class_names=NAMES)
    rows = prediction.to_records()
    assert [r["face"] for r in rows] == [0, 1]
    assert [r["label"] for r in rows] == ["happy", "neutral"]
    assert rows[1]["track_id"] == 3 and rows[0]["status"] == "face"
    assert rows[0]["prob_happy"] == 0.7 and rows[0]["x2"] == 30.5
    assert prediction.faces[0].confidence == 0.7
    table = list(csv.DictReader(io.StringIO(prediction.to_csv())))
    assert len(table) == 2 and json.loads(table[0]["landmarks"]) == [[5.0, 6.0]] * 5
    lines = prediction.to_jsonl().splitlines()
    assert json.loads(lines[1])["label"] == "neutral"


def test_no_face_and_unreadable_give_one_explicit_row() -> None:
    empty = Prediction("b.jpg", 100, 80, (), class_names=NAMES).to_records()
    broken = Prediction("c.jpg", 0, 0, (), error="c.jpg: not a readable image",
                        class_names=NAMES).to_records()
    assert len(empty) == len(broken) == 1
    assert empty[0]["status"] == "no_face" and empty[0]["error"] is None
    assert broken[0]["status"] == "error" and "not a readable" in broken[0]["error"]
    assert broken[0]["prob_happy"] is None and broken[0]["label"] is None


def test_to_pandas_without_pandas_is_a_clear_error(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "pandas", None)  # as if it were not installed
    with pytest.raises(ScanCCIError, match="pip install pandas"):
        Prediction("a.jpg", 1, 1, (face(),), class_names=NAMES).to_pandas()


@pytest.mark.parametrize("suffix", [".csv", ".jsonl"])
def test_writer_resumes_and_cuts_a_half_written_line(tmp_path, suffix) -> None:
    path = tmp_path / f"out{suffix}"
    files = {name: tmp_path / name for name in ("a.jpg", "b.jpg", "c.jpg")}
    for file in files.values():
        file.write_bytes(b"photo")

    def photo(name: str, faces: tuple[Face, ...]) -> tuple[Prediction, Frame]:
        return (Prediction(name, 10, 10, faces, class_names=NAMES, model="m"),
                Frame(name, None, path=str(files[name])))

    with open_rows(path, NAMES) as writer:
        writer.write(*photo("a.jpg", (face(),)))
        writer.write(*photo("b.jpg", ()))
    with path.open("a") as handle:
        handle.write('c.jpg,"interrupted')  # a crash in the middle of a row
    done = read_done_sources(path)
    assert {key.path for key in done} == {str(files["a.jpg"]), str(files["b.jpg"])}
    with open_rows(path, NAMES) as writer:
        assert writer.done == done
        writer.write(*photo("c.jpg", (face(),)))
    text = path.read_text()
    assert "interrupted" not in text and text.count("c.jpg") == 1


def test_writer_refuses_unknown_suffix_and_other_classes(tmp_path) -> None:
    with pytest.raises(InvalidInputError, match=".jsonl or .parquet"):
        open_rows(tmp_path / "out.txt", NAMES)
    path = tmp_path / "out.csv"
    with open_rows(path, NAMES) as writer:
        writer.write(Prediction("a.jpg", 10, 10, (face(),), class_names=NAMES))
    with pytest.raises(InvalidInputError, match="other classes"):
        open_rows(path, ("neutral", "happy", "sad", "anger"))


def test_face_attention_is_kept_but_not_in_rows() -> None:
    with_map = Face((0, 0, 1, 1), None, 1.0, {"a": 1.0}, "a", attention=np.ones((7, 7)))
    row = Prediction("x", 1, 1, (with_map,)).to_records()[0]
    assert "attention" not in row and row["landmarks"] is None
