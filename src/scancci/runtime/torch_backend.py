"""PyTorch as a classifier backend (`TorchClassifier`, fp32 or bf16 autocast), and loading a
saved model onto it with `scancci.speed.optimize_for_inference` (`torch_classifier`).

It implements `scancci.runtime.classifier.Classifier`, like onnxruntime's `OnnxClassifier`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from scancci.errors import InvalidInputError
from scancci.models.base import ExpressionModel
from scancci.models.io import load_network
from scancci.speed import channels_last as to_channels_last
from scancci.speed import optimize_for_inference


class TorchClassifier:
    """A scancci model run by PyTorch: fp32, or bf16 autocast; channels-last memory layout."""

    def __init__(self, model: ExpressionModel, *, precision: str = "fp32",
                 device: str | torch.device = "cpu", channels_last: bool = False) -> None:
        if precision not in ("fp32", "bf16"):
            raise InvalidInputError(
                f"the torch backend runs precision 'fp32' or 'bf16', not {precision!r}; int8 "
                "runs on onnxruntime (backend='onnx', precision='int8')")
        self.device = torch.device(device)
        self.model = model.eval().to(self.device)
        if channels_last:  # in place: only on a model we loaded ourselves, never a caller's
            to_channels_last(self.model)
        self.config = model.config
        self.precision = precision

    def run(self, batch: np.ndarray, *, attention: bool = False
            ) -> tuple[np.ndarray, np.ndarray | None]:
        """Logits (B x C) and, when asked and available, attention maps (B x h x w)."""
        x = torch.from_numpy(np.ascontiguousarray(batch, dtype=np.float32)).to(self.device)
        with torch.inference_mode(), torch.autocast(self.device.type, dtype=torch.bfloat16,
                                                    enabled=self.precision == "bf16"):
            output = self.model(x, return_attention=attention)
        logits = output.logits.float().cpu().numpy()
        maps = getattr(output, "attention", None) if attention else None
        if maps is not None and maps.get("global") is not None:
            return logits, maps["global"].float().cpu().numpy()
        return logits, None

    def logits(self, batch: np.ndarray) -> np.ndarray:
        """Raw logits, B x C (softmax(logits / config.temperature) gives probabilities)."""
        return self.run(batch)[0]

    def attention(self, batch: np.ndarray) -> np.ndarray | None:
        """Global SCAN attention maps, B x h x w in [0, 1]; None for plain baselines."""
        return self.run(batch, attention=True)[1]

    def __repr__(self) -> str:
        return f"TorchClassifier({self.config.arch!r}, precision={self.precision!r})"


def torch_classifier(model: Any, *, precision: str = "fp32", device: str | torch.device = "cpu"
                     ) -> TorchClassifier:
    """A TorchClassifier for a saved model path (loaded here and, on the CPU, turned into its
    `optimize_for_inference` copy: same logits within 1e-4) or a scancci module (run as given)."""
    if isinstance(model, (str, Path)):
        loaded = load_network(model, map_location="cpu")
        if torch.device(device).type == "cpu" and precision in ("fp32", "bf16"):
            loaded = optimize_for_inference(loaded, precision=precision)
            precision = loaded.precision  # fp32 where this CPU has no native bf16
            return TorchClassifier(loaded, precision=precision, device=device)
        return TorchClassifier(loaded, precision=precision, device=device, channels_last=True)
    if not isinstance(model, ExpressionModel):
        raise InvalidInputError(
            f"expected a saved model path, a scancci model or a classifier, got "
            f"{type(model).__name__}")
    return TorchClassifier(model, precision=precision, device=device)
