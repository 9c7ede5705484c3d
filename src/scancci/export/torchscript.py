"""TorchScript export (traced), with the model config inside the archive and a parity check.

For C++ (libtorch) or PyTorch-only deployments. The traced graph computes the logits and, for
SCAN-CCI models, the global attention map, like the ONNX export.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from scancci.errors import CheckpointError, error_detail
from scancci.export.inputs import ImageLike, check_batches
from scancci.export.onnx import ExportResult
from scancci.export.verify import RunFn, compare, enforce, torch_runner
from scancci.export.wrapper import ExportWrapper, has_attention, resolve_model
from scancci.models.base import ExpressionModel
from scancci.models.io import config_json
from scancci.runtime.metadata import TORCHSCRIPT_CONFIG, config_from_dict


def export_torchscript(model: ExpressionModel | str | Path, path: str | Path, *,
                       with_attention: bool | None = None,
                       images: ImageLike | Sequence[ImageLike] | None = None, num_random: int = 4,
                       tolerance: float = 1e-4) -> ExportResult:
    """Trace `model` to a TorchScript archive at `path` and verify it against PyTorch.

    Above `tolerance` (max absolute difference of logits and attention on `images` and
    `num_random` random inputs) the file is deleted and ExportParityError raised.
    """
    module = resolve_model(model).float()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    attention = has_attention(module) if with_attention is None else with_attention
    wrapper = ExportWrapper(module, with_attention=attention).eval()
    size = int(module.config.input_size)
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        # torch.jit is deprecated in favour of torch.export but still the format libtorch loads
        traced = torch.jit.trace(wrapper, torch.randn(2, 3, size, size), check_trace=False)
        torch.jit.save(traced, str(path),
                       _extra_files={TORCHSCRIPT_CONFIG: config_json(module.config)})
    batches = check_batches(module.config, images, num_random=num_random)
    report = compare(torch_runner(module), torchscript_runner(path), batches,
                     name=f"TorchScript ({path.name})", tolerance=tolerance,
                     temperature=float(getattr(module.config, "temperature", 1.0)))
    return ExportResult(path=path, report=enforce(report, path))


def load_torchscript(path: str | Path) -> tuple[torch.jit.ScriptModule, Any]:
    """Load a scancci TorchScript archive and its model config."""
    extra = {TORCHSCRIPT_CONFIG: ""}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            module = torch.jit.load(str(path), map_location="cpu", _extra_files=extra)
    except (RuntimeError, ValueError) as err:
        raise CheckpointError(f"{path}: not a loadable TorchScript archive ({error_detail(err)})") from err
    if not extra[TORCHSCRIPT_CONFIG]:
        raise CheckpointError(f"{path}: no {TORCHSCRIPT_CONFIG} inside; not a scancci export")
    return module.eval(), config_from_dict(json.loads(extra[TORCHSCRIPT_CONFIG]))


def torchscript_runner(path: str | Path) -> RunFn:
    """Run a scancci TorchScript archive as (logits, attention or None)."""
    module, _ = load_torchscript(path)

    def run(batch: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        with torch.inference_mode():
            out = module(torch.from_numpy(batch))
        if isinstance(out, tuple):
            return out[0].numpy(), out[1].numpy()
        return out.numpy(), None

    return run
