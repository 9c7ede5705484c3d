"""Which classifier backend runs a model: one rule for the API, the CLI and the service.

`.onnx` files run on onnxruntime; so do the pretrained baselines on the CPU (fp32), through
their cached ONNX conversion (`scancci.inference.pretrained_onnx`), which keeps PyTorch out of
the process; everything else runs on PyTorch. A scancci model asked to run on onnxruntime is
exported to a temporary file first (see `scancci.export.onnx_classifier`). The backends
themselves live in `scancci.runtime`; PyTorch is imported only when one of its models runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from scancci.devices import is_cpu
from scancci.errors import InvalidInputError, MissingDependencyError, unknown_name
from scancci.inference.pretrained_onnx import pretrained_onnx_classifier
from scancci.models.zoo import list_pretrained
from scancci.runtime.onnx_backend import OnnxClassifier

if TYPE_CHECKING:  # type hints only
    import torch

BACKENDS = ("torch", "onnx")
PRECISIONS = ("fp32", "bf16", "int8")


def is_onnx_file(model: Any) -> bool:
    """True for a path to an .onnx file."""
    return isinstance(model, (str, Path)) and Path(model).suffix.lower() == ".onnx"


def is_pretrained_name(model: Any) -> bool:
    """True for the name of a pretrained baseline (`list_pretrained()`) that is not a path."""
    return isinstance(model, str) and model in list_pretrained() and not Path(model).exists()


def default_backend(model: Any, device: Any = "cpu", precision: str = "fp32") -> str:
    """What --backend means when not given: "onnx" for .onnx files, for int8 (which only
    onnxruntime runs) and for a pretrained baseline in fp32 on the CPU, else "torch"."""
    if is_onnx_file(model) or precision == "int8":
        return "onnx"
    cpu_fp32 = is_cpu(device) and precision == "fp32"
    return "onnx" if is_pretrained_name(model) and cpu_fp32 else "torch"


def create_classifier(model: Any, *, backend: str | None = None, precision: str = "fp32",
                      device: str | torch.device = "cpu") -> Any:
    """A Classifier for a saved model path, a scancci module, an .onnx file, a pretrained
    baseline's name or a classifier; `backend` None picks `default_backend`."""
    if not is_cpu(device):  # checked by PyTorch, which then runs the model
        from scancci.devices import resolve_device

        device = resolve_device(device)
    backend = default_backend(model, device, precision) if backend is None else backend
    if backend not in BACKENDS:
        raise unknown_name("backend", backend, BACKENDS)
    if precision not in PRECISIONS:
        raise unknown_name("precision", precision, PRECISIONS)
    if (backend, precision) in (("torch", "int8"), ("onnx", "bf16")):
        runs = "onnxruntime (--backend onnx)" if precision == "int8" else \
            "PyTorch (--backend torch)"
        raise InvalidInputError(f"--precision {precision} runs on {runs}, not with --backend "
                                f"{backend}; drop --backend to get the right one")
    if _is_classifier(model):
        return model
    if is_pretrained_name(model):
        if backend == "onnx" and precision == "fp32":
            return pretrained_onnx_classifier(model)
        from scancci.models.pretrained import load_pretrained  # PyTorch: this model runs on it

        model = load_pretrained(model)
    if backend == "onnx":
        if not is_onnx_file(model):
            return _exported_classifier(model, precision)
        # An .onnx file carries its own precision; only a non-default request is checked.
        return OnnxClassifier(model, precision=None if precision == "fp32" else precision)
    if is_onnx_file(model):
        raise InvalidInputError(f"{model} is an ONNX file: use backend='onnx' "
                                "(--backend onnx) to run it")
    from scancci.runtime.torch_backend import torch_classifier  # PyTorch, for its models only

    return torch_classifier(model, precision=precision, device=device)


def _is_classifier(obj: Any) -> bool:
    """A backend object (`.config`, `.logits`), not a path or an nn.Module (`.state_dict`)."""
    return not isinstance(obj, (str, Path)) and not hasattr(obj, "state_dict") \
        and hasattr(obj, "config") and callable(getattr(obj, "logits", None))


def _exported_classifier(model: Any, precision: str) -> Any:
    """A scancci model on onnxruntime: exported on the fly, which needs the `export` extra."""
    try:
        from scancci.export.classifier import onnx_classifier  # optional extra: onnx, onnxscript
    except ModuleNotFoundError as err:
        raise MissingDependencyError(
            f"running a PyTorch model on onnxruntime exports it first, which needs {err.name}: "
            "pip install 'scancci[export]' (or export once with `scancci export` and pass the "
            ".onnx file)") from err
    return onnx_classifier(model, precision=precision)
