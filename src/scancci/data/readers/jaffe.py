"""JAFFE: 213 posed images of 10 Japanese women, the label coded in the file name.

Layout: `ROOT/KA.AN1.39.tiff` (subject KA, expression AN = anger, pose index 1, image 39),
codes AN, DI, FE, HA, NE, SA, SU; images may sit in sub-folders. Splits: "all", and "train" /
"test" of subject-independent folds (`num_folds` 10 = leave one subject out).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from scancci.data.base import FERDataset, ProblemLog, make_dataset
from scancci.data.label_maps import name_to_canonical
from scancci.data.readers._common import (
    check_split,
    image_files,
    require_dir,
    resolve_num_classes,
)
from scancci.data.readers._sequences import Item, select_split

SPLITS = ("all", "train", "test")
LAYOUT = "ROOT/<subject>.<code><n>.<id>.tiff, e.g. ROOT/KA.AN1.39.tiff"


def parse_name(name: str) -> tuple[str, int] | None:
    """(subject, canonical label) of a JAFFE file name; None when it does not follow the code."""
    parts = name.split(".")
    if len(parts) < 3 or len(parts[1]) < 2:
        return None
    label = name_to_canonical(parts[1][:2])
    return None if label is None or label > 6 else (parts[0], label)


def open_jaffe(
    root: str | Path,
    *,
    split: str = "all",
    num_classes: int | None = None,
    fold: int = 0,
    num_folds: int = 10,
    **kwargs: Any,
) -> FERDataset:
    """JAFFE images with labels from their names; 7 classes."""
    root = require_dir(Path(root), "jaffe", LAYOUT)
    check_split("jaffe", split, SPLITS)
    num_classes = resolve_num_classes("jaffe", num_classes, 7)
    log = ProblemLog()
    log.read(root)  # labels are coded in the file names
    items: list[Item] = []
    for path in image_files(root, log, recursive=True):
        parsed = parse_name(path.name)
        if parsed is None:
            log.add(path, "unknown label", "name does not follow SUBJECT.CODEn.ID (codes AN DI "
                    "FE HA NE SA SU)")
            continue
        items.append(Item(path, parsed[1], parsed[0]))
    items = select_split(items, split, fold, num_folds)
    return make_dataset([(i.path, i.label) for i in items], log, num_classes=num_classes,
                        name="jaffe", root=root, split=split,
                        subjects=[i.subject for i in items], **kwargs)
