"""`ModelConfig`: the data that rebuilds a model and feeds it correctly (saved as JSON next to
its safetensors weights, and inside exported ONNX files).

Plain data without PyTorch, so that reading an exported model's config never imports torch;
the network base class and its outputs are in `scancci.models.base`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from scancci.data.labels import class_names as canonical_class_names
from scancci.errors import CheckpointError, InvalidInputError

# The key a file's metadata stores a ModelConfig under (safetensors and ONNX alike); files
# written before it was one spelling carry "scancci_config" (safetensors), still read.
CONFIG_KEY = "scancci.config"


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
    # the training run's facts (scancci.evaluate.record.Provenance.to_dict()); None: saved
    # outside a training run
    provenance: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (tuples become lists)."""
        d = dataclasses.asdict(self)
        for key in ("class_names", "mean", "std"):
            d[key] = list(d[key])
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ModelConfig:
        """Inverse of `to_dict`; unknown keys are ignored, missing required ones are an error
        (configs saved with patch_layout "reference", the old name of "original", still load)."""
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
        if kwargs["options"].get("patch_layout") == "reference":  # saved before the rename
            kwargs["options"]["patch_layout"] = "original"
        config = cls(**kwargs)
        if len(config.class_names) != config.num_classes:
            raise CheckpointError(f"model config has {config.num_classes} classes but "
                                  f"{len(config.class_names)} class names")
        return config
