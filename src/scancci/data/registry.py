"""One entry point for every dataset: `open_dataset(name, root, split=...)`.

The readers are declared once, as data (name -> module, splits, one-line description), so the
CLI help, `list_datasets()` and error messages all agree; a reader module is imported only when
its dataset is opened.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image

from scancci.data.base import DatasetSummary, FERDataset
from scancci.data.labels import CLASS_NAMES
from scancci.errors import DatasetError, unknown_name


@dataclass(frozen=True)
class DatasetInfo:
    """Where a reader lives and what it offers."""

    name: str
    module: str  # scancci.data.readers.<module>
    function: str
    splits: tuple[str, ...]
    description: str
    eval_split: str  # the split results are reported on (test, or val where no test is public)
    own_classes: bool = False  # reads a label set of the user's own (folder and CSV datasets)


_READERS: dict[str, DatasetInfo] = {}


def _register(name: str, module: str, splits: tuple[str, ...], description: str,
              function: str | None = None, eval_split: str = "test",
              own_classes: bool = False) -> None:
    if name in _READERS:
        raise ValueError(f"dataset {name!r} registered twice")
    if eval_split not in splits:
        raise ValueError(f"dataset {name!r}: evaluation split {eval_split!r} not in {splits}")
    _READERS[name] = DatasetInfo(name, module, function or f"open_{module}", splits, description,
                                 eval_split, own_classes)


_register("rafdb", "rafdb", ("train", "test"), "RAF-DB basic (list_patition_label.txt)")
_register("affectnet", "affectnet", ("train", "val"),
          "AffectNet, CSV release (Manually_Annotated_file_lists) or npy release (train_set/)",
          eval_split="val")  # the official validation set (500 per class) is the test set
_register("ferplus", "ferplus", ("train", "val", "test", "train+val"),
          "FERPlus (fer2013new.csv or FER2013Train/Valid/Test label.csv)")
_register("sfew", "folder", ("train", "val"),
          "SFEW 2.0 (Train/, Val/ with one folder per emotion)", "open_sfew",
          eval_split="val")  # SFEW's test labels are not public
_register("ckplus", "ckplus", ("all", "train", "test"),
          "CK+ (last 3 frames + neutral first frame, 10 subject-independent folds)")
_register("oulu", "oulu", ("all", "train", "test"),
          "Oulu-CASIA (last 3 frames + neutral first frame, 10 subject-independent folds)")
_register("jaffe", "jaffe", ("all", "train", "test"), "JAFFE (label coded in the file name)")
_register("fedro", "folder", ("test",), "FED-RO (real occlusions, one folder per emotion)",
          "open_fedro")
_register("rafdb_occlusion", "subsets", ("test",), "Occlusion-RAF-DB test list (RAN paper)",
          "open_rafdb_subset")
_register("rafdb_pose30", "subsets", ("test",), "Pose-RAF-DB > 30 deg test list",
          "open_rafdb_subset")
_register("rafdb_pose45", "subsets", ("test",), "Pose-RAF-DB > 45 deg test list",
          "open_rafdb_subset")
_register("affectnet_occlusion", "subsets", ("val",), "Occlusion-AffectNet validation list",
          "open_affectnet_subset", eval_split="val")
_register("affectnet_pose30", "subsets", ("val",), "Pose-AffectNet > 30 deg validation list",
          "open_affectnet_subset", eval_split="val")
_register("affectnet_pose45", "subsets", ("val",), "Pose-AffectNet > 45 deg validation list",
          "open_affectnet_subset", eval_split="val")
_register("ferplus_occlusion", "subsets", ("test",), "Occlusion-FERPlus test list",
          "open_ferplus_subset")
_register("ferplus_pose30", "subsets", ("test",), "Pose-FERPlus > 30 deg test list",
          "open_ferplus_subset")
_register("ferplus_pose45", "subsets", ("test",), "Pose-FERPlus > 45 deg test list",
          "open_ferplus_subset")
_register("folder", "folder", ("train", "val", "test", "all"),
          "your own data: ROOT/[SPLIT/]<class>/*.jpg (emotion words, or classes=[...])",
          own_classes=True)
_register("csv", "csv", ("train", "val", "test", "all"),
          "your own data: a CSV with path and label columns (and optionally split)",
          own_classes=True)


def list_datasets() -> list[str]:
    """Names accepted by `open_dataset`, sorted."""
    return sorted(_READERS)


def evaluation_split(name: str) -> str:
    """The split a dataset's results are reported on: "test", or "val" where owners keep the
    test labels (AffectNet, SFEW). The one default of `scancci evaluate` and the Python API."""
    return dataset_info(name).eval_split


def dataset_info(name: str) -> DatasetInfo:
    """Reader information for `name`; unknown names get close-match suggestions."""
    if name not in _READERS:
        raise unknown_name("dataset", name, _READERS)
    return _READERS[name]


def open_dataset(
    name: str,
    root: str | Path,
    *,
    split: str | None = None,
    num_classes: int | None = None,
    classes: Sequence[str] | None = None,
    transform: Callable[[Image.Image], Any] | None = None,
    **options: Any,
) -> FERDataset:
    """Open dataset `name` from its native layout under `root`, labels in canonical order.

    `split` None is the dataset's default: "train" where the owners ship a training split,
    "all" for CK+, Oulu-CASIA, JAFFE and your own folders/CSV, "test" for FED-RO and subsets.
    `num_classes` None keeps the dataset's own 7/8-class default; `options` go to the reader
    (see docs/datasets.md, e.g. `label_mode` for FERPlus, `max_per_class` for AffectNet).
    `classes` is a label set: on your own folders/CSV any names (the folder or label named so),
    on the other datasets canonical names (neutral, happy, sad: the items of those classes,
    renumbered in that order).
    """
    info = dataset_info(name)
    module = importlib.import_module(f"scancci.data.readers.{info.module}")
    reader = getattr(module, info.function)
    if info.module == "subsets":
        options["subset"] = name.split("_", 1)[1]
    if split is not None:
        options["split"] = split
    if classes is not None and info.own_classes:
        return reader(root, num_classes=num_classes, classes=classes, transform=transform,
                      **options)
    if classes is not None:
        unknown = [c for c in classes if c not in CLASS_NAMES]
        if unknown:
            raise DatasetError(
                f"{name} labels its images with the canonical classes ({', '.join(CLASS_NAMES)})"
                f"; {unknown} are not among them: use canonical names, or your own data as a "
                "folder or csv dataset")
        view = 8 if "contempt" in classes else 7
        return reader(root, num_classes=view, transform=transform, **options).relabel(classes)
    return reader(root, num_classes=num_classes, transform=transform, **options)


# Splits `scancci data summary` shows when no split is given (folds and merged splits left out).
_SUMMARY_SPLITS = {"ferplus": ("train", "val", "test"),
                   "folder": ("train", "val", "test", "all"), "csv": ("train", "val", "test", "all")}


def summarize_dataset(
    name: str,
    root: str | Path,
    *,
    split: str | None = None,
    num_classes: int | None = None,
    check: bool = False,
    **options: Any,
) -> list[DatasetSummary]:
    """Summaries of one split, or of every split the dataset has; `check` opens every image."""
    info = dataset_info(name)
    if split is not None:
        splits: tuple[str, ...] = (split,)
    else:
        splits = _SUMMARY_SPLITS.get(name, ("all",) if "all" in info.splits else info.splits)
    summaries: list[DatasetSummary] = []
    errors: list[DatasetError] = []
    for one in splits:
        if info.own_classes and one == "all" and summaries:
            continue  # "all" only when the data has no split folders/column
        try:
            dataset = open_dataset(name, root, split=one, num_classes=num_classes, **options)
        except DatasetError as err:
            if split is not None:
                raise
            errors.append(err)
            if not info.own_classes:  # the owners ship every split: one missing is a problem
                summaries.append(DatasetSummary(name, str(root), one, (), {}, missing=str(err)))
            continue  # your own folders/CSV need not have every split
        summaries.append(dataset.check() if check else dataset.summary())
    if not any(s.missing is None for s in summaries):
        raise errors[0]
    return summaries
