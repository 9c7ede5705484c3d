"""Evaluation: dataset-level metrics, robustness subsets, temperature calibration, run records
and the reports rendered from them."""

from scancci.evaluate.calibration import Calibration, calibrate, plot_reliability
from scancci.evaluate.evaluate import EvalReport, evaluate_model, evaluate_sets, predict_logits
from scancci.evaluate.metrics import (
    ClassificationMetrics,
    compute_metrics,
    expected_calibration_error,
    mean_std,
)
from scancci.evaluate.record import Provenance, RunRecord, read_run, write_record
from scancci.evaluate.report import aggregate_table, metrics_table, runs_report

__all__ = [
    "Calibration",
    "ClassificationMetrics",
    "EvalReport",
    "Provenance",
    "RunRecord",
    "aggregate_table",
    "calibrate",
    "compute_metrics",
    "evaluate_model",
    "evaluate_sets",
    "expected_calibration_error",
    "mean_std",
    "metrics_table",
    "plot_reliability",
    "predict_logits",
    "read_run",
    "runs_report",
    "write_record",
]
