"""`create_model(name, ...)`: a registered architecture or a pretrained baseline, by name.

Options and defaults resolve into a `ModelConfig` first; the module is built from that config
alone (so `load_model` rebuilds exactly the same thing), then backbone weights load if asked.
The architecture files are imported here so that their builders are in the table.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from scancci.errors import InvalidInputError, UnknownNameError, unknown_name

# the architecture files: importing them registers their builders (`@register_model`)
from scancci.models import mini_xception, plain, pyemotion_cnn  # noqa: F401
from scancci.models import scancci as _scancci  # noqa: F401
from scancci.models.backbones import IMAGENET_MEAN, IMAGENET_STD, load_backbone_weights
from scancci.models.base import MIN_INPUT_SIZE, ExpressionModel
from scancci.models.config import ModelConfig, resolve_class_names
from scancci.models.pretrained import build_pretrained
from scancci.models.registry import MODELS, ModelEntry, get_entry, list_models
from scancci.models.zoo import PRETRAINED, PretrainedEntry, list_pretrained, pretrained_config

HALF = (0.5, 0.5, 0.5)
ORIGINAL_SIZES = range(217, 225)  # inputs whose stride-8 map is the original's 28 x 28


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


def model_config(name: str, *, num_classes: int | None = None,
                 class_names: Sequence[str] | None = None,
                 backbone_weights: str | Path | None = None, input_size: int | None = None,
                 mean: Sequence[float] | None = None, std: Sequence[float] | None = None,
                 **options: Any) -> ModelConfig:
    """The ModelConfig `create_model` would build for an architecture, without building it;
    None means the architecture's default (7 classes, its input size and normalisation)."""
    entry = get_entry(name)
    input_size = entry.input_size if input_size is None else input_size
    if not isinstance(input_size, int) or input_size < MIN_INPUT_SIZE:
        raise InvalidInputError(f"input_size must be an integer >= {MIN_INPUT_SIZE}, got "
                                f"{input_size!r}")
    resolved = resolve_options(entry, options)
    if resolved.get("patch_layout") == "original" and input_size not in ORIGINAL_SIZES:
        raise InvalidInputError(
            f"patch_layout='original' reproduces the original code, which only works at "
            f"224 x 224 (a 28 x 28 stride-8 map); got input_size={input_size}. Use "
            "patch_layout='grid' for other sizes")
    default_mean, default_std = entry.mean, (HALF if entry.mean == HALF else IMAGENET_STD)
    if str(backbone_weights) == "imagenet":
        default_mean, default_std = IMAGENET_MEAN, IMAGENET_STD
    num_classes = 7 if num_classes is None else num_classes
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
    """A randomly initialised model from its config (what `load_model` fills with weights)."""
    entry = get_entry(config.arch)
    config.options = resolve_options(entry, config.options)
    return entry.build(config)


def create_model(name: str, *, pretrained: bool = False, num_classes: int | None = None,
                 class_names: Sequence[str] | None = None,
                 backbone_weights: str | Path | None = None, **options: Any) -> ExpressionModel:
    """Build a registered model; `backbone_weights`: None, "imagenet" or a local file.

    A name of `list_pretrained()` is that baseline: its weights fix its classes, input size and
    normalisation, so any other value given is an error naming theirs (as torchvision's
    builders); `pretrained=True` loads the weights its package ships (sha256-checked), else
    they are random. No pretrained SCAN-CCI weights exist.
    Options: `input_size` (default 224), `mean`/`std`, and for scancci_* `local_scan`
    ("shared" | "independent"), `patch_layout` ("grid" | "original"), `cci_heads`
    ("shared" | "independent"). See `scancci.models.scancci` for what each means.
    """
    if name in PRETRAINED:
        entry = PRETRAINED[name]
        _check_fixed_by_weights(entry, num_classes=num_classes, class_names=class_names,
                                backbone_weights=backbone_weights, **options)
        return build_pretrained(entry, pretrained=pretrained)
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
        load_backbone_weights(model.get_submodule("trunk"), get_entry(name).backbone,
                              backbone_weights)
    return model


def _check_fixed_by_weights(entry: PretrainedEntry, **given: Any) -> None:
    """Refuse arguments that the baseline's weights decide, naming the weights' values."""
    fixed = pretrained_config(entry)
    wanted = {"num_classes": fixed.num_classes, "class_names": fixed.class_names,
              "input_size": fixed.input_size, "mean": fixed.mean, "std": fixed.std}
    wrong = []
    for key, value in given.items():
        if value is None:
            continue
        if key not in wanted:
            wrong.append(f"{key}={value!r} (it takes none)")
        elif (tuple(value) if key in ("class_names", "mean", "std") else value) != wanted[key]:
            wrong.append(f"{key}={value!r} (its weights: {wanted[key]!r})")
    if wrong:
        raise InvalidInputError(
            f"{entry.name} is a pretrained baseline whose weights fix num_classes="
            f"{fixed.num_classes} ({', '.join(fixed.class_names)}) and input_size="
            f"{fixed.input_size}; got {', '.join(wrong)}. Leave these out; for other classes "
            f"call model.reset_classifier(num_classes) on it, or train another architecture "
            f"({', '.join(list_models('scancci_*'))})")
