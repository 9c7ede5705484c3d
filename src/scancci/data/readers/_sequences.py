"""The sequence protocol of CK+ and Oulu-CASIA, and subject-independent folds.

Protocol (spec section 4): from every labelled sequence (neutral onset -> apex) keep the last
`last_frames` frames with the sequence's label and, optionally, the first frame as neutral.
Folds: subjects sorted by id and dealt round-robin into `num_folds` folds (`fold_scheme`
"round_robin"), or cut into contiguous blocks of the sorted ids ("contiguous": the original's
Oulu-CASIA folds, 8 identities each of 80, dataset/oulucasia_dataset_cv.py:77), so that no
subject is on both sides; split "test" is fold `fold`, "train" the other folds, "all" everything.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from scancci.data.label_maps import NEUTRAL
from scancci.errors import InvalidInputError


@dataclass(frozen=True)
class Item:
    """One frame kept by the protocol."""

    path: Path
    label: int
    subject: str


def protocol_frames(frames: list[Path], label: int, subject: str, *, last_frames: int,
                    neutral_first: bool) -> list[Item]:
    """The last frames with `label`, and the first frame as neutral when it is not among them."""
    items = [Item(path, label, subject) for path in frames[-last_frames:]]
    if neutral_first and len(frames) > last_frames:
        items.insert(0, Item(frames[0], NEUTRAL, subject))
    return items


FOLD_SCHEMES = ("round_robin", "contiguous")


def fold_of_subjects(subjects: list[str], num_folds: int, scheme: str = "round_robin"
                     ) -> dict[str, int]:
    """Subject id -> fold: round-robin over the sorted ids, or contiguous blocks of them."""
    if scheme not in FOLD_SCHEMES:
        raise InvalidInputError(f"unknown fold_scheme {scheme!r}; valid: {', '.join(FOLD_SCHEMES)}")
    ordered = sorted(set(subjects))
    if scheme == "contiguous":
        return {s: index * num_folds // len(ordered) for index, s in enumerate(ordered)}
    return {subject: index % num_folds for index, subject in enumerate(ordered)}


def select_split(items: list[Item], split: str, fold: int, num_folds: int,
                 scheme: str = "round_robin") -> list[Item]:
    """Items of split "all", "train" (every fold but `fold`) or "test" (fold `fold`)."""
    if num_folds < 2:
        raise InvalidInputError(f"num_folds must be >= 2, got {num_folds}")
    if not 0 <= fold < num_folds:
        raise InvalidInputError(f"fold must be in 0..{num_folds - 1}, got {fold}")
    if split == "all":
        return items
    folds = fold_of_subjects([item.subject for item in items], num_folds, scheme)
    want_test = split == "test"
    return [item for item in items if (folds[item.subject] == fold) == want_test]
