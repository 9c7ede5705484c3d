"""Baselines without SCAN or CCI: a whole torchvision backbone + global average pool + Linear.

They answer "what do the attention and context branches add?" on the same data and recipe, and
return the same `ScanCCIOutput` (only `logits` is set).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torchvision
from torch import nn

from scancci.errors import unknown_name
from scancci.models.backbones import IMAGENET_MEAN, ResNetLayers
from scancci.models.base import ExpressionModel, ScanCCIOutput
from scancci.models.config import ModelConfig
from scancci.models.registry import register_model


class ResNetFeatures(ResNetLayers):
    """torchvision ResNet without avgpool/fc (keys as torchvision's): the trunk plus layer4."""

    def __init__(self, depth: int) -> None:
        super().__init__(depth, keep_layer4=True)
        self.channels = 512 * (4 if depth == 50 else 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layer4(self.taps(x)[1])


class MobileNetV2Features(nn.Module):
    """torchvision MobileNetV2 `features` (keys as torchvision's)."""

    def __init__(self) -> None:
        super().__init__()
        self.features = torchvision.models.mobilenet_v2().features
        self.channels = 1280

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x)


PLAIN_TRUNKS: dict[str, Callable[[], ResNetFeatures | MobileNetV2Features]] = {
    "resnet18": lambda: ResNetFeatures(18), "mobilenetv2": MobileNetV2Features}


class PlainClassifier(ExpressionModel):
    """Backbone -> global average pool -> Linear."""

    def __init__(self, config: ModelConfig, backbone: str) -> None:
        super().__init__(config)
        if backbone not in PLAIN_TRUNKS:
            raise unknown_name("backbone", backbone, PLAIN_TRUNKS)
        self.trunk = PLAIN_TRUNKS[backbone]()
        self.head = nn.Linear(self.trunk.channels, config.num_classes)

    def forward(self, x: torch.Tensor, return_attention: bool = False) -> ScanCCIOutput:
        self.check_input(x)
        features = self.trunk(x).mean(dim=(2, 3))  # B x channels
        return ScanCCIOutput(self.head(features))

    def parameter_groups(self) -> dict[str, list[nn.Parameter]]:
        """"trunk" and "head"."""
        return {"trunk": list(self.trunk.parameters()), "head": list(self.head.parameters())}

    def reset_classifier(self, num_classes: int, class_names: list[str] | tuple[str, ...] | None = None
                         ) -> None:
        """A new Linear head for `num_classes`."""
        self.head = nn.Linear(self.head.in_features, num_classes).to(self.head.weight)
        self._set_classes(num_classes, class_names)


@register_model(backbone="resnet18", mean=IMAGENET_MEAN)
def plain_resnet18(config: ModelConfig) -> PlainClassifier:
    """baseline: ResNet-18 + global pool + linear."""
    return PlainClassifier(config, "resnet18")


@register_model(backbone="mobilenetv2", mean=IMAGENET_MEAN)
def plain_mobilenetv2(config: ModelConfig) -> PlainClassifier:
    """baseline: MobileNetV2 + global pool + linear."""
    return PlainClassifier(config, "mobilenetv2")
