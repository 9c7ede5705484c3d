"""Datasets: canonical labels, one reader per dataset, transforms, samplers, the demo set.

Names are imported on first use, so reading a dataset list does not load torchvision."""

from __future__ import annotations

from scancci._lazy import lazy_exports

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


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())
