"""Opt-in for CPU training: large tensors from malloc's heap instead of fresh pages (glibc).

glibc serves every block over 32 MB with its own mmap and unmaps it when it is freed, so each
such tensor pays one page fault per 4 KB page the first time it is written; ResNet-50's layer1
activations are 51 MB at batch 16 and 224 px, so a CPU training step makes dozens. With mmap
and trimming switched off, freed blocks are reused instead: steps run faster, and the process
keeps about its peak memory until it exits (`benchmarks/bench_heap.py` measures both). A
process-wide switch, so only the user turns it on: `trainer.reuse_freed_memory: true`.
"""

from __future__ import annotations

import platform
from ctypes import CDLL

_M_TRIM_THRESHOLD, _M_MMAP_MAX = -1, -4  # mallopt parameters (glibc malloc.h)
_applied = False


def can_reuse_freed_memory() -> bool:
    """True where the C library is glibc (Linux); elsewhere `reuse_freed_memory` does nothing."""
    return platform.system() == "Linux" and platform.libc_ver()[0] == "glibc"


def reuse_freed_memory() -> bool:
    """Make glibc reuse freed blocks of any size (no mmap, no trimming) for the rest of the
    process; True once set, False (nothing changed) off glibc."""
    global _applied
    if not _applied and can_reuse_freed_memory():
        libc = CDLL(None)
        no_mmap, no_trim = libc.mallopt(_M_MMAP_MAX, 0), libc.mallopt(_M_TRIM_THRESHOLD, -1)
        _applied = no_mmap == 1 and no_trim == 1
    return _applied
