"""Argument types shared by the sub-commands, checked while the command line is parsed (no
PyTorch or onnxruntime is imported yet, so a mistake is reported in a fraction of a second)."""

from __future__ import annotations

import argparse

from scancci.errors import ScanCCIError
from scancci.models.formats import model_format


def model_source(value: str) -> str:
    """`--model`: a run folder, model file, original checkpoint, .onnx export or baseline name."""
    try:
        model_format(value)
    except ScanCCIError as err:
        raise argparse.ArgumentTypeError(str(err)) from err
    return value
