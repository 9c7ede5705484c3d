"""Training data as a LightningDataModule over scancci.data.

Validation: a stratified, seeded carve of the training data (`data.val_fraction`), unless the
recipe names a validation source. The test split is kept apart and evaluated once, after
training, on the model selected on validation. `protocol: original` trains on all the
training data and validates (selects the epoch, fits the temperature) on the test split, as
the authors' scripts do (main_rafdb.py:222); its test numbers are then optimistic.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import lightning as L
import torch
from torch.utils.data import ConcatDataset, DataLoader, Dataset

from scancci.data import FERDataset, build_transforms, class_names, open_dataset, stratified_split
from scancci.devices import uses_gpu
from scancci.errors import DatasetError
from scancci.train.config import DataSource, TrainConfig
from scancci.train.sampling import EpochSampler

log = logging.getLogger(__name__)


class TransformedSubset(Dataset):
    """Items `indices` of a dataset returning PIL images, with a transform of its own;
    `targets` are the base dataset's labels."""

    def __init__(self, base: Dataset, indices: Sequence[int], transform: Callable[..., Any],
                 targets: Sequence[int], classes: Sequence[str] | None = None) -> None:
        self.base, self.indices, self.transform = base, list(indices), transform
        self.targets = [targets[i] for i in self.indices]
        if classes is not None:
            self.classes = tuple(classes)

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, key: int | tuple[int, int]) -> tuple[Any, Any]:
        """Item `key`, or `(index, seed)` from EpochSampler: augmentation seeded per item."""
        if isinstance(key, tuple):
            index, seed = key
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(seed)  # seeds label draws (soft label modes) and augmentation
                image, target = self.base[self.indices[index]]
                return self.transform(image), target
        image, target = self.base[self.indices[key]]
        return self.transform(image), target


def own_classes(config: TrainConfig) -> tuple[str, ...] | None:
    """The run's label set when it is not the canonical 7/8 classes (neutral, happy, sad; or
    a folder dataset's no_pain, mild_pain, severe_pain), else None."""
    names = config.model.class_names
    if not names or (config.model.num_classes in (7, 8)
                     and tuple(names) == class_names(config.model.num_classes)):
        return None
    return tuple(names)


def table_label(role: str, source: DataSource) -> str:
    """The name a source's row carries in tables: its own name, "test" for an unnamed test
    source, else its dataset."""
    return source.name or ("test" if role == "test" else source.dataset)


def _first_problem(dataset: Any) -> str:
    problems = getattr(dataset, "problems", [])
    return f"; first problem: {problems[0]}" if problems else ""


def source_root(config: TrainConfig, source: DataSource) -> Path | None:
    """The folder of a source: its own root (a path or a key of data.roots), else the default."""
    data = config.data
    if source.root is not None:  # a key of data.roots ("masked"), else a path
        is_path = "/" in source.root or Path(source.root).expanduser().exists()
        chosen = data.roots.get(source.root, source.root if is_path else None)
    else:
        chosen = data.roots.get(source.dataset.split("_")[0], data.root)
    return Path(chosen).expanduser() if chosen else None


def open_source(config: TrainConfig, source: DataSource, *, fold: int | None = None,
                transform: Callable[..., Any] | None = None) -> FERDataset:
    """Open one source with the model's number of classes; missing roots -> DatasetError."""
    root = source_root(config, source)
    key = source.root or source.dataset.split("_")[0]
    if root is None:
        raise DatasetError(
            f"no folder for the {key!r} data ({source.dataset}, split {source.split}): pass "
            + (f"--data {key}=PATH" if source.root is not None else f"--data PATH (or --data "
               f"{key}=PATH)"))
    if not root.exists():
        raise DatasetError(f"{source.dataset} data folder {root} does not exist: check --data")
    options = dict(source.options)
    if fold is not None:
        options.setdefault("fold", fold)
        options.setdefault("num_folds", config.data.folds)
        options.setdefault("fold_scheme", config.data.fold_scheme)
        if config.data.fold_lists is not None:
            options.setdefault("fold_lists", config.data.fold_lists)
    names = own_classes(config)
    dataset = open_dataset(source.dataset, root, split=source.split, classes=names,
                           num_classes=None if names else config.model.num_classes, **options)
    if transform is not None:
        dataset.transform = transform
    return dataset


@dataclass
class Splits:
    """The data splits, the robustness subsets (by table label) and the training class counts."""

    train: TransformedSubset
    val: TransformedSubset | FERDataset
    test: FERDataset | None
    class_counts: list[int]
    subsets: dict[str, FERDataset]


class FERDataModule(L.LightningDataModule):
    """Train / val / test loaders for one TrainConfig (and one fold of k-fold recipes)."""

    def __init__(self, config: TrainConfig, *, input_size: int, mean: Sequence[float],
                 std: Sequence[float], fold: int | None = None, evaluation: bool = True) -> None:
        super().__init__()
        self.config, self.fold, self.evaluation = config, fold, evaluation
        self.input_size, self.mean, self.std = input_size, tuple(mean), tuple(std)
        self.splits: Splits | None = None
        # (role, source, dataset as opened) of every source read, and the subsets skipped
        self.opened: list[tuple[str, DataSource, Any]] = []
        self.skipped: dict[str, str] = {}

    def transforms(self, train: bool) -> Callable[..., Any]:
        augment = self.config.data.augment if train else {}
        return build_transforms(train=train, input_size=self.input_size, mean=self.mean,
                                std=self.std, resize_last=self.config.original_protocol,
                                **augment)

    def prepare(self) -> Splits:
        """Open every split once (also usable without a Trainer)."""
        if self.splits is None:
            self.splits = self._open()
        return self.splits

    def setup(self, stage: str | None = None) -> None:
        self.prepare()

    def _open_all(self, eval_tf: Callable[..., Any]) -> tuple[list[Any], Any, Any, dict[str, Any]]:
        """Every source the run will read (train, val, test, subsets; with `evaluation` False
        only what selection needs), opened before the first epoch; what is missing is
        reported at once, in one message, and an optional subset that is absent is said."""
        config, data = self.config, self.config.data
        missing: list[str] = []

        def attempt(role: str, source: DataSource, **kwargs: Any) -> Any:
            try:
                dataset = open_source(config, source, fold=self.fold, **kwargs)
            except DatasetError as err:
                if source.optional:
                    self.skipped[source.label] = str(err)
                else:
                    missing.append(f"{role} {source.label!r}: {err}")
                return None
            if role == "subset" and not len(dataset):
                self.skipped[source.label] = "no usable images"
                return None
            self.opened.append((role, source, dataset))
            return dataset

        test_needed = self.evaluation or config.original_protocol
        parts = [attempt("train", s) for s in data.train]
        val = attempt("val", data.val, transform=eval_tf) if data.val is not None else None
        test = (attempt("test", data.test, transform=eval_tf)
                if data.test is not None and test_needed else None)
        subsets = {s.label: attempt("subset", s, transform=eval_tf)
                   for s in (data.subsets if self.evaluation else [])}
        if missing:
            raise DatasetError(f"recipe {config.name!r} cannot start (nothing was trained): "
                               + "; ".join(missing))
        return parts, val, test, {k: v for k, v in subsets.items() if v is not None}

    def _open(self) -> Splits:
        config, data = self.config, self.config.data
        train_tf, eval_tf = self.transforms(True), self.transforms(False)
        parts, val, test, subsets = self._open_all(eval_tf)
        for part in parts:
            if len(part) == 0:
                raise DatasetError(f"{part.name} ({part.split}) holds no usable images"
                                   + _first_problem(part))
        train_all = parts[0] if len(parts) == 1 else ConcatDataset(parts)
        targets = [t for part in parts for t in part.targets]
        outside = sorted({t for t in targets if not 0 <= t < config.model.num_classes})
        if outside:  # checked once here, so the training step needs no per-batch check
            raise DatasetError(f"recipe {config.name!r}: training labels {outside} are outside "
                               f"0..{config.model.num_classes - 1} (model.num_classes)")
        if config.original_protocol:  # the authors' protocol: no carve, validate on test
            if test is None:
                raise DatasetError(f"--protocol original: recipe {config.name!r} has no test "
                                   "split to select the epoch on")
            log.warning("protocol original: selecting the epoch and fitting the temperature on "
                        "the TEST split, as the original code did; the test number is optimistic")
            train_idx, val = list(range(len(targets))), test
        elif val is not None:
            train_idx = list(range(len(targets)))
        else:
            train_idx, val_idx = stratified_split(targets, data.val_fraction,
                                                  seed=config.trainer.seed)
            val = TransformedSubset(train_all, val_idx, eval_tf, targets, parts[0].classes)
        train = TransformedSubset(train_all, train_idx, train_tf, targets, parts[0].classes)
        if len(train) == 0:
            raise DatasetError(f"recipe {config.name!r}: no training items left")
        counts = torch.bincount(torch.as_tensor(train.targets),
                                minlength=config.model.num_classes).tolist()
        return Splits(train, val, test, counts, subsets)

    def _loader(self, dataset: TransformedSubset | FERDataset, *, train: bool) -> DataLoader:
        data = self.config.data
        batch = data.batch_size if train else (data.eval_batch_size or data.batch_size)
        sampler = None
        if train:
            sampler = EpochSampler(dataset, dataset.targets, balanced=data.balance == "resample",
                                   seed=self.config.trainer.seed)
        # the original keeps the last, partial batch; the honest default drops it (BatchNorm
        # statistics of a batch of 1-2 images are noise)
        drop_last = train and len(dataset) > batch and not self.config.original_protocol
        return DataLoader(dataset, batch_size=batch, sampler=sampler, shuffle=False,
                          num_workers=data.num_workers, persistent_workers=data.num_workers > 0,
                          drop_last=drop_last,
                          pin_memory=uses_gpu(self.config.trainer.accelerator))

    def train_dataloader(self) -> DataLoader:
        return self._loader(self.prepare().train, train=True)

    def val_dataloader(self) -> DataLoader:
        return self._loader(self.prepare().val, train=False)

    def test_dataloader(self) -> DataLoader:
        test = self.prepare().test
        if test is None:
            raise DatasetError(f"recipe {self.config.name!r} has no test split")
        return self._loader(test, train=False)
