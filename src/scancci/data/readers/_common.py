"""Helpers shared by the readers: path checks with messages that say what layout is expected."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

from scancci.data.base import ProblemLog
from scancci.data.label_maps import name_to_canonical
from scancci.data.labels import CLASS_NAMES
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


def label_index(word: str, classes: Sequence[str] | None) -> int | None:
    """The class index of a label word: the canonical index, or with `classes` (a user label
    set) the position of the class named so (any case) or of the emotion it is a synonym of
    ("Happiness" -> "happy"); None when unknown."""
    canonical = name_to_canonical(word)
    if classes is None:
        return canonical
    lower = [c.strip().lower() for c in classes]
    text = word.strip().lower()
    if text in lower:
        return lower.index(text)
    if canonical is not None and CLASS_NAMES[canonical] in lower:
        return lower.index(CLASS_NAMES[canonical])
    return None


def check_classes(dataset: str, classes: Sequence[str] | None) -> tuple[str, ...] | None:
    """A user label set as a tuple: at least two unique names."""
    if classes is None:
        return None
    names = tuple(str(c).strip() for c in classes)
    if len(names) < 2 or len({n.lower() for n in names}) != len(names) or not all(names):
        raise InvalidInputError(f"{dataset}: classes must be at least 2 unique names, got "
                                f"{list(classes)}")
    return names


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
