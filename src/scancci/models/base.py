"""What every scancci network returns and shares: `ScanCCIOutput` and the `ExpressionModel`
base class (input checks, `predict_proba`, `parameter_groups`, `reset_classifier`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from scancci.errors import InvalidInputError
from scancci.models.config import ModelConfig, resolve_class_names

MIN_INPUT_SIZE = 33  # the 5 x 5 region grid needs a stride-8 map of at least 5 x 5


@dataclass
class ScanCCIOutput:
    """What a forward pass returns (plain baselines fill `logits` only)."""

    logits: torch.Tensor  # B x C: mean of the attention and the 4 quadrant logits
    attention_logits: torch.Tensor | None = None  # B x C
    region_logits: torch.Tensor | None = None  # B x 4 x C (CCI quadrants TL, TR, BL, BR)
    attention: dict[str, torch.Tensor] | None = None  # "global", "local": B x h x w in [0, 1]


def _tracing() -> bool:
    return bool(torch.jit.is_tracing() or torch.compiler.is_compiling()
                or torch.onnx.is_in_onnx_export())


class ExpressionModel(nn.Module):
    """Base of every scancci model: a config, input checks and the shared helpers."""

    # False skips the NaN/inf scan of every input (a device -> host sync per batch); scancci's
    # trainer turns it off and checks its loss every few steps instead.
    check_values: bool = True
    # True for the eval-only copies `scancci.speed.optimize_for_inference` makes (folded
    # weights, other keys): they are run, never trained or saved.
    eval_only: bool = False

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config

    def check_input(self, x: torch.Tensor) -> None:
        """Refuse what would give a silently wrong answer: wrong shape or dtype, NaNs, tiny images."""
        if not torch.is_tensor(x):
            raise InvalidInputError(f"expected a B x 3 x H x W float tensor, got {type(x).__name__}")
        if x.dim() != 4 or x.shape[1] != 3:
            hint = " (add a batch dimension: x[None])" if x.dim() == 3 else ""
            raise InvalidInputError(
                f"expected a B x 3 x H x W tensor (RGB), got shape {tuple(x.shape)}{hint}")
        if not x.is_floating_point():
            raise InvalidInputError(
                f"expected a float tensor normalised with mean={self.config.mean}, "
                f"std={self.config.std}; got dtype {x.dtype}")
        if min(x.shape[2], x.shape[3]) < MIN_INPUT_SIZE:
            raise InvalidInputError(
                f"input {x.shape[2]} x {x.shape[3]} is too small: at least {MIN_INPUT_SIZE} x "
                f"{MIN_INPUT_SIZE}; this model was built for {self.config.input_size} x "
                f"{self.config.input_size}")
        if self.check_values and not _tracing() and not bool(torch.isfinite(x).all()):
            raise InvalidInputError("the input contains NaN or infinite values")

    def predict_proba(self, x: torch.Tensor) -> torch.Tensor:
        """Class probabilities: softmax(logits / temperature), B x C."""
        return torch.softmax(self(x).logits / float(self.config.temperature), dim=1)

    def parameter_groups(self) -> dict[str, list[nn.Parameter]]:
        """Named parameter groups for per-group learning rates (see subclasses)."""
        raise NotImplementedError

    def reset_classifier(self, num_classes: int, class_names: list[str] | tuple[str, ...] | None = None
                         ) -> None:
        """Replace the final classification layer(s) for a new label set."""
        raise NotImplementedError

    def _set_classes(self, num_classes: int, class_names: Any) -> None:
        self.config.class_names = resolve_class_names(num_classes, class_names)
        self.config.num_classes = num_classes
        self.config.temperature = 1.0  # a calibration does not carry over to new classifiers

    def num_parameters(self) -> int:
        """Number of parameters (buffers such as BatchNorm statistics excluded)."""
        return sum(p.numel() for p in self.parameters())
