"""The Classifier interface, and PyTorch as a classifier backend (`TorchClassifier`).

A Classifier has `.config` (the model's ModelConfig), `.logits(batch)` and `.attention(batch)`
on float32 numpy batches, so the Recognizer runs PyTorch (fp32 or bf16 autocast) and
onnxruntime (`scancci.runtime.onnx_backend.OnnxClassifier`, fp32 or int8) the same way.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

import numpy as np
import torch

from scancci.errors import InvalidInputError


@runtime_checkable
class Classifier(Protocol):
    """Logits (and optionally SCAN attention) for normalised B x 3 x S x S float32 batches."""

    config: Any

    def logits(self, batch: np.ndarray) -> np.ndarray:
        """Raw logits, B x C."""
        ...

    def attention(self, batch: np.ndarray) -> np.ndarray | None:
        """Global attention maps B x h x w in [0, 1], or None when the model has none."""
        ...


class TorchClassifier:
    """A scancci model run by PyTorch: fp32, or bf16 autocast; channels-last memory layout."""

    def __init__(self, model: torch.nn.Module, *, precision: str = "fp32",
                 device: str | torch.device = "cpu", channels_last: bool = False) -> None:
        if precision not in ("fp32", "bf16"):
            raise InvalidInputError(
                f"the torch backend runs precision 'fp32' or 'bf16', not {precision!r}; int8 "
                "runs on onnxruntime (backend='onnx', precision='int8')")
        self.device = torch.device(device)
        # channels_last rewrites the weights in place: only done on a model we loaded
        # ourselves, never on a caller's module (its tensors would turn non-contiguous).
        layout = torch.channels_last if channels_last else torch.preserve_format
        self.model = model.eval().to(self.device, memory_format=layout)
        self.channels_last = channels_last
        self.config = model.config
        self.precision = precision

    def run(self, batch: np.ndarray, *, attention: bool = False
            ) -> tuple[np.ndarray, np.ndarray | None]:
        """Logits (B x C) and, when asked and available, attention maps (B x h x w)."""
        x = torch.from_numpy(np.ascontiguousarray(batch, dtype=np.float32)).to(self.device)
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
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


def classify(classifier: Any, batch: np.ndarray, *, attention: bool = False
             ) -> tuple[np.ndarray, np.ndarray | None]:
    """Logits and (when asked) attention in one pass where the backend supports it."""
    if hasattr(classifier, "run"):
        return classifier.run(batch, attention=attention)
    logits = classifier.logits(batch)
    return logits, classifier.attention(batch) if attention else None
