"""The graph that leaves PyTorch: a model's forward as plain tensors (logits, attention map).

Exporters (ONNX, TorchScript) need tensor outputs, not the `ScanCCIOutput` dataclass; the SCAN
global attention map travels as a second output so that a deployed model can still explain
itself. Plain baselines have no attention, so their graph has the logits only.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from scancci.models import load_network
from scancci.models.base import ExpressionModel
from scancci.models.scancci import ScanCCI
from scancci.runtime.metadata import ATTENTION, LOGITS


def has_attention(model: nn.Module) -> bool:
    """True when `model(x, return_attention=True)` returns a "global" attention map: SCAN-CCI
    models do, plain baselines do not."""
    return isinstance(model, ScanCCI)


class ExportWrapper(nn.Module):
    """`forward(x) -> logits` or `(logits, attention)`: what the exported graph computes."""

    def __init__(self, model: nn.Module, *, with_attention: bool) -> None:
        super().__init__()
        self.model = model
        self.with_attention = with_attention

    def forward(self, x: torch.Tensor) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        out = self.model(x, return_attention=self.with_attention)
        if self.with_attention:
            return out.logits, out.attention["global"]  # B x C, B x h x w
        return out.logits


def output_names(with_attention: bool) -> list[str]:
    """Names of the exported graph's outputs, in order."""
    return [LOGITS, ATTENTION] if with_attention else [LOGITS]


def resolve_model(model: ExpressionModel | str | Path) -> ExpressionModel:
    """A scancci model in eval mode: the module itself, or loaded from anything `load_model` reads."""
    if isinstance(model, nn.Module):
        return model.eval()
    return load_network(model).eval()
