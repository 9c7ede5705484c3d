"""The LightningModule: wraps the plain nn.Module model, one shared step for every stage.

The network itself never imports Lightning (export and serving stay light); this wrapper
adds the loss, per-stage torchmetrics (accumulated over the epoch, names like `val/acc`),
SGD with per-group learning rates and the per-epoch decay of the original recipe.

The training step never waits for the GPU: no `.item()`, `bool(tensor)` or `int(tensor)`.
Labels are checked when the data is opened; a non-finite loss is recorded on the device and
checked every `trainer.log_every_n_steps` steps and at the end of each epoch. Per-step losses
are logged without an all-reduce; epoch values and torchmetrics sync once per epoch.
"""

from __future__ import annotations

from typing import Any, cast

import lightning as L
import torch
from lightning.pytorch.utilities.types import OptimizerLRSchedulerConfig
from torch import nn
from torchmetrics import MetricCollection
from torchmetrics.classification import MulticlassAccuracy, MulticlassF1Score

from scancci.errors import ScanCCIError
from scancci.models import scancci_loss
from scancci.models.base import ExpressionModel
from scancci.train.config import TrainConfig

STAGES = ("train", "val", "test")


class TrainingDivergedError(ScanCCIError):
    """The loss became NaN or infinite: stop before hours are wasted."""


def _stage_metrics(num_classes: int, stage: str) -> MetricCollection:
    # validate_args=False: torchmetrics' per-update range checks are host syncs; labels were
    # checked when the data was opened and predictions are argmaxes
    kwargs: dict[str, Any] = {"num_classes": num_classes, "validate_args": False}
    return MetricCollection(
        {"acc": MulticlassAccuracy(average="micro", **kwargs),
         "bacc": MulticlassAccuracy(average="macro", **kwargs),
         "f1": MulticlassF1Score(average="macro", **kwargs)},
        prefix=f"{stage}/",
    )


def optimizer_groups(model: ExpressionModel, config: TrainConfig, lr_scale: float = 1.0
                     ) -> list[dict[str, Any]]:
    """SGD parameter groups: trunk at trunk_lr, every other group (attention, cci) at head_lr,
    both times `lr_scale` (the `optim.lr_scaling` rule for several processes).

    Frozen parameters (linear probe) are left out; weight decay applies to every group, as
    in the original.
    """
    groups = []
    for name, params in model.parameter_groups().items():
        trainable = [p for p in params if p.requires_grad]
        if trainable:
            lr = config.optim.trunk_lr if name == "trunk" else config.optim.head_lr
            groups.append({"params": trainable, "lr": lr * lr_scale, "name": name})
    if not groups:
        raise ScanCCIError("the model has no trainable parameters")
    return groups


class ScanCCIModule(L.LightningModule):
    """Training wrapper of a scancci model (SCAN-CCI or a plain baseline).

    The selection split's metrics are named after what it is: `val/*`, or `test/*` under the
    original protocol (which selects on the test split). `hparams` (the run's provenance,
    flattened) reach every logger.
    """

    # buffers (registered in __init__), declared for the type checker: nn.Module's
    # __getattr__ would otherwise type them `Tensor | Module`
    class_weights: torch.Tensor | None
    nonfinite_steps: torch.Tensor

    def __init__(self, model: ExpressionModel, config: TrainConfig,
                 class_weights: torch.Tensor | None = None,
                 parent_optimizer: Any | None = None, lr_scale: float = 1.0,
                 hparams: dict[str, Any] | None = None) -> None:
        super().__init__()
        if hparams:
            self.save_hyperparameters(hparams)
        self.model = model
        self.config = config
        self.lr_scale = lr_scale
        self.parent_optimizer = parent_optimizer  # carry.ParentOptimizer (protocol original)
        self.register_buffer("class_weights", class_weights, persistent=False)
        self.register_buffer("nonfinite_steps", torch.zeros((), dtype=torch.long),
                             persistent=False)
        # first batch index since the last finite-loss check (inf: see _check_finite)
        self._first_unchecked: int | float = 0
        num_classes = model.config.num_classes
        # keys "train_metrics"...: ModuleDict keys may not shadow nn.Module.train
        self.metrics = nn.ModuleDict({f"{s}_metrics": _stage_metrics(num_classes, s) for s in STAGES})

    def forward(self, x: torch.Tensor) -> Any:
        return self.model(x)

    def _step(self, batch: tuple[torch.Tensor, torch.Tensor], stage: str) -> torch.Tensor:
        images, targets = batch
        if self.config.trainer.channels_last:
            images = images.contiguous(memory_format=torch.channels_last)
        output = self.model(images)
        loss_cfg = self.config.loss
        loss = scancci_loss(output, targets, attention_weight=loss_cfg.attention_weight,
                            region_weight=loss_cfg.region_weight, class_weights=self.class_weights,
                            label_smoothing=loss_cfg.label_smoothing, check=False)
        hard = targets.argmax(dim=1) if targets.ndim == 2 else targets  # soft labels -> argmax
        metrics = self._metrics(stage)
        metrics.update(output.logits.detach().float(), hard)
        if stage == "train":  # this process's value, logged every N steps: no all-reduce
            self.log("train/loss_step", loss.detach(), on_step=True, on_epoch=False,
                     batch_size=len(images))
        # epoch means over every DDP process (one scalar all-reduce per epoch)
        self.log(f"{stage}/loss", loss.detach(), on_step=False, on_epoch=True, prog_bar=True,
                 sync_dist=True, batch_size=len(images))
        self.log_dict(metrics, on_step=False, on_epoch=True, prog_bar=stage == "val",
                      batch_size=len(images))
        return loss

    def _metrics(self, stage: str) -> MetricCollection:
        # cast: ModuleDict is not generic, its items are typed nn.Module
        return cast(MetricCollection, self.metrics[f"{stage}_metrics"])

    def _param_groups(self) -> list[dict[str, Any]]:
        """The optimizer's groups (configure_optimizers returns exactly one optimizer)."""
        optimizer = self.optimizers()
        assert not isinstance(optimizer, list), "configure_optimizers returns one optimizer"
        return optimizer.param_groups

    def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
        loss = self._step(batch, "train")
        self.nonfinite_steps += (~torch.isfinite(loss.detach())).long()  # stays on the device
        if (batch_idx + 1) % max(self.config.trainer.log_every_n_steps, 1) == 0:
            self._check_finite(batch_idx)
        return loss

    def _check_finite(self, batch_idx: int | float) -> None:  # inf: a loader without a length
        """Stop when a loss since the last check was NaN or infinite (one host sync)."""
        first, self._first_unchecked = self._first_unchecked, batch_idx + 1
        if not int(self.nonfinite_steps):
            return
        lrs = ", ".join(f"{g['name']} {g['lr']:.2g}" for g in self._param_groups())
        raise TrainingDivergedError(
            f"the training loss became nan or infinite at epoch {self.current_epoch}, in batches "
            f"{first}-{batch_idx} (learning rates: {lrs}). Lower optim.head_lr / "
            "optim.trunk_lr, use --precision 32-true, or check the data for broken images; the "
            "last good checkpoint is checkpoints/last.ckpt in the run folder")

    def on_train_epoch_end(self) -> None:
        self._check_finite(self.trainer.num_training_batches - 1)
        self._first_unchecked = 0

    def on_fit_start(self) -> None:
        self.model.check_values = False  # the input NaN scan is a host sync; the loss is checked

    def on_fit_end(self) -> None:
        self.model.check_values = True

    def validation_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
        return self._step(batch, self.config.selection_stage)

    def test_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
        return self._step(batch, "test")

    def configure_optimizers(self) -> OptimizerLRSchedulerConfig:
        optim = self.config.optim
        optimizer = torch.optim.SGD(optimizer_groups(self.model, self.config, self.lr_scale),
                                    momentum=optim.momentum, nesterov=optim.nesterov,
                                    weight_decay=optim.weight_decay)
        if self.parent_optimizer is not None:  # the original's fine-tuning: the parent's lrs,
            self.parent_optimizer.apply(optimizer, self.model)  # weight decay and momentum
        # every lr x lr_decay after each epoch (the original's 0.95); 1.0 keeps them constant
        scheduler = torch.optim.lr_scheduler.ExponentialLR(optimizer, gamma=optim.lr_decay)
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler,
                                                         "interval": "epoch"}}

    # Train-mode control: the original's BatchNorm quirk, and frozen layers when probing.
    def _fix_train_mode(self) -> None:
        # the original never switches back to train mode after its first validation
        # (main_rafdb.py:317-319, no .train() call in train()): BatchNorm frozen from epoch 2
        quirk = self.config.original_protocol and self.current_epoch >= 1
        if quirk or self.config.model.linear_probe:
            self.model.eval()

    def on_train_epoch_start(self) -> None:
        self._fix_train_mode()
        for group in self._param_groups():
            self.log(f"lr/{group['name']}", group["lr"], on_step=False, on_epoch=True,
                     sync_dist=True)

    def on_validation_model_train(self) -> None:
        super().on_validation_model_train()
        self._fix_train_mode()
