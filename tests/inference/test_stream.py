"""Sources -> one loop -> sinks: what a source knows before it is read, any sink taking the
loop's output, an interrupted run that loses nothing, and the loop run side by side."""

from __future__ import annotations

import os
import shutil
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from scancci.errors import InvalidInputError
from scancci.inference import (
    FolderSource,
    Frame,
    ImageSource,
    Prediction,
    StreamOptions,
    VideoSource,
    open_rows,
    predict_corpus,
    run,
    stream,
)
from scancci.inference.sinks import read_done_sources
from scancci.inference.sources import open_source


class Collect:
    """A sink of one's own: keeps every prediction with the frame it came from."""

    label = "memory"

    def __init__(self) -> None:
        self.path = Path("memory")
        self.items: list[tuple[Prediction, Frame]] = []

    def write(self, prediction: Prediction, frame: Frame) -> None:
        self.items.append((prediction, frame))

    def close(self) -> None:
        """Nothing to finish."""


@pytest.fixture()
def photo_folder(tmp_path, photos_dir) -> Path:
    root = tmp_path / "photos"
    root.mkdir()
    for name in ("0-f15-hao-ph.jpg", "0-f1-su-ph.jpg", "15-f13-anc-ph.jpg", "45-m7-di-ph.jpg",
                 "free-mountain-vector-01.jpg"):
        shutil.copy(photos_dir / name, root / name)
    return root


def test_a_video_source_knows_its_length_and_rate_before_it_is_read(photos_dir) -> None:
    with VideoSource(photos_dir / "single_face.mp4", every=6) as source:
        assert (source.total, source.fps, source.sequential) == (12, 5.0, True)
        frames = list(source)
    assert len(frames) == source.total
    assert [f.index for f in frames[:3]] == [0, 6, 12] and frames[0].image.shape == (360, 640, 3)
    with pytest.raises(InvalidInputError, match="read once"):
        list(source)  # the file was closed at the end
    capped = VideoSource(photos_dir / "single_face.mp4", max_frames=4)
    assert capped.total == 4 and len(list(capped)) == 4


def test_open_source_picks_the_source_and_names_bad_values(photos_dir, tmp_path) -> None:
    assert isinstance(open_source(photos_dir / "single_face.mp4"), VideoSource)
    assert isinstance(open_source(photos_dir / "single_face.jpg"), ImageSource)
    assert isinstance(open_source(photos_dir), FolderSource)
    with pytest.raises(InvalidInputError, match="no such file"):
        open_source(tmp_path / "missing.jpg")
    with pytest.raises(InvalidInputError, match="--max-frames"):
        open_source(photos_dir / "single_face.mp4", max_frames=0)
    with pytest.raises(InvalidInputError, match="--detect-every"):
        StreamOptions(detect_every=0)
    with pytest.raises(InvalidInputError, match="--smoothing"):
        StreamOptions(smoothing=1.0)


def test_any_sink_gets_every_prediction_with_its_frame(recognizer, photo_folder,
                                                       tmp_path) -> None:
    """One source through the loop into three sinks: the same rows in CSV and JSONL, and a
    sink of one's own sees each prediction beside its decoded frame."""
    mine = Collect()
    with open_rows(tmp_path / "rows.csv", recognizer.class_names) as csv_rows, \
            open_rows(tmp_path / "rows.jsonl", recognizer.class_names) as json_rows:
        summary = run(recognizer, FolderSource(photo_folder), [csv_rows, json_rows, mine])
    assert summary.predictions == len(mine.items) == 5 and summary.no_face == 1
    assert summary.outputs["rows"] == tmp_path / "rows.jsonl" and "memory" in summary.outputs
    for prediction, frame in mine.items:
        assert prediction.source == frame.source
        assert (prediction.height, prediction.width) == frame.image.shape[:2]
    sources = [p.source for p, _ in mine.items]
    assert sources == sorted(sources)
    expected = {os.path.abspath(photo_folder / name) for name in sources}
    done = read_done_sources(tmp_path / "rows.csv")
    assert done == read_done_sources(tmp_path / "rows.jsonl")
    assert {key.path for key in done} == expected


def test_an_interrupted_folder_run_loses_nothing_and_resumes(recognizer, photo_folder,
                                                             tmp_path) -> None:
    """Ctrl-C after the second photo: its rows are on disk, the decoding thread is gone, and
    the same command again writes only the photos that were missing."""
    out = tmp_path / "rows.csv"

    class Interrupt(Collect):
        def write(self, prediction: Prediction, frame: Frame) -> None:
            super().write(prediction, frame)
            if len(self.items) == 2:
                raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt), open_rows(out, recognizer.class_names) as rows:
        run(recognizer, FolderSource(photo_folder), [rows, Interrupt()])
    assert len(read_done_sources(out)) == 2
    assert not [t for t in threading.enumerate() if t.name == "scancci-decode"]
    summary = predict_corpus(recognizer, photo_folder, out, progress=False)
    assert (summary.photos, summary.skipped) == (3, 2)
    lines = out.read_text().splitlines()
    sources = [line.split(",")[0] for line in lines[1:]]
    assert sorted(sources) == sorted({p.name for p in photo_folder.iterdir()})  # once each


def test_the_loop_holds_no_shared_state(recognizer, photos_dir) -> None:
    """Two streams of the same clip run at once give what one gives alone (per-stream state:
    followed faces, track ids)."""
    clip = photos_dir / "single_face.mp4"

    def boxes() -> list[tuple[int | None, tuple]]:
        return [(p.frame, tuple(f.box for f in p.faces) + tuple(f.track_id for f in p.faces))
                for p, _ in stream(recognizer, VideoSource(clip, max_frames=12))]

    alone = boxes()
    with ThreadPoolExecutor(2) as pool:
        together = list(pool.map(lambda _: boxes(), range(2)))
    assert together == [alone, alone]
