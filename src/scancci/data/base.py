"""The dataset every reader returns, and the summary that accounts for every entry.

Readers turn a dataset's native files into `FERDataset(samples, ...)`: a list of
(image path, canonical label) with lazy image loading. Everything a reader could not use is
recorded either as a `Problem` (a broken entry: missing file, unknown label, duplicate, ...,
naming the file and line) or as an exclusion (an entry the dataset's protocol drops, such as
AffectNet "uncertain" or contempt in a 7-class view), so nothing is dropped without a count.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset
from tqdm import tqdm

from scancci.data.labels import class_names
from scancci.errors import DatasetError, InvalidInputError
from scancci.imaging import load_image


@dataclass(frozen=True)
class Problem:
    """One unusable entry: which file, which line (when a list file), what and why."""

    path: str
    reason: str  # short category, counted in the summary: "missing image", "unknown label", ...
    detail: str = ""
    line: int | None = None

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line is not None else self.path
        return f"{where}: {self.reason}" + (f" ({self.detail})" if self.detail else "")


@dataclass
class DatasetSummary:
    """Counts per class, protocol exclusions and problems; `str()` is a printable table."""

    name: str
    root: str
    split: str
    classes: tuple[str, ...]
    counts: dict[str, int]
    excluded: dict[str, int] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    missing: str | None = None  # the split could not be opened: the error, naming the file

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def problem_counts(self) -> dict[str, int]:
        return dict(Counter(p.reason for p in self.problems))

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (problems as strings)."""
        return {
            "name": self.name, "root": self.root, "split": self.split,
            "classes": list(self.classes), "counts": dict(self.counts), "total": self.total,
            "excluded": dict(self.excluded), "problem_counts": self.problem_counts,
            "problems": [str(p) for p in self.problems], "missing": self.missing,
        }

    def format(self, max_problems: int = 20) -> str:
        """The table printed by `scancci data summary`."""
        if self.missing is not None:
            return f"{self.name} ({self.split}) at {self.root}: MISSING: {self.missing}"
        width = max([len(c) for c in self.classes] + [8])
        lines = [f"{self.name} ({self.split}) at {self.root}: {self.total} images"]
        for index, name in enumerate(self.classes):
            count = self.counts.get(name, 0)
            share = 100.0 * count / self.total if self.total else 0.0
            lines.append(f"  {index}  {name:<{width}} {count:>7}  {share:5.1f}%")
        for reason, count in sorted(self.excluded.items()):
            lines.append(f"  excluded by protocol: {reason}: {count}")
        if self.problems:
            lines.append(f"  problems: {len(self.problems)}")
            for reason, count in sorted(self.problem_counts.items()):
                lines.append(f"    {reason}: {count}")
            for problem in self.problems[:max_problems]:
                lines.append(f"    - {problem}")
            if len(self.problems) > max_problems:
                lines.append(f"    ... and {len(self.problems) - max_problems} more")
        else:
            lines.append("  problems: none")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.format()


CropBox = tuple[float, float, float, float]  # x1, y1, x2, y2 in pixels


class FERDataset(Dataset):
    """Face images with canonical labels, loaded lazily; items are (image, label).

    `transform` receives a PIL RGB image (None: the PIL image is returned). The label is the
    canonical index (int), or, for soft label modes (FERPlus probability/crossentropy/
    multi_target), a float32 tensor of C probabilities in canonical order; `.targets` then holds
    the argmax so that samplers and stratified splits still work.
    """

    def __init__(
        self,
        samples: Sequence[tuple[str | Path, int]],
        *,
        num_classes: int = 7,
        name: str = "dataset",
        root: str | Path = "",
        split: str = "train",
        transform: Callable[[Image.Image], Any] | None = None,
        problems: Sequence[Problem] = (),
        excluded: dict[str, int] | None = None,
        soft_targets: np.ndarray | None = None,
        crops: Sequence[CropBox | None] | None = None,
        draw_from_soft: bool = False,
        subjects: Sequence[str] | None = None,
        classes: Sequence[str] | None = None,
        files: Sequence[str | Path] = (),
    ) -> None:
        self.samples: list[tuple[str, int]] = [(str(p), int(y)) for p, y in samples]
        self.targets: list[int] = [y for _, y in self.samples]
        # the canonical 7/8 names, or the user's own (folder and CSV datasets, relabel)
        self.classes: tuple[str, ...] = tuple(classes) if classes else class_names(num_classes)
        num_classes = len(self.classes)
        self.num_classes = num_classes
        self.files: list[str] = [str(f) for f in files]  # the list files / folders it was read from
        self.name, self.root, self.split = name, str(root), split
        self.transform = transform
        self.problems: list[Problem] = list(problems)
        self.excluded: dict[str, int] = dict(excluded or {})
        self.soft_targets = soft_targets
        self.crops = list(crops) if crops is not None else None
        # FERPlus "probability" mode: each access draws a one-hot label from the vote shares.
        self.draw_from_soft = draw_from_soft
        # Subject id per item (CK+, Oulu-CASIA, JAFFE), for subject-independent evaluation.
        self.subjects = list(subjects) if subjects is not None else None
        bad = [y for y in self.targets if not 0 <= y < num_classes]
        if bad:
            raise InvalidInputError(f"labels {sorted(set(bad))} outside 0..{num_classes - 1}")

    def __len__(self) -> int:
        return len(self.samples)

    def load(self, index: int) -> Image.Image:
        """The upright RGB image of one item (cropped to its face box when the reader has one)."""
        image = load_image(self.samples[index][0])
        box = self.crops[index] if self.crops is not None else None
        if box is not None:
            image = crop_box(image, box)
        return image

    def target(self, index: int) -> Any:
        """The item's label: int, or a C-vector of probabilities for soft label modes."""
        if self.soft_targets is not None:
            probs = torch.as_tensor(self.soft_targets[index], dtype=torch.float32)
            if self.draw_from_soft:
                drawn = int(torch.multinomial(probs, 1).item())
                probs = torch.nn.functional.one_hot(torch.tensor(drawn), len(probs)).float()
            return probs
        return self.targets[index]

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        image = self.load(index)
        if self.transform is not None:
            image = self.transform(image)
        return image, self.target(index)

    def class_counts(self) -> list[int]:
        """Number of items per class, in class order."""
        counts = np.bincount(np.asarray(self.targets, dtype=np.int64), minlength=self.num_classes)
        return [int(c) for c in counts]

    def summary(self) -> DatasetSummary:
        """Counts per class, exclusions and the problems found while reading the lists."""
        counts = dict(zip(self.classes, self.class_counts(), strict=True))
        return DatasetSummary(
            name=self.name, root=self.root, split=self.split, classes=self.classes,
            counts=counts, excluded=dict(self.excluded), problems=list(self.problems),
        )

    def check(self, progress: bool = True) -> DatasetSummary:
        """Open every image; unreadable ones are added to the problems (and kept listed)."""
        found: list[Problem] = []
        for index in tqdm(range(len(self)), desc=f"checking {self.name}", disable=not progress,
                          unit="img"):
            try:
                self.load(index)
            except InvalidInputError as err:
                found.append(Problem(self.samples[index][0], "unreadable image", str(err)))
        summary = self.summary()
        summary.problems.extend(found)
        return summary

    def subset(self, indices: Sequence[int]) -> FERDataset:
        """A dataset of the chosen items (same classes, transform and problems)."""
        indices = list(indices)
        soft = self.soft_targets[indices] if self.soft_targets is not None else None
        crops = [self.crops[i] for i in indices] if self.crops is not None else None
        subjects = [self.subjects[i] for i in indices] if self.subjects is not None else None
        return FERDataset(
            [self.samples[i] for i in indices], num_classes=self.num_classes, name=self.name,
            root=self.root, split=self.split, transform=self.transform, problems=self.problems,
            excluded=self.excluded, soft_targets=soft, crops=crops,
            draw_from_soft=self.draw_from_soft, subjects=subjects, classes=self.classes,
            files=self.files,
        )

    def relabel(self, names: Sequence[str]) -> FERDataset:
        """The items of the classes `names` (some of this dataset's classes), renumbered in that
        order; the other items are counted as excluded (a user label set such as neutral,
        happy, sad on a canonical dataset)."""
        names = tuple(names)
        unknown = [n for n in names if n not in self.classes]
        if unknown:
            raise DatasetError(f"{self.name} ({self.split}): classes {unknown} are not among its "
                               f"classes {list(self.classes)}")
        if self.soft_targets is not None:
            raise DatasetError(f"{self.name}: soft labels cannot be restricted to a label set; "
                               "use label_mode=majority")
        index = {n: i for i, n in enumerate(names)}
        keep = [i for i, y in enumerate(self.targets) if self.classes[y] in index]
        excluded = dict(self.excluded)
        if len(keep) < len(self):
            excluded["classes outside the label set"] = len(self) - len(keep)
        return FERDataset(
            [(self.samples[i][0], index[self.classes[self.targets[i]]]) for i in keep],
            name=self.name, root=self.root, split=self.split, transform=self.transform,
            problems=self.problems, excluded=excluded, classes=names, files=self.files,
            crops=[self.crops[i] for i in keep] if self.crops is not None else None,
            subjects=[self.subjects[i] for i in keep] if self.subjects is not None else None,
        )

    def __repr__(self) -> str:
        return (f"FERDataset(name={self.name!r}, split={self.split!r}, items={len(self)}, "
                f"classes={self.num_classes}, problems={len(self.problems)})")


def crop_box(image: Image.Image, box: CropBox) -> Image.Image:
    """Crop a face box, clipped to the image (a box fully outside raises InvalidInputError)."""
    x1, y1, x2, y2 = box
    left, top = max(0, int(round(x1))), max(0, int(round(y1)))
    right, bottom = min(image.width, int(round(x2))), min(image.height, int(round(y2)))
    if right - left < 2 or bottom - top < 2:
        raise InvalidInputError(
            f"face box {tuple(round(v, 1) for v in box)} lies outside the "
            f"{image.width}x{image.height} image"
        )
    return image.crop((left, top, right, bottom))


class ProblemLog:
    """Collects problems and exclusions while a reader walks its list files."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []
        self.excluded: Counter[str] = Counter()
        self.files: list[Path] = []  # the list files / folders the labels were read from

    def read(self, path: Path) -> Path:
        """Record that the labels come from `path` (the run's provenance names it)."""
        if path not in self.files:
            self.files.append(path)
        return path

    def add(self, path: str | Path, reason: str, detail: str = "", line: int | None = None
            ) -> None:
        self.problems.append(Problem(str(path), reason, detail, line))

    def exclude(self, reason: str, count: int = 1) -> None:
        self.excluded[reason] += count


def make_dataset(
    samples: Sequence[tuple[str | Path, int]], log: ProblemLog, **kwargs: Any
) -> FERDataset:
    """Build a FERDataset carrying the problems, exclusions and label files a reader collected."""
    return FERDataset(samples, problems=log.problems, excluded=dict(log.excluded),
                      files=log.files, **kwargs)
