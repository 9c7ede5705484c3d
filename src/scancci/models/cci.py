"""CCI: complementary context information branch (spec section 1).

ECA on the stride-16 map, split into four quadrants (top-left, top-right, bottom-left,
bottom-right), global average pool each, then an MLP Linear(C, C/4) -> ReLU -> Linear(C/4, classes)
per quadrant -> B x 4 x classes logits.

Deviation option: the original code builds ONE MLP shared by the four quadrants (`heads="shared"`,
the default, matching its parameter count); the paper's figure suggests four, available as
`heads="independent"` (`heads.{0..3}`).
"""

from __future__ import annotations

import torch
from torch import nn

from scancci.models.eca import ECA
from scancci.models.regions import quadrant_bounds

CCI_HEADS = ("shared", "independent")


def _mlp(channels: int, num_classes: int, reduction: int = 4) -> nn.Sequential:
    hidden = channels // reduction
    return nn.Sequential(nn.Linear(channels, hidden), nn.ReLU(), nn.Linear(hidden, num_classes))


class CCIBranch(nn.Module):
    """Quadrant classifiers over the ECA-weighted stride-16 map."""

    def __init__(self, channels: int, num_classes: int, heads: str = "shared") -> None:
        super().__init__()
        self.eca = ECA(channels)  # kernel 5 for 1024 channels, as the original
        self.heads_mode = heads
        if heads == "shared":
            self.region_net = _mlp(channels, num_classes)
        else:
            self.heads = nn.ModuleList(_mlp(channels, num_classes) for _ in range(4))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """B x C x h x w -> B x 4 x classes."""
        x = self.eca(x)
        pooled = torch.stack([x[:, :, r0:r1, c0:c1].mean(dim=(2, 3))
                              for r0, r1, c0, c1 in quadrant_bounds(x.shape[2], x.shape[3])],
                             dim=1)  # B x 4 x C
        if self.heads_mode == "shared":
            return self.region_net(pooled)
        return torch.stack([head(pooled[:, q]) for q, head in enumerate(self.heads)], dim=1)

    def reset_classifier(self, num_classes: int) -> None:
        """New final Linear layer(s) for `num_classes`, keeping ECA and the hidden layer."""
        mlps = [self.region_net] if self.heads_mode == "shared" else list(self.heads)
        for mlp in mlps:
            mlp[2] = nn.Linear(mlp[2].in_features, num_classes)
