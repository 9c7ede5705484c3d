"""SCAN's 3x3 convolution (stride 1, zero padding 1, no bias) with a faster CPU weight gradient.

On the CPU, oneDNN's weight gradient of a 512-channel 3x3 convolution takes about twice its
forward pass (2.1-2.8x on a 2-core AVX2 EPYC, channels-last). The same gradient as nine matrix
products, one per kernel tap (rows of the shifted input against rows of the output gradient),
runs at the machine's matmul rate: 0.57x oneDNN's time on the 28 x 28 global map, 0.61x on the
6 x 6 regions (2026-12-02; `benchmarks/bench_model.py` times the training step), 0.87-0.91x
at 96-128 channels, but 1.0-1.3x at 32 (MobileNetV2's SCAN), hence `MIN_CHANNELS`. The input
gradient stays oneDNN's. Only the SCAN convolutions use it: on the trunk's 64-256 channel
convolutions the taps were no faster. Elsewhere (no gradient, autocast, GPUs, fewer channels)
this is `F.conv2d`.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

MIN_CHANNELS = 96  # below it oneDNN's weight gradient was as fast or faster (measured at 32)


def scan_conv3x3(x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """`F.conv2d(x, weight, padding=1)`; when autograd records on the CPU in fp32/fp64 with at
    least MIN_CHANNELS input channels, its weight gradient comes from nine per-tap matrix
    products (`_TapGradConv`)."""
    records = torch.is_grad_enabled() and (x.requires_grad or weight.requires_grad)
    if records and x.device.type == "cpu" and x.dtype in (torch.float32, torch.float64) \
            and x.shape[1] >= MIN_CHANNELS and not torch.is_autocast_enabled("cpu"):
        return _TapGradConv.apply(x, weight)
    return F.conv2d(x, weight, padding=1)


def tap_weight_grad(x: torch.Tensor, grad: torch.Tensor) -> torch.Tensor:
    """The weight gradient of a 3x3 'same' convolution: C_out x C_in x 3 x 3, one matrix
    product per tap over the (B*h*w) positions."""
    b, c, h, w = x.shape
    padded = F.pad(x.permute(0, 2, 3, 1), (0, 0, 1, 1, 1, 1))  # B x h+2 x w+2 x C_in
    rows = grad.permute(0, 2, 3, 1).reshape(b * h * w, grad.shape[1])  # B*h*w x C_out
    taps = torch.stack([padded[:, i:i + h, j:j + w].reshape(-1, c).t() @ rows
                        for i in range(3) for j in range(3)])  # 9 x C_in x C_out
    return taps.reshape(3, 3, c, -1).permute(3, 2, 0, 1)


def _layout_of(t: torch.Tensor) -> torch.memory_format:
    channels_last = t.is_contiguous(memory_format=torch.channels_last) and not t.is_contiguous()
    return torch.channels_last if channels_last else torch.contiguous_format


class _TapGradConv(torch.autograd.Function):
    """F.conv2d forward and input gradient; the weight gradient from `tap_weight_grad`."""

    @staticmethod
    def forward(ctx: torch.autograd.function.FunctionCtx, x: torch.Tensor,
                weight: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(x, weight)
        return F.conv2d(x, weight, padding=1)

    @staticmethod
    def backward(ctx: torch.autograd.function.FunctionCtx, grad: torch.Tensor
                 ) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        x, weight = ctx.saved_tensors
        grad_x = grad_w = None
        if ctx.needs_input_grad[0]:
            grad_x = torch.nn.grad.conv2d_input(x.shape, weight, grad, padding=1).contiguous(
                memory_format=_layout_of(x))  # the layout F.conv2d's own backward gives
        if ctx.needs_input_grad[1]:
            grad_w = tap_weight_grad(x, grad).contiguous(memory_format=_layout_of(weight))
        return grad_x, grad_w
