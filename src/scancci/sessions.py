"""onnxruntime sessions, made one way for the detector (`scancci.faces.blazeface`) and the
classifiers (`scancci.runtime.onnx_backend`)."""

from __future__ import annotations

import os
from pathlib import Path

import onnxruntime as ort

from scancci.errors import CheckpointError, error_detail


def spare_core_threads() -> int:
    """One thread fewer than the cores this process may use (at least 1): the spare core
    decodes the next video frames or images meanwhile (PyTorch's and onnxruntime's spinning
    workers slow down sharply when every core is busy)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, (cores or 1) - 1)


def default_threads() -> int:
    """onnxruntime's intra-op threads: `spare_core_threads()`, at most 4; on 2 cores this ran a
    video 1.5x faster than 2 threads."""
    return min(4, spare_core_threads())


def onnx_session(path: str | Path, threads: int | None = None) -> ort.InferenceSession:
    """A CPU session over the ONNX file `path`; a broken file is one CheckpointError."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads or default_threads()
    options.log_severity_level = 3
    try:
        return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as err:  # onnxruntime raises its own untyped errors for broken files
        raise CheckpointError(f"{path}: not a loadable ONNX model ({error_detail(err)}); "
                              "export it again (a cached conversion: delete it to rebuild)") from err
