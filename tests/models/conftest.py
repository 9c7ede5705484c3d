"""Fixtures for the model tests: the original code's transcription and checkpoints it writes."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).parent))  # original_impl (test-only transcription)

from original_impl import OriginalModel, randomize, save_original_checkpoint  # noqa: E402


def original_model(num_classes: int, shared: bool, seed: int = 0) -> OriginalModel:
    """The original three modules with random, non-trivial weights and BN statistics.

    The attention Linear is scaled up so that attention logits are as large as the CCI ones
    (after L2 normalisation they are tiny otherwise, and a layout bug could hide in rounding).
    """
    model = randomize(OriginalModel(num_classes, shared), seed)
    with torch.no_grad():
        model.attention.fc.weight.mul_(40.0)
    return model.eval()


@pytest.fixture(scope="session")
def shared_original(tmp_path_factory) -> tuple[OriginalModel, Path]:
    """A shared-SCAN, 7-class original model and its checkpoint file."""
    model = original_model(7, shared=True, seed=1)
    path = save_original_checkpoint(model, tmp_path_factory.mktemp("orig") / "rafdb_best.pth")
    return model, path


@pytest.fixture(scope="session")
def independent_original(tmp_path_factory) -> tuple[OriginalModel, Path]:
    """An independent-SCAN, 8-class original model and its checkpoint file."""
    model = original_model(8, shared=False, seed=2)
    path = save_original_checkpoint(model, tmp_path_factory.mktemp("orig") / "affectnet8.pth")
    return model, path


@pytest.fixture(scope="session")
def face_batch() -> torch.Tensor:
    """Two 224 x 224 inputs in the original's normalisation range."""
    return torch.rand(2, 3, 224, 224, generator=torch.Generator().manual_seed(5)) * 2 - 1
