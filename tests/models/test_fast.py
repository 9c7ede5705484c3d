"""The fast inference path (`optimize_for_inference`) gives the eager model's outputs."""

from __future__ import annotations

import copy
import importlib
import logging

import pytest
import torch
from torch import nn

from scancci.errors import CheckpointError
from scancci.models import create_model, optimize_for_inference, save_model
from scancci.models import fast as fast_module
from scancci.models.fast import fold_batchnorm


def _nontrivial(model: nn.Module, seed: int = 0) -> nn.Module:
    """Random BN statistics / affine and PReLU slopes (default ones would hide folding bugs)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, t in model.state_dict().items():
            if name.endswith("running_var"):
                t.copy_(torch.rand(t.shape, generator=g) + 0.5)
            elif name.endswith(("running_mean", "bn_bias")) or ("bn" in name and "bias" in name):
                t.copy_(torch.randn(t.shape, generator=g) * 0.1)
            elif name.endswith(("prelu_weight", "attention.1.weight")):
                t.copy_(torch.rand(t.shape, generator=g) * 0.5)
        model.attention.fc.weight.mul_(40.0)  # attention logits as large as the CCI ones
    return model.eval()


def _assert_same(model: nn.Module, x: torch.Tensor) -> None:
    fast = optimize_for_inference(model)
    with torch.no_grad():
        expected = model(x, return_attention=True)
        got = fast(x, return_attention=True)
    assert expected.attention_logits.abs().max() > 0.1
    for name in ("logits", "attention_logits", "region_logits"):
        torch.testing.assert_close(getattr(got, name), getattr(expected, name), atol=1e-4, rtol=0)
    for key in ("global", "local"):
        torch.testing.assert_close(got.attention[key], expected.attention[key], atol=1e-5, rtol=0)


@pytest.mark.parametrize(("name", "size", "options", "batch"), [
    ("scancci_mobilenetv2", 112, {}, 1),
    ("scancci_mobilenetv2", 112, {}, 8),
    ("scancci_mobilenetv2", 112, {"local_scan": "independent"}, 1),
    ("scancci_mobilenetv2", 112, {"local_scan": "independent"}, 8),
    ("scancci_resnet18", 224, {}, 1),
    ("scancci_resnet18", 224, {"patch_layout": "reference"}, 8),
    ("scancci_resnet18", 224, {"patch_layout": "reference", "local_scan": "independent"}, 1),
    ("scancci_mobilenetv2", 64, {"cci_heads": "independent"}, 2),  # 8 x 8 map: 1-cell regions
    ("scancci_resnet50", 224, {}, 1),
    ("scancci_resnet50", 224, {"patch_layout": "reference"}, 8),
])
@pytest.mark.parametrize("memory_format", [torch.contiguous_format, torch.channels_last])
def test_fast_path_equals_eager(name, size, options, batch, memory_format):
    """Both SCAN variants and patch layouts, batch 1 and 8, 64-224 px, NCHW and NHWC input."""
    model = _nontrivial(create_model(name, num_classes=7, input_size=size, **options))
    x = torch.randn(batch, 3, size, size, generator=torch.Generator().manual_seed(batch))
    _assert_same(model, x.contiguous(memory_format=memory_format))


def test_source_model_is_unchanged_and_fast_is_eval_only():
    model = create_model("scancci_mobilenetv2", num_classes=7, input_size=112).train()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    fast = optimize_for_inference(model)
    assert model.training and not fast.training
    assert all(torch.equal(v, before[k]) for k, v in model.state_dict().items())
    with pytest.raises(RuntimeError, match="eval-only"):
        fast.train()


def test_plain_model_gets_folded_batchnorm():
    model = _plain()
    fast = optimize_for_inference(model)
    assert not any(isinstance(m, nn.BatchNorm2d) for m in fast.modules())
    x = torch.randn(2, 3, 112, 112)
    with torch.no_grad():
        torch.testing.assert_close(fast(x).logits, model(x).logits, atol=1e-4, rtol=0)


def _plain() -> nn.Module:
    model = create_model("plain_mobilenetv2", num_classes=7, input_size=112)
    g = torch.Generator().manual_seed(3)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_var.copy_(torch.rand(m.running_var.shape, generator=g) + 0.5)
    return model.eval()


def test_fold_batchnorm_resnet_blocks():
    model = create_model("scancci_resnet18", num_classes=7).eval()
    trunk = fold_batchnorm(copy.deepcopy(model.trunk))
    assert not any(isinstance(m, nn.BatchNorm2d) for m in trunk.modules())


def test_bf16_falls_back_with_one_line(monkeypatch, caplog):
    monkeypatch.setattr(fast_module, "bf16_native", lambda: False)
    model = create_model("scancci_mobilenetv2", num_classes=7, input_size=112).eval()
    with caplog.at_level(logging.WARNING):
        fast = optimize_for_inference(model, precision="bf16")
    assert fast.precision == "fp32"
    assert len(caplog.records) == 1 and "fp32 fast path" in caplog.records[0].getMessage()


def test_bf16_runs_where_asked(monkeypatch):
    try:  # oneDNN's bf16 kernels need AVX-512 (BW/VL/DQ) or AVX-NE-CONVERT
        torch.ops.mkldnn._convolution_pointwise(torch.ones(1, 1, 2, 2, dtype=torch.bfloat16),
                                                torch.ones(1, 1, 1, 1, dtype=torch.bfloat16),
                                                None, [0, 0], [1, 1], [1, 1], 1, "none", [], "")
    except RuntimeError as err:
        pytest.skip(f"this CPU cannot run oneDNN bf16 convolutions: {err}")
    monkeypatch.setattr(fast_module, "bf16_native", lambda: True)  # maybe emulated: tiny input
    model = _nontrivial(create_model("scancci_mobilenetv2", num_classes=7, input_size=64))
    fast = optimize_for_inference(model, precision="bf16")
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(fast(x).logits, model(x).logits, atol=0.1, rtol=0)


def test_a_fast_copy_is_not_optimised_twice_nor_saved(monkeypatch, tmp_path):
    model = create_model("scancci_mobilenetv2", num_classes=7, input_size=64).eval()
    fast = optimize_for_inference(model)
    assert optimize_for_inference(fast) is fast
    with pytest.raises(CheckpointError, match="save the model it was made from"):
        save_model(fast, tmp_path / "fast.safetensors")
    assert not (tmp_path / "fast.safetensors").exists()
    monkeypatch.setattr(fast_module, "bf16_native", lambda: True)
    with pytest.raises(Exception, match="optimised for fp32"):
        optimize_for_inference(fast, precision="bf16")


def test_unknown_precision():
    model = create_model("scancci_mobilenetv2", num_classes=7, input_size=112)
    with pytest.raises(Exception, match="int4"):
        optimize_for_inference(model, precision="int4")


def test_training_precision_auto(monkeypatch):
    devices = importlib.import_module("scancci.devices")  # the device rules, training's included

    monkeypatch.setattr(devices, "bf16_native", lambda: False)
    assert devices.training_precision("auto", "cpu") == "32-true"
    assert devices.training_precision("16-mixed", "cpu") == "16-mixed"
    monkeypatch.setattr(devices, "bf16_native", lambda: True)
    assert devices.training_precision("auto", "cpu") == "bf16-mixed"


def test_without_fused_kernels_the_folded_trunk_runs(monkeypatch, caplog):
    monkeypatch.setattr(fast_module, "fused_kernels", lambda: False)
    model = _nontrivial(create_model("scancci_mobilenetv2", num_classes=7, input_size=64))
    with caplog.at_level(logging.WARNING):
        _assert_same(model, torch.randn(2, 3, 64, 64))
    assert any("no oneDNN fused convolutions" in r.getMessage() for r in caplog.records)
