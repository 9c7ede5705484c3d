"""Save and load scancci's PyTorch networks: weights as safetensors, config as JSON beside them.

`save_model(model, "out/model.safetensors")` writes that file and `out/model.json`; the config is
also stored in the safetensors metadata, so the weights file alone is enough to rebuild the model.
Nothing is pickled. `load_network` reads every model file scancci supports that PyTorch runs:
the folder, the .safetensors or .json path, an original SCAN-CCI checkpoint, a pretrained
baseline's name. `scancci.load_model` (in `scancci.runtime.loading`) adds .onnx exports.
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
from scancci.models.factory import build_model
from scancci.models.formats import (
    MODEL_FILES,
    WEIGHTS_NAME,
    model_format,
    not_a_model_file,
    regular_file,
    weights_path,
)
from scancci.models.original import load_original_checkpoint
from scancci.models.pretrained import load_pretrained
from scancci.models.state import load_state_strict, read_safetensors

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
        raise CheckpointError("this is an optimize_for_inference() copy (eval-only, folded "
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


def load_network(source: str | Path, map_location: str | torch.device = "cpu"
                 ) -> ExpressionModel:
    """The PyTorch network of a run folder, .safetensors/.json, original checkpoint
    (.pth/.pth.tar) or pretrained baseline's name, in eval mode."""
    kind = model_format(source)
    if kind == "onnx":
        raise CheckpointError(f"{source} is an ONNX export: onnxruntime runs it "
                              "(scancci.load_model returns its classifier); PyTorch needs the "
                              ".safetensors model it was exported from")
    if kind == "pretrained":
        model = load_pretrained(str(source))
    elif kind == "original":
        model = load_original_checkpoint(source)
    else:
        weights = resolve_weights_path(source)
        state, metadata = read_safetensors(weights)
        config = _read_config(weights, metadata)
        model = build_model(config)
        load_state_strict(model, state, f"{weights} ({config.arch})")
    return model.to(map_location).eval()


def resolve_weights_path(path: str | Path) -> Path:
    """The .safetensors file meant by a folder, a .json or a .safetensors path (`weights_path`),
    checked: it exists, and a .json is a model config."""
    path = Path(path)
    weights = weights_path(path)
    if path.is_dir():
        if not weights.is_file():
            raise CheckpointError(f"{path} holds no {WEIGHTS_NAME}: expected {MODEL_FILES}")
    elif regular_file(path).suffix.lower() == ".json":
        _parse_config(path.read_text(errors="replace"), path)  # a JSON that is no model config
        if not weights.is_file():
            raise CheckpointError(f"the weights {weights} for this config are missing")
    return regular_file(weights)


def _read_config(path: Path, metadata: dict[str, str]) -> ModelConfig:
    json_path = path.with_suffix(".json")
    if json_path.is_file():
        return _parse_config(json_path.read_text(), json_path)
    text = metadata.get(CONFIG_KEY, metadata.get(LEGACY_CONFIG_KEY))
    if text is not None:
        return _parse_config(text, path)
    raise CheckpointError(f"{path} has no config: {json_path} is missing and the file carries "
                          "none (was it written by scancci.save_model?)")


def _parse_config(text: str, source: Path) -> ModelConfig:
    """The ModelConfig in a config's JSON text; a JSON file of something else is no model."""
    try:
        data: Any = json.loads(text)
    except json.JSONDecodeError as err:
        if source.suffix == ".json":
            raise not_a_model_file(source) from err
        raise CheckpointError(f"the config of {source} is not valid JSON: {error_detail(err)}") \
            from err
    if not isinstance(data, dict) or (data.get("format") != FORMAT and "arch" not in data):
        raise not_a_model_file(source)
    return ModelConfig.from_dict(data)
