"""What every scancci model carries and returns: `ModelConfig`, `ScanCCIOutput`, a shared base.

The config is the data that rebuilds a model (saved as JSON next to its safetensors weights);
the base class gives every architecture the same contract: input checks, `predict_proba`,
`parameter_groups`, `reset_classifier`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from scancci.data.labels import class_names as canonical_class_names
from scancci.errors import CheckpointError, InvalidInputError

MIN_INPUT_SIZE = 33  # the 5 x 5 region grid needs a stride-8 map of at least 5 x 5

def resolve_class_names(num_classes: int, class_names: Sequence[str] | None) -> tuple[str, ...]:
    """Given names (checked against num_classes), or the canonical 7/8 names, or class_0..."""
    if not isinstance(num_classes, int) or num_classes < 2:
        raise InvalidInputError(f"num_classes must be an integer >= 2, got {num_classes!r}")
    if class_names is not None:
        names = tuple(str(n) for n in class_names)
        if len(names) != num_classes:
            raise InvalidInputError(
                f"{len(names)} class names given for num_classes={num_classes}: {list(names)}")
        if len(set(names)) != len(names):
            raise InvalidInputError(f"class names must be unique, got {list(names)}")
        return names
    if num_classes in (7, 8):
        return canonical_class_names(num_classes)
    return tuple(f"class_{i}" for i in range(num_classes))


@dataclass
class ModelConfig:
    """Everything needed to rebuild a model and feed it correctly."""

    arch: str  # registry name, e.g. "scancci_resnet50"
    num_classes: int
    class_names: tuple[str, ...]  # logit order
    input_size: int = 224  # square side in pixels the model is trained for
    mean: tuple[float, float, float] = (0.5, 0.5, 0.5)  # normalisation applied to [0, 1] RGB
    std: tuple[float, float, float] = (0.5, 0.5, 0.5)
    options: dict[str, Any] = field(default_factory=dict)  # architecture options (resolved)
    temperature: float = 1.0  # softmax temperature; calibration sets it
    # None: faces aligned to scancci's landmark template; a number: an upright square crop
    # around the detector's box, enlarged by this fraction of its side on each side (what
    # models trained on box crops expect, e.g. the pretrained zoo's)
    crop_margin: float | None = None
    pretrained: str | None = None  # the zoo entry the weights came from (scancci.models.zoo)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (tuples become lists)."""
        d = dataclasses.asdict(self)
        for key in ("class_names", "mean", "std"):
            d[key] = list(d[key])
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ModelConfig:
        """Inverse of `to_dict`; unknown keys are ignored, missing required ones are an error."""
        required = ("arch", "num_classes", "class_names")
        missing = [k for k in required if k not in d]
        if missing:
            raise CheckpointError(f"model config lacks {missing}; got keys {sorted(d)}")
        names = {f.name for f in dataclasses.fields(cls)}
        kwargs = {k: v for k, v in d.items() if k in names}
        for key in ("class_names", "mean", "std"):
            if key in kwargs:
                kwargs[key] = tuple(kwargs[key])
        kwargs["options"] = dict(kwargs.get("options") or {})
        config = cls(**kwargs)
        if len(config.class_names) != config.num_classes:
            raise CheckpointError(f"model config has {config.num_classes} classes but "
                                  f"{len(config.class_names)} class names")
        return config


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
