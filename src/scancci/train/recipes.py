"""Recipes: one YAML file per row of the paper's table, in `scancci/configs/`.

`load_recipe("rafdb")` reads the packaged recipe; a path reads your own file. A recipe may
name `base: other` to inherit another recipe (mappings merge key by key, lists replace).
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from scancci.errors import InvalidInputError, unknown_name
from scancci.train.config import TrainConfig

_MAX_DEPTH = 8  # longest `base:` chain accepted (guards against cycles)


def recipes_dir() -> Path:
    """The folder holding the packaged recipes."""
    return Path(str(resources.files("scancci") / "configs"))


def list_recipes() -> list[str]:
    """Names accepted by `load_recipe`, sorted."""
    return sorted(p.stem for p in recipes_dir().glob("*.yaml") if not p.stem.startswith("_"))


def load_recipe(name_or_path: str | Path, overrides: list[str] | None = None) -> TrainConfig:
    """The TrainConfig of a packaged recipe name or of a YAML file, with dotted overrides."""
    data = _resolve(str(name_or_path), 0)
    config = TrainConfig.from_dict(data)
    config = config.with_overrides(overrides) if overrides else config
    return config.for_protocol(overrides)


def _resolve(name_or_path: str, depth: int) -> dict[str, Any]:
    if depth > _MAX_DEPTH:
        raise InvalidInputError(f"recipe {name_or_path!r}: `base:` chain deeper than {_MAX_DEPTH}"
                                " (a cycle?)")
    path = _locate(name_or_path)
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as err:
        raise InvalidInputError(f"recipe file {path} is not valid YAML: {err}") from None
    if not isinstance(data, dict):
        raise InvalidInputError(f"recipe file {path} must hold a mapping, got {type(data).__name__}")
    base = data.pop("base", None)
    data.setdefault("name", path.stem)
    if base is None:
        return data
    return _merge(_resolve(str(base), depth + 1), data)


def _locate(name_or_path: str) -> Path:
    path = Path(name_or_path)
    if path.suffix in (".yaml", ".yml") or path.is_file():
        if not path.is_file():
            raise InvalidInputError(f"recipe file {path} does not exist")
        return path
    packaged = recipes_dir() / f"{name_or_path}.yaml"
    if not packaged.is_file():
        raise unknown_name("recipe", name_or_path, list_recipes())
    return packaged


def _merge(base: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    """Merge `update` into a copy of `base`: mappings recursively, everything else replaced."""
    merged = dict(base)
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged
