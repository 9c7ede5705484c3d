"""int8 quantisation (agreement with fp32 printed) and TorchScript export."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from scancci.errors import InvalidInputError
from scancci.export import export_torchscript, load_torchscript, quantize_onnx
from scancci.export.inputs import preprocess
from scancci.runtime.onnx_backend import OnnxClassifier


@pytest.fixture(scope="module")
def int8_export(onnx_export, photos, tmp_path_factory) -> object:
    return quantize_onnx(onnx_export.path, tmp_path_factory.mktemp("int8") / "model.int8.onnx",
                         images=photos)


def test_static_int8_is_checked_against_fp32(int8_export, capsys) -> None:
    report = int8_export.report
    print(int8_export)  # agreement with fp32, in the test log
    assert report.metric == "probabilities" and report.passed
    assert "onnxruntime fp32" in report.reference
    assert {b.name for b in report.batches} == {"real", "random"}
    # calibrated on real images: held to the tolerance there; noise is reported, not checked
    assert report.checked == ("real",) and "(shown, not checked)" in str(report)
    real = next(b for b in report.batches if b.name == "real")
    assert report.worst == real.max_prob_diff
    assert "top-1 agree" in capsys.readouterr().out


def test_int8_classifier_declares_its_precision(int8_export, onnx_export, photos) -> None:
    int8 = OnnxClassifier(int8_export.path, precision="int8")
    fp32 = OnnxClassifier(onnx_export.path)
    x = preprocess(photos, fp32.config)
    assert int8.logits(x).shape == fp32.logits(x).shape
    assert int8.attention(x).shape == fp32.attention(x).shape
    with pytest.raises(InvalidInputError, match="int8 model, not fp32"):
        OnnxClassifier(int8_export.path, precision="fp32")
    with pytest.raises(InvalidInputError, match="bf16 runs on the PyTorch backend"):
        OnnxClassifier(onnx_export.path, precision="bf16")


def test_dynamic_int8_needs_no_images(onnx_export, tmp_path) -> None:
    result = quantize_onnx(onnx_export.path, tmp_path / "dyn.onnx", method="dynamic")
    assert result.report.passed and result.path.exists()
    with pytest.raises(InvalidInputError, match="calibration images"):
        quantize_onnx(onnx_export.path, tmp_path / "static.onnx", method="static")


def test_torchscript_export_round_trips_with_its_config(small_model, photos, tmp_path) -> None:
    result = export_torchscript(small_model, tmp_path / "model.pt", images=photos)
    assert result.report.passed and result.report.worst <= 1e-4
    module, config = load_torchscript(result.path)
    assert config.to_dict() == small_model.config.to_dict()
    x = torch.from_numpy(preprocess(photos[:2], config))
    logits, attention = module(x)
    with torch.no_grad():
        np.testing.assert_allclose(logits.numpy(), small_model(x).logits.numpy(), atol=1e-4)
    assert attention.shape[0] == 2
