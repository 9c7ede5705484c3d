"""AffectNet: both releases, codes 8/9/10 (and 7 for 7 classes) dropped, cap and face crops."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from scancci.data import CLASS_NAMES, open_dataset
from scancci.errors import DatasetError, InvalidInputError

HEADER = ("subDirectory_filePath,face_x,face_y,face_width,face_height,facial_landmarks,"
          "expression,valence,arousal")


def _row(name: str, code: object, box=(10, 5, 30, 40)) -> str:
    return f"{name},{box[0]},{box[1]},{box[2]},{box[3]},1;2;3;4,{code},0.1,-0.2"


def _csv_release(root: Path, image_writer) -> Path:
    rows = [_row(f"{c}/img{c}.jpg", c) for c in range(11)]
    rows += [_row("1/img1b.jpg", 1), _row("1/img1c.jpg", 1), _row("1/img1.jpg", 1),
             _row("2/missing.jpg", 2), _row("3/bad.jpg", "happy"), "short,row"]
    for c in range(11):
        image_writer(root / "Manually_Annotated_Images" / str(c) / f"img{c}.jpg", size=64)
    for name in ("img1b", "img1c"):
        image_writer(root / "Manually_Annotated_Images/1" / f"{name}.jpg", "alpha", size=64)
    lists = root / "Manually_Annotated_file_lists"
    lists.mkdir(parents=True)
    (lists / "training.csv").write_text(HEADER + "\n" + "\n".join(rows) + "\n")
    (lists / "validation.csv").write_text("\n".join(rows[:8]) + "\n")  # no header
    return root


def test_csv_release_codes_and_problems(tmp_path: Path, image_writer) -> None:
    root = _csv_release(tmp_path, image_writer)
    ds = open_dataset("affectnet", root, split="train")
    by_name = {Path(p).name: CLASS_NAMES[y] for p, y in ds.samples}
    assert by_name["img0.jpg"] == "neutral" and by_name["img3.jpg"] == "surprise"
    assert by_name["img5.jpg"] == "disgust" and by_name["img7.jpg"] == "contempt"
    assert not {"img8.jpg", "img9.jpg", "img10.jpg"} & set(by_name)
    assert ds.summary().excluded == {"none (code 8)": 1, "uncertain (code 9)": 1,
                                     "no-face (code 10)": 1}
    reasons = sorted(p.reason for p in ds.problems)
    assert reasons == ["duplicate entry", "malformed line", "missing image", "unknown label"]
    line_of = {p.reason: p.line for p in ds.problems}
    assert line_of["duplicate entry"] == 15 and line_of["missing image"] == 16
    seven = open_dataset("affectnet", root, split="val", num_classes=7)
    assert len(seven) == 7 and seven.summary().excluded == {"contempt (7-class view)": 1}


def test_cap_per_class_keeps_the_first_rows(tmp_path: Path, image_writer) -> None:
    root = _csv_release(tmp_path, image_writer)
    ds = open_dataset("affectnet", root, split="train", max_per_class=2)
    happy = [Path(p).name for p, y in ds.samples if CLASS_NAMES[y] == "happy"]
    assert happy == ["img1.jpg", "img1b.jpg"]
    assert ds.summary().excluded["over the cap of 2 per class"] == 1
    with pytest.raises(InvalidInputError):
        open_dataset("affectnet", root, max_per_class=0)


def test_crop_faces_uses_the_box(tmp_path: Path, image_writer) -> None:
    root = _csv_release(tmp_path, image_writer)
    ds = open_dataset("affectnet", root, split="val", crop_faces=True)
    assert ds[0][0].size == (30, 40)


def test_npy_release(tmp_path: Path, image_writer) -> None:
    annotations = tmp_path / "val_set/annotations"
    annotations.mkdir(parents=True)
    for index, code in enumerate([0, 6, 8, 10, 7]):
        np.save(annotations / f"{index}_exp.npy", np.array(str(code)))
        image_writer(tmp_path / "val_set/images" / f"{index}.jpg")
    image_writer(tmp_path / "val_set/images/99.jpg")  # no annotation
    (annotations / "5_exp.npy").write_bytes(b"garbage")
    ds = open_dataset("affectnet", tmp_path, split="val")
    assert [CLASS_NAMES[y] for y in ds.targets] == ["neutral", "anger", "contempt"]
    assert sorted(p.reason for p in ds.problems) == ["no annotation", "unreadable annotation"]
    assert sum(ds.summary().excluded.values()) == 2
    with pytest.raises(DatasetError, match="train_set"):
        open_dataset("affectnet", tmp_path, split="train")
