"""`optimize_for_inference(model)`: an eval-only copy that computes the same outputs faster.

What it does, with torch's own pieces and nothing specific to one architecture: an eval-mode
copy (the model is not changed), every BatchNorm2d folded into the Conv2d it follows
(`torch.nn.utils.fusion.fuse_conv_bn_eval`), channels-last memory (`speed.layout`), no
autograd, and bf16 autocast where the CPU computes bf16 natively (AVX512-BF16 or AMX; elsewhere
oneDNN emulates it, far slower than fp32, so fp32 runs and one line says so). Tests check the
outputs against the eager model's for every architecture; `benchmarks/bench_model.py` times it
beside torch.compile and onnxruntime.
"""

from __future__ import annotations

import copy
import dataclasses
import logging

import torch
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval

from scancci.devices import bf16_native
from scancci.errors import InvalidInputError, unknown_name
from scancci.models.base import ExpressionModel, ScanCCIOutput
from scancci.speed.layout import channels_last

log = logging.getLogger(__name__)
PRECISIONS = ("fp32", "bf16")


def resolve_precision(precision: str) -> str:
    """The precision that will run: bf16 falls back to fp32 (one line) without native bf16."""
    if precision not in PRECISIONS:
        raise unknown_name("precision", precision, PRECISIONS)
    if precision == "bf16" and not bf16_native():
        log.warning("scancci: this CPU has no native bf16 (AVX512-BF16/AMX; PyTorch kernels %s): "
                    "running fp32", torch.backends.cpu.get_cpu_capability())
        return "fp32"
    return precision


class InferenceModel(ExpressionModel):
    """An eval-only network (folded weights, other state-dict keys): run, never trained or
    saved; its outputs are float32 whatever precision computes them."""

    eval_only = True

    def __init__(self, network: ExpressionModel, precision: str) -> None:
        super().__init__(network.config)
        self.network = network
        self.precision = precision

    def train(self, mode: bool = True) -> InferenceModel:
        if mode:
            raise RuntimeError("an optimize_for_inference() model is eval-only: train the "
                               "model it was made from")
        return super().train(False)

    def forward(self, x: torch.Tensor, return_attention: bool = False) -> ScanCCIOutput:
        with torch.no_grad(), torch.autocast(x.device.type, torch.bfloat16,
                                             enabled=self.precision == "bf16"):
            out = self.network(x, return_attention=return_attention)
        return _float(out)

    def extra_repr(self) -> str:
        return f"precision={self.precision!r}"


def optimize_for_inference(model: ExpressionModel, precision: str = "fp32") -> InferenceModel:
    """An eval-only copy of `model` with BatchNorm folded, channels-last, no autograd, bf16
    where native (the model is not changed); a copy this made comes back as it is when asked
    for its own precision."""
    if isinstance(model, InferenceModel):
        if model.precision != resolve_precision(precision):
            raise InvalidInputError(f"this model was optimised for {model.precision}: optimise "
                                    f"the model it was made from for {precision}")
        return model
    precision = resolve_precision(precision)
    network = copy.deepcopy(model).eval().requires_grad_(False)
    size = int(network.config.input_size)
    fold_batchnorm(network, torch.zeros(1, 3, size, size, device=_device_of(network)))
    channels_last(network)
    return InferenceModel(network, precision).eval()


def fold_batchnorm(model: nn.Module, example: torch.Tensor) -> int:
    """Fold each eval BatchNorm2d into the Conv2d that feeds it, in place; returns how many.

    The pairs are found by running `example` once: a BatchNorm2d whose input is the very tensor
    a Conv2d returned, unchanged since (no in-place op between), each module called once.
    """
    produced: dict[int, tuple[nn.Module, torch.Tensor, int]] = {}
    calls: dict[nn.Module, int] = {}
    pairs: list[tuple[nn.Module, nn.Module]] = []

    def after_conv(conv: nn.Module, _: object, out: torch.Tensor) -> None:
        calls[conv] = calls.get(conv, 0) + 1
        produced[id(out)] = (conv, out, out._version)

    def before_bn(bn: nn.Module, args: tuple[torch.Tensor, ...]) -> None:
        calls[bn] = calls.get(bn, 0) + 1
        conv, out, version = produced.get(id(args[0]), (None, None, -1))
        if conv is not None and out is args[0] and out._version == version:
            pairs.append((conv, bn))

    hooks = [m.register_forward_hook(after_conv) for m in model.modules()
             if type(m) is nn.Conv2d]
    hooks += [m.register_forward_pre_hook(before_bn) for m in model.modules()
              if type(m) is nn.BatchNorm2d]
    try:
        with torch.no_grad():
            model.eval()(example)
    finally:
        for hook in hooks:
            hook.remove()
    names = {m: name for name, m in model.named_modules()}
    folded = 0
    for conv, bn in pairs:
        if calls[conv] == calls[bn] == 1 and isinstance(conv, nn.Conv2d) \
                and isinstance(bn, nn.BatchNorm2d):
            _replace(model, names[conv], fuse_conv_bn_eval(conv, bn))
            _replace(model, names[bn], nn.Identity())
            folded += 1
    return folded


def _replace(model: nn.Module, name: str, module: nn.Module) -> None:
    parent, _, child = name.rpartition(".")
    setattr(model.get_submodule(parent), child, module)


def _device_of(model: nn.Module) -> torch.device:
    return next(model.parameters()).device


def _float(out: ScanCCIOutput) -> ScanCCIOutput:
    """The output with every tensor float32 (bf16 autocast returns bf16 ones)."""
    maps = None if out.attention is None else {k: v.float() for k, v in out.attention.items()}
    return dataclasses.replace(
        out, logits=out.logits.float(), attention=maps,
        attention_logits=None if out.attention_logits is None else out.attention_logits.float(),
        region_logits=None if out.region_logits is None else out.region_logits.float())
