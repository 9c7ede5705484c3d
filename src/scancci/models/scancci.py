"""SCAN-CCI as one nn.Module (Gera & Balasubramanian 2021, arXiv 2007.10298; spec section 1).

    trunk -> stride-8 map  -> attention branch: local SCAN on 25 regions (max over regions)
                                                + global SCAN, concat, L2-normalise, Linear
          -> stride-16 map -> CCI branch: ECA, 4 quadrants, MLP
    logits = mean of the 5 logit vectors (attention + 4 quadrants)

Read top to bottom: ECA, the SCAN block, the two local SCANs, the attention branch, the CCI
branch, the model, then the registered builders. Shapes are for ResNet-50 at 224 px, batch B.
Module names follow the original (1980x/SCAN-CCI-FER) where its checkpoints map key for key.
This file is what the model computes; how it runs fast is `scancci.speed` (transforms applied
by the entry points that want them).

Options (`config.options`), each a deviation from the original only where it says so:
- local_scan: "shared" (one SCAN for the 25 regions; the original's RAF-DB model) or
  "independent" (25 SCANs; the original's model for the other datasets).
- patch_layout: "grid" (default; a correct 5 x 5 grid for any map size) or "original" (the
  original's wrongly built bottom strip, 224 x 224 only, for parity with its checkpoints).
  Deviation from the original: "grid" fixes its bottom-edge regions.
- cci_heads: "shared" (one MLP for the 4 quadrants, as the original code) or "independent"
  (four MLPs, as the paper's figure suggests). Deviation when "independent".
Unlike the original (three separate modules, 224 px only), the model takes any input of at
least 33 px (grid layout). In eval the 25 regions run as four same-shaped groups (one batch of
regions per group); in training the shared SCAN runs region by region, as the original, so
that BatchNorm normalises each region with its own batch statistics.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from scancci.errors import InvalidInputError
from scancci.models.backbones import IMAGENET_MEAN, create_trunk
from scancci.models.base import ExpressionModel, ScanCCIOutput
from scancci.models.config import ModelConfig
from scancci.models.regions import (
    LAYOUTS,
    NUM_REGIONS,
    RegionGroup,
    check_layout,
    gather_regions,
    paste_regions,
    quadrant_bounds,
    region_groups,
)
from scancci.models.registry import register_model

LOCAL_SCAN = ("shared", "independent")
CCI_HEADS = ("shared", "independent")
DEFAULT_OPTIONS = {"local_scan": "shared", "patch_layout": "grid", "cci_heads": "shared"}
SCANCCI_OPTIONS = {"local_scan": LOCAL_SCAN, "patch_layout": LAYOUTS, "cci_heads": CCI_HEADS}


# ------------------------------------------------------------------------------------------ ECA


def eca_kernel_size(channels: int, gamma: int = 2, b: int = 1) -> int:
    """ECA's adaptive kernel size: |log2(C)/gamma + b/gamma| truncated, made odd (1024 -> 5)."""
    k = int(abs(math.log2(channels) / gamma + b / gamma))
    return k if k % 2 else k + 1


class ECA(nn.Module):
    """Efficient channel attention (Wang et al. 2020), on the CCI branch's input only: pooled
    features through a 1-D convolution across channels, sigmoid, rescale the channels."""

    def __init__(self, channels: int, kernel_size: int | None = None) -> None:
        super().__init__()
        k = kernel_size or eca_kernel_size(channels)
        self.conv = nn.Conv1d(1, 1, kernel_size=k, padding=(k - 1) // 2, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = x.mean(dim=(2, 3)).unsqueeze(1)  # B x 1 x 1024
        y = torch.sigmoid(self.conv(y)).squeeze(1)  # B x 1024
        return x * y[:, :, None, None]


# ----------------------------------------------------------------------------------------- SCAN


class SCANBlock(nn.Module):
    """SCAN, spatio-channel attention: A = Sigmoid(BN(PReLU(Conv3x3(X)))), output A * X.

    A is a full C x h x w map (per channel and per location): no pooling, no reduction ratio,
    no residual. BatchNorm comes after PReLU, as the original; `attention.0/1/2` are its keys.
    """

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.attention = nn.Sequential(
            nn.Conv2d(channels, channels, kernel_size=3, stride=1, padding=1, bias=False),
            nn.PReLU(channels),
            nn.BatchNorm2d(channels),
            nn.Sigmoid(),
        )

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """B x C x h x w -> (A * X, A), both B x C x h x w."""
        a = self.attention(x)
        return a * x, a


def _check_batch_norm_batch(batch: int, height: int, width: int) -> None:
    """Training BatchNorm of one region needs two values per channel: say so in scancci terms."""
    if batch * height * width < 2:
        raise InvalidInputError(
            f"BatchNorm in training needs more than one value per region and channel, got a batch "
            f"of {batch} with {height} x {width} regions: use a larger batch or input")


class SharedLocalSCAN(nn.Module):
    """One SCAN applied to each of the 25 regions (the original's `SharedAttentionBranch`).

    Each region is its own tensor, so the 3x3 convolution zero-pads at every region border.
    Training runs the regions one by one, in region order, exactly as the original's loop: each
    region is normalised with its own batch statistics and updates the running statistics once.
    Eval BatchNorm is one affine map, so a group of same-shaped regions runs as one batch.
    """

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.block = SCANBlock(channels)

    def forward(self, x: torch.Tensor, layout: str = "grid"
                ) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """B x C x H x W map -> (pooled B x 25 x C, four attention groups B x R x h x w)."""
        pooled, maps = [], []
        for group in gather_regions(x, layout):  # B x R x h x w x C, e.g. B x 16 x 6 x 6 x 512
            b, r, h, w, _ = group.shape
            regions = group.permute(0, 1, 4, 2, 3)  # B x R x C x h x w
            if self.training:
                _check_batch_norm_batch(b, h, w)
                per_region = [self.block(region) for region in regions.unbind(1)]  # (A*X, A)
                attended = torch.stack([out for out, _ in per_region], dim=1)  # B x R x C x h x w
                a = torch.stack([a for _, a in per_region], dim=1)
            else:
                attended, a = self.block(regions.flatten(0, 1))  # B*R x C x h x w
                attended, a = attended.unflatten(0, (b, r)), a.unflatten(0, (b, r))
            pooled.append(attended.mean(dim=(3, 4)))  # B x R x C
            maps.append(a.mean(dim=2))  # B x R x h x w
        return torch.cat(pooled, dim=1), maps


class IndependentLocalSCAN(nn.Module):
    """25 separate SCANs, one per region (the original's `AttentionBranch`), stored stacked.

    Region k's 3x3 conv weight is `conv_weight[k]`, laid out for a matrix product: 9*C x C, row
    (3i + j)*C + c_in = original weight[c_out, c_in, i, j]. A group of same-shaped regions runs
    as one batched matrix product over its regions (channels-last im2col), then PReLU and
    BatchNorm with each region's own parameters and statistics (R x C tensors); regions share
    nothing, so this is the original's per-region loop, training included.
    """

    running_mean: torch.Tensor
    running_var: torch.Tensor
    num_batches_tracked: torch.Tensor

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

    def forward(self, x: torch.Tensor, layout: str = "grid"
                ) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """B x C x H x W map -> (pooled B x 25 x C, four attention groups B x R x h x w)."""
        specs = region_groups(x.shape[2], x.shape[3], layout)
        results = [self._group(g, spec) for g, spec in zip(gather_regions(x, layout), specs,
                                                           strict=True)]
        return torch.cat([p for p, _ in results], dim=1), [m for _, m in results]

    def _group(self, group: torch.Tensor, spec: RegionGroup) -> tuple[torch.Tensor, torch.Tensor]:
        """B x R x h x w x C regions -> (pooled B x R x C, attention B x R x h x w)."""
        b, r, h, w, c = group.shape
        ks = slice(spec.start, spec.start + r)
        x = group.transpose(0, 1)  # R x B x h x w x C
        padded = F.pad(x, (0, 0, 1, 1, 1, 1))  # zero border around each region
        cols = torch.cat([padded[:, :, i:i + h, j:j + w] for i in range(3) for j in range(3)],
                         dim=-1)  # R x B x h x w x 9C
        y = torch.bmm(cols.reshape(r, b * h * w, 9 * c), self.conv_weight[ks])  # R x BHW x C
        y = torch.where(y >= 0, y, y * self.prelu_weight[ks].unsqueeze(1))
        y = self._batch_norm(y, ks, b, h, w)
        a = torch.sigmoid(y).reshape(r, b, h, w, c)
        pooled = (a * x).mean(dim=(2, 3)).transpose(0, 1)  # B x R x C
        return pooled, a.mean(dim=-1).transpose(0, 1)

    def _batch_norm(self, y: torch.Tensor, ks: slice, b: int, h: int, w: int) -> torch.Tensor:
        """Per region and channel BatchNorm of R x N x C values."""
        if self.training:
            _check_batch_norm_batch(b, h, w)
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


# ------------------------------------------------------------------------------------ branches


class AttentionBranch(nn.Module):
    """Local (25 regions) and global SCAN on the stride-8 map -> attention logits."""

    fc: nn.Linear

    def __init__(self, channels: int, num_classes: int, local_scan: str = "shared",
                 patch_layout: str = "grid") -> None:
        super().__init__()
        self.patch_layout = patch_layout
        self.local_scan = (SharedLocalSCAN(channels) if local_scan == "shared"
                           else IndependentLocalSCAN(channels))
        self.global_scan = SCANBlock(channels)
        self.fc = nn.Linear(2 * channels, num_classes)

    def forward(self, x: torch.Tensor, return_attention: bool = False
                ) -> tuple[torch.Tensor, dict[str, torch.Tensor] | None]:
        """B x 512 x 28 x 28 -> (B x classes logits, attention maps or None)."""
        h, w = x.shape[2], x.shape[3]
        check_layout(self.patch_layout, h, w)
        pooled, local_maps = self.local_scan(x, self.patch_layout)  # B x 25 x 512
        local = pooled.max(dim=1).values  # B x 512: max over the regions
        attended, a = self.global_scan(x)  # B x 512 x 28 x 28 each
        features = torch.cat([local, attended.mean(dim=(2, 3))], dim=1)  # B x 1024
        logits = self.fc(F.normalize(features, p=2, dim=1))
        if not return_attention:
            return logits, None
        maps = {"global": a.mean(dim=1),  # B x 28 x 28
                "local": paste_regions(local_maps, h, w, self.patch_layout)}
        return logits, maps


REDUCTION = 4  # the CCI MLP's hidden layer: C / 4


def _mlp(channels: int, num_classes: int) -> nn.Sequential:
    hidden = channels // REDUCTION
    return nn.Sequential(nn.Linear(channels, hidden), nn.ReLU(), nn.Linear(hidden, num_classes))


class CCIBranch(nn.Module):
    """Complementary context information: ECA on the stride-16 map, four quadrants (TL, TR, BL,
    BR), global average pool each, then an MLP C -> C/4 -> classes per quadrant.

    `heads="shared"` (default): one MLP for the four quadrants, as the original code (and its
    parameter count); `"independent"`: four MLPs (`heads.{0..3}`), as the paper's figure.
    """

    region_net: nn.Sequential
    heads: nn.ModuleList

    def __init__(self, channels: int, num_classes: int, heads: str = "shared") -> None:
        super().__init__()
        self.eca = ECA(channels)  # kernel 5 for 1024 channels, as the original
        self.channels, self.heads_mode = channels, heads
        if heads == "shared":
            self.region_net = _mlp(channels, num_classes)
        else:
            self.heads = nn.ModuleList(_mlp(channels, num_classes) for _ in range(4))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """B x 1024 x 14 x 14 -> B x 4 x classes."""
        x = self.eca(x)
        pooled = torch.stack([x[:, :, r0:r1, c0:c1].mean(dim=(2, 3))
                              for r0, r1, c0, c1 in quadrant_bounds(x.shape[2], x.shape[3])],
                             dim=1)  # B x 4 x 1024
        if self.heads_mode == "shared":
            return self.region_net(pooled)
        return torch.stack([head(pooled[:, q]) for q, head in enumerate(self.heads)], dim=1)

    def reset_classifier(self, num_classes: int) -> None:
        """New final Linear layer(s) for `num_classes`, keeping ECA and the hidden layer."""
        mlps: list[nn.Module] = [self.region_net] if self.heads_mode == "shared" \
            else list(self.heads)
        for mlp in mlps:
            assert isinstance(mlp, nn.Sequential)
            mlp[2] = nn.Linear(self.channels // REDUCTION, num_classes)


# ---------------------------------------------------------------------------------------- model


class ScanCCI(ExpressionModel):
    """SCAN-CCI on a two-tap trunk; `forward(x)` returns a `ScanCCIOutput`."""

    attention: AttentionBranch
    cci: CCIBranch

    def __init__(self, config: ModelConfig, backbone: str) -> None:
        super().__init__(config)
        opts = {**DEFAULT_OPTIONS, **config.options}
        self.trunk = create_trunk(backbone)
        spec = self.trunk.spec
        self.attention = AttentionBranch(spec.channels8, config.num_classes,
                                         opts["local_scan"], opts["patch_layout"])
        self.cci = CCIBranch(spec.channels16, config.num_classes, opts["cci_heads"])

    def forward(self, x: torch.Tensor, return_attention: bool = False) -> ScanCCIOutput:
        """B x 3 x 224 x 224 normalised RGB -> logits, attention and region logits (and maps)."""
        self.check_input(x)
        f8, f16 = self.trunk(x)  # B x 512 x 28 x 28, B x 1024 x 14 x 14
        attention_logits, maps = self.attention(f8, return_attention)  # B x classes
        region_logits = self.cci(f16)  # B x 4 x classes
        stacked = torch.cat([attention_logits.unsqueeze(1), region_logits], dim=1)  # B x 5 x cl.
        return ScanCCIOutput(stacked.mean(dim=1), attention_logits, region_logits, maps)

    def parameter_groups(self) -> dict[str, list[nn.Parameter]]:
        """"trunk" (lr 1e-4 in the original), "attention" and "cci" (head lr)."""
        return {"trunk": list(self.trunk.parameters()),
                "attention": list(self.attention.parameters()),
                "cci": list(self.cci.parameters())}

    def reset_classifier(self, num_classes: int, class_names: list[str] | tuple[str, ...] | None = None
                         ) -> None:
        """New attention Linear and CCI output Linear(s); the rest of the network is kept."""
        old = self.attention.fc
        self.attention.fc = nn.Linear(old.in_features, num_classes).to(old.weight)
        self.cci.reset_classifier(num_classes)
        self.cci.to(old.weight)
        self._set_classes(num_classes, class_names)


# ------------------------------------------------------------------------------------- builders

HALF = (0.5, 0.5, 0.5)


@register_model(backbone="resnet50", options=SCANCCI_OPTIONS, defaults=DEFAULT_OPTIONS, mean=HALF)
def scancci_resnet50(config: ModelConfig) -> ScanCCI:
    """SCAN-CCI on ResNet-50 to layer3, as the paper (13.5M params shared, 70.2M independent)."""
    return ScanCCI(config, "resnet50")


@register_model(backbone="resnet18", options=SCANCCI_OPTIONS, defaults=DEFAULT_OPTIONS,
                mean=IMAGENET_MEAN)
def scancci_resnet18(config: ModelConfig) -> ScanCCI:
    """SCAN-CCI on ResNet-18 to layer3."""
    return ScanCCI(config, "resnet18")


@register_model(backbone="mobilenetv2", options=SCANCCI_OPTIONS, defaults=DEFAULT_OPTIONS,
                mean=IMAGENET_MEAN)
def scancci_mobilenetv2(config: ModelConfig) -> ScanCCI:
    """SCAN-CCI on MobileNetV2 taps (stride 8/16); the light CPU model, packaged ImageNet weights."""
    return ScanCCI(config, "mobilenetv2")
