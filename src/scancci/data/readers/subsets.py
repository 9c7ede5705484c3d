"""Occlusion and pose subsets of RAF-DB, AffectNet and FERPlus (the RAN paper's public lists).

A subset is a list of image names over a parent split (RAF-DB test, AffectNet validation,
FERPlus test); labels come from the parent dataset's own files, so the label maps are the
tested ones. The list file is `list_file=PATH`, or by default
`ROOT/subsets/<subset>.txt` (or .csv) with subset occlusion, pose30 or pose45. Any text or CSV
file whose first field per line is the image name works (`test_0001.jpg`,
`test_0001_aligned.jpg`, `1/abc.jpg`, `fer0032222.png`, with or without folders); a header
line and names not in the parent split are reported. Parent options (e.g. label_mode) pass on.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from scancci.data.base import FERDataset, ProblemLog
from scancci.data.readers._common import check_split, stem_key, text_lines
from scancci.data.readers.affectnet import open_affectnet
from scancci.data.readers.ferplus import open_ferplus
from scancci.data.readers.rafdb import open_rafdb
from scancci.errors import DatasetError

SUBSETS = ("occlusion", "pose30", "pose45")
PARENT_SPLIT = {"rafdb": "test", "affectnet": "val", "ferplus": "test"}
# the parent readers, imported directly (the registry imports this module)
PARENT_READER = {"rafdb": open_rafdb, "affectnet": open_affectnet, "ferplus": open_ferplus}


def _list_file(root: Path, dataset: str, subset: str, list_file: str | Path | None) -> Path:
    if list_file is not None:
        path = Path(list_file)
        if not path.is_file():
            raise DatasetError(f"{dataset}_{subset}: list file {path} not found")
        return path
    for suffix in (".txt", ".csv"):
        path = root / "subsets" / f"{subset}{suffix}"
        if path.is_file():
            return path
    raise DatasetError(
        f"{dataset}_{subset}: no list file. Put the {subset} list at {root}/subsets/{subset}.txt "
        f"or pass list_file=PATH (see docs/datasets.md)"
    )


def _open_subset(dataset: str, root: str | Path, *, subset: str, split: str,
                 list_file: str | Path | None, **options: Any) -> FERDataset:
    if subset not in SUBSETS:
        raise DatasetError(f"unknown subset {subset!r}; valid: {', '.join(SUBSETS)}")
    check_split(f"{dataset}_{subset}", split, (PARENT_SPLIT[dataset],))
    root = Path(root)
    path = _list_file(root, dataset, subset, list_file)
    parent = PARENT_READER[dataset](root, split=split, **options)
    index = {stem_key(p): i for i, (p, _) in enumerate(parent.samples)}
    log = ProblemLog()
    chosen: list[int] = []
    seen: dict[int, int] = {}
    for number, text in text_lines(path):
        name = re.split(r"[\s,;]+", text)[0]
        position = index.get(stem_key(name))
        if position is None:
            if number == 1 and not re.search(r"\.(jpe?g|png|bmp|tiff?)$", name, re.I):
                continue  # a header
            log.add(path, "not in parent split",
                    f"{name} is not a usable {dataset} {split} image", number)
            continue
        if position in seen:
            log.add(path, "duplicate entry", f"{name} already on line {seen[position]}", number)
            continue
        seen[position] = number
        chosen.append(position)
    result = parent.subset(chosen)
    result.name, result.problems = f"{dataset}_{subset}", parent.problems + log.problems
    result.files = [*parent.files, str(path)]
    return result


def open_rafdb_subset(root: str | Path, *, subset: str, split: str = "test",
                      list_file: str | Path | None = None, **options: Any) -> FERDataset:
    """Occlusion-RAF-DB, Pose-RAF-DB >30 / >45 deg over the RAF-DB test split."""
    return _open_subset("rafdb", root, subset=subset, split=split, list_file=list_file,
                        **options)


def open_affectnet_subset(root: str | Path, *, subset: str, split: str = "val",
                          list_file: str | Path | None = None, **options: Any) -> FERDataset:
    """Occlusion / pose subsets over the AffectNet validation set."""
    return _open_subset("affectnet", root, subset=subset, split=split, list_file=list_file,
                        **options)


def open_ferplus_subset(root: str | Path, *, subset: str, split: str = "test",
                        list_file: str | Path | None = None, **options: Any) -> FERDataset:
    """Occlusion / pose subsets over the FERPlus test set (FER2013Test)."""
    return _open_subset("ferplus", root, subset=subset, split=split, list_file=list_file,
                        **options)
