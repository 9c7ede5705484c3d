"""Oulu-CASIA NIR&VIS, read from its distribution folders.

Layout: `ROOT/.../<camera VL|NI>/<lighting Strong|Weak|Dark>/P001/<Emotion>/000.jpeg ...`
(OriginalImg or the cropped release), emotions Anger, Disgust, Fear, Happiness, Sadness,
Surprise. `camera` and `lighting` pick one condition (default VL / Strong, the usual choice;
None keeps all). Protocol: last 3 frames of each sequence plus its first frame as neutral
(7 classes). Splits: "all", and "train" / "test" of 10 subject-independent folds
(`fold_scheme` "contiguous": the original's blocks of 8 consecutive subjects).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from scancci.data.base import FERDataset, ProblemLog, make_dataset
from scancci.data.label_maps import CONTEMPT, name_to_canonical
from scancci.data.readers._common import (
    check_split,
    image_files,
    require_dir,
    resolve_num_classes,
)
from scancci.data.readers._sequences import Item, protocol_frames, select_split
from scancci.errors import DatasetError

SPLITS = ("all", "train", "test")
SUBJECT = re.compile(r"^P\d+$")
CAMERAS = ("VL", "NI")
LIGHTINGS = ("Strong", "Weak", "Dark")
LAYOUT = "ROOT/[VL/Strong/]P001/Anger/000.jpeg (one folder per subject, then per emotion)"


def _wanted(path: Path, root: Path, camera: str | None, lighting: str | None) -> bool:
    parts = path.relative_to(root).parts
    for value, known in ((camera, CAMERAS), (lighting, LIGHTINGS)):
        if value is not None and any(p in known for p in parts) and value not in parts:
            return False
    return True


def open_oulu(
    root: str | Path,
    *,
    split: str = "all",
    num_classes: int | None = None,
    camera: str | None = "VL",
    lighting: str | None = "Strong",
    fold: int = 0,
    num_folds: int = 10,
    fold_scheme: str = "round_robin",
    last_frames: int = 3,
    neutral_first: bool = True,
    **kwargs: Any,
) -> FERDataset:
    """Oulu-CASIA frames by the last-3-frames protocol; `split` "train"/"test" of `fold`."""
    root = require_dir(Path(root), "oulu", LAYOUT)
    check_split("oulu", split, SPLITS)
    num_classes = resolve_num_classes("oulu", num_classes, 7)
    log = ProblemLog()
    log.read(root)  # labels are the sequence folders' names
    subjects = sorted(p for p in root.rglob("P*") if p.is_dir() and SUBJECT.match(p.name)
                      and _wanted(p, root, camera, lighting))
    if not subjects:
        raise DatasetError(f"oulu: no subject folders (P001, ...) for camera={camera!r} "
                           f"lighting={lighting!r} under {root}. Expected layout: {LAYOUT}")
    items: list[Item] = []
    for subject in subjects:
        for sequence in sorted(p for p in subject.iterdir() if p.is_dir()):
            label = name_to_canonical(sequence.name)
            if label is None or label == CONTEMPT:
                log.add(sequence, "unknown class folder", "not an Oulu-CASIA emotion; skipped")
                continue
            frames = image_files(sequence, log)
            if not frames:
                log.add(sequence, "missing image", "sequence without frames")
                continue
            items += protocol_frames(frames, label, subject.name, last_frames=last_frames,
                                     neutral_first=neutral_first)
    items = select_split(items, split, fold, num_folds, fold_scheme)
    return make_dataset([(i.path, i.label) for i in items], log, num_classes=num_classes,
                        name="oulu", root=root, split=split,
                        subjects=[i.subject for i in items], **kwargs)
