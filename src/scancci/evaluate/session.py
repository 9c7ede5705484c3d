"""Evaluate one or several saved models on a dataset and its robustness subsets in one go.

This is what `scancci evaluate` runs: the test split, every subset found (occlusion, pose
> 30, pose > 45 lists under ROOT/subsets/, a masked copy of the test set), one table per
model. A model saved by a training run carries its provenance: the dataset, split, reader
options and folder it was tested on are read from it, and an explicit argument that differs is
used and said. Several models are grouped by architecture, recipe, protocol and data, with a
mean ± std only within a group.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scancci.data import class_names, list_datasets, open_dataset
from scancci.data.registry import evaluation_split
from scancci.errors import DatasetError, InvalidInputError
from scancci.evaluate.evaluate import EvalReport, as_model, eval_transform, evaluate_sets
from scancci.evaluate.metrics import ClassificationMetrics
from scancci.evaluate.record import Provenance, RunRecord, provenance_of, write_record
from scancci.evaluate.report import runs_report

log = logging.getLogger(__name__)

SUBSETS = {"occlusion": "occlusion", "pose30": "pose>30", "pose45": "pose>45"}


@dataclass
class EvaluationSession:
    """Per model: set name -> EvalReport and its record; the sets skipped and why; the
    arguments that overrode what a model's run recorded."""

    models: list[str]
    reports: list[dict[str, EvalReport]]
    records: list[RunRecord] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)
    overrides: list[str] = field(default_factory=list)

    @property
    def metrics(self) -> list[dict[str, ClassificationMetrics]]:
        return [{k: r.metrics for k, r in run.items()} for run in self.reports]

    def markdown(self) -> str:
        """Grouped tables (scancci.evaluate.report), after the overrides, if any."""
        text = runs_report(self.records, title="Evaluation", skipped=self.skipped)
        if not self.overrides:
            return text
        head, _, rest = text.partition("\n\n")
        return "\n".join([head, "", *(f"- {o}" for o in self.overrides), "", rest])


@dataclass(frozen=True)
class EvalData:
    """What to evaluate a model on: reader, folder, split and reader options."""

    dataset: str
    root: Path
    split: str
    options: dict[str, Any]


def resolve_eval_data(model_label: str, provenance: Provenance | None, *, dataset: str | None,
                      root: str | Path | None, split: str | None) -> tuple[EvalData, list[str]]:
    """The data to evaluate on: the run's test source, with any explicit argument winning;
    the second value says, per argument, that it overrode the run."""
    test = provenance.test if provenance is not None else None
    if test is None:
        if dataset is None or root is None:
            missing = " and ".join(f for f, v in (("--dataset", dataset), ("--data", root))
                                   if v is None)
            raise InvalidInputError(
                f"{model_label} records no training run (no provenance in its model.json), so "
                f"{missing} must say what to evaluate on, e.g. --dataset affectnet --data "
                "/data/AffectNet (see `scancci data list`)")
        chosen = EvalData(dataset, Path(root), split or evaluation_split(dataset), {})
        return chosen, []
    notes = []
    same_reader = dataset is None or dataset == test.dataset
    chosen_dataset = dataset or test.dataset
    if not same_reader:
        notes.append(f"{model_label}: --dataset {dataset} overrode the run's test data "
                     f"({test.dataset})")
    chosen_split = split or (test.split if same_reader else evaluation_split(chosen_dataset))
    if split is not None and same_reader and split != test.split:
        notes.append(f"{model_label}: --split {split} overrode the run's test split "
                     f"({test.split})")
    if root is None and test.root is None:
        raise InvalidInputError(f"{model_label}: its run records no data folder; pass --data")
    chosen_root = Path(root) if root is not None else Path(str(test.root))
    if root is not None and test.root is not None and same_reader \
            and Path(root).expanduser().resolve() != Path(test.root).expanduser().resolve():
        notes.append(f"{model_label}: --data {root} overrode the run's test folder "
                     f"({test.root})")
    options = dict(test.options) if same_reader else {}
    return EvalData(chosen_dataset, chosen_root, chosen_split, options), notes


def reader_classes(model: Any) -> dict[str, Any]:
    """Reader arguments giving the model's label set: its number of classes, and its class
    names where they are the user's own (folder and CSV datasets name classes freely)."""
    names = tuple(model.config.class_names)
    num = model.config.num_classes
    if num in (7, 8) and names == class_names(num):
        return {"num_classes": num}
    return {"num_classes": num, "classes": list(names)}


def open_eval_sets(model: Any, data: EvalData, *, subsets: Sequence[str] | None,
                   masked: str | Path | None) -> tuple[dict[str, Any], dict[str, str]]:
    """{label: dataset} for the split, the subsets (None: every one found) and a masked copy;
    the first row is labelled with the split actually read."""
    kwargs = {**reader_classes(model), "transform": eval_transform(model), **data.options}
    if not data.root.exists():
        raise DatasetError(f"dataset folder {data.root} does not exist")
    sets = {data.split: open_dataset(data.dataset, data.root, split=data.split, **kwargs)}
    skipped: dict[str, str] = {}
    wanted = list(SUBSETS) if subsets is None else list(subsets)
    for subset in wanted:
        if subset not in SUBSETS:
            raise InvalidInputError(f"unknown subset {subset!r}; valid: {', '.join(SUBSETS)}")
        name = f"{data.dataset}_{subset}"
        if name not in list_datasets():
            skipped[SUBSETS[subset]] = f"{data.dataset} has no {subset} subset"
            continue
        try:
            sets[SUBSETS[subset]] = open_dataset(name, data.root, **kwargs)
        except DatasetError as err:
            if subsets is not None:  # asked for by name: an error, not a silent skip
                raise
            skipped[SUBSETS[subset]] = str(err)
    if masked is not None:
        sets["masked"] = open_dataset(data.dataset, masked, split=data.split, **kwargs)
    return sets, skipped


def evaluate_models(
    models: Sequence[str | Path],
    dataset: str | None = None,
    root: str | Path | None = None,
    *,
    split: str | None = None,
    subsets: Sequence[str] | None = None,
    masked: str | Path | None = None,
    tta_flip: bool = False,
    device: str = "cpu",
    batch_size: int = 64,
    out: str | Path | None = None,
    progress: bool = True,
) -> EvaluationSession:
    """Evaluate each model on its run's test data (or on `dataset`/`root`/`split` when given);
    `out` gets results.json and confusion matrices per model, and report.md."""
    if not models:
        raise InvalidInputError("give at least one model")
    session = EvaluationSession([str(m) for m in models], [])
    for index, path in enumerate(models):
        model = as_model(path, device)
        provenance = provenance_of(model)
        data, notes = resolve_eval_data(str(path), provenance, dataset=dataset, root=root,
                                        split=split)
        session.overrides += notes
        sets, skipped = open_eval_sets(model, data, subsets=subsets, masked=masked)
        session.skipped.update(skipped)
        reports = evaluate_sets(model, sets, batch_size=batch_size, tta_flip=tta_flip,
                                device=device, progress=progress)
        session.reports.append(reports)
        record = RunRecord(str(path), {k: r.metrics for k, r in reports.items()},
                           provenance=provenance, model=str(path), tta_flip=tta_flip)
        session.records.append(record)
        if out is not None:
            write_record(record, Path(out) / (f"model_{index}" if len(models) > 1 else ""))
    for note in session.overrides:
        log.warning("scancci: %s", note)
    if out is not None:
        (Path(out) / "report.md").write_text(session.markdown())
    return session
