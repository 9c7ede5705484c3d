"""SCAN: spatio-channel attention (Gera & Balasubramanian 2021; spec section 1).

    A = Sigmoid(BatchNorm(PReLU(Conv3x3(X))));  output = A * X

A is a full C x h x w map (per channel and per location); no pooling, no reduction ratio, no
residual. `SCANBlock` keeps the original's module names (`attention.0` conv, `.1` PReLU,
`.2` BatchNorm) so original checkpoints map key for key.

The local branch applies SCAN to each of the 25 regions as its own tensor (the 3x3 conv
zero-pads at every region border). The original loops over regions in Python; here the regions
are gathered into their four same-shaped groups (`gather_regions`) and:
- shared SCAN (one for all regions): one convolution per group, its regions as the batch;
- independent SCANs (25 of them): one batched matrix product per group (im2col).
Both give the original's results: in training mode BatchNorm still normalises each region with
its own batch statistics and updates the running statistics once per region, in region order.
The shared and global SCAN convolutions go through `conv3x3.scan_conv3x3`: `F.conv2d`, with a
weight gradient computed as per-tap matrix products on the CPU (about twice as fast there).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from scancci.errors import InvalidInputError
from scancci.models.conv3x3 import scan_conv3x3
from scancci.models.regions import NUM_REGIONS, RegionGroup, gather_regions


class SCANBlock(nn.Module):
    """SCAN on one feature map; `forward` returns (A * X, A)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.attention = nn.Sequential(
            nn.Conv2d(channels, channels, kernel_size=3, stride=1, padding=1, bias=False),
            nn.PReLU(channels),
            nn.BatchNorm2d(channels),  # after PReLU, as the original
            nn.Sigmoid(),
        )

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        conv, prelu, bn, sigmoid = self.attention
        a = sigmoid(bn(prelu(scan_conv3x3(x, conv.weight))))
        return a * x, a


class SharedLocalSCAN(nn.Module):
    """One SCAN applied to all 25 regions (the original's `SharedAttentionBranch`).

    The original zero-pads and convolves the 25 regions one by one. Here the map's cells are
    gathered into the four same-shaped groups by one permutation (`gather_regions`) and each
    group goes through the convolution as one batch of regions: the same values, 4 kernels
    instead of 25, and no FLOPs beyond the original's (on a 2-core AVX2 CPU 1.26x faster in eval
    and 1.44x in training than one convolution over the whole map minus the border taps;
    docs/model.md).
    """

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.block = SCANBlock(channels)

    def forward(self, x: torch.Tensor, layout: str = "grid"
                ) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """B x C x H x W map -> (pooled B x 25 x C, four attention groups B x R x h x w)."""
        return scan_region_groups(x, layout, self._attend)

    def _attend(self, regions: torch.Tensor, count: int) -> torch.Tensor:
        """B*R x C x h x w regions of one group -> their attention A (per-region BN in training)."""
        conv, prelu, bn = self.block.attention[0], self.block.attention[1], self.block.attention[2]
        y = F.prelu(scan_conv3x3(regions, conv.weight), prelu.weight)
        return torch.sigmoid(_per_region_batch_norm(y, count, bn) if bn.training else bn(y))


def scan_region_groups(x: torch.Tensor, layout: str,
                       attend: Callable[[torch.Tensor, int], torch.Tensor]
                       ) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """Shared SCAN over the 25 regions, a same-shaped group at a time.

    `attend(regions B*R x C x h x w, R)` -> A; returns (mean of A * X per region, B x 25 x C;
    the four attention groups, B x R x h x w).
    """
    pooled, maps = [], []
    for group in gather_regions(x, layout):
        b, r, h, w, c = group.shape
        xg = group.reshape(b * r, h, w, c).permute(0, 3, 1, 2)  # B*R x C x h x w
        a = attend(xg, r)
        pooled.append((a * xg).mean(dim=(2, 3)).reshape(b, r, c))
        maps.append(a.mean(dim=1).reshape(b, r, h, w))
    return torch.cat(pooled, dim=1), maps


def _per_region_batch_norm(y: torch.Tensor, regions: int, bn: nn.BatchNorm2d) -> torch.Tensor:
    """Training-mode BatchNorm with each region's own statistics (as the per-region loop)."""
    n, c, h, w = y.shape
    count = (n // regions) * h * w
    if count < 2:
        raise InvalidInputError(
            f"BatchNorm in training needs more than one value per region and channel, got a batch "
            f"of {n // regions} with {h} x {w} regions: use a larger batch or input")
    yv = y.reshape(n // regions, regions, c, h, w)
    var, mean = torch.var_mean(yv, dim=(0, 3, 4), unbiased=False)  # R x C each
    scale = torch.rsqrt(var + bn.eps) * bn.weight
    out = (yv - mean[:, :, None, None]) * scale[:, :, None, None] + bn.bias[:, None, None]
    if bn.track_running_stats:
        _update_running_stats(bn, mean.detach(), var.detach() * count / (count - 1))
    return out.reshape(n, c, h, w)


@torch.no_grad()
def _update_running_stats(bn: nn.BatchNorm2d, means: torch.Tensor, variances: torch.Tensor) -> None:
    """Apply the per-region momentum updates one region after another (R x C statistics)."""
    for mean, var in zip(means, variances, strict=True):
        bn.num_batches_tracked += 1
        factor = bn.momentum if bn.momentum is not None else 1.0 / float(bn.num_batches_tracked)
        bn.running_mean.mul_(1 - factor).add_(mean, alpha=factor)
        bn.running_var.mul_(1 - factor).add_(var, alpha=factor)


class IndependentLocalSCAN(nn.Module):
    """25 separate SCANs, one per region (the original's `AttentionBranch`), stored stacked.

    Region k's 3x3 conv weight is `conv_weight[k]`, laid out for a matrix product: 9*C x C, row
    (3i + j)*C + c_in = original weight[c_out, c_in, i, j]. A group of same-shaped regions runs
    as ONE batched matrix product over its regions (channels-last im2col), then PReLU and
    BatchNorm with each region's own parameters and statistics (R x C tensors).
    """

    def __init__(self, channels: int, regions: int = NUM_REGIONS) -> None:
        super().__init__()
        self.channels, self.regions = channels, regions
        self.conv_weight = nn.Parameter(torch.empty(regions, 9 * channels, channels))
        self.prelu_weight = nn.Parameter(torch.full((regions, channels), 0.25))
        self.bn_weight = nn.Parameter(torch.ones(regions, channels))
        self.bn_bias = nn.Parameter(torch.zeros(regions, channels))
        self.register_buffer("running_mean", torch.zeros(regions, channels))
        self.register_buffer("running_var", torch.ones(regions, channels))
        self.register_buffer("num_batches_tracked", torch.zeros(regions, dtype=torch.long))
        self.momentum, self.eps = 0.1, 1e-5
        with torch.no_grad():  # nn.Conv2d's default init, region by region
            for k in range(regions):
                w = torch.empty(channels, channels, 3, 3)
                nn.init.kaiming_uniform_(w, a=math.sqrt(5))
                self.conv_weight[k] = conv_to_matmul(w)

    def forward(self, group: torch.Tensor, spec: RegionGroup) -> tuple[torch.Tensor, torch.Tensor]:
        """B x R x h x w x C regions -> (pooled B x R x C, attention B x R x h x w)."""
        b, r, h, w, c = group.shape
        ks = slice(spec.start, spec.start + r)
        x = group.transpose(0, 1)  # R x B x h x w x C
        padded = F.pad(x, (0, 0, 1, 1, 1, 1))  # zero border around each region
        cols = torch.cat([padded[:, :, i:i + h, j:j + w] for i in range(3) for j in range(3)],
                         dim=-1)  # R x B x h x w x 9C
        y = torch.bmm(cols.reshape(r, b * h * w, 9 * c), self.conv_weight[ks])  # R x BHW x C
        y = torch.where(y >= 0, y, y * self.prelu_weight[ks].unsqueeze(1))
        y = self._batch_norm(y, ks)
        a = torch.sigmoid(y).reshape(r, b, h, w, c)
        pooled = (a * x).mean(dim=(2, 3)).transpose(0, 1)  # B x R x C
        return pooled, a.mean(dim=-1).transpose(0, 1)

    def _batch_norm(self, y: torch.Tensor, ks: slice) -> torch.Tensor:
        """Per region and channel BatchNorm of R x N x C values."""
        if self.training:
            if y.shape[1] < 2:
                raise InvalidInputError(
                    "BatchNorm in training needs more than one value per region and channel: use "
                    "a larger batch or input")
            var, mean = torch.var_mean(y, dim=1, unbiased=False)  # R x C
            with torch.no_grad():
                n = y.shape[1]
                self.num_batches_tracked[ks] += 1
                self.running_mean[ks] = torch.lerp(self.running_mean[ks], mean, self.momentum)
                self.running_var[ks] = torch.lerp(self.running_var[ks], var * n / (n - 1),
                                                  self.momentum)
        else:
            var, mean = self.running_var[ks], self.running_mean[ks]
        scale = torch.rsqrt(var + self.eps) * self.bn_weight[ks]  # R x C
        shift = self.bn_bias[ks] - mean * scale
        return y * scale.unsqueeze(1) + shift.unsqueeze(1)

    def extra_repr(self) -> str:
        return f"regions={self.regions}, channels={self.channels}"


def conv_to_matmul(weight: torch.Tensor) -> torch.Tensor:
    """C_out x C_in x 3 x 3 conv weight -> 9*C_in x C_out (rows: (3i + j)*C_in + c_in)."""
    c_out, c_in = weight.shape[:2]
    return weight.permute(2, 3, 1, 0).reshape(9 * c_in, c_out)


def matmul_to_conv(weight: torch.Tensor) -> torch.Tensor:
    """Inverse of `conv_to_matmul`."""
    c_out = weight.shape[1]
    c_in = weight.shape[0] // 9
    return weight.reshape(3, 3, c_in, c_out).permute(3, 2, 0, 1)
