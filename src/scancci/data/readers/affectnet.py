"""AffectNet, in either release its owners distribute (spec section 4).

CSV release: `ROOT/Manually_Annotated_file_lists/training.csv` (with a header) and
`validation.csv` (without), columns subDirectory_filePath, face_x, face_y, face_width,
face_height, facial_landmarks, expression, valence, arousal; images under
`ROOT/Manually_Annotated_Images/`. Options: `max_per_class` (the recipe keeps the first
20,000 rows per class of the training list), `crop_faces=True` crops each image to its face box.
npy release: `ROOT/train_set/images/<id>.jpg` with `ROOT/train_set/annotations/<id>_exp.npy`,
and `ROOT/val_set/` likewise.
Splits: train, val (the validation set, 500 per class, is the test set of every paper).
Codes 0..7 are already canonical; 8 None, 9 Uncertain, 10 No-Face are excluded, and contempt
(7) in the 7-class view; every exclusion is counted in the summary.
"""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from scancci.data.base import CropBox, FERDataset, ProblemLog, make_dataset
from scancci.data.label_maps import AFFECTNET_EXCLUDED_NAMES, AFFECTNET_TO_CANONICAL
from scancci.data.readers._common import (
    check_split,
    require_dir,
    require_file,
    resolve_num_classes,
)
from scancci.errors import DatasetError, InvalidInputError

SPLITS = ("train", "val")
CSV_FILES = {"train": "training.csv", "val": "validation.csv"}
NPY_FOLDERS = {"train": "train_set", "val": "val_set"}
LAYOUT = ("ROOT/Manually_Annotated_file_lists/{training,validation}.csv with "
          "ROOT/Manually_Annotated_Images/, or ROOT/{train_set,val_set}/{images,annotations}/")


def _canonical(code: str, num_classes: int, where: tuple[str, int | None], log: ProblemLog
               ) -> int | None:
    """Canonical label of an expression code, reporting unknown codes and counting exclusions."""
    try:
        value = int(float(code))
    except ValueError:
        value = -1
    if value not in AFFECTNET_TO_CANONICAL:
        log.add(where[0], "unknown label", f"expression {code!r}; AffectNet codes are 0..10",
                where[1])
        return None
    canonical = AFFECTNET_TO_CANONICAL[value]
    if canonical is None:
        log.exclude(f"{AFFECTNET_EXCLUDED_NAMES[value]} (code {value})")
        return None
    if canonical >= num_classes:
        log.exclude("contempt (7-class view)")
        return None
    return canonical


# image, canonical label, face box (the CSV release's; None in the npy release)
Entry = tuple[Path, int, CropBox | None]


def _csv_entries(root: Path, split: str, num_classes: int, log: ProblemLog
                 ) -> list[Entry]:
    list_file = log.read(require_file(
        root / "Manually_Annotated_file_lists" / CSV_FILES[split], "affectnet", LAYOUT))
    images = root / "Manually_Annotated_Images"
    entries: list[Entry] = []
    seen: dict[str, int] = {}
    with list_file.open(newline="", encoding="utf-8", errors="replace") as handle:
        for number, fields in enumerate(csv.reader(handle), start=1):
            if not fields or fields[0] == "subDirectory_filePath":
                continue
            if len(fields) < 7:
                log.add(list_file, "malformed line", f"expected 9 columns, got {len(fields)}",
                        number)
                continue
            label = _canonical(fields[6], num_classes, (str(list_file), number), log)
            if label is None:
                continue
            name = fields[0].strip()
            if name in seen:
                log.add(list_file, "duplicate entry", f"{name} already on line {seen[name]}",
                        number)
                continue
            seen[name] = number
            try:
                x, y, w, h = (float(v) for v in fields[1:5])
            except ValueError:
                log.add(list_file, "malformed line", f"face box {fields[1:5]} is not numeric",
                        number)
                continue
            path = images / name
            if not path.is_file():
                log.add(list_file, "missing image", f"{path} does not exist", number)
                continue
            entries.append((path, label, (x, y, x + w, y + h)))
    return entries


def _npy_entries(root: Path, split: str, num_classes: int, log: ProblemLog
                 ) -> list[Entry]:
    folder = require_dir(root / NPY_FOLDERS[split], "affectnet", LAYOUT)
    annotations = log.read(require_dir(folder / "annotations", "affectnet", LAYOUT))
    entries: list[Entry] = []
    labelled: set[str] = set()
    for npy in sorted(annotations.glob("*_exp.npy")):
        stem = npy.name[: -len("_exp.npy")]
        labelled.add(stem)
        try:
            code = str(np.load(npy, allow_pickle=False).reshape(-1)[0])
        except (OSError, ValueError, IndexError) as err:
            log.add(npy, "unreadable annotation", str(err))
            continue
        label = _canonical(code, num_classes, (str(npy), None), log)
        if label is None:
            continue
        path = folder / "images" / f"{stem}.jpg"
        if not path.is_file():
            log.add(npy, "missing image", f"{path} does not exist")
            continue
        entries.append((path, label, None))
    images = folder / "images"
    if images.is_dir():
        for image in sorted(images.iterdir()):
            if image.stem not in labelled and not image.name.startswith("."):
                log.add(image, "no annotation", f"no {image.stem}_exp.npy in {annotations}")
    return entries


def _release(root: Path, release: str) -> str:
    if release == "auto":
        if (root / "Manually_Annotated_file_lists").is_dir():
            return "csv"
        if (root / "train_set").is_dir() or (root / "val_set").is_dir():
            return "npy"
        require_dir(root, "affectnet", LAYOUT)
        raise DatasetError(f"affectnet: no Manually_Annotated_file_lists/ nor train_set/ or "
                           f"val_set/ in {root}. Expected layout: {LAYOUT}")
    if release not in ("csv", "npy"):
        raise InvalidInputError(f"affectnet release must be 'auto', 'csv' or 'npy', got "
                                f"{release!r}")
    return release


def open_affectnet(
    root: str | Path,
    *,
    split: str = "train",
    num_classes: int | None = None,
    release: str = "auto",
    max_per_class: int | None = None,
    crop_faces: bool = False,
    **kwargs: Any,
) -> FERDataset:
    """AffectNet `split`, 8 classes by default; `max_per_class` keeps the first N per class."""
    root = Path(root)
    check_split("affectnet", split, SPLITS)
    num_classes = resolve_num_classes("affectnet", num_classes, 8)
    release = _release(root, release)
    if crop_faces and release == "npy":
        raise InvalidInputError("crop_faces needs the CSV release's face boxes; the npy "
                                "release's images are already cropped faces")
    if max_per_class is not None and max_per_class < 1:
        raise InvalidInputError(f"max_per_class must be >= 1 or None, got {max_per_class}")
    log = ProblemLog()
    reader = _csv_entries if release == "csv" else _npy_entries
    entries = reader(root, split, num_classes, log)
    if max_per_class is not None:
        kept: Counter[int] = Counter()
        capped: list[Entry] = []
        for entry in entries:
            kept[entry[1]] += 1
            if kept[entry[1]] <= max_per_class:
                capped.append(entry)
        if len(capped) < len(entries):
            log.exclude(f"over the cap of {max_per_class} per class", len(entries) - len(capped))
        entries = capped
    crops = [box for _, _, box in entries] if crop_faces else None
    return make_dataset([(p, y) for p, y, _ in entries], log, num_classes=num_classes,
                        name="affectnet", root=root, split=split, crops=crops, **kwargs)
