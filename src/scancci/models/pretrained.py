"""Loading the pretrained zoo (`scancci.models.zoo`): each entry's shipped file read by its
port's reader (sha256-checked first) into the PyTorch network written here for it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import torch

from scancci.errors import CheckpointError
from scancci.models.base import ExpressionModel
from scancci.models.config import ModelConfig
from scancci.models.convert_keras import read_keras_mini_xception
from scancci.models.convert_pyemotion import read_pyemotion
from scancci.models.mini_xception import MiniXception
from scancci.models.pyemotion_cnn import PyEmotionCNN
from scancci.models.state import load_state_strict
from scancci.models.zoo import (
    PretrainedEntry,
    canonical_order,
    check_sha256,
    get_pretrained,
    pretrained_config,
    weights_file,
)

Reader = Callable[[Path], dict[str, torch.Tensor]]
# entry.port -> (shipped file -> state dict, the network that takes it)
PORTS: dict[str, tuple[Reader, Callable[[ModelConfig], ExpressionModel]]] = {
    "keras_mini_xception": (read_keras_mini_xception, MiniXception),
    "pyemotion_cnn": (read_pyemotion, PyEmotionCNN),
}


def build_pretrained(entry: PretrainedEntry, *, pretrained: bool = True,
                     weights: str | Path | None = None) -> ExpressionModel:
    """The entry's model, with its shipped weights (sha256-checked) or randomly initialised."""
    reader, network = PORTS[entry.port]
    model = network(pretrained_config(entry))
    if pretrained:
        path = Path(weights) if weights is not None else weights_file(entry)
        check_sha256(entry, path)
        state = reorder_classes(reader(path), entry)
        load_state_strict(model, state, f"{path} ({entry.name})")
    return model.eval()


def load_pretrained(name: str, *, weights: str | Path | None = None) -> ExpressionModel:
    """A zoo model with its shipped weights (what `scancci.load_model(name)` returns);
    `weights`: another copy of the same file."""
    return build_pretrained(get_pretrained(name), weights=weights)


def reorder_classes(state: dict[str, torch.Tensor], entry: PretrainedEntry
                    ) -> dict[str, torch.Tensor]:
    """Class rows of the head put in canonical order (the network then speaks canonical)."""
    _, order = canonical_order(entry)
    state = dict(state)
    for key in entry.head_keys:
        if key not in state or state[key].shape[0] != len(order):
            raise CheckpointError(f"{entry.name}: the weights have no {len(order)}-class "
                                  f"tensor {key!r}")
        state[key] = state[key][order].clone()
    return state
