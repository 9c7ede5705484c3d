"""`data check` fails loudly on a missing split or label file, naming it; FERPlus never
switches its label source silently; folder datasets take class names of one's own."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from scancci.cli import main
from scancci.data import open_dataset
from scancci.errors import DatasetError

sys.path.insert(0, str(Path(__file__).parent))
import fakes  # noqa: E402 - the native-layout builders


def test_check_fails_on_a_renamed_affectnet_list_and_names_it(tmp_path, capsys) -> None:
    root = fakes.affectnet(tmp_path / "AffectNet", train_per_class=1, val_per_class=1)
    assert main(["data", "check", "affectnet", str(root)]) == 0
    capsys.readouterr()
    lists = root / "Manually_Annotated_file_lists"
    (lists / "training.csv").rename(lists / "Training.csv")
    assert main(["data", "check", "affectnet", str(root)]) == 1
    captured = capsys.readouterr()
    assert "split 'train' is missing" in captured.err
    assert str(lists / "training.csv") in captured.err
    assert "affectnet (val)" in captured.out  # the split that is there is still checked


def test_check_fails_on_a_renamed_ferplus_folder_and_names_its_labels(tmp_path, capsys) -> None:
    root = fakes.ferplus(tmp_path / "FERPlus", per_class=1)
    (root / "FER2013Valid").rename(root / "FER2013Validation")
    assert main(["data", "check", "ferplus", str(root)]) == 1
    assert str(root / "FER2013Valid" / "label.csv") in capsys.readouterr().err


def test_ferplus_never_switches_its_label_source_silently(tmp_path) -> None:
    root = fakes.ferplus(tmp_path / "FERPlus", per_class=1)
    (root / "FER2013Valid" / "label.csv").unlink()
    (root / "fer2013new.csv").write_text("Usage,Image name," + ",".join("v" * 10) + "\n")
    train = open_dataset("ferplus", root, split="train")
    assert train.files == [str(root / "FER2013Train" / "label.csv")]  # the source it read
    with pytest.raises(DatasetError, match=r"FER2013Valid/label\.csv not found.*labels=csv"):
        open_dataset("ferplus", root, split="val")


def test_folder_dataset_with_class_names_of_ones_own(tmp_path) -> None:
    names = ("no_pain", "mild_pain", "severe_pain")
    root = fakes.own_classes(tmp_path / "pain", names, train_per_class=2, test_per_class=1)
    train = open_dataset("folder", root, split="train", classes=list(names))
    assert train.classes == names and len(train) == 6
    assert sorted({Path(p).parent.name: y for p, y in train.samples}.items()) == sorted(
        {name: i for i, name in enumerate(names)}.items())
    plain = open_dataset("folder", root, split="train")  # emotion words expected: said so
    assert len(plain) == 0 and "--classes" in str(plain.problems[0])
    with pytest.raises(DatasetError, match="canonical classes"):
        open_dataset("rafdb", root, classes=list(names))


def test_a_canonical_dataset_relabelled_to_a_label_set(tmp_path) -> None:
    root = fakes.rafdb(tmp_path / "raf", train_per_class=2, test_per_class=1)
    subset = open_dataset("rafdb", root, split="train", classes=["sad", "happy", "neutral"])
    assert subset.classes == ("sad", "happy", "neutral") and len(subset) == 6
    assert sorted(subset.targets) == [0, 0, 1, 1, 2, 2]
    assert subset.summary().excluded["classes outside the label set"] == 8
