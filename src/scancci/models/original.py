"""Import checkpoints written by the original SCAN-CCI training code (spec section 5).

Those files are `torch.save` dicts with `epoch`, `base_state_dict`, `attention_state_dict`,
`region_state_dict`, `best_prec1` and `optimizer`; every key carries DataParallel's `module.`
prefix. The variant (shared or 25 independent local SCANs) and the number of classes are read
from the keys; the model gets `patch_layout="original"` so it predicts exactly as the original
(same logits to float rounding). Loaded with `weights_only=True`: nothing in the file is executed,
and a file that is no PyTorch checkpoint at all is named as such before `torch.load` reads it.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import torch

from scancci.errors import CheckpointError, error_detail
from scancci.models.base import ExpressionModel
from scancci.models.factory import create_model
from scancci.models.scancci import conv_to_matmul
from scancci.models.state import check_torch_file, load_state_strict

PARTS = ("base_state_dict", "attention_state_dict", "region_state_dict")
_INDEPENDENT = re.compile(r"local_attention_masks\.(\d+)\.attention\.(\d)\.(\w+)$")
# original Attentiomasknet part -> (IndependentLocalSCAN tensor) per parameter name
_STACKED = {("0", "weight"): "conv_weight", ("1", "weight"): "prelu_weight",
            ("2", "weight"): "bn_weight", ("2", "bias"): "bn_bias",
            ("2", "running_mean"): "running_mean", ("2", "running_var"): "running_var",
            ("2", "num_batches_tracked"): "num_batches_tracked"}


def read_original_checkpoint(path: str | Path) -> dict[str, Any]:
    """The checkpoint dict, read safely, with `module.` prefixes removed from the three parts."""
    path = check_torch_file(path)
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:
        raise CheckpointError(
            f"{path} could not be read as a PyTorch checkpoint with weights_only=True (corrupted, "
            f"truncated, or it pickles Python objects other than tensors): {error_detail(err)}") from err
    if not isinstance(data, dict) or not all(isinstance(data.get(p), dict) for p in PARTS):
        found = sorted(data) if isinstance(data, dict) else type(data).__name__
        raise CheckpointError(
            f"{path} is not a checkpoint of the original SCAN-CCI code: expected the keys "
            f"{list(PARTS)}, found {found}. scancci's own models are .safetensors files")
    for part in PARTS:
        data[part] = {k.removeprefix("module."): v for k, v in data[part].items()}
    return data


def _options_from_keys(attention: dict[str, torch.Tensor], region: dict[str, torch.Tensor]
                       ) -> dict[str, Any]:
    if "local_attention_masks.attention.0.weight" in attention:
        local = "shared"
    elif "local_attention_masks.24.attention.0.weight" in attention:
        local = "independent"
    else:
        raise CheckpointError("attention_state_dict holds neither a shared local SCAN "
                              "(local_attention_masks.attention.*) nor 25 independent ones")
    heads = "shared"
    for q in range(4):
        for layer in ("0", "2"):
            for p in ("weight", "bias"):
                copy = region.get(f"classifiers.{q}.{layer}.{p}")
                if copy is not None and not torch.equal(copy, region[f"region_net.{layer}.{p}"]):
                    heads = "independent"  # four different MLPs (not what the original writes)
    return {"local_scan": local, "patch_layout": "original", "cci_heads": heads}


def _map_attention(attention: dict[str, torch.Tensor], local: str) -> dict[str, torch.Tensor]:
    out: dict[str, torch.Tensor] = {}
    stacked: dict[str, list[tuple[int, torch.Tensor]]] = {}
    for key, value in attention.items():
        if key.startswith("global_attention_mask."):
            out["attention.global_scan." + key.removeprefix("global_attention_mask.")] = value
        elif key.startswith("fc."):
            out["attention." + key] = value
        elif local == "shared" and key.startswith("local_attention_masks.attention."):
            out["attention.local_scan.block." + key.removeprefix("local_attention_masks.")] = value
        elif local == "independent" and (m := _INDEPENDENT.match(key)):
            name = _STACKED.get((m.group(2), m.group(3)))
            if name is None:
                raise CheckpointError(f"unexpected tensor {key} in attention_state_dict")
            stacked.setdefault(name, []).append((int(m.group(1)), value))
        else:
            raise CheckpointError(f"unexpected tensor {key} in attention_state_dict")
    for name, items in stacked.items():
        items.sort(key=lambda kv: kv[0])
        if [k for k, _ in items] != list(range(25)):
            raise CheckpointError(f"independent local SCAN tensors {name} are not exactly k=0..24")
        if name == "conv_weight":
            items = [(k, conv_to_matmul(v)) for k, v in items]
        out[f"attention.local_scan.{name}"] = torch.stack([v for _, v in items])
    return out


def _map_region(region: dict[str, torch.Tensor], heads: str) -> dict[str, torch.Tensor]:
    out = {"cci.eca.conv.weight": region["eca.conv.weight"]} if "eca.conv.weight" in region else {}
    for key, value in region.items():
        if key.startswith("region_net.") and heads == "shared":
            out["cci." + key] = value
        elif key.startswith("classifiers.") and heads == "independent":
            out["cci.heads." + key.removeprefix("classifiers.")] = value
        elif not key.startswith(("region_net.", "classifiers.", "eca.")):
            raise CheckpointError(f"unexpected tensor {key} in region_state_dict")
    return out


def load_original_checkpoint(path: str | Path, map_location: str | torch.device = "cpu",
                              class_names: list[str] | None = None) -> ExpressionModel:
    """A scancci_resnet50 that predicts as the original model saved in `path` (eval mode)."""
    data = read_original_checkpoint(path)
    base, attention, region = (data[p] for p in PARTS)
    if "layer3.5.conv3.weight" not in base or "layer1.0.conv3.weight" not in base:
        raise CheckpointError(f"{path}: base_state_dict is not a ResNet-50 cut after layer3 "
                              "(the only trunk the original code uses)")
    options = _options_from_keys(attention, region)
    if "fc.weight" not in attention:
        raise CheckpointError(f"{path}: attention_state_dict has no fc.weight")
    num_classes = int(attention["fc.weight"].shape[0])
    model = create_model("scancci_resnet50", num_classes=num_classes, class_names=class_names,
                         **options)
    state = {"trunk." + k: v for k, v in base.items() if not k.startswith(("layer4.", "fc."))}
    state.update(_map_attention(attention, options["local_scan"]))
    state.update(_map_region(region, options["cci_heads"]))
    load_state_strict(model, state, f"{path} (original SCAN-CCI, {options['local_scan']} SCAN, "
                                    f"{num_classes} classes)")
    return model.to(map_location).eval()
