"""scancci.heap: with it, a freed 51 MB CPU tensor's memory is reused (no new page faults);
without it, glibc maps fresh pages for every such tensor. Each case runs in its own process,
since the setting lasts for the process."""

from __future__ import annotations

import os
import platform
import subprocess
import sys

import pytest

from scancci.heap import can_reuse

pytestmark = pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc malloc only")

# The minor page faults of each of 8 clones of a 51 MB tensor, freed before the next one.
PROBE = """
import resource, sys, torch
from scancci.heap import reuse_freed_memory
applied = reuse_freed_memory() if sys.argv[1] == "on" else False
x = torch.ones(16, 256, 56, 56)
faults = []
for _ in range(8):
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    y = x.clone()
    faults.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
    del y
print(applied, *faults)
"""


def _probe(mode: str, **env: str) -> tuple[bool, list[int]]:
    environ = {k: v for k, v in os.environ.items()
               if not k.startswith("MALLOC_") and k != "SCANCCI_REUSE_MEMORY"}
    out = subprocess.run([sys.executable, "-c", PROBE, mode], env={**environ, **env},
                         capture_output=True, text=True, check=True).stdout.split()
    return out[0] == "True", [int(n) for n in out[1:]]


def test_freed_blocks_are_reused_once_set() -> None:
    applied, faults = _probe("on")
    assert applied
    assert faults[-1] < 100 and faults[-2] < 100, faults  # 12,544 pages of 4 KB otherwise


def test_default_glibc_maps_fresh_pages_for_large_blocks() -> None:
    applied, faults = _probe("off")
    assert not applied and min(faults) > 10_000, faults


@pytest.mark.parametrize("env", [{"MALLOC_MMAP_MAX_": "65536"}, {"SCANCCI_REUSE_MEMORY": "0"}])
def test_users_malloc_settings_stand(env: dict[str, str]) -> None:
    applied, faults = _probe("on", **env)
    assert not applied and min(faults) > 10_000, faults


@pytest.mark.parametrize(("env", "expected"), [
    ({}, True), ({"SCANCCI_REUSE_MEMORY": "0"}, False), ({"MALLOC_TRIM_THRESHOLD_": "1"}, False),
    ({"GLIBC_TUNABLES": "glibc.malloc.mmap_max=0"}, False), ({"GLIBC_TUNABLES": "glibc.rtld.x=1"}, True)])
def test_can_reuse_follows_the_environment(monkeypatch, env: dict[str, str], expected: bool) -> None:
    for name in ("SCANCCI_REUSE_MEMORY", "MALLOC_TRIM_THRESHOLD_", "MALLOC_MMAP_MAX_",
                 "MALLOC_MMAP_THRESHOLD_", "GLIBC_TUNABLES"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert can_reuse() is expected
