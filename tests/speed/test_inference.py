"""`optimize_for_inference` gives the eager model's outputs, for every architecture."""

from __future__ import annotations

import logging

import pytest
import torch
from torch import nn

from scancci import devices
from scancci.errors import CheckpointError
from scancci.models import create_model, save_model
from scancci.speed import fold_batchnorm, inference, optimize_for_inference


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
        if hasattr(model, "attention"):
            model.attention.fc.weight.mul_(40.0)  # attention logits as large as the CCI ones
    return model.eval()


def _assert_same(model: nn.Module, x: torch.Tensor) -> None:
    fast = optimize_for_inference(model)
    with torch.no_grad():
        expected = model(x, return_attention=True)
        got = fast(x, return_attention=True)
    torch.testing.assert_close(got.logits, expected.logits, atol=1e-4, rtol=0)
    if expected.attention_logits is None:
        return
    assert expected.attention_logits.abs().max() > 0.1
    for name in ("attention_logits", "region_logits"):
        torch.testing.assert_close(getattr(got, name), getattr(expected, name), atol=1e-4, rtol=0)
    for key in ("global", "local"):
        torch.testing.assert_close(got.attention[key], expected.attention[key], atol=1e-5, rtol=0)


@pytest.mark.parametrize(("name", "size", "options", "batch"), [
    ("scancci_mobilenetv2", 112, {}, 1),
    ("scancci_mobilenetv2", 112, {"local_scan": "independent"}, 8),
    ("scancci_resnet18", 224, {}, 1),
    ("scancci_resnet18", 224, {"patch_layout": "original"}, 8),
    ("scancci_resnet18", 224, {"patch_layout": "original", "local_scan": "independent"}, 1),
    ("scancci_mobilenetv2", 64, {"cci_heads": "independent"}, 2),  # 8 x 8 map: 1-cell regions
    ("scancci_resnet50", 224, {"patch_layout": "original"}, 8),
    ("plain_resnet18", 112, {}, 2),
    ("plain_mobilenetv2", 112, {}, 2),
])
@pytest.mark.parametrize("memory_format", [torch.contiguous_format, torch.channels_last])
def test_optimized_equals_eager(name, size, options, batch, memory_format):
    """Both SCAN variants and patch layouts, plain baselines, batch 1 to 8, NCHW and NHWC."""
    model = _nontrivial(create_model(name, num_classes=7, input_size=size, **options))
    x = torch.randn(batch, 3, size, size, generator=torch.Generator().manual_seed(batch))
    _assert_same(model, x.contiguous(memory_format=memory_format))


@pytest.mark.parametrize("name", ["fer_mini_xception", "pyemotion_cnn"])
def test_pretrained_baselines_equal_eager(name):
    model = _nontrivial(create_model(name))
    size = model.config.input_size
    _assert_same(model, torch.randn(3, 3, size, size, generator=torch.Generator().manual_seed(3)))


def test_batchnorm_is_folded_where_a_convolution_feeds_it():
    """Every BatchNorm2d that follows a Conv2d goes; SCAN's (after PReLU) stay."""
    model = create_model("scancci_resnet18", num_classes=7, input_size=64).eval()
    before = sum(isinstance(m, nn.BatchNorm2d) for m in model.modules())
    folded = fold_batchnorm(model, torch.zeros(1, 3, 64, 64))
    left = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    assert folded == before - 2 and len(left) == 2  # the global and the shared local SCAN's


def test_a_batchnorm_after_an_in_place_op_is_not_folded():
    """conv -> ReLU(inplace) -> BN: the BN's input is the conv's output tensor, changed since."""
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(inplace=True), nn.BatchNorm2d(4)).eval()
    with torch.no_grad():
        model[2].running_mean.uniform_(-1, 1)
    x = torch.randn(2, 3, 8, 8)
    with torch.no_grad():
        expected = model(x)
        assert fold_batchnorm(model, x) == 0
        torch.testing.assert_close(model(x), expected)


def test_source_model_is_unchanged_and_the_copy_is_eval_only():
    model = create_model("scancci_mobilenetv2", num_classes=7, input_size=112).train()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    fast = optimize_for_inference(model)
    assert model.training and not fast.training
    assert all(torch.equal(v, before[k]) for k, v in model.state_dict().items())
    with pytest.raises(RuntimeError, match="eval-only"):
        fast.train()


def test_bf16_falls_back_with_one_line(monkeypatch, caplog):
    monkeypatch.setattr(inference, "bf16_native", lambda: False)  # a CPU without bf16
    model = create_model("scancci_mobilenetv2", num_classes=7, input_size=112).eval()
    with caplog.at_level(logging.WARNING):
        fast = optimize_for_inference(model, precision="bf16")
    assert fast.precision == "fp32"
    assert len(caplog.records) == 1 and "running fp32" in caplog.records[0].getMessage()


def test_bf16_runs_where_native(monkeypatch):
    monkeypatch.setattr(inference, "bf16_native", lambda: True)  # maybe emulated: tiny input
    model = _nontrivial(create_model("scancci_mobilenetv2", num_classes=7, input_size=64))
    fast = optimize_for_inference(model, precision="bf16")
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        got = fast(x)
        torch.testing.assert_close(got.logits, model(x).logits, atol=0.1, rtol=0)
    assert got.logits.dtype == torch.float32


def test_a_copy_is_not_optimised_twice_nor_saved(monkeypatch, tmp_path):
    model = create_model("scancci_mobilenetv2", num_classes=7, input_size=64).eval()
    fast = optimize_for_inference(model)
    assert optimize_for_inference(fast) is fast
    with pytest.raises(CheckpointError, match="save the model it was made from"):
        save_model(fast, tmp_path / "fast.safetensors")
    assert not (tmp_path / "fast.safetensors").exists()
    monkeypatch.setattr(inference, "bf16_native", lambda: True)
    with pytest.raises(Exception, match="optimised for fp32"):
        optimize_for_inference(fast, precision="bf16")


def test_unknown_precision():
    model = create_model("scancci_mobilenetv2", num_classes=7, input_size=112)
    with pytest.raises(Exception, match="int4"):
        optimize_for_inference(model, precision="int4")


def test_bf16_native_reads_the_cpu_flags(tmp_path):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor : 0\nflags : fpu avx2 avx512f avx512bw avx512_vnni\n")
    assert not devices.bf16_native(cpuinfo)  # AVX-512 alone: oneDNN emulates bf16
    cpuinfo.write_text("processor : 0\nflags : fpu avx2 avx512f avx512_bf16\n")
    assert devices.bf16_native(cpuinfo)
