"""The architecture table: a dict of entries plus the decorator that fills it.

Each architecture file registers its builders at its bottom (`@register_model`); the table is
read through `scancci.models.factory`, which imports every architecture file first (so
`list_models()` and `create_model` always see all of them).
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from scancci.errors import unknown_name
from scancci.models.base import ExpressionModel
from scancci.models.config import ModelConfig

Builder = Callable[[ModelConfig], ExpressionModel]


@dataclass(frozen=True)
class ModelEntry:
    """A registered architecture."""

    name: str
    backbone: str  # trunk name for `backbone_weights` ("none": the network has no such trunk)
    description: str  # one line: the builder's docstring
    build: Builder
    options: Mapping[str, Sequence[str]] = field(default_factory=dict)  # option -> valid values
    defaults: Mapping[str, str] = field(default_factory=dict)
    mean: tuple[float, float, float] = (0.5, 0.5, 0.5)  # default normalisation
    input_size: int = 224  # default square input side


MODELS: dict[str, ModelEntry] = {}


def register_model(*, backbone: str, mean: tuple[float, float, float],
                   options: Mapping[str, Sequence[str]] | None = None,
                   defaults: Mapping[str, str] | None = None,
                   input_size: int = 224) -> Callable[[Builder], Builder]:
    """Register the decorated builder under its function name; a duplicate is a bug."""

    def add(build: Builder) -> Builder:
        name = build.__name__
        if name in MODELS:
            raise ValueError(f"model {name!r} is already registered")
        MODELS[name] = ModelEntry(name, backbone, (build.__doc__ or "").strip().splitlines()[0],
                                  build, dict(options or {}), dict(defaults or {}), mean,
                                  input_size)
        return build

    return add


def list_models(pattern: str = "*") -> list[str]:
    """Registered model names matching a shell-style pattern, sorted."""
    return sorted(n for n in MODELS if fnmatch.fnmatch(n, pattern))


def get_entry(name: str) -> ModelEntry:
    """The registry entry for `name`, or an error with close matches."""
    if name not in MODELS:
        raise unknown_name("model", name, MODELS)
    return MODELS[name]
