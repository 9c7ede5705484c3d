"""Your own data listed in a CSV file: one row per image, a path and a label (and a split).

`root` is the CSV file, or a folder holding `labels.csv`. Columns (header required): the image
path (`path`, `image`, `file` or `filename`; relative to the CSV's folder), the label (`label`,
`emotion` or `expression`) and optionally `split` (train / val / test). Labels are emotion
words ("happy", "Anger", ...) or integers in the order `label_codes` names: "canonical"
(default), "rafdb", "affectnet", "ckplus" or "fer2013". Without a split column, use split="all".
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from scancci.data.base import FERDataset, ProblemLog, make_dataset
from scancci.data.label_maps import CODE_ORDERS, CONTEMPT
from scancci.data.readers._common import (
    check_classes,
    check_split,
    label_index,
    resolve_num_classes,
)
from scancci.errors import DatasetError, unknown_name

SPLITS = ("train", "val", "test", "all")
PATH_COLUMNS = ("path", "image", "file", "filename")
LABEL_COLUMNS = ("label", "emotion", "expression")
SPLIT_VALUES = {"train": "train", "training": "train", "val": "val", "valid": "val",
                "validation": "val", "test": "test", "testing": "test"}
LAYOUT = "a CSV with a header: path,label[,split] (or ROOT/labels.csv)"


def _find_column(header: list[str], wanted: str | None, choices: tuple[str, ...], path: Path
                 ) -> str:
    lower = {h.strip().lower(): h for h in header}
    for name in (wanted,) if wanted else choices:
        if name.lower() in lower:
            return lower[name.lower()]
    raise DatasetError(f"csv: {path} has columns {header}; expected one of "
                       f"{wanted or ', '.join(choices)}. Expected: {LAYOUT}")


def _label(value: str, codes: str, classes: Sequence[str] | None) -> int | None:
    text = value.strip()
    if text.lstrip("-").isdigit():
        if classes is not None:  # an index into the user's label set
            return int(text) if 0 <= int(text) < len(classes) else None
        return CODE_ORDERS[codes].get(int(text))
    return label_index(text, classes)


def open_csv(
    root: str | Path,
    *,
    split: str = "all",
    num_classes: int | None = None,
    label_codes: str = "canonical",
    path_column: str | None = None,
    label_column: str | None = None,
    classes: Sequence[str] | None = None,
    **kwargs: Any,
) -> FERDataset:
    """Images and labels from a CSV; 8 classes when contempt occurs, else 7; with `classes`
    (a label set of your own) labels are those names or indices into them."""
    path = Path(root)
    path = path / "labels.csv" if path.is_dir() else path
    if not path.is_file():
        raise DatasetError(f"csv: {path} not found. Expected: {LAYOUT}")
    check_split("csv", split, SPLITS)
    if label_codes not in CODE_ORDERS:
        raise unknown_name("label_codes", label_codes, CODE_ORDERS)
    names = check_classes("csv", classes)
    log = ProblemLog()
    log.read(path)
    with path.open(newline="", encoding="utf-8", errors="replace") as handle:
        rows = list(csv.reader(handle))
    if not rows:
        raise DatasetError(f"csv: {path} is empty. Expected: {LAYOUT}")
    header = rows[0]
    path_col = header.index(_find_column(header, path_column, PATH_COLUMNS, path))
    label_col = header.index(_find_column(header, label_column, LABEL_COLUMNS, path))
    split_col = next((i for i, h in enumerate(header) if h.strip().lower() == "split"), None)
    if split_col is None and split != "all":
        raise DatasetError(f"csv: {path} has no 'split' column; use split='all' or add one")
    samples: list[tuple[Path, int]] = []
    seen: dict[Path, int] = {}
    for number, fields in enumerate(rows[1:], start=2):
        if not fields or not "".join(fields).strip():
            continue
        if len(fields) < len(header):
            log.add(path, "malformed line", f"{len(fields)} fields for {len(header)} columns",
                    number)
            continue
        if split_col is not None:
            row_split = SPLIT_VALUES.get(fields[split_col].strip().lower())
            if row_split is None:
                log.add(path, "unknown split", f"{fields[split_col]!r}; valid: train, val, test",
                        number)
                continue
            if split != "all" and row_split != split:
                continue
        label = _label(fields[label_col], label_codes, names)
        if label is None:
            log.add(path, "unknown label", f"{fields[label_col]!r} ({label_codes} codes)", number)
            continue
        image = (path.parent / fields[path_col].strip()).resolve()
        if image in seen:
            log.add(path, "duplicate entry", f"{image.name} already on line {seen[image]}",
                    number)
            continue
        seen[image] = number
        if not image.is_file():
            log.add(path, "missing image", f"{image} does not exist", number)
            continue
        samples.append((image, label))
    if names is not None:
        return make_dataset(samples, log, classes=names, name="csv", root=path, split=split,
                            **kwargs)
    default = 8 if any(y == CONTEMPT for _, y in samples) else 7
    num_classes = resolve_num_classes("csv", num_classes, default)
    kept = [(p, y) for p, y in samples if y < num_classes]
    if len(kept) < len(samples):
        log.exclude("contempt (7-class view)", len(samples) - len(kept))
    return make_dataset(kept, log, num_classes=num_classes, name="csv", root=path, split=split,
                        **kwargs)
