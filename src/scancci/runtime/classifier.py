"""The Classifier interface that every backend implements: `.config` (the model's
ModelConfig), `.logits(batch)` and `.attention(batch)` on normalised float32 numpy batches, so
the Recognizer runs PyTorch (`torch_backend.TorchClassifier`) and onnxruntime
(`onnx_backend.OnnxClassifier`) the same way. No PyTorch here."""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

import numpy as np


@runtime_checkable
class Classifier(Protocol):
    """Logits (and optionally SCAN attention) for normalised B x 3 x S x S float32 batches."""

    config: Any

    def logits(self, batch: np.ndarray) -> np.ndarray:
        """Raw logits, B x C."""
        ...

    def attention(self, batch: np.ndarray) -> np.ndarray | None:
        """Global attention maps B x h x w in [0, 1], or None when the model has none."""
        ...


def classify(classifier: Any, batch: np.ndarray, *, attention: bool = False
             ) -> tuple[np.ndarray, np.ndarray | None]:
    """Logits and (when asked) attention in one pass where the backend supports it."""
    if hasattr(classifier, "run"):
        return classifier.run(batch, attention=attention)
    logits = classifier.logits(batch)
    return logits, classifier.attention(batch) if attention else None
