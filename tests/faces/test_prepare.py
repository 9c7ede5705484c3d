"""Whole datasets: `scancci prepare` aligns, `scancci mask` masks, both keep the layout,
report images without a face or unreadable, and resume."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from scancci.cli import main
from scancci.faces.prepare import mask_dataset, prepare_dataset


@pytest.fixture()
def raw_dataset(tmp_path, photos_dir) -> Path:
    """SFEW-like layout: Train/<emotion>/ images, a label file, a landscape and a broken JPEG."""
    root = tmp_path / "raw"
    for emotion, name in [("Happy", "0-f15-hao-ph.jpg"), ("Surprise", "0-f1-su-ph.jpg"),
                          ("Disgust", "45-m7-di-ph.jpg"), ("Neutral", "free-mountain-vector-01.jpg")]:
        (root / "Train" / emotion).mkdir(parents=True)
        shutil.copy(photos_dir / name, root / "Train" / emotion / name)
    data = (photos_dir / "single_face.jpg").read_bytes()
    (root / "Train" / "Happy" / "broken.jpg").write_bytes(data[: len(data) // 3])
    (root / "labels.txt").write_text("Train/Happy/0-f15-hao-ph.jpg 1\n")
    return root


def report_rows(path: Path) -> dict[str, str]:
    with path.open() as handle:
        return {row["path"]: row["status"] for row in csv.DictReader(handle)}


def test_prepare_aligns_keeps_layout_reports_and_resumes(raw_dataset, tmp_path, mtcnn) -> None:
    out = tmp_path / "aligned"
    report = prepare_dataset(raw_dataset, out, detector=mtcnn, output_size=112, progress=False)
    assert report.written == 3
    for rel in ("Train/Happy/0-f15-hao-ph.jpg", "Train/Surprise/0-f1-su-ph.jpg",
                "Train/Disgust/45-m7-di-ph.jpg"):
        with Image.open(out / rel) as image:
            assert image.size == (112, 112)
    assert (out / "labels.txt").read_text() == (raw_dataset / "labels.txt").read_text()
    assert not (out / "Train/Neutral/free-mountain-vector-01.jpg").exists()
    rows = report_rows(report.report)
    assert rows == {"Train/Happy/broken.jpg": "error",
                    "Train/Neutral/free-mountain-vector-01.jpg": "no_face"}
    again = prepare_dataset(raw_dataset, out, detector=mtcnn, output_size=112, progress=False)
    assert again.written == 0 and again.skipped == 5
    assert report_rows(again.report) == rows


def test_aligned_crops_then_masked_without_detection(raw_dataset, tmp_path, mtcnn) -> None:
    aligned = tmp_path / "aligned"
    prepare_dataset(raw_dataset, aligned, detector=mtcnn, output_size=100, progress=False)
    masked = tmp_path / "masked"
    report = mask_dataset(aligned, masked, aligned=True, progress=False)
    assert report.written == 3 and not [f for f in report.failures if f[1] != "no_face"]
    before = np.asarray(Image.open(aligned / "Train/Happy/0-f15-hao-ph.jpg")).astype(int)
    after = np.asarray(Image.open(masked / "Train/Happy/0-f15-hao-ph.jpg")).astype(int)
    diff = np.abs(before - after).sum(axis=2) > 30
    assert diff[65:85, 35:65].mean() > 0.9   # mouth region of the 100 px template
    assert diff[30:45, 25:75].mean() < 0.05  # eye band untouched


def test_cli_mask_and_prepare(raw_dataset, tmp_path, photos_dir, capsys) -> None:
    out = tmp_path / "masked.png"
    assert main(["mask", str(photos_dir / "multi_face.jpg"), str(out)]) == 0
    assert "5 face(s) masked" in capsys.readouterr().out and out.is_file()
    assert main(["mask", str(photos_dir / "free-mountain-vector-01.jpg"),
                 str(tmp_path / "none.jpg")]) == 2
    assert "no face found" in capsys.readouterr().err
    masked_dir = tmp_path / "masked_set"
    assert main(["mask", str(raw_dataset), str(masked_dir), "--quiet"]) == 0
    assert "3 images written" in capsys.readouterr().out
    assert (masked_dir / "scancci-mask-report.csv").is_file()
    assert main(["prepare", str(raw_dataset), str(tmp_path / "p"), "--size", "64",
                 "--detector", "opencv", "--quiet"]) == 0
    printed = capsys.readouterr().out  # the landscape has no face: the thresholds are named
    assert "images written" in printed and "--min-face-size 72 px are not read" in printed
