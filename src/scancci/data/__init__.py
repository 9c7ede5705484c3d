"""Datasets: canonical labels, one reader per dataset, transforms, samplers, the demo set."""

from scancci.data.base import DatasetSummary, FERDataset, Problem
from scancci.data.labels import CLASS_NAMES, CLASS_NAMES_7, CLASS_NAMES_8, class_names
from scancci.data.registry import list_datasets, open_dataset, summarize_dataset
from scancci.data.sampling import balanced_sampler, class_balanced_weights, stratified_split
from scancci.data.synthetic import generate_demo_dataset
from scancci.data.transforms import build_transforms

__all__ = [
    "CLASS_NAMES",
    "CLASS_NAMES_7",
    "CLASS_NAMES_8",
    "DatasetSummary",
    "FERDataset",
    "Problem",
    "balanced_sampler",
    "build_transforms",
    "class_balanced_weights",
    "class_names",
    "generate_demo_dataset",
    "list_datasets",
    "open_dataset",
    "stratified_split",
    "summarize_dataset",
]
