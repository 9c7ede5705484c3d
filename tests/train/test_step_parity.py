"""scancci's Lightning module takes the original's SGD steps exactly (float64, <= 1e-10).

The rafdb recipe's optimizer under `protocol: original` (three groups, momentum 0.9, weight
decay 1e-3, x0.95 after each epoch, BatchNorm in eval mode from epoch 2) against the
transcription of main_rafdb.py's train() step, two epochs of one batch: loss, gradients,
updated weights and BatchNorm buffers after each step. ResNet-18 trunk (the original's
resnet18 with its branches at inputdim 128/256) at 224 px, the only size whose 28 x 28 layer-2
map the original's 25-region split accepts, 2 images: a few seconds on a CPU.
"""

from __future__ import annotations

import copy
import sys
from pathlib import Path

import lightning as L
import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

sys.path.insert(0, str(Path(__file__).parents[1] / "models"))
sys.path.insert(0, str(Path(__file__).parent))
from original_impl import randomize  # noqa: E402
from original_train import (  # noqa: E402 - the test transcription
    adjust_learning_rate,
    original_optimizer,
    original_resnet18_modules,
    train_step,
)

from scancci.models import create_model, scancci_loss  # noqa: E402
from scancci.models.original import _map_attention, _map_region  # noqa: E402
from scancci.train import load_recipe  # noqa: E402
from scancci.train.module import ScanCCIModule  # noqa: E402

TOL = 1e-10


def _to_scancci(parts: tuple[dict[str, torch.Tensor], ...], local: str) -> dict[str, torch.Tensor]:
    """Original (base, attention, region) tensors by name -> scancci names (the importer's map)."""
    base, attention, region = parts
    out = {"trunk." + k: v for k, v in base.items()}
    out.update(_map_attention(attention, local))
    out.update(_map_region(region, "shared"))
    return out


def _grads(module: nn.Module) -> dict[str, torch.Tensor]:
    return {n: p.grad.clone() for n, p in module.named_parameters() if p.grad is not None}


class _Record(L.Callback):
    """Loss and gradients of every step, as Lightning computed them."""

    def __init__(self) -> None:
        self.losses: list[torch.Tensor] = []
        self.grads: list[dict[str, torch.Tensor]] = []
        self.states: list[dict[str, torch.Tensor]] = []
        self.modes: list[bool] = []

    def on_before_optimizer_step(self, trainer, pl_module, optimizer) -> None:
        self.grads.append(_grads(pl_module.model))
        self.modes.append(pl_module.model.training)

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        self.losses.append(outputs["loss"].detach().clone())
        self.states.append({k: v.clone() for k, v in pl_module.model.state_dict().items()})


def _assert_close(ours: dict[str, torch.Tensor], theirs: dict[str, torch.Tensor], what: str
                  ) -> None:
    assert set(theirs) <= set(ours), f"{what}: {sorted(set(theirs) - set(ours))[:3]}"
    worst = max((ours[k].double() - v.double()).abs().max().item() for k, v in theirs.items())
    assert worst <= TOL, f"{what}: max difference {worst:.3g}"


@pytest.mark.parametrize("local", ["shared", "independent"])
def test_two_sgd_steps_match_the_original(local: str, tmp_path) -> None:
    torch.manual_seed(0)
    modules = [m.double() for m in original_resnet18_modules(7, shared=local == "shared")]
    for index, module in enumerate(modules):
        randomize(module, seed=10 + index)
    base, attention, region = modules
    model = create_model("scancci_resnet18", num_classes=7, local_scan=local,
                         patch_layout="original", cci_heads="shared").double()
    model.load_state_dict(_to_scancci(tuple(m.state_dict() for m in modules), local))
    x = torch.randn(2, 3, 224, 224, dtype=torch.float64)
    y = torch.tensor([3, 5])

    config = load_recipe("rafdb", overrides=["protocol=original", "model.name=scancci_resnet18",
                                             "trainer.log_every_n_steps=1"])
    record = _Record()
    trainer = L.Trainer(max_epochs=2, accelerator="cpu", devices=1, precision="64-true",
                        limit_val_batches=0, logger=False, enable_checkpointing=False,
                        enable_progress_bar=False, enable_model_summary=False,
                        num_sanity_val_steps=0, callbacks=[record], default_root_dir=tmp_path)
    trainer.fit(ScanCCIModule(model, config), DataLoader(TensorDataset(x, y), batch_size=2))
    assert record.modes == [True, False]  # the BatchNorm quirk: eval mode in epoch 2

    optimizer = original_optimizer(base, attention, region)
    criterion = nn.CrossEntropyLoss()
    for step in range(2):
        if step == 1:
            adjust_learning_rate(optimizer)  # after epoch 1 ...
            for module in modules:
                module.eval()  # ... and validate() left the modules in eval mode
        loss = train_step(x, y, base, attention, region, criterion, optimizer)
        assert abs(record.losses[step].item() - loss.item()) <= TOL, step
        _assert_close(record.grads[step], _to_scancci(tuple(_grads(m) for m in modules), local),
                      f"step {step + 1} gradients")
        theirs = _to_scancci(tuple(m.state_dict() for m in modules), local)
        _assert_close(record.states[step], theirs, f"step {step + 1} weights and BN buffers")
    changed = (record.states[1]["attention.fc.weight"] - record.states[0]["attention.fc.weight"])
    assert changed.abs().max() > 1e-6  # the second step moved the weights: a real comparison


@pytest.mark.parametrize("arch", ["scancci_mobilenetv2", "plain_mobilenetv2"])
def test_channels_last_training_step_equals_contiguous(arch) -> None:
    """trainer.channels_last (the default) changes the memory layout only: the loss, gradients
    and updated weights of an SGD step equal the contiguous step's in float64."""
    torch.manual_seed(0)
    dense = create_model(arch, num_classes=7, input_size=64).double().train()
    nhwc = copy.deepcopy(dense).to(memory_format=torch.channels_last)
    x, y = torch.randn(4, 3, 64, 64, dtype=torch.float64), torch.arange(4) % 7
    results = []
    for model, batch in ((dense, x), (nhwc, x.contiguous(memory_format=torch.channels_last))):
        optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
        loss = scancci_loss(model(batch), y)
        loss.backward()
        grads = _grads(model)
        optimizer.step()
        results.append((loss.detach(), grads, {k: v.clone() for k, v in model.state_dict().items()}))
    (loss_a, grads_a, state_a), (loss_b, grads_b, state_b) = results
    assert abs(float(loss_a - loss_b)) <= TOL
    assert max(float((grads_a[k] - grads_b[k]).abs().max()) for k in grads_a) <= TOL
    assert max(float((state_a[k].double() - state_b[k].double()).abs().max())
               for k in state_a) <= TOL
