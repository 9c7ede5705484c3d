"""Test-only transcription of the original's training step (1980x/SCAN-CCI-FER main_rafdb.py).

`train()` (main_rafdb.py:238-288) for one batch: the three modules' forward, 0.2 * CE(attention)
+ 0.8 * the sum of the 4 region CEs, zero_grad, backward, SGD step; `adjust_learning_rate`
(main_rafdb.py:391-394) after each epoch; the three SGD groups of main_rafdb.py:188-195. The
modules are never put back in train mode after `validate()` (main_rafdb.py:317-319), so from
the second epoch on the step runs in eval mode. The ResNet-18 trunk is the original's
models/resnet.py `resnet18` (BasicBlock, cut after layer3 as its forward): the branches take
`inputdim` (128 and 256 channels then), so a small parity test runs the original's code.
Written from the original's structure; not scancci code.
"""

from __future__ import annotations

import torch
from original_impl import AttentionBranch, RegionBranch, ResNet, SharedAttentionBranch
from torch import nn


class BasicBlock(nn.Module):
    """models/resnet.py BasicBlock."""

    expansion = 1

    def __init__(self, inplanes, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, kernel_size=3, stride=stride, padding=1,
                               bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU()
        self.conv2 = nn.Conv2d(planes, planes, kernel_size=3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = downsample

    def forward(self, x):
        residual = x
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        if self.downsample is not None:
            residual = self.downsample(x)
        return self.relu(out + residual)


def original_resnet18_modules(num_classes: int, shared: bool) -> tuple[nn.Module, ...]:
    """basemodel, attention_model, region_model as main_rafdb.py:174-177 builds them."""
    base = ResNet(BasicBlock, (2, 2, 2))
    branch = SharedAttentionBranch if shared else AttentionBranch
    attention = branch(inputdim=128, num_regions=25, num_classes=num_classes)
    region = RegionBranch(inputdim=256, num_regions=4, num_classes=num_classes)
    return base, attention, region


def original_optimizer(base, attention, region, lr=0.01, momentum=0.9, weight_decay=1e-3):
    """main_rafdb.py:188-195: trunk at 0.0001, both branches at args.lr."""
    optimizer = torch.optim.SGD([{"params": base.parameters(), "lr": 0.0001,
                                  "momentum": momentum, "weight_decay": weight_decay}])
    optimizer.add_param_group({"params": attention.parameters(), "lr": lr,
                               "momentum": momentum, "weight_decay": weight_decay})
    optimizer.add_param_group({"params": region.parameters(), "lr": lr,
                               "momentum": momentum, "weight_decay": weight_decay})
    return optimizer


def train_step(input, target, base, attention, region, criterion, optimizer):
    """One iteration of main_rafdb.py train(); returns the loss (grads left in .grad)."""
    attention_branch_feat, region_branch_feat = base(input)
    _, _, attention_preds = attention(attention_branch_feat)
    region_preds = region(region_branch_feat)
    loss1 = criterion(attention_preds, target)
    for j in range(4):
        if j == 0:
            loss2 = criterion(region_preds[:, :, j], target)
        else:
            loss2 += criterion(region_preds[:, :, j], target)
    att_wt = 0.2
    loss = att_wt * loss1 + (1 - att_wt) * loss2
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss


def adjust_learning_rate(optimizer):
    """main_rafdb.py:391-394."""
    for param_group in optimizer.param_groups:
        param_group["lr"] *= 0.95
