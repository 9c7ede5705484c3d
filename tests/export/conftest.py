"""Fixtures of the export tests: one small SCAN-CCI model and its ONNX export, shared."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

PHOTOS = ("0-f15-hao-ph.jpg", "0-f1-su-ph.jpg", "15-f13-anc-ph.jpg", "45-m7-di-ph.jpg",
          "single_face.jpg", "BWPictureHuman.jpg")


@pytest.fixture(scope="session")
def small_model() -> torch.nn.Module:
    """A random-init SCAN-CCI MobileNetV2 at 112 px (seeded), in eval mode."""
    from scancci.models import create_model

    torch.manual_seed(0)
    return create_model("scancci_mobilenetv2", num_classes=7, input_size=112).eval()


@pytest.fixture(scope="session")
def photos(photos_dir: Path) -> list[Path]:
    """Real photos (whole images, resized by the check): the "real" inputs of a parity check."""
    return [photos_dir / name for name in PHOTOS]


@pytest.fixture(scope="session")
def onnx_export(small_model, photos, tmp_path_factory) -> object:
    """The small model exported to ONNX once (ExportResult: .path, .report)."""
    from scancci.export import export_onnx

    return export_onnx(small_model, tmp_path_factory.mktemp("onnx") / "model.onnx", images=photos)
