"""Every device rule, in one place: the names `device=` accepts, where training runs, which
precision "auto" means, and whether onnxruntime's CPU sessions can serve a request.

The API, the CLI and the service accept the same names and refuse a device this machine does
not have with one line, before any work starts. PyTorch is imported inside the functions that
need it: the default predict path (onnxruntime) asks `is_cpu` and never loads torch.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from scancci.errors import InvalidInputError

if TYPE_CHECKING:  # type hints only
    import torch

GPU_ACCELERATORS = ("gpu", "cuda")
BF16_FLAGS = ("avx512_bf16", "amx_bf16")  # /proc/cpuinfo flags of native bf16


def is_cpu(device: object) -> bool:
    """True for None, "cpu" or torch.device("cpu"): where onnxruntime's CPU sessions can serve
    (any other device is checked and run by PyTorch)."""
    return str(device or "cpu") == "cpu"


def resolve_device(device: str | torch.device | None = "cpu") -> torch.device:
    """`device` as a torch.device ("cpu", "cuda", "cuda:1", "mps"; None means "cpu"), checked
    to exist here."""
    import torch

    if device is None:
        return torch.device("cpu")
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError) as err:
        raise InvalidInputError(f"unknown device {str(device)!r}: use cpu, cuda, cuda:N or mps"
                                ) from err
    if resolved.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if count == 0:
            raise InvalidInputError(f"device {str(device)!r}: no CUDA GPU is visible on this "
                                    "machine; use --device cpu")
        if resolved.index is not None and resolved.index >= count:
            raise InvalidInputError(f"device {str(device)!r}: this machine has {count} CUDA "
                                    f"GPU(s), cuda:0..cuda:{count - 1}")
    if resolved.type == "mps" and not torch.backends.mps.is_available():
        raise InvalidInputError(f"device {str(device)!r}: MPS is not available here; use "
                                "--device cpu")
    return resolved


def uses_gpu(accelerator: str) -> bool:
    """True when a Lightning `accelerator` ("cpu", "gpu", "cuda", "auto") means CUDA devices:
    "auto" where one is visible."""
    import torch

    wanted = str(accelerator).lower()
    return wanted in GPU_ACCELERATORS or (wanted == "auto" and torch.cuda.is_available())


def check_accelerator(accelerator: str) -> None:
    """Refuse a GPU accelerator on a machine without a visible CUDA GPU, with the fix."""
    import torch

    if str(accelerator).lower() in GPU_ACCELERATORS and not torch.cuda.is_available():
        raise InvalidInputError(f"accelerator {accelerator!r}: no CUDA GPU is visible on this "
                                "machine; use --accelerator cpu (or auto)")


def check_sync_batchnorm(accelerator: str, sync_batchnorm: bool) -> None:
    """Refuse SyncBatchNorm where it cannot run: PyTorch synchronises BatchNorm over CUDA
    (and XPU/HPU) processes only, so CPU processes (gloo) would fail at the first step."""
    if sync_batchnorm and not uses_gpu(accelerator):
        raise InvalidInputError("--sync-batchnorm (trainer.sync_batchnorm) needs GPUs: "
                                "PyTorch's SyncBatchNorm does not run on CPU processes; drop it "
                                "there (each process then keeps its own BatchNorm statistics)")


def accelerator_device(accelerator: str) -> str:
    """The device the primary process evaluates on after training: "cuda" or "cpu"."""
    return "cuda" if uses_gpu(accelerator) else "cpu"


def bf16_native(cpuinfo: str | Path = "/proc/cpuinfo") -> bool:
    """True where the CPU computes bf16 in hardware (AVX512-BF16 or AMX), read from its flags
    (Linux). oneDNN's own check also says yes on plain AVX-512, where bf16 is emulated at a
    fifth of the fp32 rate; elsewhere False, and bf16 runs as fp32."""
    path = Path(cpuinfo)
    if not path.is_file():
        return False
    flags = next((line.split(":", 1)[1].split() for line in path.read_text().splitlines()
                  if line.startswith("flags")), [])
    return any(flag in flags for flag in BF16_FLAGS)


def training_precision(precision: str, accelerator: str) -> str:
    """Lightning's precision for `precision`: "auto" -> "bf16-mixed" where the GPU (or, without
    one, the CPU) runs bf16 natively, else "32-true"; any other value as given."""
    if precision != "auto":
        return precision
    if uses_gpu(accelerator):
        import torch

        native = torch.cuda.is_bf16_supported()
    else:
        native = bf16_native()
    return "bf16-mixed" if native else "32-true"
