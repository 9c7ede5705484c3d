"""A run's record: its provenance (what was trained, on what, how) and its one-time results.

Training writes the record once (eval/results.json, provenance.json in the run folder, and the
provenance inside model.json); every later command reads it instead of guessing: `evaluate`
takes the dataset and split from it, `calibrate` the validation split, `report` groups by it.
The reports (`scancci.evaluate.report`) are rendered from records only.
"""

from __future__ import annotations

import csv
import dataclasses
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from scancci.errors import InvalidInputError
from scancci.evaluate.figures import pyplot, save_figure
from scancci.evaluate.metrics import ClassificationMetrics

RESULTS_FILE = "results.json"
PROVENANCE_FILE = "provenance.json"


@dataclass
class DataRecord:
    """One data source as a run read it: reader, split, options, list files and what was lost."""

    role: str  # "train", "val", "test" or "subset"
    name: str  # its label in tables
    dataset: str  # reader name (scancci data list)
    split: str
    root: str | None = None
    options: dict[str, Any] = field(default_factory=dict)
    files: list[dict[str, Any]] = field(default_factory=list)  # {"path", "bytes", "sha256"}
    items: int | None = None
    dropped: int = 0  # unusable entries skipped (missing image, unknown label...)
    excluded: dict[str, int] = field(default_factory=dict)  # dropped by the dataset's protocol

    @property
    def key(self) -> tuple[str, str, str, str]:
        """What makes two runs' data the same: reader, split and options (not the folder)."""
        return (self.role, self.dataset, self.split, json.dumps(self.options, sort_keys=True))


@dataclass
class Provenance:
    """The facts of a training run, recorded once and read by every later command."""

    recipe: str
    architecture: str
    num_classes: int
    class_names: list[str]
    input_size: int
    protocol: str  # "honest" or "original"
    seed: int
    data: list[DataRecord]
    validation: str  # where the epoch was selected and the temperature fitted, in words
    val_fraction: float | None  # the carve of the training data; None: a split of its own
    trunk_init: str  # "random", "imagenet", a weights file, or "from INIT_FROM"
    precision: str  # resolved ("bf16-mixed", "32-true"), never "auto"
    optim: dict[str, Any]  # trunk_lr, head_lr (as trained, after lr scaling), weight_decay...
    batch_size: int  # per process
    processes: int  # devices x nodes
    accumulate: int
    epochs: int
    tta_flip: bool
    scancci_version: str
    description: str = ""
    original_script: str | None = None
    init_from: str | None = None
    lr_scaling: str = "none"
    sync_batchnorm: bool = False
    skipped: list[str] = field(default_factory=list)  # subsets not evaluated, with the reason
    fold: int | None = None  # k-fold recipes: the fold this model was trained on
    config: dict[str, Any] = field(default_factory=dict)  # the resolved TrainConfig

    @property
    def global_batch(self) -> int:
        """Images per optimizer step over every process."""
        return self.batch_size * self.processes * self.accumulate

    @property
    def original(self) -> bool:
        return self.protocol == "original"

    def sources(self, role: str) -> list[DataRecord]:
        return [d for d in self.data if d.role == role]

    @property
    def test(self) -> DataRecord | None:
        found = self.sources("test")
        return found[0] if found else None

    def group_key(self) -> tuple[Any, ...]:
        """Runs with equal keys may be averaged: architecture, recipe, protocol and data."""
        data = tuple(sorted(d.key for d in self.data if d.role in ("train", "val", "test")))
        return (self.architecture, self.recipe, self.protocol, self.num_classes, data)

    def warnings(self) -> list[str]:
        """What the run did that a reader must not miss: skipped subsets, dropped entries, a
        randomly initialised trunk."""
        lines = [f"subset {s}" for s in self.skipped]
        for d in self.data:
            if d.dropped:
                lines.append(f"{d.role} {d.name} ({d.dataset}, {d.split}): {d.dropped} unusable "
                             "entries dropped (`scancci data check` lists them)")
        if self.trunk_init == "random":
            lines.append(f"the {self.architecture} trunk started from RANDOM weights (no "
                         "--backbone-weights): expect far lower accuracy than the paper")
        return lines

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Provenance:
        """Inverse of `to_dict`; unknown keys (a newer scancci) are ignored."""
        names = {f.name for f in dataclasses.fields(cls)}
        kwargs = {k: v for k, v in data.items() if k in names}
        record_names = {f.name for f in dataclasses.fields(DataRecord)}
        kwargs["data"] = [DataRecord(**{k: v for k, v in d.items() if k in record_names})
                          for d in data.get("data", [])]
        try:
            return cls(**kwargs)
        except TypeError as err:
            raise InvalidInputError(f"a run's provenance lacks fields: {err}") from None


def provenance_of(model: Any) -> Provenance | None:
    """The provenance a saved model carries (model.json), None for models saved without one."""
    data = getattr(getattr(model, "config", None), "provenance", None)
    return Provenance.from_dict(data) if data else None


@dataclass
class RunRecord:
    """What the reports are rendered from: a run's results and everything known about them."""

    label: str  # the folder (or model) it came from
    results: dict[str, ClassificationMetrics]
    provenance: Provenance | None = None
    monitor: str | None = None
    best_score: float | None = None
    epochs: int | None = None
    calibration: dict[str, Any] | None = None  # Calibration.to_dict() and the set it was shown on
    model: str | None = None
    tta_flip: bool | None = None
    folds: list[RunRecord] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"sets": {name: m.to_dict() for name, m in self.results.items()},
                "monitor": self.monitor, "best_score": self.best_score, "epochs": self.epochs,
                "calibration": self.calibration, "model": self.model, "tta_flip": self.tta_flip,
                "provenance": self.provenance.to_dict() if self.provenance else None}

    @classmethod
    def from_json(cls, data: Mapping[str, Any], label: str) -> RunRecord:
        provenance = data.get("provenance")
        return cls(label, {name: ClassificationMetrics.from_dict(d)
                           for name, d in data["sets"].items()},
                   provenance=Provenance.from_dict(provenance) if provenance else None,
                   monitor=data.get("monitor"), best_score=data.get("best_score"),
                   epochs=data.get("epochs"), calibration=data.get("calibration"),
                   model=data.get("model"), tta_flip=data.get("tta_flip"))


def slug(name: str) -> str:
    """A set name as a file-name part ("pose>30" -> "pose_30")."""
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in name).strip("_") or "set"


def write_confusion_csv(metrics: ClassificationMetrics, path: str | Path) -> Path:
    """Counts, rows = true class, columns = predicted class, with class-name headers."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["true \\ predicted", *metrics.class_names])
        for name, row in zip(metrics.class_names, metrics.confusion, strict=True):
            writer.writerow([name, *(int(v) for v in row)])
    return path


def plot_confusion(metrics: ClassificationMetrics, path: str | Path, title: str = "") -> Path:
    """Row-normalised confusion matrix as a PNG, with the counts printed in each cell."""
    plt = pyplot()

    counts = metrics.confusion
    rows = counts.sum(axis=1, keepdims=True)
    share = np.divide(counts, rows, out=np.zeros(counts.shape, dtype=float), where=rows > 0)
    n = len(metrics.class_names)
    fig, ax = plt.subplots(figsize=(1.0 + 0.75 * n, 0.8 + 0.7 * n))
    ax.imshow(share, cmap="Blues", vmin=0, vmax=1)
    for i in range(n):
        for j in range(n):
            ax.text(j, i, f"{counts[i, j]}", ha="center", va="center", fontsize=8,
                    color="white" if share[i, j] > 0.5 else "black")
    ax.set_xticks(range(n), metrics.class_names, rotation=45, ha="right")
    ax.set_yticks(range(n), metrics.class_names)
    ax.set(xlabel="predicted", ylabel="true",
           title=title or f"accuracy {100 * metrics.accuracy:.1f}%")
    return save_figure(fig, path)


def write_record(record: RunRecord, out_dir: str | Path, plots: bool = True) -> Path:
    """results.json (the record) plus confusion_<set>.csv/.png for every set; the JSON path."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for name, m in record.results.items():
        write_confusion_csv(m, out / f"confusion_{slug(name)}.csv")
        if plots:
            plot_confusion(m, out / f"confusion_{slug(name)}.png", title=name)
    path = out / RESULTS_FILE
    write_json(path, record.to_json())
    return path


def write_json(path: Path, data: Any) -> None:
    """`data` as JSON at `path`, replacing the file in one step (never half written)."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n")
    tmp.replace(path)


def _results_files(path: Path) -> list[Path]:
    if not path.is_dir():
        return [path]
    own = [p for p in (path / RESULTS_FILE, path / "eval" / RESULTS_FILE) if p.is_file()]
    return own[:1] or sorted(path.glob(f"fold_*/eval/{RESULTS_FILE}"))


def read_run(path: str | Path) -> RunRecord:
    """The record of a run folder (train, reproduce), an evaluate --output folder or a
    results.json; a k-fold run gives one record holding its folds."""
    path = Path(path)
    files = _results_files(path)
    if not files or not all(f.is_file() for f in files):
        raise InvalidInputError(f"{path} holds no {RESULTS_FILE}: pass a finished run folder "
                                "(scancci train / reproduce) or an evaluate --output folder")
    records = [RunRecord.from_json(json.loads(f.read_text()), str(f.parent.parent
               if f.parent.name == "eval" else f.parent)) for f in files]
    stored = path / PROVENANCE_FILE if path.is_dir() else None
    provenance = (Provenance.from_dict(json.loads(stored.read_text()))
                  if stored is not None and stored.is_file() else records[0].provenance)
    if len(files) == 1 and files[0].parent in (path, path / "eval"):
        record = records[0]
        record.label, record.provenance = str(path), record.provenance or provenance
        return record
    return RunRecord(str(path), {}, provenance=provenance, folds=records)
