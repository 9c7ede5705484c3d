"""scan_conv3x3: F.conv2d's values and gradients, with the per-tap weight gradient on the CPU."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from scancci.models import conv3x3
from scancci.models.conv3x3 import scan_conv3x3

CL = torch.channels_last


@pytest.fixture(autouse=True)
def _taps_at_any_width(monkeypatch) -> None:
    """Small test tensors: the tap gradient at every channel count (MIN_CHANNELS is 96)."""
    monkeypatch.setattr(conv3x3, "MIN_CHANNELS", 1)


@pytest.mark.parametrize("layout", [torch.contiguous_format, CL])
@pytest.mark.parametrize("shape", [(2, 5, 7, 6), (9, 4, 3, 2)])
def test_values_and_gradients_equal_conv2d(layout, shape) -> None:
    g = torch.Generator().manual_seed(sum(shape))
    x = torch.randn(*shape, dtype=torch.float64, generator=g).contiguous(memory_format=layout)
    w = torch.randn(3, shape[1], 3, 3, dtype=torch.float64, generator=g)
    w = w.contiguous(memory_format=layout)
    x.requires_grad_(True)
    w.requires_grad_(True)
    out = scan_conv3x3(x, w)
    assert out.grad_fn is not None and "TapGradConv" in type(out.grad_fn).__name__
    seed = torch.randn(out.shape, dtype=torch.float64, generator=g)
    gx, gw = torch.autograd.grad((out * seed).sum(), (x, w))
    ex, ew = torch.autograd.grad((F.conv2d(x, w, padding=1) * seed).sum(), (x, w))
    torch.testing.assert_close(out, F.conv2d(x, w, padding=1), rtol=0, atol=1e-12)
    torch.testing.assert_close(gx, ex, rtol=0, atol=1e-12)
    torch.testing.assert_close(gw, ew, rtol=0, atol=1e-12)
    assert gw.is_contiguous(memory_format=layout) and gx.is_contiguous(memory_format=layout)
    assert torch.autograd.gradcheck(scan_conv3x3, (x[:1, :2, :4, :3].detach().requires_grad_(),
                                                   w[:2, :2].detach().requires_grad_()))


def test_only_the_input_gradient_when_the_weight_is_frozen() -> None:
    x = torch.randn(2, 3, 5, 5, requires_grad=True)
    w = torch.randn(4, 3, 3, 3)
    scan_conv3x3(x, w).sum().backward()
    expected = torch.nn.grad.conv2d_input(x.shape, w, torch.ones(2, 4, 5, 5), padding=1)
    torch.testing.assert_close(x.grad, expected)


def test_without_autograd_or_under_autocast_it_is_conv2d() -> None:
    x, w = torch.randn(1, 3, 5, 5), torch.randn(4, 3, 3, 3, requires_grad=True)
    with torch.no_grad():
        assert scan_conv3x3(x, w).grad_fn is None
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = scan_conv3x3(x, w)
    assert out.dtype == torch.bfloat16 and "TapGradConv" not in type(out.grad_fn).__name__


def test_narrow_convolutions_keep_onednns_gradient(monkeypatch) -> None:
    monkeypatch.setattr(conv3x3, "MIN_CHANNELS", 96)
    w = torch.randn(4, 95, 3, 3, requires_grad=True)
    assert "TapGradConv" not in type(scan_conv3x3(torch.randn(1, 95, 4, 4), w).grad_fn).__name__
    w = torch.randn(4, 96, 3, 3, requires_grad=True)
    assert "TapGradConv" in type(scan_conv3x3(torch.randn(1, 96, 4, 4), w).grad_fn).__name__
