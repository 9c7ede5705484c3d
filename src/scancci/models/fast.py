"""The fast inference path: `optimize_for_inference(model)` -> an eval-only copy, same logits.

What it changes (the eager model stays the reference; tests check parity for both SCAN variants
and both layouts):
- BatchNorm folded into the trunk's convolutions, and conv + ReLU(6) / conv + residual add +
  ReLU run as one oneDNN kernel each (`FusedConv`, the kernel Inductor emits on CPUs; where the
  build lacks it, folded convolutions run and one line says so); channels-last end to end.
- SCAN's PReLU -> BatchNorm -> sigmoid run as one multiplier/shift pass on the conv output:
  BN(PReLU(z)) = z * (scale if z >= 0 else scale * slope) + shift.
- Shared local SCAN: the regions gathered into four same-shaped groups, one convolution per
  group, as the eager model (`regions.gather_regions`), then the fused gate and pooling.
- Independent local SCANs (25 weight sets) keep their batched matrix product.
- bf16: bf16 trunk weights and the heads under CPU autocast, where the CPU has native bf16
  (AVX512-BF16 or AMX); elsewhere oneDNN emulates bf16 about 50-100x slower than fp32, so fp32
  runs instead and one line says so.
What was measured and not used (Winograd, merged SCAN convolutions): docs/model.md.
"""

from __future__ import annotations

import copy
import logging

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval

from scancci.errors import InvalidInputError, unknown_name
from scancci.models.base import ExpressionModel, ScanCCIOutput
from scancci.models.regions import check_layout, paste_regions
from scancci.models.scan import SCANBlock, SharedLocalSCAN, scan_region_groups
from scancci.models.scancci import ScanCCI, local_regions

log = logging.getLogger(__name__)
PRECISIONS = ("fp32", "bf16")
CL = torch.channels_last


def bf16_native() -> bool:
    """True where oneDNN runs bf16 in hardware (AVX512-BF16 or AMX), not emulated."""
    return bool(torch.backends.mkldnn.is_available()
                and hasattr(torch.ops.mkldnn, "_is_mkldnn_bf16_supported")
                and torch.ops.mkldnn._is_mkldnn_bf16_supported())


def fused_kernels() -> bool:
    """True where this PyTorch build has oneDNN's fused convolution + activation kernels."""
    return bool(torch.backends.mkldnn.is_available()
                and hasattr(torch.ops.mkldnn, "_convolution_pointwise"))


def resolve_precision(precision: str) -> str:
    """The precision that will run: bf16 falls back to fp32 (one line) without native bf16."""
    if precision not in PRECISIONS:
        raise unknown_name("precision", precision, PRECISIONS)
    if precision == "bf16" and not bf16_native():
        log.warning("scancci: this CPU has no native bf16 (AVX512-BF16/AMX; capability %s): "
                    "running the fp32 fast path", torch.backends.cpu.get_cpu_capability())
        return "fp32"
    return precision


def optimize_for_inference(model: ExpressionModel, precision: str = "fp32") -> ExpressionModel:
    """An eval-only copy of `model` with fused, channels-last kernels (the model is not changed);
    a model this made comes back as it is when asked for its own precision."""
    if model.eval_only:
        if model.precision != resolve_precision(precision):
            raise InvalidInputError(f"this model was optimised for {model.precision}: optimise "
                                    f"the original model for {precision}")
        return model
    precision = resolve_precision(precision)
    if isinstance(model, ScanCCI):
        return FastScanCCI(model, precision).eval()
    return FastModel(model, precision).eval()


def fold_batchnorm(module: nn.Module) -> nn.Module:
    """Fold every eval BatchNorm2d into the Conv2d before it, in place (Sequential or convN/bnN)."""
    for child in module.children():
        fold_batchnorm(child)
    names = list(module._modules)
    if isinstance(module, nn.Sequential):
        pairs = [(a, b) for a, b in zip(names, names[1:], strict=False)]
    else:  # torchvision blocks: conv1/bn1, conv2/bn2...
        pairs = [(n, "bn" + n[4:]) for n in names if n.startswith("conv") and "bn" + n[4:] in names]
    for conv_name, bn_name in pairs:
        conv, bn = module._modules[conv_name], module._modules[bn_name]
        if isinstance(conv, nn.Conv2d) and isinstance(bn, nn.BatchNorm2d):
            module._modules[conv_name] = fuse_conv_bn_eval(conv, bn)
            module._modules[bn_name] = nn.Identity()
    return module


def _eval_copy(module: nn.Module) -> nn.Module:
    """A frozen eval-mode copy with BatchNorm folded, channels-last."""
    module = fold_batchnorm(copy.deepcopy(module).eval())
    for p in module.parameters():
        p.requires_grad_(False)
    return module.to(memory_format=CL)


class FusedConv(nn.Module):
    """A (BN-folded) Conv2d with its activation, and optionally a residual add before it, as
    ONE oneDNN kernel (`mkldnn._convolution_pointwise`, what Inductor emits on CPUs): the
    separate ReLU / add passes over memory cost about a tenth of the trunk's time otherwise."""

    ACTIVATIONS = {nn.ReLU: ("relu", []), nn.ReLU6: ("hardtanh", [0.0, 6.0])}

    def __init__(self, conv: nn.Conv2d, activation: nn.Module | None = None) -> None:
        super().__init__()
        self.register_buffer("weight", conv.weight.detach().clone().contiguous(memory_format=CL))
        bias = conv.bias.detach().clone() if conv.bias is not None else None
        self.register_buffer("bias", bias)
        self.args = (list(conv.padding), list(conv.stride), list(conv.dilation), conv.groups)
        self.unary, self.scalars = self.ACTIVATIONS.get(type(activation), ("none", []))

    def forward(self, x: torch.Tensor, residual: torch.Tensor | None = None) -> torch.Tensor:
        w = self.weight.to(x.dtype)
        b = None if self.bias is None else self.bias.to(x.dtype)
        if residual is not None:
            return torch.ops.mkldnn._convolution_pointwise(
                x, residual.to(x.dtype), w, b, *self.args, "add", None, self.unary,
                self.scalars, "")
        return torch.ops.mkldnn._convolution_pointwise(x, w, b, *self.args, self.unary,
                                                       self.scalars, "")


class FusedResidualBlock(nn.Module):
    """A torchvision Bottleneck / BasicBlock (BN folded) with conv+ReLU and conv+add+ReLU fused."""

    def __init__(self, block: nn.Module) -> None:
        super().__init__()
        convs = [block.conv1, block.conv2] + ([block.conv3] if hasattr(block, "conv3") else [])
        self.convs = nn.ModuleList([FusedConv(c, nn.ReLU()) for c in convs])
        self.downsample = None if block.downsample is None else FusedConv(block.downsample[0])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = x
        for conv in self.convs[:-1]:
            out = conv(out)
        return self.convs[-1](out, residual=identity)


def fuse_activations(module: nn.Module) -> nn.Module:
    """Folded trunk -> fused kernels, in place: residual blocks, and Conv2d [Identity] ReLU(6)
    runs of every Sequential (MobileNetV2), the ResNet stem."""
    for name, child in list(module.named_children()):
        if hasattr(child, "conv1") and hasattr(child, "downsample"):  # torchvision residual block
            setattr(module, name, FusedResidualBlock(child))
        else:
            fuse_activations(child)
    if isinstance(module, nn.Sequential):
        layers = [m for m in module if not isinstance(m, nn.Identity)]
        fused: list[nn.Module] = []
        for m in layers:
            if type(m) in FusedConv.ACTIVATIONS and fused and isinstance(fused[-1], nn.Conv2d):
                fused[-1] = FusedConv(fused[-1], m)
            else:
                fused.append(m)
        fused = [FusedConv(m) if isinstance(m, nn.Conv2d) else m for m in fused]
        module._modules = {str(i): m for i, m in enumerate(fused)}
    if isinstance(getattr(module, "conv1", None), nn.Conv2d) and hasattr(module, "relu"):
        module.conv1, module.bn1, module.relu = FusedConv(module.conv1, module.relu), \
            nn.Identity(), nn.Identity()  # ResNet stem
    return module


def fast_trunk(trunk: nn.Module, precision: str) -> nn.Module:
    """The trunk with BatchNorm folded and activations fused, in the precision to run."""
    fused = _eval_copy(trunk)
    if fused_kernels():
        fused = fuse_activations(fused)
    else:
        log.warning("scancci: this PyTorch build has no oneDNN fused convolutions: the fast "
                    "path runs BatchNorm-folded convolutions and separate activations")
    return fused.to(torch.bfloat16) if precision == "bf16" else fused


class _FastBase(ExpressionModel):
    """Eval-only: the config and input checks of the source model, autocast for bf16."""

    eval_only = True

    def __init__(self, model: ExpressionModel, precision: str) -> None:
        super().__init__(copy.deepcopy(model.config))
        self.precision = precision

    def train(self, mode: bool = True) -> _FastBase:
        if mode:
            raise RuntimeError("an optimize_for_inference() model is eval-only: train the "
                               "original model")
        return super().train(False)

    def forward(self, x: torch.Tensor, return_attention: bool = False) -> ScanCCIOutput:
        self.check_input(x)
        x = x.contiguous(memory_format=CL)
        with torch.no_grad(), torch.autocast("cpu", torch.bfloat16,
                                             enabled=self.precision == "bf16"):
            return self.run(x, return_attention)

    def run(self, x: torch.Tensor, return_attention: bool) -> ScanCCIOutput:
        raise NotImplementedError

    def extra_repr(self) -> str:
        return f"precision={self.precision!r}"


class FastModel(_FastBase):
    """Any other scancci model (plain baselines): BatchNorm folded, channels-last."""

    def __init__(self, model: ExpressionModel, precision: str) -> None:
        super().__init__(model, precision)
        self.model = _eval_copy(model)

    def run(self, x: torch.Tensor, return_attention: bool) -> ScanCCIOutput:
        out = self.model(x, return_attention=return_attention)
        return ScanCCIOutput(out.logits.float())


class FusedSCANGate(nn.Module):
    """Sigmoid(BN(PReLU(z))) of a SCAN block as one pass over the conv output z (eval BN)."""

    def __init__(self, block: SCANBlock) -> None:
        super().__init__()
        conv, prelu, bn = block.attention[0], block.attention[1], block.attention[2]
        scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
        shape = (1, -1, 1, 1)
        self.register_buffer("weight", conv.weight.detach().clone().contiguous(memory_format=CL))
        self.register_buffer("pos", scale.detach().reshape(shape).clone())
        self.register_buffer("neg", (scale * prelu.weight).detach().reshape(shape).clone())
        self.register_buffer("shift", (bn.bias - bn.running_mean * scale).detach().reshape(shape))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """Conv output B x C x h x w -> attention A in [0, 1] (z is overwritten)."""
        mult = torch.where(z >= 0, self.pos, self.neg)
        return z.mul_(mult).add_(self.shift).sigmoid_()


class FastAttention(nn.Module):
    """The attention branch with fused SCAN gates and, for the shared variant, one local conv."""

    def __init__(self, branch: nn.Module) -> None:
        super().__init__()
        self.patch_layout = branch.patch_layout
        self.global_gate = FusedSCANGate(branch.global_scan)
        self.shared = isinstance(branch.local_scan, SharedLocalSCAN)
        if self.shared:
            self.local_gate = FusedSCANGate(branch.local_scan.block)
        else:
            self.local_scan = copy.deepcopy(branch.local_scan).eval().requires_grad_(False)
        self.fc = copy.deepcopy(branch.fc).requires_grad_(False)

    def forward(self, x: torch.Tensor, return_attention: bool
                ) -> tuple[torch.Tensor, dict[str, torch.Tensor] | None]:
        """B x C x H x W (channels-last) -> (B x classes, attention maps or None)."""
        h, w = x.shape[2], x.shape[3]
        check_layout(self.patch_layout, h, w)
        pooled, local_maps = self._shared(x) if self.shared else \
            local_regions(self.local_scan, x, self.patch_layout)
        a = self.global_gate(F.conv2d(x, self.global_gate.weight, padding=1))
        features = torch.cat([pooled.max(dim=1).values, (a * x).mean(dim=(2, 3))], dim=1)
        logits = self.fc(F.normalize(features.float(), p=2, dim=1))
        if not return_attention:
            return logits, None
        return logits, {"global": a.mean(dim=1).float(),
                        "local": paste_regions(local_maps, h, w, self.patch_layout).float()}

    def _shared(self, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """One conv per same-shaped group of regions -> (B x 25 x C, region maps)."""
        weight = self.local_gate.weight
        return scan_region_groups(x, self.patch_layout,
                                  lambda regions, _: self.local_gate(
                                      F.conv2d(regions, weight, padding=1)))


class FastScanCCI(_FastBase):
    """SCAN-CCI for inference: folded trunk, fused attention branch, the same outputs."""

    def __init__(self, model: ScanCCI, precision: str) -> None:
        super().__init__(model, precision)
        self.trunk = fast_trunk(model.trunk, precision)
        self.attention = FastAttention(model.attention)
        self.cci = _eval_copy(model.cci)

    def run(self, x: torch.Tensor, return_attention: bool) -> ScanCCIOutput:
        f8, f16 = self.trunk(x.to(torch.bfloat16) if self.precision == "bf16" else x)
        attention_logits, maps = self.attention(f8, return_attention)
        region_logits = self.cci(f16).float()  # B x 4 x C
        stacked = torch.cat([attention_logits.unsqueeze(1), region_logits], dim=1)
        return ScanCCIOutput(stacked.mean(dim=1), attention_logits, region_logits, maps)
