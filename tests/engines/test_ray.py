"""The Ray engine on a local Ray instance of 2 CPUs (started once for this module) over a mixed
corpus (the test videos and photos, nested folders, a corrupt file): the local engine's rows,
a driver killed with kill -9 and rerun, a worker killed mid-file, a file that kills its worker
every time, and `prepare` on Ray."""

from __future__ import annotations

import logging
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from scancci.engines import RayOptions, RecognizerSpec, predict_corpus_ray, prepare_dataset_ray
from scancci.faces.detect import FaceDetector
from scancci.faces.prepare import REPORT_NAME, prepare_dataset
from scancci.inference import Recognizer, predict_corpus

pytestmark = pytest.mark.slow
KEY = ["source", "frame", "face"]


@pytest.fixture(scope="module")
def cluster() -> Iterator[str]:
    """One local Ray instance of 2 CPUs for the whole module; its address."""
    import ray

    ray.init(num_cpus=2, include_dashboard=False, logging_level=logging.WARNING)
    try:
        yield ray.get_runtime_context().gcs_address
    finally:
        ray.shutdown()


@pytest.fixture(scope="module")
def corpus(tmp_path_factory, photos_dir) -> Path:
    root = tmp_path_factory.mktemp("corpus")
    (root / "photos" / "nested").mkdir(parents=True)
    (root / "videos").mkdir()
    for name in ("0-f15-hao-ph.jpg", "multi_face.jpg", "free-mountain-vector-01.jpg"):
        shutil.copy(photos_dir / name, root / "photos" / name)
    shutil.copy(photos_dir / "single_face.jpg", root / "photos" / "nested" / "single_face.jpg")
    data = (photos_dir / "0-f1-su-ph.jpg").read_bytes()
    (root / "photos" / "corrupt.jpg").write_bytes(data[: len(data) // 2])
    (root / "photos" / "labels.txt").write_text("not media")
    for name in ("single_face.mp4", "no_face.mp4"):
        shutil.copy(photos_dir / name, root / "videos" / name)
    return root


@pytest.fixture(scope="module")
def local_rows(corpus, tmp_path_factory) -> pd.DataFrame:
    """The local engine's rows of the corpus (the default model, as the Ray runs use)."""
    out = tmp_path_factory.mktemp("local") / "rows.csv"
    predict_corpus(Recognizer(), corpus, out, every=2, progress=False)
    return sorted_rows(pd.read_csv(out))


def sorted_rows(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.sort_values(KEY, na_position="first").reset_index(drop=True)


def assert_same_rows(found: pd.DataFrame, expected: pd.DataFrame) -> None:
    found, expected = sorted_rows(found), sorted_rows(expected)
    assert list(found.columns) == list(expected.columns) and len(found) == len(expected)
    numbers = [c for c in expected.columns if expected[c].dtype.kind == "f"]
    texts = ["source", "label", "status", "model", "model_version"]
    assert found[texts].fillna("").equals(expected[texts].fillna(""))
    assert (found[numbers].fillna(-1) - expected[numbers].fillna(-1)).abs().max().max() < 1e-9


def test_the_ray_engine_writes_the_local_engines_rows(cluster, corpus, local_rows,
                                                      tmp_path) -> None:
    out = tmp_path / "rows"  # a Parquet dataset
    summary = predict_corpus_ray(RecognizerSpec.of(), corpus, out, every=2, progress=False)
    assert (summary.photos, summary.unreadable, summary.no_face, summary.videos) \
        == (5, 1, 1, 2)
    assert summary.frames == local_rows.query("frame == frame")[["source", "frame"]] \
        .drop_duplicates().shape[0]
    assert_same_rows(pd.read_parquet(out), local_rows)
    again = predict_corpus_ray(RecognizerSpec.of(), corpus, out, every=2, progress=False)
    assert again.skipped == 7 and len(pd.read_parquet(out)) == len(local_rows)


def test_a_driver_killed_midway_then_rerun_has_every_row_once(cluster, corpus, photos_dir,
                                                              tmp_path) -> None:
    """kill -9 of the driver's process group while the corpus is under way; the same command
    again finishes it: the local engine's rows, none twice, none missing."""
    big = tmp_path / "big"
    shutil.copytree(corpus, big)
    for i in range(6):
        os.symlink(photos_dir / "single_face.mp4", big / "videos" / f"copy{i}.mp4")
    reference = tmp_path / "reference.csv"
    predict_corpus(Recognizer(), big, reference, every=3, progress=False)
    out = tmp_path / "rows.csv"
    command = [sys.executable, "-m", "scancci", "predict", str(big), "--output", str(out),
               "--every", "3", "--engine", "ray", "--address", cluster, "--quiet"]
    driver = subprocess.Popen(command, start_new_session=True, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    ledger = tmp_path / "rows.csv.done.jsonl"
    deadline = time.monotonic() + 180
    while (not ledger.exists() or ledger.read_text().count("\n") < 3) \
            and driver.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert driver.poll() is None, "the run ended before it could be killed"
    os.killpg(driver.pid, signal.SIGKILL)
    driver.wait()
    finished = subprocess.run(command, capture_output=True, text=True)
    assert finished.returncode == 0, finished.stderr
    assert "already in the output (skipped)" in finished.stdout
    assert_same_rows(pd.read_csv(out), pd.read_csv(reference))


class Killer(threading.Thread):
    """Kills (SIGKILL) any other process that holds `once` open, the first time, and any that
    holds `always` open, every time: a worker dying mid-file."""

    def __init__(self, once: Path, always: Path) -> None:
        super().__init__(daemon=True)
        self.targets = {str(once): 1, str(always): 1_000}
        self.kills = {str(once): 0, str(always): 0}
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.wait(0.02):
            for pid, target in self.holders():
                if self.kills[target] < self.targets[target]:
                    try:
                        os.kill(pid, signal.SIGKILL)
                        self.kills[target] += 1
                    except ProcessLookupError:
                        pass

    def holders(self) -> Iterator[tuple[int, str]]:
        for entry in os.scandir("/proc"):
            if not entry.name.isdigit() or int(entry.name) == os.getpid():
                continue
            try:
                links = {os.readlink(f"/proc/{entry.name}/fd/{fd}")
                         for fd in os.listdir(f"/proc/{entry.name}/fd")}
            except OSError:
                continue
            yield from ((int(entry.name), target) for target in self.kills if target in links)


def test_a_worker_killed_midfile_is_retried_and_an_always_fatal_file_is_an_error_row(
        cluster, photos_dir, local_rows, tmp_path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(photos_dir / "single_face.mp4", corpus / "once.mp4")
    shutil.copy(photos_dir / "single_face.mp4", corpus / "always.mp4")
    shutil.copy(photos_dir / "single_face.jpg", corpus / "photo.jpg")
    killer = Killer(corpus / "once.mp4", corpus / "always.mp4")
    killer.start()
    out = tmp_path / "rows.csv"
    try:
        summary = predict_corpus_ray(RecognizerSpec.of(), corpus, out, every=2,
                                     ray=RayOptions(retries=1), progress=False)
    finally:
        killer.stop.set()
        killer.join()
    # once.mp4: killed the first time, then retried; always.mp4: killed on every try (how many
    # depends on how Ray grouped the files before it re-ran them one by one)
    assert killer.kills[str(corpus / "once.mp4")] == 1
    assert killer.kills[str(corpus / "always.mp4")] >= 2
    assert (summary.videos, summary.failed_videos, summary.photos) == (2, 1, 1)
    rows = pd.read_csv(out)
    once = rows[rows.source == "once.mp4"].assign(source="videos/single_face.mp4")
    assert_same_rows(once, local_rows[local_rows.source == "videos/single_face.mp4"])
    always = rows[rows.source == "always.mp4"]
    assert always.status.tolist() == ["error"]
    assert "died on every attempt (2)" in always.error.iloc[0]
    assert rows[rows.source == "photo.jpg"].status.tolist() == ["face"]


def test_prepare_on_ray_writes_the_local_prepare_files(cluster, corpus, tmp_path) -> None:
    raw = corpus / "photos"
    local, on_ray = tmp_path / "local", tmp_path / "ray"
    expected = prepare_dataset(raw, local, progress=False)
    report = prepare_dataset_ray(raw, on_ray, progress=False)
    assert (report.written, report.copied, len(report.failures)) \
        == (expected.written, expected.copied, len(expected.failures)) == (3, 1, 2)
    files = sorted(p.relative_to(local) for p in local.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(on_ray) for p in on_ray.rglob("*") if p.is_file())
    for name in files:
        assert (local / name).read_bytes() == (on_ray / name).read_bytes(), name
    assert (on_ray / REPORT_NAME["prepare"]).read_text() \
        == (local / REPORT_NAME["prepare"]).read_text()
    assert prepare_dataset_ray(raw, on_ray, progress=False).skipped == 5


def test_prepare_on_ray_applies_the_detector_settings(cluster, corpus, tmp_path) -> None:
    """--min-face-size (like --min-score and --rotation) reaches the Ray tasks' detectors."""
    raw = corpus / "photos"
    tiny_faces_only = FaceDetector(min_face_size=5000)
    local = prepare_dataset(raw, tmp_path / "local", detector=tiny_faces_only, progress=False)
    report = prepare_dataset_ray(raw, tmp_path / "ray", detector=tiny_faces_only,
                                 progress=False)
    assert report.written == local.written == 0
    assert sorted(report.failures) == sorted(local.failures)
    assert any(status == "no_face" for _, status, _ in report.failures)
