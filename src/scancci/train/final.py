"""After training: calibrate on validation, save the model, evaluate the test split once.

The test split and the robustness subsets (occlusion, pose, masked) are evaluated here, a
single time, with the model selected on validation; the run folder gets eval/results.json (the
run's record), confusion matrices, a reliability diagram and report.md, all rendered from the
record (`scancci.evaluate.report`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scancci.devices import accelerator_device
from scancci.evaluate import Calibration, calibrate, evaluate_sets
from scancci.evaluate.metrics import ClassificationMetrics
from scancci.evaluate.record import Provenance, RunRecord, write_record
from scancci.evaluate.report import aggregate_table, metrics_table, run_report
from scancci.models import save_model
from scancci.models.base import ExpressionModel
from scancci.models.formats import WEIGHTS_NAME
from scancci.train.config import TrainConfig
from scancci.train.datamodule import FERDataModule, table_label

log = logging.getLogger(__name__)
REPORT_FILE = "report.md"


@dataclass
class RunResult:
    """What a finished run left behind (paths) and its record (provenance, one-time results)."""

    run_dir: Path
    record: RunRecord
    model_path: Path | None = None
    best_checkpoint: Path | None = None
    folds: list[RunResult] = field(default_factory=list)
    primary: bool = True  # False in the extra DDP processes (they hold no results)

    @property
    def results(self) -> dict[str, ClassificationMetrics]:
        return self.record.results

    @property
    def calibration(self) -> dict[str, Any] | None:
        return self.record.calibration

    @property
    def best_score(self) -> float | None:
        return self.record.best_score

    @property
    def provenance(self) -> Provenance | None:
        return self.record.provenance

    def summary(self) -> str:
        """A few printable lines: where things are and the headline numbers."""
        lines = [f"run folder: {self.run_dir}"]
        if self.model_path:
            lines.append(f"model:      {self.model_path}")
        if self.best_score is not None:
            lines.append(f"selected on {self.record.monitor} = {100 * self.best_score:.2f}")
        if self.folds:
            lines.append(aggregate_table([f.results for f in self.folds]))
        elif self.results:
            lines.append(metrics_table(self.results))
        return "\n".join(lines)


def eval_sets(config: TrainConfig, datamodule: FERDataModule) -> dict[str, Any]:
    """The test split and every available robustness subset (opened before training)."""
    splits = datamodule.prepare()
    sets: dict[str, Any] = {}
    if splits.test is not None and config.data.test is not None:
        sets[table_label("test", config.data.test)] = splits.test
    return {**sets, **splits.subsets}


def finish_run(config: TrainConfig, model: ExpressionModel, datamodule: FERDataModule, *,
               run_dir: Path, provenance: Provenance, selection: dict[str, Any],
               best_checkpoint: Path | None) -> RunResult:
    """Calibrate, save (with the provenance in model.json), evaluate once, write the record and
    report.md; `selection` holds the monitor, best_score and epochs of the training."""
    device = accelerator_device(config.trainer.accelerator)
    model = model.to(device).eval()
    progress = config.trainer.progress
    batch = config.data.eval_batch_size or config.data.batch_size
    fitted = None
    if config.evaluation.calibrate:
        fitted = calibrate(model, datamodule.val_dataloader(), device=device, progress=progress)
    model.config.provenance = provenance.to_dict()
    model_path = run_dir / WEIGHTS_NAME
    save_model(model.cpu(), model_path)
    model.to(device)
    reports = evaluate_sets(model, eval_sets(config, datamodule), batch_size=batch, device=device,
                            tta_flip=config.evaluation.tta_flip, progress=progress,
                            num_workers=config.data.num_workers)
    record = RunRecord(str(run_dir), {name: r.metrics for name, r in reports.items()},
                       provenance=provenance, model=str(model_path),
                       tta_flip=config.evaluation.tta_flip, **selection)
    if reports and fitted is not None:
        first = next(iter(reports.values()))
        shown = Calibration.measure(first.logits, first.targets, fitted.temperature)
        record.calibration = {"set": first.name, **shown.to_dict(),
                              "fitted_on_items": fitted.items, "note": fitted.note}
        shown.plot(run_dir / "eval" / "reliability.png")
    if reports:
        write_record(record, run_dir / "eval")
    (run_dir / REPORT_FILE).write_text(run_report(record))
    return RunResult(run_dir, record, model_path=model_path, best_checkpoint=best_checkpoint)
