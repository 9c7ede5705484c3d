"""`ModelConfig`: the data that rebuilds a model and feeds it correctly (saved as JSON next to
its safetensors weights, and inside exported ONNX files).

Plain data without PyTorch, so that reading an exported model's config never imports torch;
the network base class and its outputs are in `scancci.models.base`.
"""

from __future__ import annotations

import dataclasses
import math
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


MAX_CLASSES = 10_000
INPUT_SIZES = (16, 2048)  # square input side, pixels: what any face model here could use


def validate_config_dict(d: dict[str, Any]) -> None:
    """Refuse a model.json whose values could not come from a real model (wrong types, absurd
    sizes, NaN or infinite numbers) before anything is built from it: a CheckpointError naming
    the key, the value and the range."""
    def bad(key: str, expected: str) -> CheckpointError:
        value = repr(d[key])
        value = value if len(value) <= 60 else value[:57] + "..."
        return CheckpointError(f"model config: {key} must be {expected}, got {value}")

    def is_number(value: Any) -> bool:
        return isinstance(value, (int, float)) and not isinstance(value, bool) \
            and math.isfinite(value)

    def is_int(value: Any, low: int, high: int) -> bool:
        return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high

    if not isinstance(d.get("arch"), str) or not d["arch"]:
        raise bad("arch", "an architecture name")
    if not is_int(d.get("num_classes"), 2, MAX_CLASSES):
        raise bad("num_classes", f"an integer from 2 to {MAX_CLASSES:,}")
    names = d.get("class_names")
    if not isinstance(names, (list, tuple)) or not all(isinstance(n, str) for n in names):
        raise bad("class_names", "a list of class names")
    if "input_size" in d and not is_int(d["input_size"], *INPUT_SIZES):
        raise bad("input_size", f"an integer from {INPUT_SIZES[0]} to {INPUT_SIZES[1]} pixels")
    for key in ("mean", "std"):
        value = d.get(key, (0.5, 0.5, 0.5))
        if not isinstance(value, (list, tuple)) or len(value) != 3 \
                or not all(is_number(v) for v in value) \
                or (key == "std" and not all(v > 0 for v in value)):
            raise bad(key, "3 finite numbers" + (" above 0" if key == "std" else ""))
    if "temperature" in d and not (is_number(d["temperature"]) and 0 < d["temperature"] <= 1e3):
        raise bad("temperature", "a finite number above 0 (at most 1000)")
    margin = d.get("crop_margin")
    if margin is not None and not (is_number(margin) and 0 <= margin <= 2):
        raise bad("crop_margin", "null or a number from 0 to 2")
    if not isinstance(d.get("options") or {}, dict):
        raise bad("options", "an object of architecture options")


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
        validate_config_dict(d)
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
