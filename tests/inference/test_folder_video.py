"""Folders (streamed, resumable, one row per unreadable or face-less file) and videos (tracks,
timestamps, broken frames, annotated output, missing webcams), through the sources, the stream
loop and its sinks."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from scancci.errors import InvalidInputError
from scancci.inference import (
    FolderSource,
    VideoSource,
    predict_corpus,
    predict_video,
    stream,
)
from scancci.inference.background import Behind, ahead


@pytest.fixture()
def photo_folder(tmp_path, photos_dir) -> Path:
    root = tmp_path / "photos"
    (root / "nested").mkdir(parents=True)
    for name in ("0-f15-hao-ph.jpg", "multi_face.jpg", "free-mountain-vector-01.jpg"):
        shutil.copy(photos_dir / name, root / name)
    shutil.copy(photos_dir / "single_face.jpg", root / "nested" / "single_face.jpg")
    data = (photos_dir / "0-f1-su-ph.jpg").read_bytes()
    (root / "truncated.jpg").write_bytes(data[: len(data) // 2])
    (root / "notes.txt").write_text("not an image")
    return root


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open() as handle:
        return list(csv.DictReader(handle))


def test_folder_rows_errors_annotations_and_resume(recognizer, photo_folder, tmp_path,
                                                   photos_dir) -> None:
    out = tmp_path / "rows.csv"
    annotated = tmp_path / "annotated"
    summary = predict_corpus(recognizer, photo_folder, out, annotate_dir=annotated,
                             progress=False)
    assert (summary.photos, summary.photo_faces, summary.no_face, summary.unreadable) \
        == (5, 7, 1, 1)
    assert summary.ignored == 1
    rows = read_csv(out)
    by_source: dict[str, list[dict[str, str]]] = {}
    for row in rows:
        by_source.setdefault(row["source"], []).append(row)
    assert len(by_source["multi_face.jpg"]) == 5
    assert [r["status"] for r in by_source["truncated.jpg"]] == ["error"]
    assert "truncated.jpg" in by_source["truncated.jpg"][0]["error"]
    assert [r["status"] for r in by_source["free-mountain-vector-01.jpg"]] == ["no_face"]
    assert by_source["nested/single_face.jpg"][0]["label"] in recognizer.class_names
    assert (annotated / "nested" / "single_face.jpg").is_file()
    assert not (annotated / "truncated.jpg").exists()
    shutil.copy(photos_dir / "15-f13-anc-ph.jpg", photo_folder / "new.jpg")
    again = predict_corpus(recognizer, photo_folder, out, progress=False)
    assert again.photos == 1 and again.skipped == 5
    assert len(read_csv(out)) == len(rows) + 1


def test_folder_to_jsonl_streams_in_chunks(recognizer, photo_folder, tmp_path) -> None:
    out = tmp_path / "rows.jsonl"
    predict_corpus(recognizer, photo_folder, out, chunk=2, progress=False)
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(records) == 9 and {r["status"] for r in records} == {"face", "no_face", "error"}
    assert len({r["source"] for r in records}) == 5
    assert [len(p.faces) for p, _ in stream(recognizer, FolderSource(photo_folder))] \
        == [1, 0, 5, 1, 0]


def test_video_rows_tracks_timestamps_and_annotated_video(recognizer, photos_dir,
                                                          tmp_path) -> None:
    out, video = tmp_path / "frames.csv", tmp_path / "annotated.mp4"
    summary = predict_video(recognizer, photos_dir / "single_face.mp4", out, annotate=video,
                            every=6, max_frames=5, smoothing=0.5, progress=False)
    assert summary.predictions == 5 and summary.tracks == {0} and not summary.errors
    rows = read_csv(out)
    assert [int(r["frame"]) for r in rows] == [0, 6, 12, 18, 24]
    stamps = [float(r["timestamp"]) for r in rows]
    np.testing.assert_allclose(stamps, [0, 0.2, 0.4, 0.6, 0.8], atol=1e-3)
    assert {r["track_id"] for r in rows} == {"0"}
    with av.open(str(video)) as container:
        frames = list(container.decode(video=0))
    assert len(frames) == 5 and (frames[0].width, frames[0].height) == (640, 360)


def test_video_with_a_broken_frame_keeps_going(recognizer, broken_video) -> None:
    predictions = [p for p, _ in stream(recognizer, VideoSource(broken_video))]
    errors = [p for p in predictions if p.error]
    assert len(errors) == 1 and "cannot be decoded" in errors[0].error
    assert errors[0].frame == 4
    good = [p for p in predictions if not p.error]
    assert len(good) >= 7 and all(len(p.faces) == 1 for p in good)
    assert len({p.faces[0].track_id for p in good}) == 1


def test_missing_webcam_and_unreadable_video_are_clear_errors(recognizer, tmp_path) -> None:
    with pytest.raises(InvalidInputError, match="no webcam at index 97"):
        predict_video(recognizer, 97, progress=False)
    fake = tmp_path / "fake.mp4"
    fake.write_bytes(b"\x00" * 1000)
    with pytest.raises(InvalidInputError, match="fake.mp4"):
        VideoSource(fake)  # probed when opened: before any frame is asked for
    with pytest.raises(InvalidInputError, match="--every"):
        VideoSource(fake, every=0)


def test_rotated_phone_video_comes_out_upright(tmp_path, photos_dir) -> None:
    from scancci.faces import FaceDetector

    upright = np.asarray(Image.open(photos_dir / "0-f15-hao-ph.jpg").convert("RGB")
                         .resize((256, 256)))[:, :192]  # not square: a wrong turn shows
    stored = np.ascontiguousarray(np.rot90(upright, -1))  # the sensor's pixels (portrait phone)
    path = tmp_path / "portrait.mp4"
    with av.open(str(path), "w") as container:
        stream = container.add_stream("mpeg4", rate=10)
        stream.width, stream.height, stream.pix_fmt = stored.shape[1], stored.shape[0], "yuv420p"
        stream.set_display_rotation(90)  # shown turned 90 degrees counter-clockwise
        for _ in range(3):
            for packet in stream.encode(av.VideoFrame.from_ndarray(stored, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    frames = list(VideoSource(path))
    assert len(frames) == 3 and frames[0].image.shape == upright.shape
    detector = FaceDetector()
    (want,), (got,) = detector.detect(upright), detector.detect(frames[0].image)
    np.testing.assert_allclose(got.box, want.box, atol=6)


def test_background_reader_stops_early_and_passes_errors_on() -> None:
    reader = ahead(iter(range(1000)), depth=2)
    assert [next(reader) for _ in range(3)] == [0, 1, 2]
    reader.close()  # the worker stops; nothing hangs

    def broken():
        yield 1
        raise InvalidInputError("bad file")

    with pytest.raises(InvalidInputError, match="bad file"):
        list(ahead(broken()))


def test_background_writer_keeps_order_and_passes_errors_on() -> None:
    done: list[int] = []
    writer: Behind[int] = Behind(done.append, depth=2)
    for i in range(50):
        writer.put(i)
    writer.close()
    assert done == list(range(50))

    def fails(item: int) -> None:
        if item == 3:
            raise OSError("disk full")

    failing: Behind[int] = Behind(fails, depth=1)
    with pytest.raises(OSError, match="disk full"):
        for i in range(100):  # a later put re-raises it (or close does)
            failing.put(i)
        failing.close()
