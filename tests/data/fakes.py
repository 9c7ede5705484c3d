"""Small fake datasets in their owners' native layouts (RAF-DB, AffectNet CSV release, FERPlus
per-folder labels, a folder dataset with classes of one's own), for end-to-end tests.

Each class gets its own colour under per-image noise, so a small network separates the
classes within an epoch or two. Imported by tests with `sys.path.insert` (import mode
importlib), as tests/models/reference_impl.py is.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

# AffectNet / canonical order: neutral, happy, sad, surprise, fear, disgust, anger, contempt
PALETTE = [(200, 200, 200), (240, 200, 40), (40, 60, 200), (240, 120, 30), (120, 40, 160),
           (60, 160, 60), (220, 30, 30), (120, 90, 60)]


def face(path: Path, label: int, seed: int, size: int = 40) -> Path:
    """A JPEG/PNG of class `label`'s colour with seeded noise."""
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    pixels = np.clip(np.asarray(PALETTE[label % len(PALETTE)], np.float32)
                     + rng.normal(0, 25, (size, size, 3)), 0, 255).astype(np.uint8)
    Image.fromarray(pixels).save(path)
    return path


def rafdb(root: Path, train_per_class: int = 6, test_per_class: int = 3,
          broken_test_lines: int = 0) -> Path:
    """EmoLabel/list_patition_label.txt + Image/aligned/*_aligned.jpg; RAF-DB codes 1..7.
    `broken_test_lines` adds test lines whose image is missing (dropped, and said so)."""
    codes = {1: 3, 2: 4, 3: 5, 4: 1, 5: 2, 6: 6, 7: 0}  # RAF-DB code -> canonical class
    lines = []
    for split, per_class in (("train", train_per_class), ("test", test_per_class)):
        n = 0
        for code, label in codes.items():
            for _ in range(per_class):
                n += 1
                name = f"{split}_{n:05d}"
                face(root / "Image/aligned" / f"{name}_aligned.jpg", label,
                     n + (5000 if split == "test" else 0))
                lines.append(f"{name}.jpg {code}")
    for k in range(broken_test_lines):
        lines.append(f"test_{9000 + k:05d}.jpg 4")
    (root / "EmoLabel").mkdir(parents=True, exist_ok=True)
    (root / "EmoLabel/list_patition_label.txt").write_text("\n".join(lines) + "\n")
    return root


def affectnet(root: Path, train_per_class: int = 5, val_per_class: int = 2) -> Path:
    """The CSV release: Manually_Annotated_file_lists/{training,validation}.csv (the first with
    a header), images under Manually_Annotated_Images/; 8 classes, codes 0..7."""
    header = ("subDirectory_filePath,face_x,face_y,face_width,face_height,facial_landmarks,"
              "expression,valence,arousal")
    lists = root / "Manually_Annotated_file_lists"
    lists.mkdir(parents=True, exist_ok=True)
    for split, per_class, file in (("train", train_per_class, "training.csv"),
                                   ("val", val_per_class, "validation.csv")):
        rows = []
        for code in range(8):
            for k in range(per_class):
                name = f"{split}{code}/{k}.jpg"
                face(root / "Manually_Annotated_Images" / name, code, code * 100 + k
                     + (50 if split == "val" else 0))
                rows.append(f"{name},0,0,40,40,1;2;3;4,{code},0.1,-0.2")
        text = "\n".join(rows) + "\n"
        (lists / file).write_text(header + "\n" + text if split == "train" else text)
    return root


def ferplus(root: Path, per_class: int = 3) -> Path:
    """FER2013Train/, FER2013Valid/, FER2013Test/ with label.csv (name, box, 10 votes)."""
    columns = [0, 1, 3, 2, 6, 5, 4, 7]  # canonical class -> FERPlus vote column
    for offset, folder in enumerate(("FER2013Train", "FER2013Valid", "FER2013Test")):
        lines = []
        for label, column in enumerate(columns):
            for k in range(per_class):
                name = f"fer{label}{k}.png"
                face(root / folder / name, label, 1000 * offset + 10 * label + k, size=48)
                votes = [0] * 10
                votes[column] = 10
                lines.append(f'{name},"(0, 0, 48, 48)",' + ",".join(map(str, votes)))
        (root / folder / "label.csv").write_text("\n".join(lines) + "\n")
    return root


def own_classes(root: Path, classes: tuple[str, ...], train_per_class: int = 8,
                test_per_class: int = 3) -> Path:
    """ROOT/{train,test}/<class>/*.png with class names of one's own (no emotion words)."""
    for split, per_class in (("train", train_per_class), ("test", test_per_class)):
        for label, name in enumerate(classes):
            for k in range(per_class):
                face(root / split / name / f"{k}.png", label, label * 50 + k
                     + (25 if split == "test" else 0))
    return root
