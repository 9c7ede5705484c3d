"""Classification metrics over a whole dataset (torchmetrics), and model evaluation.

Balanced accuracy is the mean per-class recall computed from the confusion matrix of the whole
dataset, not averaged over batches (a flaw common in FER code). Classes with no test item and
no prediction are left out of the macro averages (torchmetrics' rule).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torchmetrics.classification import (
    MulticlassAccuracy,
    MulticlassConfusionMatrix,
    MulticlassF1Score,
    MulticlassRecall,
)
from torchmetrics.functional.classification import multiclass_calibration_error

from scancci.errors import InvalidInputError

ECE_BINS = 15


@dataclass
class ClassificationMetrics:
    """Accuracy, balanced accuracy, macro-F1, per-class recall and the confusion matrix."""

    class_names: tuple[str, ...]
    num_samples: int
    accuracy: float
    balanced_accuracy: float
    macro_f1: float
    per_class_recall: dict[str, float]
    confusion: np.ndarray  # C x C counts, rows = true class, columns = predicted class
    ece: float | None = None  # expected calibration error (15 bins), when probabilities given
    split: str | None = None  # the dataset split these numbers were computed on (test, val...)

    def summary(self) -> dict[str, float]:
        """The headline numbers, as fractions in [0, 1]."""
        out = {"accuracy": self.accuracy, "balanced_accuracy": self.balanced_accuracy,
               "macro_f1": self.macro_f1}
        if self.ece is not None:
            out["ece"] = self.ece
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return {
            "class_names": list(self.class_names), "num_samples": self.num_samples,
            **self.summary(), "per_class_recall": dict(self.per_class_recall),
            "confusion": self.confusion.tolist(), "split": self.split,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ClassificationMetrics:
        return cls(
            class_names=tuple(data["class_names"]), num_samples=int(data["num_samples"]),
            accuracy=data["accuracy"], balanced_accuracy=data["balanced_accuracy"],
            macro_f1=data["macro_f1"], per_class_recall=dict(data["per_class_recall"]),
            confusion=np.asarray(data["confusion"], dtype=np.int64), ece=data.get("ece"),
            split=data.get("split"),
        )


def compute_metrics(
    predictions: torch.Tensor | np.ndarray | Sequence[int],
    targets: torch.Tensor | np.ndarray | Sequence[int],
    class_names: Sequence[str],
    *,
    probabilities: torch.Tensor | np.ndarray | None = None,
) -> ClassificationMetrics:
    """Metrics of predicted vs true class indices (or of B x C scores as `predictions`).

    `probabilities` (N x C, rows summing to 1) adds the expected calibration error.
    """
    preds = torch.as_tensor(np.asarray(predictions))
    target = torch.as_tensor(np.asarray(targets), dtype=torch.long)
    num_classes = len(class_names)
    if preds.ndim == 2:
        preds = preds.argmax(dim=1)
    preds = preds.long()
    if preds.shape != target.shape or target.ndim != 1 or len(target) == 0:
        raise InvalidInputError(f"predictions {tuple(preds.shape)} and targets "
                                f"{tuple(target.shape)} must be two equal, non-empty 1-D lists")
    for what, values in (("predictions", preds), ("targets", target)):
        if values.min() < 0 or values.max() >= num_classes:
            raise InvalidInputError(f"{what} hold class indices outside 0..{num_classes - 1}")
    recall = MulticlassRecall(num_classes, average=None)(preds, target)
    metrics = ClassificationMetrics(
        class_names=tuple(class_names),
        num_samples=len(target),
        accuracy=float(MulticlassAccuracy(num_classes, average="micro")(preds, target)),
        balanced_accuracy=float(MulticlassAccuracy(num_classes, average="macro")(preds, target)),
        macro_f1=float(MulticlassF1Score(num_classes, average="macro")(preds, target)),
        per_class_recall={n: float(r) for n, r in zip(class_names, recall, strict=True)},
        confusion=MulticlassConfusionMatrix(num_classes)(preds, target).numpy().astype(np.int64),
    )
    if probabilities is not None:
        metrics.ece = expected_calibration_error(probabilities, target)
    return metrics


def mean_std(values: Sequence[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (0 for a single value)."""
    array = np.asarray(values, dtype=np.float64)
    if array.size == 0:
        raise InvalidInputError("mean_std needs at least one value")
    return float(array.mean()), float(array.std(ddof=1)) if array.size > 1 else 0.0


def expected_calibration_error(
    probabilities: torch.Tensor | np.ndarray, targets: torch.Tensor | np.ndarray,
    n_bins: int = ECE_BINS,
) -> float:
    """ECE (L1, equal-width confidence bins) of N x C probabilities against N class indices."""
    probs = torch.as_tensor(np.asarray(probabilities), dtype=torch.float32)
    target = torch.as_tensor(np.asarray(targets), dtype=torch.long)
    return float(multiclass_calibration_error(probs, target, num_classes=probs.shape[1],
                                              n_bins=n_bins, norm="l1"))
