"""The SCAN-CCI training loss (spec section 1).

    L = 0.2 * CE(attention logits, y) + 0.8 * sum over the 4 quadrants of CE(quadrant logits, y)

(a sum over quadrants, not a mean, as the original). Plain baselines: CE on their logits.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from scancci.errors import InvalidInputError
from scancci.models.base import ScanCCIOutput


def scancci_loss(output: ScanCCIOutput, target: torch.Tensor, *, attention_weight: float = 0.2,
                 region_weight: float = 0.8, class_weights: torch.Tensor | None = None,
                 label_smoothing: float = 0.0, check: bool = True) -> torch.Tensor:
    """The weighted loss above; `target` is int64 (B,) labels or (B, C) probabilities.

    `check` False skips the label-range check (a device -> host sync), for training loops
    that checked their labels when the data was opened."""
    if check:
        _check_target(output.logits, target)

    def ce(logits: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(logits, target, weight=class_weights,
                               label_smoothing=label_smoothing)

    if output.attention_logits is None or output.region_logits is None:
        return ce(output.logits)
    region = sum(ce(output.region_logits[:, q]) for q in range(output.region_logits.shape[1]))
    return attention_weight * ce(output.attention_logits) + region_weight * region


def _check_target(logits: torch.Tensor, target: torch.Tensor) -> None:
    b, c = logits.shape
    if target.dim() == 1:
        if target.dtype != torch.long:
            raise InvalidInputError(f"class-index targets must be int64, got {target.dtype}")
        if target.shape[0] != b:
            raise InvalidInputError(f"{target.shape[0]} targets for a batch of {b}")
        if target.numel() and (int(target.min()) < 0 or int(target.max()) >= c):
            raise InvalidInputError(
                f"targets must be class indices in 0..{c - 1}, got values "
                f"{int(target.min())}..{int(target.max())}")
    elif target.dim() == 2:
        if tuple(target.shape) != (b, c) or not target.is_floating_point():
            raise InvalidInputError(
                f"soft targets must be float B x C = {b} x {c}, got {tuple(target.shape)} "
                f"{target.dtype}")
    else:
        raise InvalidInputError(f"targets must be (B,) labels or (B, C) probabilities, got shape "
                                f"{tuple(target.shape)}")
