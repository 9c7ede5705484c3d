"""Class balance as in the original recipe, and a seeded stratified train/val carve.

- "resample": draw with replacement, weight 1/class_count, one dataset length per epoch.
- "reweight": CE class weights proportional to (1 - b) / (1 - b^n_c) (Cui et al. 2019's
  effective number), b = 0.9999, normalised to sum to the number of classes (used for SFEW).
- `stratified_split`: a validation split carved from train, so that models are selected on
  validation data and not on the test split (the original code's flaw, spec section 2).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

import numpy as np
import torch
from torch.utils.data import WeightedRandomSampler

from scancci.errors import InvalidInputError


def _as_labels(targets: Sequence[int] | np.ndarray | torch.Tensor) -> np.ndarray:
    labels = np.asarray(targets.tolist() if isinstance(targets, torch.Tensor) else targets)
    if labels.ndim != 1 or labels.size == 0:
        raise InvalidInputError(f"targets must be a non-empty 1-D list of labels, got shape "
                                f"{labels.shape}")
    if not np.issubdtype(labels.dtype, np.integer) or labels.min() < 0:
        raise InvalidInputError("targets must be non-negative integer class indices")
    return labels.astype(np.int64)


def inverse_frequency_weights(targets: Sequence[int] | np.ndarray | torch.Tensor
                              ) -> torch.Tensor:
    """Per item 1 / (count of its class), float64: class-balanced resampling weights."""
    labels = _as_labels(targets)
    return torch.as_tensor(1.0 / np.bincount(labels)[labels], dtype=torch.double)


def balanced_sampler(
    targets: Sequence[int] | np.ndarray | torch.Tensor,
    *,
    num_samples: int | None = None,
    seed: int | None = None,
) -> WeightedRandomSampler:
    """Sampler drawing each class equally often: weight 1/count, with replacement.

    One epoch is `num_samples` draws (default: the dataset length, as the original).
    """
    weights = inverse_frequency_weights(targets)
    generator = torch.Generator().manual_seed(seed) if seed is not None else None
    return WeightedRandomSampler(
        # cast: hinted Sequence[float], but it reads its weights with torch.as_tensor, and a
        # float64 tensor is what it builds from a list anyway
        cast("Sequence[float]", weights),
        num_samples=num_samples or len(weights),
        replacement=True,
        generator=generator,
    )


def class_balanced_weights(
    counts: Sequence[int] | np.ndarray | torch.Tensor, beta: float = 0.9999
) -> torch.Tensor:
    """Loss weights (1 - beta) / (1 - beta^n_c), normalised to sum to the number of classes.

    Classes with no samples get weight 0 (they cannot occur as targets) and do not take part
    in the normalisation.
    """
    n = np.asarray(counts.tolist() if isinstance(counts, torch.Tensor) else counts,
                   dtype=np.float64)
    if n.ndim != 1 or n.size == 0 or (n < 0).any():
        raise InvalidInputError(f"counts must be a 1-D list of non-negative class counts, got {n}")
    if not 0.0 <= beta < 1.0:
        raise InvalidInputError(f"beta must be in [0, 1), got {beta}")
    present = n > 0
    if not present.any():
        raise InvalidInputError("every class count is 0: nothing to weight")
    weights = np.zeros_like(n)
    weights[present] = (1.0 - beta) / (1.0 - np.power(beta, n[present]))
    weights *= len(n) / weights.sum()
    return torch.as_tensor(weights, dtype=torch.float32)


def stratified_split(
    targets: Sequence[int] | np.ndarray | torch.Tensor,
    val_fraction: float = 0.1,
    seed: int = 0,
) -> tuple[list[int], list[int]]:
    """Indices (train, val): `val_fraction` of every class goes to val, seeded and stable.

    Each class with at least 2 items keeps at least one item on each side.
    """
    if not 0.0 < val_fraction < 1.0:
        raise InvalidInputError(f"val_fraction must be between 0 and 1, got {val_fraction}")
    labels = _as_labels(targets)
    rng = np.random.default_rng(seed)
    train: list[int] = []
    val: list[int] = []
    for label in np.unique(labels):
        members = np.flatnonzero(labels == label)
        rng.shuffle(members)
        n_val = int(round(val_fraction * len(members)))
        n_val = min(max(n_val, 1), len(members) - 1) if len(members) >= 2 else 0
        val.extend(members[:n_val].tolist())
        train.extend(members[n_val:].tolist())
    return sorted(train), sorted(val)
