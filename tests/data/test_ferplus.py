"""FERPlus: vote processing (ties, single votes, unknown) and both label-file layouts."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from scancci.data import open_dataset
from scancci.data.readers.ferplus import process_votes
from scancci.errors import DatasetError, InvalidInputError

# votes in FERPlus column order: neutral, happiness, surprise, sadness, anger, disgust, fear,
# contempt, unknown, NF
ROWS = {
    "fer0000001.png": [0, 8, 1, 1, 0, 0, 0, 0, 0, 0],  # clear happy; single votes dropped
    "fer0000002.png": [5, 5, 0, 0, 0, 0, 0, 0, 0, 0],  # tie neutral/happy
    "fer0000003.png": [1, 1, 1, 1, 1, 1, 1, 1, 1, 1],  # only single votes
    "fer0000004.png": [4, 0, 3, 0, 0, 0, 0, 0, 3, 0],  # no majority; unknown ties surprise
    "fer0000005.png": [0, 0, 0, 0, 0, 0, 0, 0, 9, 1],  # unknown
    "fer0000006.png": [0, 0, 0, 0, 0, 0, 0, 10, 0, 0],  # contempt
    "fer0000007.png": [0, 0, 0, 6, 2, 0, 2, 0, 0, 0],  # sadness 6 of 10
    "fer0000008.png": [0, 0, 0, 0, 0, 0, 0, 0, 0, 0],  # no votes
}


def _canonical_index(name: str) -> int:
    from scancci.data import CLASS_NAMES

    return CLASS_NAMES.index(name)


def test_majority_mode_votes() -> None:
    def majority(votes):
        shares = process_votes(votes, "majority")
        return None if shares is None else int(np.argmax(shares))

    assert majority(ROWS["fer0000001.png"]) == 1  # FERPlus column 1 = happiness
    assert majority(ROWS["fer0000002.png"]) is None  # a tie never holds more than half
    assert majority(ROWS["fer0000003.png"]) is None
    assert majority(ROWS["fer0000004.png"]) is None
    assert majority(ROWS["fer0000005.png"]) is None
    assert majority(ROWS["fer0000008.png"]) is None
    assert majority([2, 0, 0, 0, 3, 0, 0, 0, 0, 1]) == 4  # 3 of 5 after the single vote goes


def test_distribution_modes_follow_the_reference_code() -> None:
    tie = process_votes(ROWS["fer0000002.png"], "crossentropy")
    assert tie is not None and np.allclose(tie[:2], [0.5, 0.5]) and tie[2:].sum() == 0
    mixed = process_votes(ROWS["fer0000004.png"], "crossentropy")
    assert mixed is not None and np.allclose(mixed[[0, 2]], [4 / 7, 3 / 7])
    assert process_votes(ROWS["fer0000003.png"], "probability") is None
    multi = process_votes([0, 5, 4, 0, 1, 0, 0, 0, 0, 0], "multi_target")
    assert multi is not None and np.allclose(multi[[1, 2]], [5 / 9, 4 / 9])
    assert process_votes([2, 2, 2, 2, 2, 0, 0, 0, 0, 0], "multi_target") is None  # all < 30%
    with pytest.raises(InvalidInputError):
        process_votes(ROWS["fer0000001.png"], "mode")


def _fixture(root: Path, image_writer, *, layout: str) -> Path:
    folders = {"FER2013Train": "Training", "FER2013Valid": "PublicTest",
               "FER2013Test": "PrivateTest"}
    csv_lines = ["Usage,Image name,neutral,happiness,surprise,sadness,anger,disgust,fear,"
                 "contempt,unknown,NF"]
    for folder, usage in folders.items():
        lines = []
        for name, votes in ROWS.items():
            if name != "fer0000007.png" or folder == "FER2013Train":  # 7 is missing elsewhere
                image_writer(root / folder / name, "gray", size=48)
            lines.append(f'{name},"(0, 0, 48, 48)",' + ",".join(map(str, votes)))
            csv_lines.append(f"{usage},{name}," + ",".join(map(str, votes)))
        csv_lines.append(f"{usage},," + ",".join(["0"] * 9 + ["10"]))  # removed by FERPlus
        if layout == "folder":
            (root / folder / "label.csv").write_text("\n".join(lines) + "\n")
    if layout == "csv":
        (root / "fer2013new.csv").write_text("\n".join(csv_lines) + "\n")
    return root


@pytest.mark.parametrize("layout", ["folder", "csv"])
def test_majority_labels_from_either_layout(tmp_path: Path, image_writer, layout: str) -> None:
    root = _fixture(tmp_path, image_writer, layout=layout)
    ds = open_dataset("ferplus", root, split="train")
    labels = {Path(p).name: ds.classes[y] for p, y in ds.samples}
    assert labels == {"fer0000001.png": "happy", "fer0000006.png": "contempt",
                      "fer0000007.png": "sad"}
    summary = ds.summary()
    assert summary.excluded["no majority"] == 5
    if layout == "csv":
        assert summary.excluded["removed by FERPlus (no image name)"] == 1
    image, label = ds[0]
    assert image.mode == "RGB" and isinstance(label, int)
    test = open_dataset("ferplus", root, split="test", num_classes=7)
    assert [p.reason for p in test.problems] == ["missing image"]
    assert test.summary().excluded["contempt (7-class view)"] == 1
    assert len(open_dataset("ferplus", root, split="train+val")) == 3 + 2  # val misses 7


def test_soft_modes_return_probability_vectors(tmp_path: Path, image_writer) -> None:
    root = _fixture(tmp_path, image_writer, layout="folder")
    ds = open_dataset("ferplus", root, split="train", label_mode="crossentropy")
    names = [Path(p).name for p, _ in ds.samples]
    assert "fer0000002.png" in names and "fer0000004.png" in names
    _, target = ds[names.index("fer0000004.png")]
    assert isinstance(target, torch.Tensor) and target.shape == (8,)
    assert target[_canonical_index("neutral")] == pytest.approx(4 / 7)
    assert target[_canonical_index("surprise")] == pytest.approx(3 / 7)
    _, tie = ds[names.index("fer0000002.png")]
    assert tie[_canonical_index("happy")] == pytest.approx(0.5)
    drawing = open_dataset("ferplus", root, split="train", label_mode="probability")
    index = [Path(p).name for p, _ in drawing.samples].index("fer0000004.png")
    torch.manual_seed(0)
    draws = torch.stack([drawing[index][1] for _ in range(60)])
    assert set(draws.sum(0).nonzero().flatten().tolist()) == {
        _canonical_index("neutral"), _canonical_index("surprise")}
    assert torch.all(draws.sum(1) == 1)
    seven = open_dataset("ferplus", root, split="train", label_mode="crossentropy",
                         num_classes=7)
    assert seven[0][1].shape == (7,)


def test_bad_votes_and_bad_options_are_reported(tmp_path: Path, image_writer) -> None:
    root = _fixture(tmp_path, image_writer, layout="folder")
    label_file = root / "FER2013Valid/label.csv"
    text = label_file.read_text().replace("fer0000001.png,\"(0, 0, 48, 48)\",0,8",
                                          "fer0000001.png,\"(0, 0, 48, 48)\",x,8")
    label_file.write_text(text + "fer0000002.png,box,5,5,0,0,0,0,0,0,0,0\nbroken line\n")
    ds = open_dataset("ferplus", root, split="val")
    reasons = sorted(p.reason for p in ds.problems)
    assert reasons == ["duplicate entry", "malformed line", "missing image", "unknown label"]
    assert all(p.line for p in ds.problems)
    with pytest.raises(InvalidInputError, match="label_mode"):
        open_dataset("ferplus", root, label_mode="soft")


@pytest.mark.parametrize("labels, missing", [("csv", "fer2013new.csv"), ("folder", "label.csv")])
def test_explicit_label_source_without_its_file_is_a_dataset_error(tmp_path: Path, labels: str,
                                                                   missing: str) -> None:
    (tmp_path / "FER2013Train").mkdir()
    with pytest.raises(DatasetError, match=f"{missing} not found"):
        open_dataset("ferplus", tmp_path, split="train", labels=labels)
