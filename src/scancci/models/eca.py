"""ECA: efficient channel attention (Wang et al. 2020), used only on the CCI branch's input.

Global average pool -> 1-D conv across channels (kernel from the ECA adaptive rule; 5 for 1024
channels, as the original) -> sigmoid -> rescale the channels. Module names (`conv`) follow the
original so its `eca.conv.weight` maps directly.
"""

from __future__ import annotations

import math

import torch
from torch import nn


def eca_kernel_size(channels: int, gamma: int = 2, b: int = 1) -> int:
    """ECA's adaptive kernel size: |log2(C)/gamma + b/gamma|, rounded down to odd (1024 -> 5)."""
    k = int(abs(math.log2(channels) / gamma + b / gamma))
    return k if k % 2 else k + 1


class ECA(nn.Module):
    """Channel attention from pooled features through a tiny 1-D convolution."""

    def __init__(self, channels: int, kernel_size: int | None = None) -> None:
        super().__init__()
        k = kernel_size or eca_kernel_size(channels)
        self.conv = nn.Conv1d(1, 1, kernel_size=k, padding=(k - 1) // 2, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = x.mean(dim=(2, 3)).unsqueeze(1)  # B x 1 x C
        y = torch.sigmoid(self.conv(y)).squeeze(1)  # B x C
        return x * y[:, :, None, None]
