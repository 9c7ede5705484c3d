"""The default predict path runs without PyTorch: BlazeFace and the pretrained baseline on
onnxruntime, converted once into the cache (`scancci.cache`). It gives PyTorch's answers, never
imports torch, and rebuilds a cached file that was altered."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from scancci.cache import cache_dir, cached_file
from scancci.errors import ScanCCIError
from scancci.inference import Recognizer
from scancci.inference.tracking import best_assignment
from scancci.runtime.onnx_backend import OnnxClassifier

PHOTOS = ("0-f1-su-ph.jpg", "0-f15-hao-ph.jpg", "15-f13-anc-ph.jpg", "45-m7-di-ph.jpg",
          "multi_face.jpg", "BWPictureHuman.jpg")
# In a fresh process: predict one photo and one video with the defaults through the CLI, then
# report whether torch (or torchvision, scipy) was ever imported.
CHILD = """
import json, sys
from scancci.cli import main
codes = [main(["predict", sys.argv[1], "--quiet"]),
         main(["predict", sys.argv[2], "--output", sys.argv[3], "--quiet"])]
print(json.dumps({"codes": codes, "loaded": sorted(m for m in ("torch", "torchvision", "scipy")
                                                   if m in sys.modules)}))
"""


@pytest.fixture(scope="module")
def default() -> Recognizer:
    return Recognizer()


def test_the_default_runs_on_onnxruntime(default) -> None:
    assert default.backend == "onnx" and isinstance(default.classifier, OnnxClassifier)
    assert default.config.pretrained == "fer_mini_xception"
    assert Path(default.classifier.path).parent == cache_dir()


def test_onnx_default_gives_pytorchs_answers(default, photos_dir) -> None:
    """Same faces and labels, probabilities within 1e-4, as the zoo model run by PyTorch."""
    torch_path = Recognizer("fer_mini_xception", backend="torch", detector=default.detector)
    for name in PHOTOS:
        ours, theirs = default.predict(photos_dir / name), torch_path.predict(photos_dir / name)
        assert len(ours.faces) == len(theirs.faces) >= 1
        for a, b in zip(ours.faces, theirs.faces, strict=True):
            assert a.box == b.box and a.label == b.label
            np.testing.assert_allclose(list(a.probabilities.values()),
                                       list(b.probabilities.values()), atol=1e-4)


def test_predict_never_imports_torch(photos_dir, tmp_path) -> None:
    env = {**os.environ, "MPLBACKEND": "Agg"}
    done = subprocess.run([sys.executable, "-c", CHILD, str(photos_dir / "multi_face.jpg"),
                           str(photos_dir / "single_face.mp4"), str(tmp_path / "v.csv")],
                          capture_output=True, text=True, env=env, check=True)
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report == {"codes": [0, 0], "loaded": []}, done.stderr[-2000:]
    assert "5 face(s)" in done.stdout
    assert sum(1 for _ in (tmp_path / "v.csv").open()) == 1 + 72  # header + one row a frame


def test_an_altered_cached_file_is_rebuilt(tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("SCANCCI_CACHE", str(tmp_path / "cache"))
    builds = []

    def build(path: Path) -> None:
        builds.append(path.name)
        path.write_bytes(b"derived")

    path = cached_file("x.onnx", build, what="a test file")
    assert cached_file("x.onnx", build, what="a test file") == path and len(builds) == 1
    path.write_bytes(b"tampered")
    assert cached_file("x.onnx", build, what="a test file").read_bytes() == b"derived"
    assert len(builds) == 2 and "converting a test file" in capsys.readouterr().err


def test_an_unwritable_cache_is_one_clear_error(tmp_path, monkeypatch) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("SCANCCI_CACHE", str(blocker / "cache"))
    with pytest.raises(ScanCCIError, match="SCANCCI_CACHE to a writable folder"):
        cached_file("x.onnx", lambda p: p.write_bytes(b"x"), what="a test file")


def test_one_face_matching_needs_no_hungarian() -> None:
    overlap = np.array([[0.1, 0.7, 0.4]])
    rows, cols = best_assignment(overlap)
    assert rows.tolist() == [0] and cols.tolist() == [1]
    rows, cols = best_assignment(np.array([[0.2, 0.9], [0.8, 0.85]]))  # several: optimal sum
    assert sorted(zip(rows.tolist(), cols.tolist(), strict=True)) == [(0, 1), (1, 0)]


def test_thirty_six_faces_in_one_photo_each_in_its_place(default, photos_dir, tmp_path) -> None:
    """A 6 x 6 mosaic of real faces (1200 x 1200): every face found, one row each, each box
    inside its own tile."""
    from PIL import Image

    from scancci.inference import predict_file

    tiles = [np.asarray(Image.open(photos_dir / n).convert("RGB").resize((200, 200)))
             for n in PHOTOS[:4]]
    mosaic = np.zeros((1200, 1200, 3), np.uint8)
    for k in range(36):
        row, col = divmod(k, 6)
        mosaic[row * 200:(row + 1) * 200, col * 200:(col + 1) * 200] = tiles[k % 4]
    path = tmp_path / "mosaic.jpg"
    Image.fromarray(mosaic).save(path, quality=95)
    prediction = predict_file(default, path, output=tmp_path / "rows.csv")
    cells = set()
    for face in prediction.faces:
        x1, y1, x2, y2 = face.box
        row, col = int((y1 + y2) / 2 // 200), int((x1 + x2) / 2 // 200)
        assert row * 200 - 2 <= y1 and y2 <= row * 200 + 202
        assert col * 200 - 2 <= x1 and x2 <= col * 200 + 202
        cells.add((row, col))
    assert len(prediction.faces) == len(cells) == 36
    assert sum(1 for _ in (tmp_path / "rows.csv").open()) == 1 + 36
