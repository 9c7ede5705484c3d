"""Channels-last (NHWC) memory layout, the transform: oneDNN's CPU convolutions run faster on
it, and the values are the same (`tests/speed/test_layout.py`)."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

CL = torch.channels_last


def channels_last(model: nn.Module) -> nn.Module:
    """`model` in place, its weights channels-last and its 4-D input tensor turned so on the way
    in (a forward pre-hook); state-dict keys and values unchanged. Returns `model`."""
    model.to(memory_format=CL)
    model.register_forward_pre_hook(_input_channels_last)
    return model


def _input_channels_last(module: nn.Module, args: tuple[Any, ...]) -> tuple[Any, ...]:
    x = args[0] if args else None
    if isinstance(x, torch.Tensor) and x.dim() == 4:
        return (x.contiguous(memory_format=CL), *args[1:])
    return args
