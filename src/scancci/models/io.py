"""Save and load scancci models: weights as safetensors, config as JSON beside them.

`save_model(model, "out/model.safetensors")` writes that file and `out/model.json`; the config is
also stored in the safetensors metadata, so the weights file alone is enough to rebuild the model.
Nothing is pickled. `load_model` also accepts the .json path, the folder, or an original SCAN-CCI
`.pth` checkpoint.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import save_file

from scancci.errors import CheckpointError, error_detail
from scancci.models.base import ExpressionModel
from scancci.models.config import CONFIG_KEY, ModelConfig
from scancci.models.reference import load_reference_checkpoint
from scancci.models.registry import build_model
from scancci.models.state import load_state_strict, read_safetensors

WEIGHTS_NAME = "model.safetensors"
LEGACY_CONFIG_KEY = "scancci_config"  # safetensors files saved before CONFIG_KEY
FORMAT = "scancci-model"


def config_json(config: ModelConfig) -> str:
    """The config as JSON text: next to the weights, in their metadata, and in exported
    ONNX and TorchScript files (the one serialisation of a ModelConfig)."""
    return json.dumps({"format": FORMAT, **config.to_dict()}, indent=2)


def save_model(model: ExpressionModel, path: str | Path) -> Path:
    """Write `path` (.safetensors) and the config JSON beside it; returns the weights path."""
    path = Path(path)
    if model.eval_only:
        raise CheckpointError("this is an optimize_for_inference() copy (eval-only, fused "
                              "weights): save the model it was made from")
    if path.suffix != ".safetensors":
        raise CheckpointError(f"save_model writes a .safetensors file, got {path}: e.g. "
                              f"{path.with_suffix('.safetensors')}")
    path.parent.mkdir(parents=True, exist_ok=True)
    text = config_json(model.config)
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    save_file(state, str(path), metadata={CONFIG_KEY: text, "format": "pt"})
    path.with_suffix(".json").write_text(text + "\n")
    return path




def _read_config(path: Path, metadata: dict[str, str]) -> ModelConfig:
    text = None
    json_path = path.with_suffix(".json")
    if json_path.is_file():
        text = json_path.read_text()
    elif CONFIG_KEY in metadata or LEGACY_CONFIG_KEY in metadata:
        text = metadata.get(CONFIG_KEY, metadata.get(LEGACY_CONFIG_KEY))
    if text is None:
        raise CheckpointError(f"{path} has no config: {json_path} is missing and the file carries "
                              "none (was it written by scancci.save_model?)")
    try:
        data: Any = json.loads(text)
    except json.JSONDecodeError as err:
        raise CheckpointError(f"the config of {path} is not valid JSON: {error_detail(err)}") from err
    if not isinstance(data, dict):
        raise CheckpointError(f"the config of {path} is not a JSON object")
    return ModelConfig.from_dict(data)


def resolve_weights_path(path: str | Path) -> Path:
    """The .safetensors file meant by a folder, a .json or a .safetensors path."""
    path = Path(path)
    if not path.exists():
        raise CheckpointError(f"{path} does not exist")
    if path.is_dir():
        path = path / WEIGHTS_NAME
        if not path.is_file():
            raise CheckpointError(f"{path.parent} holds no {WEIGHTS_NAME}")
    elif path.suffix == ".json":
        path = path.with_suffix(".safetensors")
        if not path.is_file():
            raise CheckpointError(f"the weights {path} for this config are missing")
    return path


def load_model(path: str | Path, map_location: str | torch.device = "cpu") -> ExpressionModel:
    """Load a saved model (weights, .json or folder) or an original .pth; eval mode."""
    weights = resolve_weights_path(path)
    if weights.suffix != ".safetensors":
        return load_reference_checkpoint(weights, map_location=map_location)
    state, metadata = read_safetensors(weights)
    config = _read_config(weights, metadata)
    model = build_model(config)
    load_state_strict(model, state, f"{weights} ({config.arch})")
    return model.to(map_location).eval()
