"""Leaf helpers for weights: check a model file before reading it, read a safetensors file,
and load a state dict strictly.

Shared by saving/loading (`models.io`), the original-checkpoint importer (`models.original`)
and backbone weights (`models.backbones`), so none of them imports another for these.
"""

from __future__ import annotations

from pathlib import Path

import torch
from safetensors import SafetensorError, safe_open

from scancci.errors import CheckpointError, error_detail
from scancci.models.formats import not_a_model_file, regular_file

# what torch.save writes first: a zip archive (PyTorch >= 1.6) or a pickle (protocol 2+)
TORCH_MAGIC = (b"PK\x03\x04", b"\x80")


def check_torch_file(path: str | Path) -> Path:
    """`path` if it starts as `torch.save` files do; else it is no checkpoint (a photo renamed
    .pth, a text file), which is said before torch.load tries to unpickle it."""
    path = regular_file(path)
    with path.open("rb") as f:
        head = f.read(4)
    if not head.startswith(TORCH_MAGIC):
        raise not_a_model_file(path)
    return path


def read_safetensors(path: str | Path) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """(tensors, metadata) of a safetensors file; a clear error if it is not one."""
    try:
        with safe_open(str(path), framework="pt", device="cpu") as f:
            return {k: f.get_tensor(k) for k in f.keys()}, dict(f.metadata() or {})  # noqa: SIM118
    except (SafetensorError, OSError, ValueError) as err:
        raise CheckpointError(f"{path} is not a readable safetensors file (corrupted or "
                              f"truncated?): {error_detail(err)}") from err


def load_state_strict(model: torch.nn.Module, state: dict[str, torch.Tensor], source: str) -> None:
    """Load every tensor, refusing missing, unexpected or mis-shaped ones with a clear message."""
    own = model.state_dict()
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    wrong = [f"{k}: file {tuple(state[k].shape)} vs model {tuple(v.shape)}"
             for k, v in own.items() if k in state and state[k].shape != v.shape]
    if missing or unexpected or wrong:
        parts = [f"{len(missing)} missing (e.g. {missing[:2]})" if missing else "",
                 f"{len(unexpected)} unexpected (e.g. {unexpected[:2]})" if unexpected else "",
                 f"{len(wrong)} of another shape (e.g. {wrong[:2]})" if wrong else ""]
        raise CheckpointError(f"the weights do not fit {source}: "
                              + "; ".join(p for p in parts if p)
                              + ". Is the file of another architecture or number of classes?")
    model.load_state_dict(state)
