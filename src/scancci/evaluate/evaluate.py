"""Run a model over a dataset once and score it: `evaluate_model(model, dataset) -> EvalReport`."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset
from tqdm import tqdm

from scancci.data import build_transforms
from scancci.devices import resolve_device
from scancci.errors import InvalidInputError
from scancci.evaluate.metrics import ClassificationMetrics, compute_metrics
from scancci.models import load_network
from scancci.models.base import ExpressionModel
from scancci.speed import optimize_for_inference


@dataclass
class EvalReport:
    """Metrics of one model on one dataset, with the raw logits for calibration and plots."""

    name: str
    metrics: ClassificationMetrics
    logits: torch.Tensor  # N x C, before temperature
    targets: torch.Tensor  # N, class indices
    temperature: float = 1.0
    tta_flip: bool = False

    @property
    def probabilities(self) -> torch.Tensor:
        return torch.softmax(self.logits / self.temperature, dim=1)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "temperature": self.temperature, "tta_flip": self.tta_flip,
                **self.metrics.to_dict()}


def as_model(model: ExpressionModel | str | Path, device: str | torch.device = "cpu"
             ) -> ExpressionModel:
    """A model object in eval mode: a module as given, or anything `load_model` accepts."""
    device = resolve_device(device)
    if isinstance(model, (str, Path)):
        model = load_network(model, map_location=device)
    return model.to(device).eval()


def inference_model(model: ExpressionModel, device: str | torch.device = "cpu"
                    ) -> ExpressionModel:
    """What computes the logits: on the CPU a scancci model's `optimize_for_inference` copy
    (eval-only, logits within 1e-4 of the eager model's), else `model` (also a copy already
    made, in whatever precision it was made for)."""
    fusable = isinstance(model, ExpressionModel) and not model.eval_only
    if fusable and resolve_device(device).type == "cpu":
        return optimize_for_inference(model)
    return model


def eval_transform(model: ExpressionModel) -> Any:
    """The deterministic transform for the model's input size and normalisation: the one
    preprocessing prediction uses too (`scancci.imaging.model_input`)."""
    config = model.config
    return build_transforms(train=False, input_size=config.input_size, mean=config.mean,
                            std=config.std)


@runtime_checkable
class _Transformed(Protocol):
    """A dataset with a `transform` attribute (scancci's, torchvision's), None or set."""

    transform: Callable[..., Any] | None


def eval_loader(model: ExpressionModel, data: DataLoader | Dataset, batch_size: int = 64,
                num_workers: int = 0) -> DataLoader:
    """`data` as an ordered loader; a dataset without a transform gets `eval_transform`."""
    if isinstance(data, DataLoader):
        return data
    if isinstance(data, _Transformed) and data.transform is None:
        data.transform = eval_transform(model)
    return DataLoader(data, batch_size=batch_size, shuffle=False, num_workers=num_workers)


def _logits_of(output: Any) -> torch.Tensor:
    return output if isinstance(output, torch.Tensor) else output.logits


def _hard_targets(target: Any) -> torch.Tensor:
    target = torch.as_tensor(target)
    return target.argmax(dim=1) if target.ndim == 2 else target.long()  # soft labels -> argmax


@torch.no_grad()
def predict_logits(
    model: nn.Module,
    loader: DataLoader,
    *,
    tta_flip: bool = False,
    device: str | torch.device = "cpu",
    progress: bool = True,
    desc: str = "evaluating",
) -> tuple[torch.Tensor, torch.Tensor]:
    """(N x C logits, N targets) over a loader; `tta_flip` averages with the mirrored image."""
    model.eval()
    all_logits: list[torch.Tensor] = []
    all_targets: list[torch.Tensor] = []
    for images, targets in tqdm(loader, desc=desc, disable=not progress, unit="batch",
                                leave=False):
        images = images.to(device)
        logits = _logits_of(model(images)).float()
        if tta_flip:
            logits = (logits + _logits_of(model(torch.flip(images, dims=[3]))).float()) / 2
        all_logits.append(logits.cpu())
        all_targets.append(_hard_targets(targets))
    if not all_logits:
        raise InvalidInputError("the dataset to evaluate is empty")
    return torch.cat(all_logits), torch.cat(all_targets)


def evaluate_model(
    model: ExpressionModel | str | Path,
    dataset: Dataset,
    *,
    name: str | None = None,
    batch_size: int = 64,
    num_workers: int = 0,
    tta_flip: bool = False,
    device: str | torch.device = "cpu",
    progress: bool = True,
) -> EvalReport:
    """Accuracy, balanced accuracy, macro-F1, per-class recall, confusion matrix and ECE.

    A dataset without a transform gets the model's evaluation transform (resize + normalise).
    The model's stored temperature scales the probabilities used for the ECE. On the CPU a
    scancci model is scored through its `optimize_for_inference` copy (`inference_model`, batch
    norms folded, channels-last): logits within 1e-4 of the eager model's, so a prediction at a near-tie can differ from an eager run. `name` None
    labels the report with the split the dataset was opened with (never a guessed "test").
    """
    name = name or split_of(dataset) or "dataset"
    model = inference_model(as_model(model, device), device)
    loader = eval_loader(model, dataset, batch_size, num_workers)
    logits, targets = predict_logits(model, loader, tta_flip=tta_flip, device=device,
                                     progress=progress, desc=f"evaluating {name}")
    temperature = float(getattr(model.config, "temperature", 1.0))
    names = tuple(model.config.class_names)
    if logits.shape[1] != len(names):
        raise InvalidInputError(f"model outputs {logits.shape[1]} classes but names {len(names)}")
    dataset_classes = getattr(dataset, "classes", None)
    if dataset_classes is not None and tuple(dataset_classes) != names:
        raise InvalidInputError(
            f"the model's classes {list(names)} differ from the dataset's {list(dataset_classes)}:"
            " open the dataset with the model's number of classes (num_classes=...)")
    probabilities = torch.softmax(logits / temperature, dim=1)
    metrics = compute_metrics(logits, targets, names, probabilities=probabilities)
    metrics.split = split_of(dataset)
    return EvalReport(name, metrics, logits, targets, temperature, tta_flip)


def split_of(dataset: Any) -> str | None:
    """The split a dataset (or a subset/relabelled view of one) was opened with, if known."""
    while dataset is not None:
        split = getattr(dataset, "split", None)
        if split is not None:
            return str(split)
        dataset = getattr(dataset, "base", None) or getattr(dataset, "dataset", None)
    return None


def evaluate_sets(
    model: ExpressionModel | str | Path,
    datasets: Mapping[str, Dataset],
    **kwargs: Any,
) -> dict[str, EvalReport]:
    """`evaluate_model` on several named datasets (test set and robustness subsets) with one model."""
    device = kwargs.get("device", "cpu")
    model = inference_model(as_model(model, device), device)  # converted once for all sets
    return {name: evaluate_model(model, dataset, name=name, **kwargs)
            for name, dataset in datasets.items()}
