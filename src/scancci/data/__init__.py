"""Datasets: canonical labels, one reader per dataset, transforms, samplers, the demo set.

Names are imported on first use, so reading a dataset list does not load torchvision."""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "DatasetSummary": "scancci.data.base",
    "FERDataset": "scancci.data.base",
    "Problem": "scancci.data.base",
    "CLASS_NAMES": "scancci.data.labels",
    "CLASS_NAMES_7": "scancci.data.labels",
    "CLASS_NAMES_8": "scancci.data.labels",
    "class_names": "scancci.data.labels",
    "list_datasets": "scancci.data.registry",
    "open_dataset": "scancci.data.registry",
    "summarize_dataset": "scancci.data.registry",
    "balanced_sampler": "scancci.data.sampling",
    "class_balanced_weights": "scancci.data.sampling",
    "stratified_split": "scancci.data.sampling",
    "generate_demo_dataset": "scancci.data.synthetic",
    "build_transforms": "scancci.data.transforms",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'scancci.data' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # cache: later lookups skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])
