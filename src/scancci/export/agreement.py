"""How far a faster runtime (bf16, int8) strays from fp32 on a set of face images.

Reported as top-1 agreement (share of images whose predicted class is unchanged) and the
largest and mean absolute difference of any class probability.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from scancci.runtime.batches import softmax


@dataclass(frozen=True)
class Agreement:
    """One runtime against the fp32 reference on `count` images."""

    runtime: str
    count: int
    top1_agreement: float
    max_prob_diff: float
    mean_prob_diff: float

    def line(self) -> str:
        return (f"{self.runtime:<22} n={self.count:<5} top-1 agreement {self.top1_agreement:7.2%}"
                f"  max |dprob| {self.max_prob_diff:.4f}  mean |dprob| {self.mean_prob_diff:.5f}")


def batched_logits(classifier: Any, images: np.ndarray, batch_size: int = 32) -> np.ndarray:
    """`classifier.logits` over a large N x 3 x S x S array, `batch_size` at a time."""
    parts = [classifier.logits(images[i:i + batch_size]) for i in range(0, len(images), batch_size)]
    return np.concatenate(parts).astype(np.float32)


def agreement(name: str, reference_logits: np.ndarray, logits: np.ndarray,
              temperature: float = 1.0) -> Agreement:
    """Compare candidate logits with reference logits (same images, same order)."""
    diff = np.abs(softmax(reference_logits, temperature) - softmax(logits, temperature))
    return Agreement(
        runtime=name,
        count=len(logits),
        top1_agreement=float((reference_logits.argmax(1) == logits.argmax(1)).mean()),
        max_prob_diff=float(diff.max()),
        mean_prob_diff=float(diff.mean()),
    )


def compare_runtimes(reference: Any, candidates: Mapping[str, Any], images: np.ndarray,
                     *, batch_size: int = 32) -> list[Agreement]:
    """Agreement of every candidate classifier with the reference classifier on `images`."""
    temperature = float(getattr(reference.config, "temperature", 1.0))
    ref = batched_logits(reference, images, batch_size)
    return [agreement(name, ref, batched_logits(c, images, batch_size), temperature)
            for name, c in candidates.items()]
