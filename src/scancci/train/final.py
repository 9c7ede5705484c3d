"""After training: calibrate on validation, save the model, evaluate the test split once.

The test split and the robustness subsets (occlusion, pose, masked) are evaluated here, a
single time, with the model selected on validation; the run folder gets eval/results.json,
confusion matrices, a reliability diagram and report.md.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from scancci.evaluate import evaluate_sets, fit_temperature
from scancci.evaluate.calibration import calibration_summary, plot_calibration
from scancci.evaluate.report import _slug, metrics_table, recall_table, write_results
from scancci.models import save_model
from scancci.models.io import WEIGHTS_NAME
from scancci.train.config import TrainConfig
from scancci.train.datamodule import FERDataModule, uses_gpu

if TYPE_CHECKING:
    from scancci.train.fit import RunResult

log = logging.getLogger(__name__)


def _device(config: TrainConfig) -> str:
    return "cuda" if uses_gpu(config.trainer.accelerator) and torch.cuda.is_available() else "cpu"


def eval_sets(config: TrainConfig, datamodule: FERDataModule) -> dict[str, Any]:
    """The test split and every available robustness subset (opened before training)."""
    splits = datamodule.prepare()
    sets: dict[str, Any] = {}
    if splits.test is not None and config.data.test is not None:
        sets[config.data.test.name or "test"] = splits.test
    return {**sets, **splits.subsets}


def finish_run(config: TrainConfig, model: nn.Module, datamodule: FERDataModule,
               result: RunResult) -> RunResult:
    """Calibrate, save, evaluate once and write the reports; fills `result`."""
    run_dir = result.run_dir
    device = _device(config)
    model = model.to(device).eval()
    progress = config.trainer.progress
    batch = config.data.eval_batch_size or config.data.batch_size
    if config.evaluation.calibrate:
        fit_temperature(model, datamodule.val_dataloader(), device=device, progress=progress)
    result.model_path = run_dir / WEIGHTS_NAME
    save_model(model.cpu(), result.model_path)
    model.to(device)
    reports = evaluate_sets(model, eval_sets(config, datamodule), batch_size=batch, device=device,
                            tta_flip=config.evaluation.tta_flip, progress=progress,
                            num_workers=config.data.num_workers)
    result.results = {name: r.metrics for name, r in reports.items()}
    extra: dict[str, Any] = {"recipe": config.name, "monitor": result.monitor,
                             "best_score": result.best_score, "epochs": result.epochs,
                             "model": str(result.model_path)}
    if reports and config.evaluation.calibrate:
        first = next(iter(reports.values()))
        temperature = float(model.config.temperature)
        result.calibration = {"set": first.name, **calibration_summary(
            first.logits, first.targets, temperature)}
        extra["calibration"] = result.calibration
        plot_calibration(first.logits, first.targets, temperature,
                         run_dir / "eval" / "reliability.png")
    if reports:
        write_results(result.results, run_dir / "eval", extra=extra)
    (run_dir / "report.md").write_text(run_report(config, result))
    return result


def protocol_line(config: TrainConfig) -> str:
    """What a report's first line says about how the numbers were obtained."""
    if config.original_protocol:
        return (f"protocol: original, as {config.original.script}: trained on all training "
                "data, epoch selected and temperature fitted on the TEST split, BatchNorm in "
                "eval mode from epoch 2")
    return "protocol: honest: epoch selected on validation, test evaluated once"


def run_report(config: TrainConfig, result: RunResult, paper: dict[str, float] | None = None,
               title: str | None = None) -> str:
    """Markdown report of one run: protocol, the one-time test table, calibration, plots."""
    lines = [f"# {title or config.name} ({protocol_line(config)})", "", config.description, "",
             f"- model: `{config.model.name}` ({config.model.num_classes} classes), "
             f"input {config.model.input_size} px",
             f"- epochs: {result.epochs}; selected on `{result.monitor}`"
             + (f" = {100 * result.best_score:.2f}%" if result.best_score is not None else ""),
             "- selection and calibration split: " + (
                 "TEST (protocol original, as the authors' scripts: the test numbers are "
                 "optimistic)" if config.original_protocol else
                 "validation carved from train (stratified, seeded)" if config.data.val is None
                 else "the recipe's val split"),
             f"- flip test-time augmentation: {'yes' if config.evaluation.tta_flip else 'no'}",
             ""]
    if result.results:
        lines += ["## Test (evaluated once, after training)", "",
                  metrics_table(result.results, paper), "", "Per-class recall (%):", "",
                  recall_table(result.results), ""]
        for name in result.results:
            lines.append(f"![confusion {name}](eval/confusion_{_slug(name)}.png)")
        lines.append("")
    if result.calibration:
        c = result.calibration
        lines += ["## Calibration", "",
                  f"Temperature fitted on the {'TEST' if config.original_protocol else 'validation'}"
                  f" split: T = {c['temperature']:.3f}. "
                  f"On {c['set']}: ECE {100 * c['ece_before']:.2f}% -> {100 * c['ece_after']:.2f}%"
                  f", NLL {c['nll_before']:.3f} -> {c['nll_after']:.3f}.", "",
                  "![reliability](eval/reliability.png)", ""]
    return "\n".join(lines)
