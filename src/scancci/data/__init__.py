"""Datasets: canonical labels, one reader per dataset, transforms, samplers, the demo set."""

from scancci.data.labels import CLASS_NAMES, class_names

__all__ = ["CLASS_NAMES", "class_names"]
