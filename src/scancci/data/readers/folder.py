"""Folder-per-emotion datasets: your own data, SFEW 2.0 and FED-RO.

Layout `ROOT/[SPLIT/]<class>/<image>`: the class folder names are emotion words in any case
("Angry", "happiness", "sad", ...; see label_maps.NAME_TO_CANONICAL) or names given in
`class_map`, or, with `classes=[...]` (a label set of your own: `--classes
no_pain,mild_pain,severe_pain`), any names: the folder named after each class, in that order. Split folders: train (Train), val (Val, valid, validation), test (Test).
Split "all" reads every split folder, or ROOT itself when it holds class folders directly.
Images in an unknown class folder are reported, never guessed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from scancci.data.base import FERDataset, ProblemLog, make_dataset
from scancci.data.label_maps import CONTEMPT
from scancci.data.readers._common import (
    check_classes,
    check_split,
    image_files,
    label_index,
    require_dir,
)
from scancci.errors import DatasetError, InvalidInputError

SPLITS = ("train", "val", "test", "all")
SPLIT_FOLDERS = {"train": ("train", "Train", "training"),
                 "val": ("val", "Val", "valid", "Valid", "validation", "Validation"),
                 "test": ("test", "Test", "testing")}
LAYOUT = "ROOT/[train|val|test/]<emotion>/<images> (e.g. ROOT/train/happy/001.jpg)"


def _label_of(folder: str, class_map: Mapping[str, str] | None,
              classes: Sequence[str] | None) -> int | None:
    if class_map and folder in class_map:
        label = label_index(class_map[folder], classes)
        if label is None:
            raise InvalidInputError(f"class_map maps {folder!r} to {class_map[folder]!r}, which "
                                    "is not " + (f"one of {list(classes)}" if classes else
                                                 "a canonical class name"))
        return label
    return label_index(folder, classes)


def read_class_folders(
    folder: Path, log: ProblemLog, class_map: Mapping[str, str] | None = None,
    recursive: bool = True, classes: Sequence[str] | None = None,
) -> list[tuple[Path, int]]:
    """(image, label) for every image below `folder/<class>/`: canonical labels, or indices
    into `classes` when given."""
    samples: list[tuple[Path, int]] = []
    for sub in sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")):
        label = _label_of(sub.name, class_map, classes)
        files = image_files(sub, log, recursive=recursive)
        if label is None:
            if files:
                hint = (f"it is none of the classes {list(classes)}" if classes else
                        "name the folder after an emotion, pass class_map={folder: emotion}, "
                        "or give your own class names (--classes NAME,NAME,...)")
                log.add(sub, "unknown class folder", f"{len(files)} images skipped; {hint}")
            continue
        samples.extend((path, label) for path in files)
    for path in sorted(folder.iterdir()):
        if path.is_file() and not path.name.startswith("."):
            log.add(path, "file outside a class folder", "skipped")
    return samples


def split_folder(root: Path, split: str) -> Path | None:
    """The folder of `split` under root (any of its usual spellings), None when absent."""
    for name in SPLIT_FOLDERS[split]:
        if (root / name).is_dir():
            return root / name
    return None


def open_class_folders(
    root: str | Path,
    *,
    dataset: str,
    split: str,
    splits: tuple[str, ...],
    num_classes: int | None,
    class_map: Mapping[str, str] | None = None,
    layout: str = LAYOUT,
    classes: Sequence[str] | None = None,
    **kwargs: Any,
) -> FERDataset:
    """Shared body of the folder-per-emotion readers."""
    root = require_dir(Path(root), dataset, layout)
    check_split(dataset, split, splits)
    names = check_classes(dataset, classes)
    log = ProblemLog()
    if split == "all":
        folders = [f for s in ("train", "val", "test") if (f := split_folder(root, s))] or [root]
    else:
        folder = split_folder(root, split)
        if folder is None:
            raise DatasetError(f"{dataset}: no {split} folder ({' or '.join(SPLIT_FOLDERS[split])})"
                               f" in {root}. Expected layout: {layout}")
        folders = [folder]
    samples = [s for folder in folders
               for s in read_class_folders(log.read(folder), log, class_map, classes=names)]
    if names is not None:
        if num_classes is not None and num_classes != len(names):
            raise InvalidInputError(f"{dataset}: num_classes {num_classes} but {len(names)} "
                                    f"class names {list(names)}")
        return make_dataset(samples, log, classes=names, name=dataset, root=root, split=split,
                            **kwargs)
    if num_classes is None:
        num_classes = 8 if any(y == CONTEMPT for _, y in samples) else 7
    elif num_classes not in (7, 8):
        raise InvalidInputError(f"{dataset}: num_classes must be 7 or 8, got {num_classes}")
    kept = [(p, y) for p, y in samples if y < num_classes]
    if len(kept) < len(samples):
        log.exclude("contempt (7-class view)", len(samples) - len(kept))
    return make_dataset(kept, log, num_classes=num_classes, name=dataset, root=root, split=split,
                        **kwargs)


def open_folder(root: str | Path, *, split: str = "all", num_classes: int | None = None,
                class_map: Mapping[str, str] | None = None,
                classes: Sequence[str] | None = None, **kwargs: Any) -> FERDataset:
    """Your own images in folders named after emotions (8 classes when contempt is present),
    or after the classes of your own label set `classes`."""
    return open_class_folders(root, dataset="folder", split=split, splits=SPLITS,
                              num_classes=num_classes, class_map=class_map, classes=classes,
                              **kwargs)


def open_sfew(root: str | Path, *, split: str = "train", num_classes: int | None = None,
              **kwargs: Any) -> FERDataset:
    """SFEW 2.0 Train/ or Val/ (7 emotion folders). Faces are not aligned: run `scancci prepare`."""
    return open_class_folders(root, dataset="sfew", split=split, splits=("train", "val"),
                              num_classes=num_classes or 7,
                              layout="ROOT/Train/<Emotion>/*.png and ROOT/Val/<Emotion>/*.png",
                              **kwargs)


def open_fedro(root: str | Path, *, split: str = "test", num_classes: int | None = None,
               **kwargs: Any) -> FERDataset:
    """FED-RO: about 400 real-occlusion faces in one folder per emotion; a test set only."""
    check_split("fedro", split, ("test",))
    dataset = open_class_folders(root, dataset="fedro", split="all", splits=("all",),
                                 num_classes=num_classes or 7,
                                 layout="ROOT/<emotion>/<images>", **kwargs)
    dataset.split = "test"
    return dataset
