"""Helpers shared by the readers: path checks with messages that say what layout is expected."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

from scancci.data.base import ProblemLog
from scancci.errors import DatasetError, InvalidInputError
from scancci.imaging import is_image_file


def require_dir(path: Path, dataset: str, layout: str) -> Path:
    """Return `path` if it is a folder, else raise DatasetError describing the expected layout."""
    if not path.is_dir():
        raise DatasetError(
            f"{dataset}: folder {path} not found. Expected layout: {layout} "
            f"(see docs/datasets.md)"
        )
    return path


def require_file(path: Path, dataset: str, layout: str) -> Path:
    """Return `path` if it is a file, else raise DatasetError describing the expected layout."""
    if not path.is_file():
        raise DatasetError(
            f"{dataset}: file {path} not found. Expected layout: {layout} (see docs/datasets.md)"
        )
    return path


def check_split(dataset: str, split: str, valid: Sequence[str]) -> str:
    """Validate a split name against the splits a reader offers."""
    if split not in valid:
        raise InvalidInputError(
            f"{dataset} has splits {', '.join(repr(s) for s in valid)}; got split={split!r}"
        )
    return split


def resolve_num_classes(dataset: str, num_classes: int | None, default: int) -> int:
    """The 7- or 8-class view a reader should produce (None: the dataset's own default)."""
    if num_classes is None:
        return default
    if num_classes not in (7, 8):
        raise InvalidInputError(
            f"{dataset}: num_classes must be 7 or 8 (the canonical label space), got {num_classes}"
        )
    return num_classes


def text_lines(path: Path) -> Iterator[tuple[int, str]]:
    """(1-based line number, stripped text) of the non-empty lines of a text file."""
    with path.open("r", encoding="utf-8", errors="replace", newline="") as handle:
        for number, raw in enumerate(handle, start=1):
            text = raw.strip().lstrip("\ufeff")
            if text:
                yield number, text


def image_files(folder: Path, log: ProblemLog, *, recursive: bool = False) -> list[Path]:
    """Sorted image files of a folder; other files are reported, hidden ones counted."""
    found: list[Path] = []
    entries = folder.rglob("*") if recursive else folder.iterdir()
    for path in sorted(entries):
        if path.is_dir():
            continue
        if path.name.startswith("."):
            log.exclude("hidden file")
        elif is_image_file(path):
            found.append(path)
        else:
            log.add(path, "not an image file", "skipped")
    return found


def stem_key(name: str) -> str:
    """Match key of an image name across lists: folder, suffix and RAF-DB's `_aligned` dropped."""
    stem = Path(name.replace("\\", "/")).stem
    return stem[: -len("_aligned")] if stem.endswith("_aligned") else stem
