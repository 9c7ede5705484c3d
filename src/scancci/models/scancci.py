"""SCAN-CCI as one nn.Module (Gera & Balasubramanian 2021, arXiv 2007.10298; spec section 1).

    trunk -> stride-8 map  -> attention branch: local SCAN on 25 regions (max over regions)
                                                + global SCAN, concat, L2-normalise, Linear
          -> stride-16 map -> CCI branch: ECA, 4 quadrants, MLP
    logits = mean of the 5 logit vectors (attention + 4 quadrants)

Options (`config.options`):
- local_scan: "shared" (one SCAN for the 25 regions; the original's RAF-DB model) or
  "independent" (25 SCANs; the original's model for the other datasets).
- patch_layout: "grid" (default; correct 5 x 5 grid for any map size) or "reference" (the
  original's wrongly built bottom strip, 224 x 224 only, for parity with its checkpoints).
  Deviation from the original: "grid" fixes its bottom-edge regions.
- cci_heads: "shared" (one MLP for the 4 quadrants, as the original code) or "independent"
  (four MLPs, as the paper's figure suggests). Deviation when "independent".
Unlike the original (three separate modules, 224 px only, a Python loop over 25 regions), the
model takes any input of at least 33 px (grid layout) and runs the 25 regions as four
same-shaped groups: one convolution per group (shared SCAN) or one batched product per group
(independent SCANs).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from scancci.models.backbones import create_trunk
from scancci.models.base import ExpressionModel, ScanCCIOutput
from scancci.models.cci import CCIBranch
from scancci.models.config import ModelConfig
from scancci.models.regions import check_layout, gather_regions, paste_regions, region_groups
from scancci.models.scan import IndependentLocalSCAN, SCANBlock, SharedLocalSCAN

LOCAL_SCAN = ("shared", "independent")
DEFAULT_OPTIONS = {"local_scan": "shared", "patch_layout": "grid", "cci_heads": "shared"}


def local_regions(local_scan: nn.Module, x: torch.Tensor, layout: str
                  ) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """B x C x H x W -> (pooled SCAN outputs B x 25 x C, four groups of region maps)."""
    check_layout(layout, x.shape[2], x.shape[3])
    if isinstance(local_scan, SharedLocalSCAN):
        return local_scan(x, layout)
    specs = region_groups(x.shape[2], x.shape[3], layout)
    groups = gather_regions(x, layout)  # B x R x h x w x C
    results = [local_scan(g, spec) for g, spec in zip(groups, specs, strict=True)]
    return torch.cat([p for p, _ in results], dim=1), [m for _, m in results]


class AttentionBranch(nn.Module):
    """Local (25 regions) and global SCAN on the stride-8 map -> attention logits."""

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
        """B x C x H x W -> (B x classes logits, attention maps or None)."""
        h, w = x.shape[2], x.shape[3]
        pooled, local_maps = local_regions(self.local_scan, x, self.patch_layout)
        local = pooled.max(dim=1).values  # B x C
        attended, a = self.global_scan(x)
        features = torch.cat([local, attended.mean(dim=(2, 3))], dim=1)  # B x 2C
        logits = self.fc(F.normalize(features, p=2, dim=1))
        if not return_attention:
            return logits, None
        maps = {"global": a.mean(dim=1),  # B x H x W
                "local": paste_regions(local_maps, h, w, self.patch_layout)}
        return logits, maps


class ScanCCI(ExpressionModel):
    """SCAN-CCI on a two-tap trunk; `forward(x)` returns a `ScanCCIOutput`."""

    def __init__(self, config: ModelConfig, backbone: str) -> None:
        super().__init__(config)
        opts = {**DEFAULT_OPTIONS, **config.options}
        self.trunk = create_trunk(backbone)
        spec = self.trunk.spec
        self.attention = AttentionBranch(spec.channels8, config.num_classes,
                                         opts["local_scan"], opts["patch_layout"])
        self.cci = CCIBranch(spec.channels16, config.num_classes, opts["cci_heads"])

    def forward(self, x: torch.Tensor, return_attention: bool = False) -> ScanCCIOutput:
        self.check_input(x)
        f8, f16 = self.trunk(x)
        attention_logits, maps = self.attention(f8, return_attention)
        region_logits = self.cci(f16)  # B x 4 x C
        stacked = torch.cat([attention_logits.unsqueeze(1), region_logits], dim=1)
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
