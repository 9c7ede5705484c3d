"""Temperature scaling (Guo et al. 2017): one scalar T fitted on the validation split.

`fit_temperature` minimises the negative log-likelihood of softmax(logits / T) with LBFGS over
log T (so T stays positive) and stores T in `model.config.temperature`, which
`model.predict_proba` and every exported model apply. It never changes the predicted class.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F
from torch.utils.data import DataLoader, Dataset

from scancci.errors import InvalidInputError
from scancci.evaluate.evaluate import as_model, eval_loader, inference_model, predict_logits
from scancci.evaluate.figures import pyplot, save_figure
from scancci.evaluate.metrics import ECE_BINS, expected_calibration_error

T_RANGE = (0.05, 20.0)  # temperatures outside this range mean the model is not usable


def fit_temperature_to_logits(logits: torch.Tensor, targets: torch.Tensor,
                              max_iter: int = 200) -> float:
    """The temperature minimising the NLL of softmax(logits / T) for these targets."""
    logits = torch.as_tensor(logits, dtype=torch.float64).detach()
    targets = torch.as_tensor(targets, dtype=torch.long)
    if logits.ndim != 2 or len(logits) != len(targets) or len(targets) == 0:
        raise InvalidInputError(f"logits {tuple(logits.shape)} and targets "
                                f"{tuple(targets.shape)} do not match")
    log_t = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.LBFGS([log_t], lr=0.1, max_iter=max_iter,
                                  line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        optimizer.zero_grad()
        loss = F.cross_entropy(logits / log_t.exp(), targets)
        loss.backward()
        return loss

    optimizer.step(closure)
    temperature = float(log_t.detach().exp())
    if not np.isfinite(temperature) or temperature <= 0:
        raise InvalidInputError(f"temperature fitting diverged (T = {temperature})")
    # A model no better than chance drives T to infinity (uniform output): keep it bounded.
    return float(min(max(temperature, T_RANGE[0]), T_RANGE[1]))


def fit_temperature(
    model: nn.Module,
    loader_or_dataset: DataLoader | Dataset,
    *,
    device: str | torch.device = "cpu",
    batch_size: int = 64,
    progress: bool = True,
) -> float:
    """Fit T on a validation loader/dataset, store it in `model.config.temperature`, return it."""
    return calibrate_on(model, loader_or_dataset, device=device, batch_size=batch_size,
                        progress=progress)[0]


def calibrate_on(
    model: nn.Module,
    loader_or_dataset: DataLoader | Dataset,
    *,
    device: str | torch.device = "cpu",
    batch_size: int = 64,
    progress: bool = True,
) -> tuple[float, torch.Tensor, torch.Tensor]:
    """`fit_temperature`, also returning the validation logits and targets it was fitted on."""
    model = as_model(model, device)
    runner = inference_model(model, device)
    logits, targets = predict_logits(runner, eval_loader(model, loader_or_dataset, batch_size),
                                     device=device, progress=progress, desc="calibrating")
    temperature = fit_temperature_to_logits(logits, targets)
    model.config.temperature = temperature
    return temperature, logits, targets


def reliability_bins(probabilities: torch.Tensor, targets: torch.Tensor,
                     n_bins: int = ECE_BINS) -> dict[str, np.ndarray]:
    """Per confidence bin: mean confidence, accuracy and count (for the diagram)."""
    probs = torch.as_tensor(probabilities, dtype=torch.float32)
    confidence, predicted = probs.max(dim=1)
    correct = (predicted == torch.as_tensor(targets)).float()
    edges = torch.linspace(0, 1, n_bins + 1)
    index = torch.clamp(torch.bucketize(confidence, edges, right=True) - 1, 0, n_bins - 1)
    counts = torch.bincount(index, minlength=n_bins).float()
    conf_sum = torch.bincount(index, weights=confidence, minlength=n_bins)
    acc_sum = torch.bincount(index, weights=correct, minlength=n_bins)
    safe = counts.clamp(min=1)
    return {"edges": edges.numpy(), "confidence": (conf_sum / safe).numpy(),
            "accuracy": (acc_sum / safe).numpy(), "count": counts.numpy()}


def plot_calibration(logits: torch.Tensor, targets: torch.Tensor, temperature: float,
                     path: str | Path) -> Path:
    """Reliability diagrams of the same logits before (T = 1) and after temperature scaling."""
    return plot_reliability(
        {"before (T = 1)": (torch.softmax(logits, 1), targets),
         f"after (T = {temperature:.2f})": (torch.softmax(logits / temperature, 1), targets)},
        path)


def plot_reliability(
    curves: dict[str, tuple[torch.Tensor, torch.Tensor]], path: str | Path,
    n_bins: int = ECE_BINS,
) -> Path:
    """Reliability diagram(s), one panel per name -> (probabilities, targets), with the ECE."""
    plt = pyplot()

    fig, axes = plt.subplots(1, len(curves), figsize=(4.2 * len(curves), 4.2), squeeze=False)
    for ax, (title, (probs, targets)) in zip(axes[0], curves.items(), strict=True):
        bins = reliability_bins(probs, targets, n_bins)
        centers = (bins["edges"][:-1] + bins["edges"][1:]) / 2
        used = bins["count"] > 0
        ax.bar(centers[used], bins["accuracy"][used], width=1.0 / n_bins, edgecolor="black",
               color="#4c78a8", label="accuracy")
        ax.plot([0, 1], [0, 1], "--", color="gray", label="perfect calibration")
        ece = expected_calibration_error(probs, targets, n_bins)
        ax.set(title=f"{title} (ECE {100 * ece:.1f}%)", xlabel="confidence", ylabel="accuracy",
               xlim=(0, 1), ylim=(0, 1))
        ax.legend(loc="upper left", fontsize=8)
    return save_figure(fig, path)


def calibration_summary(logits: torch.Tensor, targets: torch.Tensor,
                        temperature: float) -> dict[str, Any]:
    """ECE and NLL before (T = 1) and after scaling by `temperature`."""
    targets = torch.as_tensor(targets, dtype=torch.long)
    out: dict[str, Any] = {"temperature": temperature}
    for key, t in (("before", 1.0), ("after", temperature)):
        scaled = logits / t
        out[f"ece_{key}"] = expected_calibration_error(torch.softmax(scaled, 1), targets)
        out[f"nll_{key}"] = float(F.cross_entropy(scaled, targets))
    return out
