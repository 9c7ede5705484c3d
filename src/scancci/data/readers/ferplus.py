"""FERPlus: FER2013 images with 10 crowd votes each, in its four label modes.

Layouts (spec section 4), both with images in `ROOT/FER2013Train/`, `FER2013Valid/`,
`FER2013Test/` (as FERPlus's generate_training_data.py writes them):
- per-folder `label.csv` files (name, box, 10 votes; no header), preferred when present;
- `ROOT/fer2013new.csv` (Usage, Image name, 10 votes; Usage Training / PublicTest /
  PrivateTest -> train / val / test; rows without an image name were removed by FERPlus).
Splits: train, val, test, and "train+val" (the SCAN-CCI recipe trains on both).

Label modes, exactly as Microsoft's FERPlus reference code processes the votes:
- "majority": single votes dropped; the top class is kept only if it holds more than half of
  the remaining votes (ties never do); items whose label is unknown or not-a-face are dropped.
  Items are (image, int label).
- "crossentropy": the vote distribution over the top classes (up to 3, covering 75% of votes)
  -> items are (image, float tensor of C probabilities in canonical order).
- "probability": the same distribution, but every access draws a one-hot target from it
  ("probabilistic label drawing"); items are (image, one-hot float tensor).
- "multi_target": vote shares of every class with at least 30% of the votes; items are
  (image, float tensor); the multi-target loss uses the set {k: target_k > 0}.
Every dropped item is counted in the summary under its reason.
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path
from typing import Any

import numpy as np

from scancci.data.base import FERDataset, ProblemLog, make_dataset
from scancci.data.label_maps import FERPLUS_TO_CANONICAL
from scancci.data.readers._common import (
    check_split,
    require_dir,
    require_file,
    resolve_num_classes,
)
from scancci.errors import DatasetError, InvalidInputError

SPLITS = ("train", "val", "test", "train+val")
LABEL_MODES = ("majority", "probability", "crossentropy", "multi_target")
FOLDERS = {"train": "FER2013Train", "val": "FER2013Valid", "test": "FER2013Test"}
USAGE = {"Training": "train", "PublicTest": "val", "PrivateTest": "test"}
LAYOUT = ("ROOT/FER2013Train|FER2013Valid|FER2013Test/ with images and label.csv, or "
          "ROOT/fer2013new.csv next to those image folders")
_EPS = sys.float_info.epsilon


def process_votes(votes: Any, mode: str) -> np.ndarray | None:
    """10 vote counts (FERPlus column order) -> distribution over the 8 emotion columns.

    None when the protocol drops the item (no majority, too ambiguous, unknown, not a face).
    Follows FERPlus's reference `_process_data` step by step, including its tie handling.
    """
    raw = [float(v) for v in votes]
    size = len(raw)
    raw = [0.0 if v < 1.0 + _EPS else v for v in raw]  # a single vote is an outlier
    total = sum(raw)
    emotion = [0.0] * size
    if mode == "majority":
        top = max(raw)
        if top <= 0.5 * total:
            return None
        emotion[int(np.argmax(raw))] = top
    elif mode in ("probability", "crossentropy"):
        part, count, valid = 0.0, 0, True
        while part < 0.75 * total and count < 3 and valid:
            top = max(raw)
            for i in range(size):
                if raw[i] == top:
                    emotion[i], raw[i] = top, 0.0
                    part += top
                    count += 1
                    if i >= 8:  # unknown or not-a-face shares the top vote count
                        valid = False
                        if sum(emotion) > top:  # other emotions came first: drop this one
                            emotion[i] = 0.0
                            count -= 1
                        break
        if sum(emotion) <= 0.5 * total or count > 3:
            return None
    elif mode == "multi_target":
        emotion = [v if v >= 0.3 * total else 0.0 for v in raw]
        if sum(emotion) <= 0.5 * total:
            return None
    else:
        raise InvalidInputError(f"label_mode must be one of {LABEL_MODES}, got {mode!r}")
    shares = np.asarray(emotion) / sum(emotion)
    if int(np.argmax(shares)) >= 8:  # unknown or not a face
        return None
    return shares[:8] / shares[:8].sum()


def _to_canonical(shares: np.ndarray, num_classes: int) -> np.ndarray | None:
    canonical = np.zeros(8)
    for column, index in enumerate(FERPLUS_TO_CANONICAL[:8]):
        canonical[index] = shares[column]
    canonical = canonical[:num_classes]
    return canonical / canonical.sum() if canonical.sum() > 0 else None


def _rows_from_folder(root: Path, split: str, log: ProblemLog) -> list[tuple[Path, list, str, int]]:
    folder = root / FOLDERS[split]
    if not (folder / "label.csv").is_file() and (root / "fer2013new.csv").is_file():
        raise DatasetError(f"ferplus: file {folder / 'label.csv'} not found, while the other "
                           "FER2013* folders have theirs; restore it, or read every split from "
                           "fer2013new.csv with the reader option labels=csv")
    label_file = log.read(require_file(folder / "label.csv", "ferplus", LAYOUT))
    rows = []
    with label_file.open(newline="", encoding="utf-8", errors="replace") as handle:
        for number, fields in enumerate(csv.reader(handle), start=1):
            if not fields or not "".join(fields).strip():
                continue
            if len(fields) < 12:
                log.add(label_file, "malformed line", f"expected name, box and 10 votes, got "
                        f"{len(fields)} fields", number)
                continue
            rows.append((folder / fields[0].strip(), fields[-10:], str(label_file), number))
    return rows


def _rows_from_csv(root: Path, split: str, log: ProblemLog) -> list[tuple[Path, list, str, int]]:
    path = log.read(require_file(root / "fer2013new.csv", "ferplus", LAYOUT))
    rows = []
    with path.open(newline="", encoding="utf-8", errors="replace") as handle:
        for number, fields in enumerate(csv.reader(handle), start=1):
            if not fields or fields[0].strip() == "Usage":
                continue
            if len(fields) != 12:
                log.add(path, "malformed line", f"expected 12 fields, got {len(fields)}", number)
                continue
            usage = USAGE.get(fields[0].strip())
            if usage is None:
                log.add(path, "unknown usage", f"{fields[0]!r}; valid: {', '.join(USAGE)}",
                        number)
                continue
            if usage != split:
                continue
            name = fields[1].strip()
            if not name:
                log.exclude("removed by FERPlus (no image name)")
                continue
            rows.append((root / FOLDERS[split] / name, fields[2:], str(path), number))
    return rows


def _label_source(root: Path, labels: str) -> str:
    """"folder" where any FER2013*/label.csv exists (a split whose label.csv is missing is then
    an error naming it, never a silent switch to fer2013new.csv), else "csv"."""
    has_folders = any((root / f / "label.csv").is_file() for f in FOLDERS.values())
    has_csv = (root / "fer2013new.csv").is_file()
    if labels == "auto":
        if has_folders:
            return "folder"
        if has_csv:
            return "csv"
        require_dir(root, "ferplus", LAYOUT)
        raise DatasetError(f"ferplus: neither {root}/FER2013*/label.csv nor "
                           f"{root}/fer2013new.csv found. Expected layout: {LAYOUT}")
    if labels not in ("folder", "csv"):
        raise InvalidInputError(f"ferplus labels must be 'auto', 'folder' or 'csv', got {labels!r}")
    return labels


def open_ferplus(
    root: str | Path,
    *,
    split: str = "train",
    num_classes: int | None = None,
    label_mode: str = "majority",
    labels: str = "auto",
    **kwargs: Any,
) -> FERDataset:
    """FERPlus `split` with votes turned into labels by `label_mode`; 8 classes by default."""
    root = Path(root)
    check_split("ferplus", split, SPLITS)
    if label_mode not in LABEL_MODES:
        raise InvalidInputError(f"ferplus label_mode must be one of {', '.join(LABEL_MODES)}; "
                                f"got {label_mode!r}")
    num_classes = resolve_num_classes("ferplus", num_classes, 8)
    source = _label_source(root, labels)
    log = ProblemLog()
    rows = []
    for one in split.split("+"):
        if source == "folder":
            rows += _rows_from_folder(root, one, log)
        else:
            require_dir(root / FOLDERS[one], "ferplus", LAYOUT)
            rows += _rows_from_csv(root, one, log)
    samples, soft = _labelled_samples(rows, label_mode, num_classes, log)
    return make_dataset(
        samples, log, num_classes=num_classes, name="ferplus", root=root, split=split,
        soft_targets=None if label_mode == "majority" else np.asarray(soft, np.float32),
        draw_from_soft=label_mode == "probability", **kwargs,
    )


def _labelled_samples(rows: list, mode: str, num_classes: int, log: ProblemLog
                      ) -> tuple[list[tuple[Path, int]], list[np.ndarray]]:
    samples: list[tuple[Path, int]] = []
    soft: list[np.ndarray] = []
    seen: dict[Path, str] = {}
    for path, votes, list_file, number in rows:
        try:
            counts = [float(v) for v in votes]
        except ValueError:
            log.add(list_file, "unknown label", f"votes {votes} are not numbers", number)
            continue
        if any(v < 0 for v in counts):
            log.add(list_file, "unknown label", f"negative votes {votes}", number)
            continue
        if path in seen:
            log.add(list_file, "duplicate entry", f"{path.name} already on {seen[path]}", number)
            continue
        seen[path] = f"line {number}"
        shares = process_votes(counts, mode)
        if shares is None:
            log.exclude("no majority" if mode == "majority" else "ambiguous, unknown or not a face")
            continue
        target = _to_canonical(shares, num_classes)
        if target is None or (mode == "majority" and target.max() < 1.0):
            log.exclude("contempt (7-class view)")
            continue
        if not path.is_file():
            log.add(list_file, "missing image", f"{path} does not exist", number)
            continue
        samples.append((path, int(np.argmax(target))))
        soft.append(target)
    return samples, soft
