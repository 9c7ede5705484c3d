"""open_dataset/list_datasets, the occlusion/pose subsets, and `scancci data`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from scancci.cli import main
from scancci.data import CLASS_NAMES, list_datasets, open_dataset
from scancci.errors import DatasetError, UnknownNameError


def _rafdb(root: Path, image_writer) -> Path:
    (root / "EmoLabel").mkdir(parents=True)
    lines = ["test_0001.jpg 1", "test_0002.jpg 4", "test_0003.jpg 7", "train_00001.jpg 2",
             "test_0004.jpg 5"]
    (root / "EmoLabel/list_patition_label.txt").write_text("\n".join(lines) + "\n")
    for line in lines[:4]:
        image_writer(root / "Image/aligned" / line.replace(".jpg", "_aligned.jpg").split()[0])
    return root


def test_names_and_suggestions() -> None:
    names = list_datasets()
    for name in ("rafdb", "affectnet", "ferplus", "sfew", "ckplus", "oulu", "jaffe", "fedro",
                 "folder", "csv", "rafdb_occlusion", "affectnet_pose45", "ferplus_pose30"):
        assert name in names
    with pytest.raises(UnknownNameError, match="'ferplus'"):
        open_dataset("fer_plus", "/nowhere")


def test_subset_lists_take_labels_from_the_parent(tmp_path: Path, image_writer) -> None:
    root = _rafdb(tmp_path, image_writer)
    (root / "subsets").mkdir()
    (root / "subsets/occlusion.txt").write_text(
        "name label\ntest_0002_aligned.jpg 4\nImage/aligned/test_0003.jpg\ntest_0009.jpg 1\n"
        "test_0002.jpg\n")
    ds = open_dataset("rafdb_occlusion", root)
    assert ds.name == "rafdb_occlusion" and ds.split == "test"
    assert [CLASS_NAMES[y] for y in ds.targets] == ["happy", "neutral"]
    reasons = {p.reason: p.line for p in ds.problems}
    assert reasons["not in parent split"] == 4 and reasons["duplicate entry"] == 5
    assert "missing image" in reasons  # the parent's own problems stay visible
    other = tmp_path / "pose.csv"
    other.write_text("test_0001.jpg,1\n")
    pose = open_dataset("rafdb_pose30", root, list_file=other)
    assert [CLASS_NAMES[y] for y in pose.targets] == ["surprise"]
    with pytest.raises(DatasetError, match="subsets/pose45.txt"):
        open_dataset("rafdb_pose45", root)


def test_data_command(tmp_path: Path, image_writer, capsys) -> None:
    root = _rafdb(tmp_path / "raf", image_writer)
    assert main(["data", "summary", "rafdb", str(root)]) == 0
    out = capsys.readouterr().out
    assert "rafdb (train)" in out and "rafdb (test)" in out and "missing image: 1" in out
    assert main(["data", "summary", "rafdb", str(root), "--split", "test", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report[0]["counts"]["happy"] == 1 and report[0]["problem_counts"] == {
        "missing image": 1}
    (root / "Image/aligned/test_0002_aligned.jpg").write_text("not a jpeg")
    assert main(["data", "check", "rafdb", str(root), "--split", "test"]) == 1
    assert "unreadable image" in capsys.readouterr().out
    assert main(["data", "summary", "rafdb", str(tmp_path / "none")]) == 2
    assert "list_patition_label.txt" in capsys.readouterr().err
    assert main(["data", "summary", "ferplus", str(root), "--option", "label_mode=soft"]) == 2
    out_dir = tmp_path / "demo"
    assert main(["data", "generate", str(out_dir), "--per-class", "1", "--test-per-class",
                 "1"]) == 0
    assert "synthetic" in capsys.readouterr().out
    assert len(open_dataset("rafdb", out_dir / "masked", split="test")) == 7
    assert main(["data", "list"]) == 0 and "jaffe" in capsys.readouterr().out
