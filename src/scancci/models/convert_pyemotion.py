"""PyEmotion's `main_model.pkl` -> `PyEmotionCNN` state dict.

The file is a `torch.save` of {"network": state dict, "optimizer": ..., "epochs": 50,
"accuracy": ...}: plain tensors and numbers, so it loads with `weights_only=True` (no code runs).
"""

from __future__ import annotations

import pickle
import zipfile
from pathlib import Path

import torch

from scancci.errors import CheckpointError


def read_pyemotion(path: str | Path) -> dict[str, torch.Tensor]:
    """The network's state dict (classes in the file's order) from a PyEmotion checkpoint."""
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except (OSError, RuntimeError, EOFError, pickle.UnpicklingError, zipfile.BadZipFile) as err:
        raise CheckpointError(f"{path} is not a readable PyEmotion checkpoint (corrupted, "
                              f"truncated or unsafe?): {err}") from err
    if not isinstance(checkpoint, dict) or not isinstance(checkpoint.get("network"), dict):
        raise CheckpointError(f"{path} holds no 'network' state dict; got "
                              f"{type(checkpoint).__name__}")
    return dict(checkpoint["network"])
