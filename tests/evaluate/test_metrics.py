"""Dataset-level metrics against a confusion matrix worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest

from scancci.errors import InvalidInputError
from scancci.evaluate import compute_metrics, mean_std

NAMES = ("a", "b", "c")
# 10 items. True a: 4 (3 right, 1 -> b); true b: 3 (1 right, 2 -> c); true c: 3 (3 right).
TARGETS = [0, 0, 0, 0, 1, 1, 1, 2, 2, 2]
PREDS = [0, 0, 0, 1, 1, 2, 2, 2, 2, 2]


def test_metrics_match_a_hand_computed_confusion_matrix() -> None:
    m = compute_metrics(PREDS, TARGETS, NAMES)
    assert m.confusion.tolist() == [[3, 1, 0], [0, 1, 2], [0, 0, 3]]
    assert m.num_samples == 10
    assert m.accuracy == pytest.approx(7 / 10)
    recall = {"a": 3 / 4, "b": 1 / 3, "c": 3 / 3}
    assert m.per_class_recall == pytest.approx(recall)
    assert m.balanced_accuracy == pytest.approx(np.mean(list(recall.values())))
    precision = {"a": 3 / 3, "b": 1 / 2, "c": 3 / 5}
    f1 = [2 * precision[k] * recall[k] / (precision[k] + recall[k]) for k in recall]
    assert m.macro_f1 == pytest.approx(np.mean(f1))


def test_balanced_accuracy_is_over_the_dataset_not_a_mean_of_batches() -> None:
    whole = compute_metrics(PREDS, TARGETS, NAMES)
    halves = [compute_metrics(PREDS[:5], TARGETS[:5], NAMES),
              compute_metrics(PREDS[5:], TARGETS[5:], NAMES)]
    batch_mean = np.mean([h.balanced_accuracy for h in halves])
    assert whole.balanced_accuracy != pytest.approx(batch_mean)


def test_scores_are_argmaxed_and_probabilities_give_ece() -> None:
    scores = np.eye(3)[PREDS] * 0.9 + 0.05
    m = compute_metrics(scores, TARGETS, NAMES, probabilities=scores / scores.sum(1, keepdims=True))
    assert m.accuracy == pytest.approx(0.7)
    assert m.ece is not None and 0.0 <= m.ece <= 1.0
    assert type(m).from_dict(m.to_dict()).confusion.tolist() == m.confusion.tolist()


def test_bad_inputs_raise_clear_errors() -> None:
    with pytest.raises(InvalidInputError, match="outside"):
        compute_metrics([0, 3], [0, 1], NAMES)
    with pytest.raises(InvalidInputError, match="equal"):
        compute_metrics([0, 1], [0], NAMES)


def test_mean_std() -> None:
    assert mean_std([0.5]) == (0.5, 0.0)
    mean, std = mean_std([0.6, 0.8])
    assert mean == pytest.approx(0.7) and std == pytest.approx(np.std([0.6, 0.8], ddof=1))
