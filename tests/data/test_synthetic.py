"""The demo generator: layout, determinism, paired occlusions, and that it is learnable."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from scancci.data import generate_demo_dataset, open_dataset
from scancci.data.label_maps import CANONICAL_TO_RAFDB
from scancci.errors import DatasetError, InvalidInputError


def _hog(image: Image.Image, size: int = 48, cell: int = 6, bins: int = 9) -> np.ndarray:
    """A small histogram-of-gradients descriptor (numpy), enough for a linear probe."""
    g = np.asarray(image.convert("L").resize((size, size), Image.BILINEAR), np.float32) / 255
    gx, gy = np.zeros_like(g), np.zeros_like(g)
    gx[:, 1:-1], gy[1:-1, :] = g[:, 2:] - g[:, :-2], g[2:, :] - g[:-2, :]
    magnitude = np.hypot(gx, gy)
    orientation = np.minimum(((np.arctan2(gy, gx) % np.pi) / np.pi * bins).astype(int), bins - 1)
    cells = np.arange(size) // cell
    hist = np.zeros((size // cell, size // cell, bins), np.float32)
    np.add.at(hist, (cells[:, None].repeat(size, 1), cells[None, :].repeat(size, 0),
                     orientation), magnitude)
    hist /= np.linalg.norm(hist, axis=2, keepdims=True) + 1e-3
    return hist.ravel()


def _features(dataset) -> tuple[np.ndarray, np.ndarray]:
    return (np.stack([_hog(dataset.load(i)) for i in range(len(dataset))]),
            np.asarray(dataset.targets))


def _ridge_classifier(x: np.ndarray, y: np.ndarray, lam: float = 1.0):
    mean, std = x.mean(0), x.std(0) + 1e-6
    xn = (x - mean) / std
    onehot = np.eye(7)[y] * 2 - 1
    w = np.linalg.solve(xn.T @ xn + lam * len(x) * np.eye(x.shape[1]), xn.T @ onehot)
    return lambda z: ((z - mean) / std @ w).argmax(1)


def test_layout_is_rafdb_and_balanced(demo_small: dict[str, Path]) -> None:
    assert set(demo_small) == {"clean", "occluded", "masked"}
    train = open_dataset("rafdb", demo_small["clean"], split="train")
    test = open_dataset("rafdb", demo_small["clean"], split="test")
    assert train.class_counts() == [100] * 7 and test.class_counts() == [30] * 7
    assert not train.problems and not test.problems
    for name in ("occluded", "masked"):
        ds = open_dataset("rafdb", demo_small[name], split="test")
        assert ds.targets == test.targets and len(ds) == 210
        assert len(open_dataset("rafdb", demo_small[name], split="train")) == 0
    image = train.load(0)
    assert image.size == (100, 100) and image.mode == "RGB"
    assert "SYNTHETIC" in (demo_small["clean"] / "README.txt").read_text()


def test_labels_written_in_rafdb_codes(demo_small: dict[str, Path]) -> None:
    lines = (demo_small["clean"] / "EmoLabel/list_patition_label.txt").read_text().split("\n")
    codes = {int(line.split()[1]) for line in lines if line}
    assert codes == set(range(1, 8))  # RAF-DB's own 1..7, not canonical 0..6
    test = open_dataset("rafdb", demo_small["clean"], split="test")
    first = next(line for line in lines if line.startswith("test_0001"))
    assert CANONICAL_TO_RAFDB[test.targets[0]] == int(first.split()[1])


def test_occluded_faces_are_the_clean_faces_plus_an_occluder(demo_small: dict[str, Path]) -> None:
    clean = open_dataset("rafdb", demo_small["clean"], split="test")
    for name in ("occluded", "masked"):
        other = open_dataset("rafdb", demo_small[name], split="test")
        for i in range(6):
            a = np.asarray(clean.load(i), np.int16)
            b = np.asarray(other.load(i), np.int16)
            changed = (np.abs(a - b).max(axis=2) > 40).mean()
            assert 0.02 < changed < 0.5, (name, i, changed)  # a local change, not a new face


def test_masked_faces_hide_the_lower_face(demo_small: dict[str, Path]) -> None:
    clean = open_dataset("rafdb", demo_small["clean"], split="test")
    masked = open_dataset("rafdb", demo_small["masked"], split="test")
    upper, lower = 0.0, 0.0
    for i in range(10):
        diff = np.abs(np.asarray(clean.load(i), float) - np.asarray(masked.load(i), float))
        upper += diff[:40].mean()
        lower += diff[55:].mean()
    assert lower > 3 * upper


def test_deterministic_from_seed_and_reused(tmp_path: Path) -> None:
    a = generate_demo_dataset(tmp_path / "a", seed=7, num_train_per_class=2, num_test_per_class=1)
    b = generate_demo_dataset(tmp_path / "b", seed=7, num_train_per_class=2, num_test_per_class=1)
    c = generate_demo_dataset(tmp_path / "c", seed=8, num_train_per_class=2, num_test_per_class=1)
    name = "Image/aligned/train_00003_aligned.jpg"
    assert (a["clean"] / name).read_bytes() == (b["clean"] / name).read_bytes()
    assert (a["clean"] / name).read_bytes() != (c["clean"] / name).read_bytes()
    stamp = (a["clean"] / name).stat().st_mtime_ns
    generate_demo_dataset(tmp_path / "a", seed=7, num_train_per_class=2, num_test_per_class=1)
    assert (a["clean"] / name).stat().st_mtime_ns == stamp  # same config: reused
    again = generate_demo_dataset(tmp_path / "a", seed=7, num_train_per_class=3,
                                  num_test_per_class=1)
    assert len(open_dataset("rafdb", again["clean"], split="train")) == 21


def test_refuses_foreign_folders_and_bad_sizes(tmp_path: Path) -> None:
    (tmp_path / "clean").mkdir()
    (tmp_path / "clean" / "mine.txt").write_text("precious")
    with pytest.raises(DatasetError, match="refusing to overwrite"):
        generate_demo_dataset(tmp_path, num_train_per_class=1, num_test_per_class=1)
    assert (tmp_path / "clean" / "mine.txt").exists()
    with pytest.raises(InvalidInputError, match="num_test_per_class"):
        generate_demo_dataset(tmp_path / "x", num_test_per_class=0)


def test_simple_classifier_learns_it_and_shuffled_labels_do_not(
    demo_small: dict[str, Path],
) -> None:
    x_train, y_train = _features(open_dataset("rafdb", demo_small["clean"], split="train"))
    x_test, y_test = _features(open_dataset("rafdb", demo_small["clean"], split="test"))
    accuracy = (_ridge_classifier(x_train, y_train)(x_test) == y_test).mean()
    shuffled = np.random.default_rng(0).permutation(y_train)
    chance_like = (_ridge_classifier(x_train, shuffled)(x_test) == y_test).mean()
    print(f"HOG + ridge on the demo set: {accuracy:.3f}; shuffled labels: {chance_like:.3f}; "
          f"chance 1/7 = {1 / 7:.3f}")
    assert accuracy > 0.35  # well over 2x chance
    assert chance_like < 0.25
