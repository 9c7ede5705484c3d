"""One rule for `device=`: the API, the CLI and the service accept the same names and refuse
a device this machine does not have with one line, before any work starts."""

from __future__ import annotations

import torch

from scancci.errors import InvalidInputError


def resolve_device(device: str | torch.device | None = "cpu") -> torch.device:
    """`device` as a torch.device ("cpu", "cuda", "cuda:1", "mps"; None means "cpu"), checked
    to exist here."""
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
