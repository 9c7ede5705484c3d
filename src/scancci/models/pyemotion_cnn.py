"""The 4-conv grey-face CNN of the PyEmotion package (1.0.0, `PyEmotion/model/main_model.pkl`),
written here in PyTorch to run that checkpoint.

Design (as the package's `NetworkV2(in_c=1, nl=32, out_f=7)`): four blocks of reflection pad,
3 x 3 conv, BN, ReLU (32, 64, 128, 256 channels; strides 1, 2, 2, 2: 48 -> 48 -> 24 -> 12 -> 6),
then Linear 9216 -> 256, ReLU, Linear 256 -> 7 and a sigmoid.

Departures, none of which change its outputs:
- input is scancci's B x 3 x S x S normalised RGB, turned to grey first (BT.601, as the
  package's cv2.COLOR_BGR2GRAY);
- "logits" are the network's sigmoid scores: its last layer is a sigmoid and the package ranks
  classes by them, so softmax(logits) is flat (each score is in [0, 1]); calibration
  (`scancci calibrate`) rescales it.
"""

from __future__ import annotations

from typing import cast

import torch
from torch import nn

from scancci.models.base import ExpressionModel, ScanCCIOutput
from scancci.models.config import ModelConfig
from scancci.models.mini_xception import to_grey
from scancci.models.registry import register_model

WIDTH = 32  # channels of the first block; each next block doubles them
HIDDEN = 256


def _block(in_channels: int, out_channels: int, stride: int) -> nn.Sequential:
    # index 1 is the conv and 2 the BN, as in the checkpoint's keys
    return nn.Sequential(nn.ReflectionPad2d(1), nn.Conv2d(in_channels, out_channels, 3, stride),
                         nn.BatchNorm2d(out_channels), nn.ReLU(inplace=True))


class PyEmotionCNN(ExpressionModel):
    """Four reflection-padded conv blocks and a 2-layer MLP with a sigmoid, on 48 x 48 grey."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__(config)
        side = config.input_size // 8  # three stride-2 convs
        self.conv_1 = _block(1, WIDTH, 1)
        self.conv_2 = _block(WIDTH, 2 * WIDTH, 2)
        self.conv_3 = _block(2 * WIDTH, 4 * WIDTH, 2)
        self.conv_4 = _block(4 * WIDTH, 8 * WIDTH, 2)
        self.linear = nn.Sequential(nn.Linear(8 * WIDTH * side * side, HIDDEN), nn.ReLU(inplace=True),
                                    nn.Linear(HIDDEN, config.num_classes), nn.Sigmoid())

    def forward(self, x: torch.Tensor, return_attention: bool = False) -> ScanCCIOutput:
        self.check_input(x)
        x = self.conv_4(self.conv_3(self.conv_2(self.conv_1(to_grey(x)))))  # B x 256 x 6 x 6
        return ScanCCIOutput(self.linear(x.flatten(1)))

    def parameter_groups(self) -> dict[str, list[nn.Parameter]]:
        """"trunk" (the conv blocks) and "head" (the MLP)."""
        head = set(map(id, self.linear.parameters()))
        return {"trunk": [p for p in self.parameters() if id(p) not in head],
                "head": list(self.linear.parameters())}

    def reset_classifier(self, num_classes: int, class_names: list[str] | tuple[str, ...] | None = None
                         ) -> None:
        """A new last Linear for `num_classes`."""
        last = cast(nn.Linear, self.linear[2])  # cast: nn.Sequential's items are typed Module
        self.linear[2] = nn.Linear(last.in_features, num_classes).to(last.weight)
        self._set_classes(num_classes, class_names)


@register_model(backbone="none", mean=(0.5, 0.5, 0.5), input_size=48)
def pyemotion_cnn(config: ModelConfig) -> PyEmotionCNN:
    """baseline: PyEmotion's 4-conv CNN on 48 x 48 grey faces."""
    return PyEmotionCNN(config)
