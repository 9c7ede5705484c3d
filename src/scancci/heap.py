"""Large CPU tensors from malloc's heap instead of fresh pages (glibc only).

glibc serves every block over 32 MB with its own mmap and unmaps it when it is freed, so each
such tensor pays one page fault per 4 KB page the first time it is written: about 25 ms for a
51 MB activation on a 2-core AVX2 EPYC (a 51 MB copy took 30 ms, 5 ms from the heap). ResNet-50's
layer1 activations are 51 MB at batch 16 and 224 px, so a CPU training step makes dozens.
With mmap and trimming switched off, freed blocks are reused instead: CPU training steps at
batch 16 and evaluation at batch 64 ran 1.1-1.2x faster (docs/benchmarks.md). The cost: the
process keeps its peak memory until it exits, as PyTorch's CUDA caching allocator does on GPUs.
Training and evaluation on the CPU turn it on; `SCANCCI_REUSE_MEMORY=0`, or glibc's own malloc
settings in the environment, keep glibc's defaults.
"""

from __future__ import annotations

import ctypes
import os
import platform

_M_TRIM_THRESHOLD, _M_MMAP_MAX = -1, -4  # mallopt parameters (glibc malloc.h)
_TUNABLES = ("MALLOC_MMAP_MAX_", "MALLOC_TRIM_THRESHOLD_", "MALLOC_MMAP_THRESHOLD_")
_applied = False


def reuse_freed_memory() -> bool:
    """Make glibc reuse freed blocks of any size (no mmap, no trimming) for the rest of the
    process; True once set. False, changing nothing, where `can_reuse()` is False."""
    global _applied
    if not _applied and can_reuse():
        libc = ctypes.CDLL(None)
        _applied = bool(libc.mallopt(_M_MMAP_MAX, 0)) and bool(libc.mallopt(_M_TRIM_THRESHOLD, -1))
    return _applied


def can_reuse() -> bool:
    """False off glibc (macOS, Windows, musl), with SCANCCI_REUSE_MEMORY=0, or where glibc's
    malloc settings are in the environment (the user's stand)."""
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return False
    if os.environ.get("SCANCCI_REUSE_MEMORY", "1") == "0":
        return False
    return not any(name in os.environ for name in _TUNABLES) \
        and "glibc.malloc" not in os.environ.get("GLIBC_TUNABLES", "")
