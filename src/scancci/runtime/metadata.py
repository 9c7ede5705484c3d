"""The model config inside the exported file, so that an ONNX or TorchScript file is
self-describing: class names, input size, normalisation and temperature travel with the weights.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from scancci.errors import CheckpointError, error_detail
from scancci.models.config import CONFIG_KEY, ModelConfig
from scancci.version import __version__

if TYPE_CHECKING:  # type hints only: reading metadata needs no onnx package
    import onnx

# the graph's input and output names
INPUT = "input"
LOGITS = "logits"
ATTENTION = "attention"

PRECISION_KEY = "scancci.precision"
OUTPUTS_KEY = "scancci.outputs"
VERSION_KEY = "scancci.version"
TORCHSCRIPT_CONFIG = "scancci_config.json"


def write_onnx_metadata(model: onnx.ModelProto, config_text: str, *, precision: str,
                        outputs: list[str]) -> None:
    """Store the config (as `scancci.models.io.config_json` writes it), precision, output
    names and scancci version as `metadata_props`."""
    values = {
        CONFIG_KEY: config_text,
        PRECISION_KEY: precision,
        OUTPUTS_KEY: ",".join(outputs),
        VERSION_KEY: __version__,
    }
    kept = [p for p in model.metadata_props if p.key not in values]
    del model.metadata_props[:]
    model.metadata_props.extend(kept)
    for key, value in values.items():
        model.metadata_props.add(key=key, value=value)


def read_onnx_metadata(model: onnx.ModelProto | dict[str, str], source: str) -> dict[str, Any]:
    """Parse the scancci metadata of an ONNX model (ModelProto or an onnxruntime props dict)."""
    props = model if isinstance(model, dict) else {p.key: p.value for p in model.metadata_props}
    if CONFIG_KEY not in props:
        raise CheckpointError(
            f"{source}: this ONNX file has no {CONFIG_KEY!r} metadata, so its classes, input size "
            "and normalisation are unknown. Export it with `scancci export --format onnx`."
        )
    try:
        config = json.loads(props[CONFIG_KEY])
    except json.JSONDecodeError as err:
        raise CheckpointError(f"{source}: {CONFIG_KEY!r} metadata is not valid JSON ({error_detail(err)})") from err
    return {
        "config": config,
        "precision": props.get(PRECISION_KEY, "fp32"),
        "outputs": [n for n in props.get(OUTPUTS_KEY, "logits").split(",") if n],
        "version": props.get(VERSION_KEY, "unknown"),
    }


def config_from_dict(data: dict[str, Any]) -> ModelConfig:
    """Rebuild a `ModelConfig` (scancci.models) from its dict form."""
    try:
        return ModelConfig.from_dict(data)
    except (TypeError, KeyError, ValueError) as err:
        raise CheckpointError(f"the stored model config is not a valid ModelConfig ({error_detail(err)})") from err
