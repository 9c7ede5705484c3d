"""Test-only transcription of the original SCAN-CCI code (1980x/SCAN-CCI-FER, models/*.py).

Naive on purpose: the original module and key names, its unfold-based patch extraction (with the
wrongly built bottom strip) and its Python loop over the 25 regions. Used to check that
`load_original_checkpoint` predicts exactly as the original, and as the benchmark's baseline.
Written from the original's structure; not scancci code.
"""

from __future__ import annotations

import math
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

# ---------------------------------------------------------------- models/resnet.py (to layer3)


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, inplanes, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, kernel_size=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, kernel_size=3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, planes * 4, kernel_size=1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * 4)
        self.relu = nn.ReLU()
        self.downsample = downsample

    def forward(self, x):
        residual = x
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        if self.downsample is not None:
            residual = self.downsample(x)
        return self.relu(out + residual)


class ResNet(nn.Module):
    def __init__(self, block=Bottleneck, layers=(3, 4, 6, 3)):
        super().__init__()
        self.inplanes = 64
        self.conv1 = nn.Conv2d(3, 64, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU()
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1 = self._make_layer(block, 64, layers[0])
        self.layer2 = self._make_layer(block, 128, layers[1], stride=2)
        self.layer3 = self._make_layer(block, 256, layers[2], stride=2)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                n = m.kernel_size[0] * m.kernel_size[1] * m.out_channels
                m.weight.data.normal_(0, math.sqrt(2.0 / n))
            elif isinstance(m, nn.BatchNorm2d):
                m.weight.data.fill_(1)
                m.bias.data.zero_()

    def _make_layer(self, block, planes, blocks, stride=1):
        downsample = None
        if stride != 1 or self.inplanes != planes * block.expansion:
            downsample = nn.Sequential(
                nn.Conv2d(self.inplanes, planes * block.expansion, kernel_size=1, stride=stride,
                          bias=False),
                nn.BatchNorm2d(planes * block.expansion))
        layers = [block(self.inplanes, planes, stride, downsample)]
        self.inplanes = planes * block.expansion
        layers += [block(self.inplanes, planes) for _ in range(1, blocks)]
        return nn.Sequential(*layers)

    def forward(self, x):
        f = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        f2 = self.layer2(self.layer1(f))
        return f2, self.layer3(f2)


# ---------------------------------------------------------------- models/attentionnet.py


class Attentiomasknet(nn.Module):
    def __init__(self, inputdim=512):
        super().__init__()
        self.attention = nn.Sequential(
            nn.Conv2d(inputdim, inputdim, kernel_size=3, stride=1, padding=1, bias=False),
            nn.PReLU(inputdim), nn.BatchNorm2d(inputdim), nn.Sigmoid())

    def forward(self, x):
        return self.attention(x)


def extract_patches_attentivefeatures(feat):
    """16 6x6, 4 6x4, 4 "4x6" (the wrongly built bottom strip) and 1 4x4 patches."""
    patches_list = []
    bs, c, w, h = feat.size()
    rs = 6
    x = feat[:, :, :24, :24]
    patches = x.unfold(2, rs, rs).unfold(3, rs, rs)
    patches_list.append(patches.contiguous().view(bs, c, -1, rs, rs).permute(0, 2, 1, 3, 4))
    x = feat[:, :, :24, 24:]
    patches_list.append(x.unfold(2, rs, rs).permute(0, 2, 1, 4, 3))
    x = feat[:, :, 24:, :24]
    patches_list.append(x.unfold(3, rs, rs).permute(0, 2, 1, 3, 4))
    patches_list.append(feat[:, :, 24:, 24:].unsqueeze(1))
    return patches_list


class _AttentionBranchBase(nn.Module):
    def _local_mask(self, k):
        raise NotImplementedError

    def forward(self, x):
        patches_list = extract_patches_attentivefeatures(x)
        gap_local = []
        k = 0
        for patches in patches_list:
            for j in range(patches.size(1)):
                f = patches[:, j, :, :, :]
                f = f * self._local_mask(k)(f)
                gap_local.append(self.localattention_globalavgpool[k](f).squeeze(3).squeeze(2))
                k += 1
        stacked = torch.stack(gap_local, dim=2)
        local = self.localattention_maxpool(stacked).squeeze(2)
        global_features = self.global_attention_mask(x) * x
        gap_global = self.globalattention_globalavgpool(global_features).squeeze(3).squeeze(2)
        combined = F.normalize(torch.cat([local, gap_global], dim=1), p=2, dim=1)
        return patches_list, global_features, self.fc(combined)


class AttentionBranch(_AttentionBranchBase):
    """25 independent local attention nets."""

    def __init__(self, inputdim=512, num_regions=25, num_classes=8):
        super().__init__()
        self.local_attention_masks = nn.ModuleList(
            [Attentiomasknet(inputdim) for _ in range(num_regions)])
        self.localattention_globalavgpool = nn.ModuleList(
            [nn.AdaptiveAvgPool2d(1) for _ in range(num_regions)])
        self.localattention_maxpool = nn.MaxPool1d(num_regions)
        self.global_attention_mask = Attentiomasknet(inputdim)
        self.globalattention_globalavgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(2 * inputdim, num_classes)

    def _local_mask(self, k):
        return self.local_attention_masks[k]


class SharedAttentionBranch(_AttentionBranchBase):
    """One local attention net shared by the 25 regions."""

    def __init__(self, inputdim=512, num_regions=25, num_classes=8):
        super().__init__()
        self.local_attention_masks = Attentiomasknet(inputdim)
        self.localattention_globalavgpool = nn.ModuleList(
            [nn.AdaptiveAvgPool2d(1) for _ in range(num_regions)])
        self.localattention_maxpool = nn.MaxPool1d(num_regions)
        self.global_attention_mask = Attentiomasknet(inputdim)
        self.globalattention_globalavgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(2 * inputdim, num_classes)

    def _local_mask(self, k):
        return self.local_attention_masks


class eca_layer(nn.Module):  # noqa: N801 - the original's name
    def __init__(self, channel, k_size=5):
        super().__init__()
        self.avg_pool = nn.AdaptiveAvgPool2d(1)
        self.conv = nn.Conv1d(1, 1, kernel_size=k_size, padding=(k_size - 1) // 2, bias=False)
        self.sigmoid = nn.Sigmoid()

    def forward(self, x):
        y = self.avg_pool(x)
        y = self.conv(y.squeeze(-1).transpose(-1, -2)).transpose(-1, -2).unsqueeze(-1)
        return x * self.sigmoid(y).expand_as(x)


class RegionBranch(nn.Module):
    def __init__(self, inputdim=1024, num_regions=4, num_classes=8, reduction_factor=4):
        super().__init__()
        self.num_regions = num_regions
        self.eca = eca_layer(channel=inputdim, k_size=5)
        self.globalavgpool = nn.ModuleList([nn.AdaptiveAvgPool2d(1) for _ in range(num_regions)])
        self.region_net = nn.Sequential(
            nn.Linear(inputdim, inputdim // reduction_factor), nn.ReLU(),
            nn.Linear(inputdim // reduction_factor, num_classes))
        self.classifiers = nn.ModuleList([self.region_net for _ in range(num_regions)])

    def forward(self, x):
        bs, c, w, h = x.size()
        x = self.eca(x)
        rs = int(x.size(2) / (self.num_regions / 2))
        patches = x.unfold(2, rs, rs).unfold(3, rs, rs)
        patches = patches.contiguous().view(bs, c, -1, rs, rs).permute(0, 2, 1, 3, 4)
        output = []
        for i in range(self.num_regions):
            f = self.globalavgpool[i](patches[:, i, :, :, :]).squeeze(3).squeeze(2)
            output.append(self.classifiers[i](f))
        return torch.stack(output, dim=2)  # B x C x 4


# ---------------------------------------------------------------- main_*.py glue


class OriginalModel(nn.Module):
    """The three original modules together, as the training scripts use them."""

    def __init__(self, num_classes=7, shared=True):
        super().__init__()
        self.base = ResNet()
        branch = SharedAttentionBranch if shared else AttentionBranch
        self.attention = branch(inputdim=512, num_regions=25, num_classes=num_classes)
        self.region = RegionBranch(inputdim=1024, num_regions=4, num_classes=num_classes)

    def forward(self, x):
        """(mean logits, attention logits, region logits B x C x 4), as validate() computes."""
        f2, f3 = self.base(x)
        _, _, attention_preds = self.attention(f2)
        region_preds = self.region(f3)
        all_preds = torch.cat([attention_preds.unsqueeze(2), region_preds], dim=2)
        return torch.mean(all_preds, dim=2), attention_preds, region_preds

    def loss(self, x, target):
        """0.2 * CE(attention) + 0.8 * sum of the 4 region CEs (main_rafdb.py train())."""
        _, attention_preds, region_preds = self(x)
        loss2 = sum(F.cross_entropy(region_preds[:, :, j], target) for j in range(4))
        return 0.2 * F.cross_entropy(attention_preds, target) + 0.8 * loss2


def randomize(model: nn.Module, seed: int = 0) -> nn.Module:
    """Non-trivial values everywhere (incl. BN statistics and PReLU), so parity tests mean it."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, t in model.state_dict().items():
            if t.dtype == torch.long:
                continue
            if name.endswith("running_var"):
                t.copy_(torch.rand(t.shape, generator=g) + 0.5)
            elif name.endswith(("running_mean", "bias")):
                t.copy_(torch.randn(t.shape, generator=g) * 0.1)
            elif t.dim() == 1:  # BN gamma, PReLU slopes
                t.copy_(torch.rand(t.shape, generator=g) * 0.5 + 0.75)
            else:
                fan_in = t[0].numel()
                t.copy_(torch.randn(t.shape, generator=g) * math.sqrt(1.0 / fan_in))
    return model


def save_original_checkpoint(model: OriginalModel, path: str | Path, epoch: int = 12) -> Path:
    """Write the dict main_*.py saves, with DataParallel's `module.` prefixes."""

    def prefixed(module: nn.Module) -> dict[str, torch.Tensor]:
        return {f"module.{k}": v.clone() for k, v in module.state_dict().items()}

    optimizer = torch.optim.SGD(
        [{"params": model.base.parameters(), "lr": 1e-4},
         {"params": model.attention.parameters(), "lr": 1e-2},
         {"params": model.region.parameters(), "lr": 1e-2}], momentum=0.9)
    torch.save({"epoch": epoch, "base_state_dict": prefixed(model.base),
                "attention_state_dict": prefixed(model.attention),
                "region_state_dict": prefixed(model.region), "best_prec1": 87.5,
                "optimizer": optimizer.state_dict()}, path)
    return Path(path)
