"""reuse_freed_memory: once set, freed 51 MB CPU tensors are reused (no new page faults after
the heap has settled); with glibc's defaults every such tensor gets fresh pages. Each case runs
in its own process, since the setting lasts for the process; off by default in training."""

from __future__ import annotations

import platform
import subprocess
import sys
from pathlib import Path

import pytest

from scancci.train.config import TrainerSettings

THP = Path("/sys/kernel/mm/transparent_hugepage/enabled")

# The minor page faults of the last 10 of 40 clones of a 51 MB tensor, each freed before the
# next (PyTorch's aligned blocks fragment glibc's heap for the first few).
PROBE = """
import resource, sys, torch
from scancci.speed import reuse_freed_memory
applied = reuse_freed_memory() if sys.argv[1] == "on" else False
x = torch.ones(16, 256, 56, 56)
faults = []
for _ in range(40):
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    y = x.clone()
    faults.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
    del y
print(applied, sum(faults[-10:]))
"""


def _probe(mode: str) -> tuple[bool, int]:
    """(whether the setting took, page faults of the last 10 clones) in a child process."""
    out = subprocess.run([sys.executable, "-c", PROBE, mode], capture_output=True, text=True,
                         check=True).stdout.split()
    return out[0] == "True", int(out[1])


def test_training_leaves_the_allocator_alone_by_default() -> None:
    assert TrainerSettings().reuse_freed_memory is False


@pytest.mark.slow  # two child processes that import torch
@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc malloc only")
# with huge pages always on, a fresh 51 MB block takes a few dozen faults, not 12,544
@pytest.mark.skipif(THP.is_file() and "[always]" in THP.read_text(),
                    reason="transparent huge pages always on: page faults do not tell")
def test_freed_blocks_are_reused_once_set() -> None:
    applied, reused = _probe("on")
    default_applied, default = _probe("off")
    assert applied and not default_applied
    assert default > 10 * 10_000, default  # 12,544 fresh 4 KB pages per clone
    assert reused < default / 10, (reused, default)
