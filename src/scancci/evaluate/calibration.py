"""Temperature scaling (Guo et al. 2017): one scalar T fitted on the validation split.

`calibrate(model, validation)` minimises the negative log-likelihood of softmax(logits / T)
with LBFGS over log T (so T stays positive), stores T in `model.config.temperature` (which
`model.predict_proba` and every exported model apply) and returns a `Calibration`: the
temperature with the ECE and NLL before and after. It never changes the predicted class.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.nn import functional as F
from torch.utils.data import DataLoader, Dataset

from scancci.errors import InvalidInputError
from scancci.evaluate.evaluate import as_model, eval_loader, inference_model, predict_logits
from scancci.evaluate.figures import pyplot, save_figure
from scancci.evaluate.metrics import ECE_BINS, expected_calibration_error
from scancci.models.base import ExpressionModel

T_RANGE = (0.05, 20.0)  # temperatures outside this range mean the model is not usable


@dataclass
class Calibration:
    """A temperature and what it does to a set of logits: ECE and NLL before (T = 1) and after."""

    temperature: float
    ece_before: float
    ece_after: float
    nll_before: float
    nll_after: float
    items: int
    logits: torch.Tensor = field(repr=False)
    targets: torch.Tensor = field(repr=False)
    note: str = ""  # why the temperature was not fitted or was bounded; "" when fitted freely

    @classmethod
    def measure(cls, logits: torch.Tensor, targets: torch.Tensor,
                temperature: float | None = None) -> Calibration:
        """`temperature` applied to these logits; None fits it to them first."""
        logits = torch.as_tensor(logits, dtype=torch.float64).detach()
        targets = torch.as_tensor(targets, dtype=torch.long)
        if logits.ndim != 2 or len(logits) != len(targets) or len(targets) == 0:
            raise InvalidInputError(f"logits {tuple(logits.shape)} and targets "
                                    f"{tuple(targets.shape)} do not match")
        t, note = _fit(logits, targets) if temperature is None else (float(temperature), "")
        ece, nll = {}, {}
        for key, value in (("before", 1.0), ("after", t)):
            scaled = logits / value
            ece[key] = expected_calibration_error(torch.softmax(scaled, 1), targets)
            nll[key] = float(F.cross_entropy(scaled, targets))
        return cls(t, ece["before"], ece["after"], nll["before"], nll["after"], len(targets),
                   logits.float(), targets, note)

    def to_dict(self) -> dict[str, Any]:
        """The numbers, JSON-ready (without the logits)."""
        return {"temperature": self.temperature, "ece_before": self.ece_before,
                "ece_after": self.ece_after, "nll_before": self.nll_before,
                "nll_after": self.nll_after, "items": self.items, "note": self.note}

    def plot(self, path: str | Path) -> Path:
        """Reliability diagrams of these logits before (T = 1) and after scaling."""
        t = self.temperature
        return plot_reliability(
            {"before (T = 1)": (torch.softmax(self.logits, 1), self.targets),
             f"after (T = {t:.2f})": (torch.softmax(self.logits / t, 1), self.targets)}, path)

    def __str__(self) -> str:
        return (f"temperature {self.temperature:.3f} (on {self.items} items): "
                f"ECE {100 * self.ece_before:.2f}% -> {100 * self.ece_after:.2f}%, "
                f"NLL {self.nll_before:.3f} -> {self.nll_after:.3f}"
                + (f" ({self.note})" if self.note else ""))


def _fit(logits: torch.Tensor, targets: torch.Tensor, max_iter: int = 200) -> tuple[float, str]:
    """The temperature minimising the NLL of softmax(logits / T) for these targets, and a note
    where it could not be fitted freely (else "")."""
    if bool((logits.argmax(1) == targets).all()):
        # No error to learn from: the NLL only falls as T -> 0 (over-confidence), so T says nothing
        return 1.0, ("not fitted: the model classifies every item right, so the likelihood "
                     "only grows as T falls to 0; T stays 1")
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
    bounded = float(min(max(temperature, T_RANGE[0]), T_RANGE[1]))
    if bounded != temperature:
        return bounded, (f"the fit ran to T = {temperature:.3g}, outside {T_RANGE[0]}-"
                         f"{T_RANGE[1]}: bounded; the model is near chance or near perfect here")
    return bounded, ""


def calibrate(
    model: ExpressionModel,
    validation: DataLoader | Dataset,
    *,
    device: str | torch.device = "cpu",
    batch_size: int = 64,
    progress: bool = True,
) -> Calibration:
    """Fit T on validation items (a loader or dataset the model never trained on), store it in
    `model.config.temperature` and return the `Calibration` measured on those items."""
    model = as_model(model, device)
    runner = inference_model(model, device)
    logits, targets = predict_logits(runner, eval_loader(model, validation, batch_size),
                                     device=device, progress=progress, desc="calibrating")
    result = Calibration.measure(logits, targets)
    model.config.temperature = result.temperature
    return result


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
