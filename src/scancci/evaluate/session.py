"""Evaluate one or several saved models on a dataset and its robustness subsets in one go.

This is what `scancci evaluate` runs: the test split, every subset found (occlusion, pose
> 30, pose > 45 lists under ROOT/subsets/, a masked copy of the test set), one table per
model and mean +- std over models when several are given (e.g. runs with other seeds).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scancci.data import list_datasets, open_dataset, stratified_split
from scancci.data.registry import evaluation_split
from scancci.errors import DatasetError, InvalidInputError
from scancci.evaluate.calibration import calibrate_on, calibration_summary, plot_calibration
from scancci.evaluate.evaluate import EvalReport, as_model, eval_transform, evaluate_sets
from scancci.evaluate.metrics import ClassificationMetrics
from scancci.evaluate.report import runs_markdown, write_results
from scancci.models import save_model
from scancci.models.io import WEIGHTS_NAME

log = logging.getLogger(__name__)

SUBSETS = {"occlusion": "occlusion", "pose30": "pose>30", "pose45": "pose>45"}


@dataclass
class EvaluationSession:
    """Per model: set name -> EvalReport; plus the sets that were skipped and why."""

    models: list[str]
    reports: list[dict[str, EvalReport]]
    skipped: dict[str, str] = field(default_factory=dict)

    @property
    def metrics(self) -> list[dict[str, ClassificationMetrics]]:
        return [{k: r.metrics for k, r in run.items()} for run in self.reports]

    def markdown(self) -> str:
        """One table per model, then mean +- std when there are several."""
        parts = runs_markdown(list(zip(self.models, self.metrics, strict=True)), "models",
                              aggregate=len(self.reports) > 1)
        for name, why in self.skipped.items():
            parts.append(f"- skipped {name}: {why}")
        return "\n".join(parts)


def open_eval_sets(model: Any, dataset: str, root: str | Path, *, split: str | None,
                   subsets: Sequence[str] | None, masked: str | Path | None
                   ) -> tuple[dict[str, Any], dict[str, str]]:
    """{label: dataset} for the split, the subsets (None: every one found) and a masked copy.

    `split` None is the dataset's evaluation split from the registry (RAF-DB "test", AffectNet
    "val", ...); the first row is labelled with the split actually read.
    """
    kwargs = {"num_classes": model.config.num_classes, "transform": eval_transform(model)}
    root = Path(root)
    if not root.exists():
        raise DatasetError(f"dataset folder {root} does not exist")
    split = split or evaluation_split(dataset)
    sets = {split: open_dataset(dataset, root, split=split, **kwargs)}
    skipped: dict[str, str] = {}
    wanted = list(SUBSETS) if subsets is None else list(subsets)
    for subset in wanted:
        if subset not in SUBSETS:
            raise InvalidInputError(f"unknown subset {subset!r}; valid: {', '.join(SUBSETS)}")
        name = f"{dataset}_{subset}"
        if name not in list_datasets():
            skipped[SUBSETS[subset]] = f"{dataset} has no {subset} subset"
            continue
        try:
            sets[SUBSETS[subset]] = open_dataset(name, root, **kwargs)
        except DatasetError as err:
            if subsets is not None:  # asked for by name: an error, not a silent skip
                raise
            skipped[SUBSETS[subset]] = str(err)
    if masked is not None:
        sets["masked"] = open_dataset(dataset, masked, split=split, **kwargs)
    return sets, skipped


def evaluate_models(
    models: Sequence[str | Path],
    dataset: str,
    root: str | Path,
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
    """Evaluate each model on the same sets; `out` gets results.json and confusion matrices."""
    if not models:
        raise InvalidInputError("give at least one model")
    session = EvaluationSession([str(m) for m in models], [])
    for index, path in enumerate(models):
        model = as_model(path, device)
        sets, skipped = open_eval_sets(model, dataset, root, split=split, subsets=subsets,
                                       masked=masked)
        session.skipped.update(skipped)
        reports = evaluate_sets(model, sets, batch_size=batch_size, tta_flip=tta_flip,
                                device=device, progress=progress)
        session.reports.append(reports)
        if out is not None:
            folder = Path(out) / (f"model_{index}" if len(models) > 1 else "")
            write_results({k: r.metrics for k, r in reports.items()}, folder,
                          extra={"model": str(path), "tta_flip": tta_flip})
    if out is not None:
        (Path(out) / "report.md").write_text("# Evaluation\n\n" + session.markdown() + "\n")
    return session


@dataclass
class CalibrationResult:
    """The fitted temperature, ECE/NLL before and after on the validation items, and files."""

    temperature: float
    summary: dict[str, Any]
    model_path: Path
    diagram: Path

    def __str__(self) -> str:
        s = self.summary
        return (f"temperature {self.temperature:.3f} (fitted on {s['items']} validation items)\n"
                f"ECE {100 * s['ece_before']:.2f}% -> {100 * s['ece_after']:.2f}%, "
                f"NLL {s['nll_before']:.3f} -> {s['nll_after']:.3f}\n"
                f"model: {self.model_path}\nreliability diagram: {self.diagram}")


def calibrate_model(
    model_path: str | Path,
    dataset: str,
    root: str | Path,
    *,
    out: str | Path,
    split: str = "train",
    val_fraction: float | None = 0.1,
    seed: int = 0,
    device: str = "cpu",
    batch_size: int = 64,
    progress: bool = True,
) -> CalibrationResult:
    """Fit T on a validation split and save the model with it under `out`.

    With `val_fraction`, validation is the stratified, seeded carve of `split` that
    `scancci train` uses with the same seed; None uses the whole `split` (e.g. "val").
    """

    out = Path(out)
    target = out / WEIGHTS_NAME
    if target.exists():
        raise InvalidInputError(f"{target} exists: choose another --output (nothing overwritten)")
    model = as_model(model_path, device)
    data = open_dataset(dataset, root, split=split, num_classes=model.config.num_classes,
                        transform=eval_transform(model))
    if val_fraction is not None:
        data = data.subset(stratified_split(data.targets, val_fraction, seed=seed)[1])
    temperature, logits, targets = calibrate_on(model, data, device=device,
                                                batch_size=batch_size, progress=progress)
    summary = {**calibration_summary(logits, targets, temperature), "items": len(targets)}
    out.mkdir(parents=True, exist_ok=True)
    save_model(model.cpu(), target)
    diagram = plot_calibration(logits, targets, temperature, out / "reliability.png")
    return CalibrationResult(temperature, summary, target, diagram)
