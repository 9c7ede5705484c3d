"""Evaluation: dataset-level metrics, robustness subsets, temperature calibration, reports."""

from scancci.evaluate.calibration import (
    fit_temperature,
    fit_temperature_to_logits,
    plot_reliability,
)
from scancci.evaluate.evaluate import EvalReport, evaluate_model, evaluate_sets, predict_logits
from scancci.evaluate.metrics import (
    ClassificationMetrics,
    compute_metrics,
    expected_calibration_error,
    mean_std,
)
from scancci.evaluate.report import aggregate_table, metrics_table, runs_report, write_results

__all__ = [
    "ClassificationMetrics",
    "EvalReport",
    "aggregate_table",
    "compute_metrics",
    "evaluate_model",
    "evaluate_sets",
    "expected_calibration_error",
    "fit_temperature",
    "fit_temperature_to_logits",
    "mean_std",
    "metrics_table",
    "plot_reliability",
    "predict_logits",
    "runs_report",
    "write_results",
]
