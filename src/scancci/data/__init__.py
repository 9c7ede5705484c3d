"""Datasets: canonical labels, one reader per dataset, transforms, samplers, the demo set.

Names are imported on first use, so reading a dataset list does not load torchvision."""

from __future__ import annotations

from typing import TYPE_CHECKING

from scancci._lazy import lazy_exports

if TYPE_CHECKING:  # the public names, as type checkers see them; imported on first use
    from scancci.data.base import DatasetSummary as DatasetSummary
    from scancci.data.base import FERDataset as FERDataset
    from scancci.data.base import Problem as Problem
    from scancci.data.labels import CLASS_NAMES as CLASS_NAMES
    from scancci.data.labels import CLASS_NAMES_7 as CLASS_NAMES_7
    from scancci.data.labels import CLASS_NAMES_8 as CLASS_NAMES_8
    from scancci.data.labels import class_names as class_names
    from scancci.data.registry import list_datasets as list_datasets
    from scancci.data.registry import open_dataset as open_dataset
    from scancci.data.registry import summarize_dataset as summarize_dataset
    from scancci.data.sampling import balanced_sampler as balanced_sampler
    from scancci.data.sampling import class_balanced_weights as class_balanced_weights
    from scancci.data.sampling import stratified_split as stratified_split
    from scancci.data.synthetic import generate_demo_dataset as generate_demo_dataset
    from scancci.data.transforms import build_transforms as build_transforms

__getattr__, __dir__, __all__ = lazy_exports(globals())
