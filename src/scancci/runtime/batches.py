"""Numpy batches in and out of a classifier: crop preprocessing and temperature softmax."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import cv2
import numpy as np

from scancci.errors import InvalidInputError


def preprocess_crops(crops: Sequence[np.ndarray], config: Any) -> np.ndarray:
    """RGB uint8 crops -> normalised float32 B x 3 x S x S at the model's input size."""
    size = int(config.input_size)
    mean = np.asarray(config.mean, dtype=np.float32)
    std = np.asarray(config.std, dtype=np.float32)
    batch = np.empty((len(crops), 3, size, size), dtype=np.float32)
    for i, crop in enumerate(crops):
        crop = np.asarray(crop)
        if crop.ndim != 3 or crop.shape[2] != 3:
            raise InvalidInputError(f"face crops must be H x W x 3 RGB, got shape {crop.shape}")
        if crop.shape[:2] != (size, size):
            crop = cv2.resize(crop, (size, size), interpolation=cv2.INTER_LINEAR)
        hwc = (crop.astype(np.float32) / 255.0 - mean) / std
        batch[i] = hwc.transpose(2, 0, 1)  # 3 x S x S
    return batch


def softmax(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    """Probabilities: softmax(logits / temperature) along the last axis, in float64."""
    scaled = np.asarray(logits, dtype=np.float64) / float(temperature)
    scaled -= scaled.max(axis=-1, keepdims=True)
    exp = np.exp(scaled)
    return exp / exp.sum(axis=-1, keepdims=True)
