"""RAF-DB basic, read from the files its owners ship (spec section 4).

Layout: `ROOT/EmoLabel/list_patition_label.txt` (sic) with lines `train_00001.jpg 5`, split by the
name prefix, and aligned 100x100 faces `ROOT/Image/aligned/<stem>_aligned.jpg`
(`aligned=False`: `ROOT/Image/original/<name>`). Labels 1..7 (Surprise, Fear, Disgust,
Happiness, Sadness, Anger, Neutral) are mapped to the canonical order. Splits: train, test.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from scancci.data.base import FERDataset, ProblemLog, make_dataset
from scancci.data.label_maps import RAFDB_TO_CANONICAL
from scancci.data.readers._common import (
    check_split,
    require_file,
    resolve_num_classes,
    text_lines,
)

SPLITS = ("train", "test")
LIST_FILE = Path("EmoLabel/list_patition_label.txt")
LAYOUT = "ROOT/EmoLabel/list_patition_label.txt and ROOT/Image/aligned/<stem>_aligned.jpg"


def image_path(root: Path, name: str, aligned: bool = True) -> Path:
    """Where RAF-DB keeps the image of list entry `name` (e.g. train_00001.jpg)."""
    if aligned:
        return root / "Image" / "aligned" / f"{Path(name).stem}_aligned.jpg"
    return root / "Image" / "original" / name


def read_label_list(root: Path, log: ProblemLog) -> dict[str, tuple[int, int]]:
    """Entry name -> (canonical label, line number), reporting bad lines and duplicates."""
    path = log.read(require_file(root / LIST_FILE, "rafdb", LAYOUT))
    entries: dict[str, tuple[int, int]] = {}
    for number, text in text_lines(path):
        fields = text.split()
        if len(fields) != 2:
            log.add(path, "malformed line", f"expected 'NAME LABEL', got {text!r}", number)
            continue
        name, code = fields
        canonical = RAFDB_TO_CANONICAL.get(int(code)) if code.isdigit() else None
        if canonical is None:
            log.add(path, "unknown label", f"{code!r} for {name}; RAF-DB labels are 1..7", number)
            continue
        if name in entries:
            first_label, first_line = entries[name]
            same = "same label" if first_label == canonical else "conflicting label"
            log.add(path, "duplicate entry", f"{name} already on line {first_line} ({same}); "
                    "the first is kept", number)
            continue
        entries[name] = (canonical, number)
    return entries


def open_rafdb(
    root: str | Path,
    *,
    split: str = "train",
    num_classes: int | None = None,
    aligned: bool = True,
    **kwargs: Any,
) -> FERDataset:
    """RAF-DB basic `split` ("train" or "test") with canonical labels; 7 classes by default."""
    root = Path(root)
    check_split("rafdb", split, SPLITS)
    num_classes = resolve_num_classes("rafdb", num_classes, 7)
    log = ProblemLog()
    entries = read_label_list(root, log)
    list_path = root / LIST_FILE
    samples: list[tuple[Path, int]] = []
    for name, (label, number) in entries.items():
        prefix = name.split("_", 1)[0]
        if prefix not in SPLITS:
            log.add(list_path, "unknown split prefix", f"{name} starts with neither train_ "
                    "nor test_", number)
            continue
        if prefix != split:
            continue
        path = image_path(root, name, aligned)
        if not path.is_file():
            log.add(list_path, "missing image", f"{path} does not exist", number)
            continue
        samples.append((path, label))
    return make_dataset(samples, log, num_classes=num_classes, name="rafdb", root=root,
                        split=split, **kwargs)
