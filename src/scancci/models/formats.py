"""What kind of model file a path or name is, decided without PyTorch: the CLI refuses a
wrong `--model` in a fraction of a second, before any heavy import."""

from __future__ import annotations

from pathlib import Path

from scancci.errors import CheckpointError
from scancci.models.zoo import list_pretrained

MODEL_FILES = ("a scancci model (a run folder, model.safetensors or model.json), an original "
               "SCAN-CCI checkpoint (.pth, .pth.tar), an .onnx export, or a pretrained baseline's "
               "name")
ORIGINAL_SUFFIXES = (".pth", ".tar", ".pt")  # torch.save files of the original code (.pth.tar)
WEIGHTS_NAME = "model.safetensors"  # a run folder's saved model (model.json beside it)


def regular_file(path: str | Path) -> Path:
    """`path` if it is an existing regular file; a FIFO, device or socket is refused before
    anything opens it (reading one can block forever)."""
    path = Path(path)
    if not path.exists():
        raise CheckpointError(f"{path} does not exist")
    if not path.is_file():
        raise CheckpointError(f"{path} is not a regular file (a folder, FIFO, device or socket): "
                              f"expected {MODEL_FILES}")
    return path


def weights_path(path: str | Path) -> Path:
    """The weights file a scancci model path means: a run folder's model.safetensors, the
    .safetensors beside a .json config, or the path itself (nothing is checked or opened)."""
    path = Path(path)
    if path.is_dir():
        return path / WEIGHTS_NAME
    if path.suffix.lower() == ".json":
        return path.with_suffix(".safetensors")
    return path


def not_a_model_file(path: str | Path) -> CheckpointError:
    """The error for a file that holds no model at all (a photo, a text file...)."""
    return CheckpointError(f"{path} is not a model file: expected {MODEL_FILES}")


def model_format(source: str | Path) -> str:
    """What a model source is: "pretrained" (a baseline's name), "safetensors" (a scancci run
    folder, .safetensors or .json), "original" (an original SCAN-CCI checkpoint) or "onnx".

    Anything else is an error that says what was expected; a FIFO or device is refused before
    it is opened."""
    if isinstance(source, str) and source in list_pretrained() and not Path(source).exists():
        return "pretrained"
    path = Path(source)
    if not path.exists():
        raise CheckpointError(f"{path} does not exist; expected {MODEL_FILES} "
                              f"({', '.join(list_pretrained())})")
    if path.is_dir():
        return "safetensors"
    suffix = regular_file(path).suffix.lower()
    if suffix in (".safetensors", ".json"):
        return "safetensors"
    if suffix == ".onnx":
        return "onnx"
    if suffix in ORIGINAL_SUFFIXES:
        return "original"
    raise not_a_model_file(path)
