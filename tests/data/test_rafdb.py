"""RAF-DB basic: label map, splits, awkward images, and every bad entry reported."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from scancci.data import build_transforms, open_dataset
from scancci.errors import DatasetError, InvalidInputError

# RAF-DB code -> canonical name, written out independently of the library's table.
RAF_CODE_NAMES = {1: "surprise", 2: "fear", 3: "disgust", 4: "happy", 5: "sad", 6: "anger",
                  7: "neutral"}


def _rafdb(root: Path, image_writer, lines: list[str], kinds: dict[str, str]) -> Path:
    (root / "EmoLabel").mkdir(parents=True)
    (root / "EmoLabel/list_patition_label.txt").write_text("\n".join(lines) + "\n")
    for stem, kind in kinds.items():
        suffix = ".jpg"
        image_writer(root / "Image/aligned" / f"{stem}_aligned{suffix}", kind)
    return root


def test_every_rafdb_code_maps_to_its_canonical_class(tmp_path: Path, image_writer) -> None:
    lines = [f"train_{code:05d}.jpg {code}" for code in range(1, 8)]
    root = _rafdb(tmp_path, image_writer, lines, {f"train_{c:05d}": "rgb" for c in range(1, 8)})
    ds = open_dataset("rafdb", root, split="train")
    assert len(ds) == 7 and not ds.problems
    for (path, label), code in zip(ds.samples, range(1, 8), strict=True):
        assert Path(path).name == f"train_{code:05d}_aligned.jpg"
        assert ds.classes[label] == RAF_CODE_NAMES[code]
    image, label = ds[0]
    assert image.mode == "RGB" and label == ds.classes.index("surprise")


def test_bad_entries_are_reported_with_file_and_line(tmp_path: Path, image_writer) -> None:
    lines = [
        "train_00001.jpg 4",
        "train_00002.jpg 9",  # unknown label
        "train_00003.jpg",  # malformed
        "train_00004.jpg 5",  # image missing
        "train_00001.jpg 4",  # duplicate
        "val_00001.jpg 1",  # unknown split prefix
        "test_0001.jpg 7",
        "train_00005.jpg 2",  # CMYK
        "train_00006.jpg 3",  # truncated: found by check, not by listing
        "train_00007.jpg 1",  # grayscale
    ]
    kinds = {"train_00001": "rgb", "train_00002": "rgb", "test_0001": "rgb",
             "train_00005": "cmyk", "train_00006": "truncated", "train_00007": "gray"}
    root = _rafdb(tmp_path, image_writer, lines, kinds)
    ds = open_dataset("rafdb", root, split="train")
    assert [Path(p).name for p, _ in ds.samples] == [
        "train_00001_aligned.jpg", "train_00005_aligned.jpg", "train_00006_aligned.jpg",
        "train_00007_aligned.jpg"]
    by_reason = {p.reason: p for p in ds.problems}
    assert set(by_reason) == {"unknown label", "malformed line", "missing image",
                              "duplicate entry", "unknown split prefix"}
    assert by_reason["unknown label"].line == 2
    assert "list_patition_label.txt:2" in str(by_reason["unknown label"])
    assert by_reason["malformed line"].line == 3
    assert by_reason["missing image"].line == 4 and "train_00004" in str(by_reason["missing image"])
    assert by_reason["duplicate entry"].line == 5 and "line 1" in str(by_reason["duplicate entry"])
    summary = ds.summary()
    assert summary.total == 4 and summary.counts["happy"] == 1
    assert summary.problem_counts["missing image"] == 1
    assert "unknown label" in str(summary)
    # CMYK and grayscale load as RGB; the truncated file is found by check().
    assert ds[1][0].mode == "RGB" and ds[3][0].mode == "RGB"
    with pytest.raises(InvalidInputError, match="train_00006"):
        ds[2]
    checked = ds.check(progress=False)
    assert checked.problem_counts.get("unreadable image") == 1
    assert len(open_dataset("rafdb", root, split="test")) == 1


def test_missing_folder_and_bad_split_explain_the_layout(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="list_patition_label.txt"):
        open_dataset("rafdb", tmp_path)
    with pytest.raises(InvalidInputError, match="'train', 'test'"):
        open_dataset("rafdb", tmp_path, split="validation")


def test_transform_and_eight_class_view(tmp_path: Path, image_writer) -> None:
    root = _rafdb(tmp_path, image_writer, ["test_0001.jpg 6"], {"test_0001": "rgb"})
    transform = build_transforms(train=False, input_size=32)
    ds = open_dataset("rafdb", root, split="test", num_classes=8, transform=transform)
    x, y = ds[0]
    assert ds.classes[-1] == "contempt" and ds.classes[y] == "anger"
    assert isinstance(x, torch.Tensor) and x.shape == (3, 32, 32)
