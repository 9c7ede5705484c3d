"""scancci.speed: how the networks of `scancci.models` run fast, as explicit transforms.

Each is applied by the entry point that wants it, never inside the paper's blocks, and each has
a test (`tests/speed/`) and a benchmark row beside torch.compile and onnxruntime
(`benchmarks/bench_model.py`; the allocator: `benchmarks/bench_heap.py`):

- `optimize_for_inference(model, precision)`: an eval-only copy, BatchNorm folded,
  channels-last, bf16 where native (inference, evaluation, calibration);
- `channels_last(model)`: NHWC weights and inputs (training and inference);
- `reuse_freed_memory()`: glibc keeps freed memory for reuse (opt-in training setting
  `trainer.reuse_freed_memory`).
"""

from __future__ import annotations

from scancci.speed.allocator import can_reuse_freed_memory, reuse_freed_memory
from scancci.speed.inference import (
    InferenceModel,
    fold_batchnorm,
    optimize_for_inference,
    resolve_precision,
)
from scancci.speed.layout import channels_last

__all__ = ["InferenceModel", "can_reuse_freed_memory", "channels_last",
           "fold_batchnorm", "optimize_for_inference", "reuse_freed_memory", "resolve_precision"]
