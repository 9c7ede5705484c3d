"""scancci.heap: with it, freed 51 MB CPU tensors are reused (no new page faults once the heap
has settled); with glibc's defaults every such tensor gets fresh pages. Each case runs in its
own process, since the setting lasts for the process."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from pathlib import Path

import pytest

from scancci.heap import can_reuse, without_allocator_choices

THP = Path("/sys/kernel/mm/transparent_hugepage/enabled")
pytestmark = [
    pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc malloc only"),
    # with huge pages always on, a fresh 51 MB block takes a few dozen faults, not 12,544
    pytest.mark.skipif(THP.is_file() and "[always]" in THP.read_text(),
                       reason="transparent huge pages always on: page faults do not tell"),
]
CHILD_ENV = without_allocator_choices(os.environ)

# The minor page faults of the last 10 of 40 clones of a 51 MB tensor, each freed before the
# next (PyTorch's aligned blocks fragment glibc's heap for the first few).
PROBE = """
import resource, sys, torch
from scancci.heap import reuse_freed_memory
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


def _probe(mode: str, **env: str) -> tuple[bool, int]:
    """(whether the setting took, page faults of the last 10 clones) in a child process."""
    out = subprocess.run([sys.executable, "-c", PROBE, mode], env={**CHILD_ENV, **env},
                         capture_output=True, text=True, check=True).stdout.split()
    return out[0] == "True", int(out[1])


def test_freed_blocks_are_reused_once_set() -> None:
    applied, reused = _probe("on")
    default_applied, default = _probe("off")
    assert applied and not default_applied
    assert default > 10 * 10_000, default  # 12,544 fresh 4 KB pages per clone
    assert reused < default / 10, (reused, default)


@pytest.mark.parametrize("env", [{"MALLOC_MMAP_MAX_": "65536"}, {"SCANCCI_REUSE_MEMORY": "0"}])
def test_users_malloc_settings_stand(env: dict[str, str]) -> None:
    applied, faults = _probe("on", **env)
    assert not applied and faults > 10 * 10_000, faults


@pytest.mark.parametrize(("env", "expected"), [
    ({}, True), ({"SCANCCI_REUSE_MEMORY": "0"}, False), ({"SCANCCI_REUSE_MEMORY": "off"}, False),
    ({"MALLOC_ARENA_MAX": "2"}, False), ({"GLIBC_TUNABLES": "glibc.malloc.mmap_max=0"}, False),
    ({"GLIBC_TUNABLES": "glibc.rtld.x=1"}, True), ({"LD_PRELOAD": "/usr/lib/libjemalloc.so.2"}, False)])
def test_can_reuse_follows_the_environment(monkeypatch, env: dict[str, str], expected: bool) -> None:
    for name in set(os.environ) - set(without_allocator_choices(os.environ)):
        monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert can_reuse() is expected
