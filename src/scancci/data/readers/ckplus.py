"""CK+ (extended Cohn-Kanade), read from its distribution folders.

Layout: `ROOT/cohn-kanade-images/S005/001/S005_001_00000001.png ...` and
`ROOT/Emotion/S005/001/S005_001_00000011_emotion.txt` (one code, e.g. "3.0000000e+00":
0 neutral, 1 anger, 2 contempt, 3 disgust, 4 fear, 5 happy, 6 sadness, 7 surprise).
Protocol: last 3 frames of each labelled sequence plus its first frame as neutral; sequences
without an emotion file are unlabelled and excluded (counted). Splits: "all", and "train" /
"test" of 10 subject-independent folds (`fold`, `num_folds`). 8 classes by default.
`fold_lists`: a folder with the original's fold files `train_ids_<k>.csv` / `test_ids_<k>.csv`
(one frame name per line, e.g. S005_001_00000011.png; main_ckplus.py:53-56): those frames, with
their sequence's label, plus each listed sequence's first frame as neutral
(dataset/ckplus_dataset_cv.py:108-118).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from scancci.data.base import FERDataset, ProblemLog, make_dataset
from scancci.data.label_maps import CKPLUS_TO_CANONICAL, NEUTRAL
from scancci.data.readers._common import (
    check_split,
    image_files,
    require_dir,
    resolve_num_classes,
)
from scancci.data.readers._sequences import Item, protocol_frames, select_split
from scancci.errors import DatasetError

SPLITS = ("all", "train", "test")
LAYOUT = ("ROOT/cohn-kanade-images/Sxxx/yyy/*.png and "
          "ROOT/Emotion/Sxxx/yyy/Sxxx_yyy_zzzzzzzz_emotion.txt")


def read_emotion_file(path: Path, log: ProblemLog) -> int | None:
    """Canonical label of one CK+ emotion file; None (reported) when unreadable or unknown."""
    text = path.read_text(errors="replace").strip()
    try:
        value = float(text.split()[0])
    except (ValueError, IndexError):
        log.add(path, "unknown label", f"{text[:40]!r} is not a CK+ emotion code", 1)
        return None
    if value != int(value) or int(value) not in CKPLUS_TO_CANONICAL:
        log.add(path, "unknown label", f"{text!r}; CK+ codes are 0..7", 1)
        return None
    return CKPLUS_TO_CANONICAL[int(value)]


def _sequence_items(root: Path, log: ProblemLog, last_frames: int, neutral_first: bool
                    ) -> list[Item]:
    images = require_dir(root / "cohn-kanade-images", "ckplus", LAYOUT)
    emotions = log.read(require_dir(root / "Emotion", "ckplus", LAYOUT))
    items: list[Item] = []
    labelled: set[tuple[str, str]] = set()
    for sequence in sorted(p for p in emotions.glob("*/*") if p.is_dir()):
        subject, name = sequence.parent.name, sequence.name
        files = sorted(sequence.glob("*_emotion.txt"))
        if not files:
            continue
        labelled.add((subject, name))
        for extra in files[1:]:
            log.add(extra, "duplicate entry", f"second emotion file; {files[0].name} is used")
        label = read_emotion_file(files[0], log)
        frames_dir = images / subject / name
        if label is None:
            continue
        if not frames_dir.is_dir():
            log.add(files[0], "missing image", f"sequence folder {frames_dir} does not exist")
            continue
        frames = image_files(frames_dir, log)
        if not frames:
            log.add(frames_dir, "missing image", "labelled sequence without frames")
            continue
        items += protocol_frames(frames, label, subject, last_frames=last_frames,
                                 neutral_first=neutral_first)
    unlabelled = sum(1 for p in images.glob("*/*") if p.is_dir()
                     and (p.parent.name, p.name) not in labelled)
    if unlabelled:
        log.exclude("unlabelled sequence", unlabelled)
    return items


def _listed_items(root: Path, list_file: Path, log: ProblemLog) -> list[Item]:
    """The frames an original fold file names, and each named sequence's first frame."""
    images = require_dir(root / "cohn-kanade-images", "ckplus", LAYOUT)
    if list_file.is_file():
        log.read(list_file)
    else:
        raise DatasetError(f"ckplus fold list {list_file} does not exist: data.fold_lists must "
                           "hold train_ids_<k>.csv and test_ids_<k>.csv for every fold")
    items: list[Item] = []
    missing: list[str] = []
    labels: dict[Path, int | None] = {}
    for key in (line.strip() for line in list_file.read_text().splitlines()):
        if not key:
            continue
        subject, _, rest = key.partition("_")
        sequence = images / subject / rest.partition("_")[0]
        frame = sequence / key
        if sequence not in labels:
            emotion = sorted((root / "Emotion" / subject / sequence.name).glob("*_emotion.txt"))
            labels[sequence] = read_emotion_file(emotion[0], log) if emotion else None
            if labels[sequence] is not None and frame.is_file():
                items.append(Item(image_files(sequence, log)[0], NEUTRAL, subject))  # onset
        label = labels[sequence]
        if not frame.is_file() or label is None:
            missing.append(key)
            continue
        items.append(Item(frame, label, subject))
    if missing:
        raise DatasetError(
            f"ckplus fold list {list_file}: {len(missing)} entries name frames missing or "
            f"unlabelled under {root} (first: {', '.join(missing[:3])}): check the CK+ folder "
            "and data.fold_lists")
    return items


def open_ckplus(
    root: str | Path,
    *,
    split: str = "all",
    num_classes: int | None = None,
    fold: int = 0,
    num_folds: int = 10,
    fold_scheme: str = "round_robin",
    fold_lists: str | Path | None = None,
    last_frames: int = 3,
    neutral_first: bool = True,
    **kwargs: Any,
) -> FERDataset:
    """CK+ frames by the last-3-frames protocol; `split` "train"/"test" of fold `fold`
    (subjects dealt by `fold_scheme`, or the frames named by the original's `fold_lists`)."""
    root = Path(root)
    check_split("ckplus", split, SPLITS)
    num_classes = resolve_num_classes("ckplus", num_classes, 8)
    log = ProblemLog()
    if fold_lists is not None and split != "all":
        items = _listed_items(root, Path(fold_lists) / f"{split}_ids_{fold}.csv", log)
    else:
        items = _sequence_items(root, log, last_frames, neutral_first)
        items = select_split(items, split, fold, num_folds, fold_scheme)
    kept = [item for item in items if item.label < num_classes]
    if len(kept) < len(items):
        log.exclude("contempt (7-class view)", len(items) - len(kept))
    return make_dataset([(i.path, i.label) for i in kept], log, num_classes=num_classes,
                        name="ckplus", root=root, split=split,
                        subjects=[i.subject for i in kept], **kwargs)
