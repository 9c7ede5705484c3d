"""CK+ (codes, last-3 + neutral protocol, folds), Oulu-CASIA and JAFFE."""

from __future__ import annotations

from pathlib import Path

import pytest

from scancci.data import CLASS_NAMES, open_dataset
from scancci.errors import DatasetError, InvalidInputError


def _ckplus(root: Path, image_writer) -> Path:
    # subject, sequence, frames, emotion file text (None = unlabelled)
    sequences = [("S005", "001", 6, "   3.0000000e+00"), ("S010", "002", 5, "2.0000000e+00"),
                 ("S011", "001", 4, "7.0000000e+00"), ("S012", "003", 3, "5.0000000e+00"),
                 ("S013", "001", 5, None), ("S014", "001", 5, "9.0000000e+00"),
                 ("S015", "002", 5, "happy")]
    for subject, seq, frames, text in sequences:
        for k in range(1, frames + 1):
            image_writer(root / "cohn-kanade-images" / subject / seq
                         / f"{subject}_{seq}_{k:08d}.png", "gray", size=32)
        if text is not None:
            folder = root / "Emotion" / subject / seq
            folder.mkdir(parents=True)
            (folder / f"{subject}_{seq}_{frames:08d}_emotion.txt").write_text(text + "\n")
    (root / "Emotion/S016/001").mkdir(parents=True)  # labelled, frames missing
    (root / "Emotion/S016/001/S016_001_00000009_emotion.txt").write_text("1.0\n")
    return root


def test_ckplus_codes_and_protocol(tmp_path: Path, image_writer) -> None:
    ds = open_dataset("ckplus", _ckplus(tmp_path, image_writer))
    labelled = {}
    for path, label in ds.samples:
        labelled.setdefault(Path(path).parent.parent.name, []).append(
            (int(Path(path).stem[-2:]), CLASS_NAMES[label]))
    assert labelled["S005"] == [(1, "neutral"), (4, "disgust"), (5, "disgust"), (6, "disgust")]
    assert labelled["S010"] == [(1, "neutral"), (3, "contempt"), (4, "contempt"),
                                (5, "contempt")]
    assert labelled["S011"] == [(1, "neutral"), (2, "surprise"), (3, "surprise"),
                                (4, "surprise")]
    assert labelled["S012"] == [(1, "happy"), (2, "happy"), (3, "happy")]  # too short for neutral
    assert set(labelled) == {"S005", "S010", "S011", "S012"}
    reasons = sorted(p.reason for p in ds.problems)
    assert reasons == ["missing image", "unknown label", "unknown label"]
    assert ds.summary().excluded == {"unlabelled sequence": 1}  # S013; bad labels are problems
    assert ds.num_classes == 8 and ds.subjects[0] == "S005"
    seven = open_dataset("ckplus", tmp_path, num_classes=7)
    assert seven.summary().excluded["contempt (7-class view)"] == 3


def test_ckplus_folds_are_subject_independent(tmp_path: Path, image_writer) -> None:
    root = _ckplus(tmp_path, image_writer)
    everything = open_dataset("ckplus", root)
    seen_test: list[str] = []
    for fold in range(4):
        train = open_dataset("ckplus", root, split="train", fold=fold, num_folds=4)
        test = open_dataset("ckplus", root, split="test", fold=fold, num_folds=4)
        assert not set(train.subjects) & set(test.subjects)
        assert len(train) + len(test) == len(everything)
        seen_test += sorted(set(test.subjects))
    assert sorted(seen_test) == sorted(set(everything.subjects))
    with pytest.raises(InvalidInputError, match="fold"):
        open_dataset("ckplus", root, split="test", fold=10)
    with pytest.raises(DatasetError, match="cohn-kanade-images"):
        open_dataset("ckplus", tmp_path / "nothing")


def test_oulu(tmp_path: Path, image_writer) -> None:
    for light in ("Strong", "Weak"):
        for subject in ("P001", "P002"):
            for emotion in ("Anger", "Happiness", "Sadness"):
                for k in range(5):
                    image_writer(tmp_path / "VL" / light / subject / emotion / f"{k:03d}.jpeg")
    image_writer(tmp_path / "VL/Strong/P001/Smirk/000.jpeg")
    ds = open_dataset("oulu", tmp_path)
    assert len(ds) == 2 * 3 * 4 and all("Strong" in p for p, _ in ds.samples)
    names = [CLASS_NAMES[y] for y in ds.targets[:4]]
    assert names == ["neutral", "anger", "anger", "anger"]
    assert [p.reason for p in ds.problems] == ["unknown class folder"]
    assert len(open_dataset("oulu", tmp_path, lighting=None)) == 48
    test = open_dataset("oulu", tmp_path, split="test", fold=1, num_folds=2)
    assert set(test.subjects) == {"P002"}


def test_jaffe(tmp_path: Path, image_writer) -> None:
    for name in ("KA.AN1.39.tiff", "KA.HA2.30.tiff", "YM.SU3.60.tiff", "NM.NE1.90.tiff",
                 "KM.DI1.12.tiff", "TM.FE2.7.tiff", "UY.SA1.2.tiff", "README.tiff"):
        image_writer(tmp_path / name.replace("tiff", "jpg"))
        (tmp_path / name.replace("tiff", "jpg")).rename(tmp_path / name)
    ds = open_dataset("jaffe", tmp_path)
    labels = {Path(p).name: CLASS_NAMES[y] for p, y in ds.samples}
    assert labels == {"KA.AN1.39.tiff": "anger", "KA.HA2.30.tiff": "happy",
                      "YM.SU3.60.tiff": "surprise", "NM.NE1.90.tiff": "neutral",
                      "KM.DI1.12.tiff": "disgust", "TM.FE2.7.tiff": "fear",
                      "UY.SA1.2.tiff": "sad"}
    assert [p.reason for p in ds.problems] == ["unknown label"]
    test = open_dataset("jaffe", tmp_path, split="test", fold=0, num_folds=6)
    assert set(test.subjects) == {"KA"}  # sorted subjects dealt round-robin
