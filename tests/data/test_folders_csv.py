"""Folder-per-emotion readers (own data, SFEW, FED-RO) and the CSV reader."""

from __future__ import annotations

from pathlib import Path

import pytest

from scancci.data import CLASS_NAMES, open_dataset
from scancci.errors import DatasetError, InvalidInputError, UnknownNameError


def _labels(ds) -> dict[str, str]:
    return {Path(p).name: CLASS_NAMES[y] for p, y in ds.samples}


def test_folder_reader_with_awkward_files(tmp_path: Path, image_writer) -> None:
    kinds = {"Happy/a.png": "16bit", "happy/b.png": "alpha", "Angry/c.jpg": "cmyk",
             "Surprise/d.jpg": "gray", "Surprise/sub/e.jpg": "rgb", "Boredom/f.jpg": "rgb"}
    for name, kind in kinds.items():
        image_writer(tmp_path / "train" / name, kind)
    (tmp_path / "train/Happy/notes.txt").write_text("x")
    (tmp_path / "train/Happy/.DS_Store").write_text("x")
    (tmp_path / "train/loose.jpg").write_text("x")
    ds = open_dataset("folder", tmp_path, split="train")
    assert _labels(ds) == {"a.png": "happy", "b.png": "happy", "c.jpg": "anger",
                           "d.jpg": "surprise", "e.jpg": "surprise"}
    assert ds.num_classes == 7
    reasons = sorted(p.reason for p in ds.problems)
    assert reasons == ["file outside a class folder", "not an image file",
                       "unknown class folder"]
    assert ds.summary().excluded == {"hidden file": 1}
    assert all(ds[i][0].mode == "RGB" for i in range(len(ds)))
    mapped = open_dataset("folder", tmp_path, split="train", class_map={"Boredom": "neutral"})
    assert _labels(mapped)["f.jpg"] == "neutral"
    with pytest.raises(DatasetError, match="no val folder"):
        open_dataset("folder", tmp_path, split="val")
    assert len(open_dataset("folder", tmp_path)) == 5  # "all"


def test_folder_contempt_gives_eight_classes(tmp_path: Path, image_writer) -> None:
    image_writer(tmp_path / "contempt/a.jpg")
    image_writer(tmp_path / "neutral/b.jpg")
    assert open_dataset("folder", tmp_path).num_classes == 8
    seven = open_dataset("folder", tmp_path, num_classes=7)
    assert len(seven) == 1 and seven.summary().excluded == {"contempt (7-class view)": 1}


def test_sfew_and_fedro(tmp_path: Path, image_writer) -> None:
    for split in ("Train", "Val"):
        for emotion in ("Angry", "Disgust", "Fear", "Happy", "Neutral", "Sad", "Surprise"):
            image_writer(tmp_path / "sfew" / split / emotion / f"{emotion}_{split}.png")
    train = open_dataset("sfew", tmp_path / "sfew")
    assert train.split == "train" and len(train) == 7
    assert _labels(train)["Angry_Train.png"] == "anger"
    assert len(open_dataset("sfew", tmp_path / "sfew", split="val")) == 7
    with pytest.raises(InvalidInputError):
        open_dataset("sfew", tmp_path / "sfew", split="test")
    image_writer(tmp_path / "fedro/disgust/x.jpg")
    image_writer(tmp_path / "fedro/fear/y.jpg")
    fedro = open_dataset("fedro", tmp_path / "fedro")
    assert fedro.split == "test" and _labels(fedro) == {"x.jpg": "disgust", "y.jpg": "fear"}


def test_csv_reader(tmp_path: Path, image_writer) -> None:
    for name in ("a", "b", "c", "d"):
        image_writer(tmp_path / "img" / f"{name}.jpg")
    (tmp_path / "labels.csv").write_text(
        "path,label,split\n"
        "img/a.jpg,happy,train\n"
        "img/b.jpg,3,train\n"  # canonical 3 = surprise
        "img/c.jpg,Angry,Validation\n"
        "img/d.jpg,bored,train\n"
        "img/a.jpg,happy,train\n"
        "img/missing.jpg,sad,test\n"
        "img/c.jpg,sad,holdout\n"
        "short\n"
    )
    train = open_dataset("csv", tmp_path, split="train")
    assert _labels(train) == {"a.jpg": "happy", "b.jpg": "surprise"}
    line_of = {p.reason: p.line for p in train.problems}
    assert line_of == {"unknown label": 5, "duplicate entry": 6, "unknown split": 8,
                       "malformed line": 9}
    assert _labels(open_dataset("csv", tmp_path / "labels.csv", split="val")) == {
        "c.jpg": "anger"}
    assert [p.reason for p in open_dataset("csv", tmp_path, split="test").problems
            if p.reason == "missing image"] == ["missing image"]
    rafdb_codes = open_dataset("csv", tmp_path, split="train", label_codes="rafdb")
    assert _labels(rafdb_codes)["b.jpg"] == "disgust"  # RAF-DB 3 = disgust
    with pytest.raises(UnknownNameError, match="rafdb"):
        open_dataset("csv", tmp_path, label_codes="rafbd")
    (tmp_path / "nosplit.csv").write_text("image,emotion\nimg/a.jpg,sad\n")
    with pytest.raises(DatasetError, match="split"):
        open_dataset("csv", tmp_path / "nosplit.csv", split="train")
    assert len(open_dataset("csv", tmp_path / "nosplit.csv")) == 1
    (tmp_path / "bad.csv").write_text("file_name,y\n")
    with pytest.raises(DatasetError, match="path, image"):
        open_dataset("csv", tmp_path / "bad.csv")
