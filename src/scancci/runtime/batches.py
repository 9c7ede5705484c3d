"""Numpy batches out of a classifier: the temperature softmax. (Batches go in through
`scancci.imaging.model_input`, the preprocessing evaluation uses too.)"""

from __future__ import annotations

import numpy as np


def softmax(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    """Probabilities: softmax(logits / temperature) along the last axis, in float64."""
    scaled = np.asarray(logits, dtype=np.float64) / float(temperature)
    scaled -= scaled.max(axis=-1, keepdims=True)
    exp = np.exp(scaled)
    return exp / exp.sum(axis=-1, keepdims=True)
