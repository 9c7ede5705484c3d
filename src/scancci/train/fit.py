"""`fit(config) -> RunResult`: train, select on validation, evaluate the test split once.

A plain function (tests call it directly on the CPU). The same call runs on several GPUs,
nodes or CPU processes through Lightning's DDP (`trainer.strategy: ddp`); only the primary
process writes the run folder and runs the final evaluation.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import shlex
import shutil
import zipfile
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import lightning as L
import torch
from lightning.fabric.utilities.seed import seed_everything
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.loggers import CSVLogger, TensorBoardLogger

from scancci.data import class_balanced_weights
from scancci.errors import CheckpointError, InvalidInputError, error_detail
from scancci.evaluate.metrics import ClassificationMetrics
from scancci.evaluate.report import RESULTS_FILE, aggregate_table, metrics_table, read_results
from scancci.models.io import WEIGHTS_NAME
from scancci.speed import bf16_native, channels_last, reuse_freed_memory
from scancci.train.build import model_for_training
from scancci.train.carry import parent_optimizer
from scancci.train.config import TrainConfig
from scancci.train.datamodule import FERDataModule, uses_gpu
from scancci.train.final import finish_run, protocol_line
from scancci.train.module import ScanCCIModule
from scancci.train.rundir import (
    HISTORY_FILE,
    LAST_CHECKPOINT,
    EpochHistory,
    is_primary_process,
    prepare_run_dir,
    run_dir_of,
)

log = logging.getLogger(__name__)


@dataclass
class RunResult:
    """What a finished run left behind (paths) and its one-time test evaluation."""

    run_dir: Path
    model_path: Path | None = None
    best_checkpoint: Path | None = None
    monitor: str = "val/acc"
    best_score: float | None = None
    epochs: int = 0
    results: dict[str, ClassificationMetrics] = field(default_factory=dict)
    calibration: dict[str, Any] | None = None
    folds: list[RunResult] = field(default_factory=list)
    primary: bool = True  # False in the extra DDP processes (they hold no results)

    def summary(self) -> str:
        """A few printable lines: where things are and the headline numbers."""
        lines = [f"run folder: {self.run_dir}"]
        if self.model_path:
            lines.append(f"model:      {self.model_path}")
        if self.best_score is not None:
            lines.append(f"selected on {self.monitor} = {100 * self.best_score:.2f}")
        if self.folds:
            lines.append(aggregate_table([f.results for f in self.folds]))
        elif self.results:
            lines.append(metrics_table(self.results))
        return "\n".join(lines)


def fit(config: TrainConfig) -> RunResult:
    """Train as `config` says; k-fold recipes train one model per fold under fold_<k>/.

    The model and the data are built first, so a bad path, recipe or checkpoint fails before
    the run folder is touched.
    """
    first = _prepare(config, fold=0 if config.data.folds else None)
    config = prepare_run_dir(config)
    run_dir = run_dir_of(config)
    if not config.data.folds:
        return _fit_one(config, run_dir, first)
    folds = []
    for fold in range(config.data.folds):
        fold_dir = run_dir / f"fold_{fold}"
        if config.resume and (fold_dir / "eval" / RESULTS_FILE).is_file():
            folds.append(_finished(config, fold_dir))
            continue
        resume = config.resume and (fold_dir / LAST_CHECKPOINT).is_file()
        fold_config = replace(config, resume=resume)
        prepared = first if fold == 0 else _prepare(fold_config, fold)
        folds.append(_fit_one(fold_config, fold_dir, prepared))
    result = RunResult(run_dir, monitor=config.trainer.monitor, folds=folds,
                       primary=is_primary_process())
    if result.primary:
        (run_dir / "report.md").write_text(
            f"# {config.name}: {config.data.folds}-fold cross-validation "
            f"({protocol_line(config)})\n\n"
            f"Mean ± std over folds (test split of each fold, evaluated once):\n\n"
            f"{aggregate_table([f.results for f in folds])}\n")
    return result


Prepared = tuple[torch.nn.Module, FERDataModule, Any]


def _prepare(config: TrainConfig, fold: int | None) -> Prepared:
    """Seeded model, opened data and the parent's optimizer state (protocol original) for one
    run or fold: everything that can fail on the user's input, before the first epoch."""
    seed_everything(config.trainer.seed, workers=True, verbose=False)
    if config.trainer.reuse_freed_memory and not reuse_freed_memory():
        log.warning("scancci: trainer.reuse_freed_memory is on, but the C library is not glibc: "
                    "the allocator keeps its defaults")
    model = model_for_training(config)
    if config.trainer.channels_last:
        channels_last(model)
    if config.trainer.compile:
        compile_for_training(model, config.trainer.accelerator)
    mc = model.config
    datamodule = FERDataModule(config, input_size=mc.input_size, mean=mc.mean, std=mc.std,
                               fold=fold)
    datamodule.prepare()
    return model, datamodule, parent_optimizer(config, model)


def _finished(config: TrainConfig, run_dir: Path) -> RunResult:
    return RunResult(run_dir, model_path=run_dir / WEIGHTS_NAME,
                     monitor=config.trainer.monitor, results=read_results(run_dir)[0])


def training_precision(precision: str, accelerator: str) -> str:
    """"auto" -> "bf16-mixed" where the GPU (or, without one, the CPU) runs bf16 natively,
    else "32-true"; any other value as given."""
    if precision != "auto":
        return precision
    native = torch.cuda.is_bf16_supported() if uses_gpu(accelerator) else bf16_native()
    return "bf16-mixed" if native else "32-true"


def compile_for_training(model: torch.nn.Module, accelerator: str) -> bool:
    """torch.compile `model` in place (state-dict keys unchanged) where what Inductor builds its
    kernels with is present: a C++ compiler on the CPU, Triton on GPUs. Where it is missing,
    one line and eager training (a present but broken toolchain still fails at the first step)."""
    if uses_gpu(accelerator):
        missing = None if importlib.util.find_spec("triton") else "Triton is not installed"
    else:
        cxx = os.environ.get("CXX", "g++")  # what Inductor's CPU backend calls (may carry flags)
        found = shutil.which(shlex.split(cxx)[0]) if cxx.strip() else None
        missing = None if found else f"no C++ compiler ({cxx}) is on the PATH"
    if missing:
        log.warning("scancci: trainer.compile is on, but %s: training runs eager", missing)
        return False
    model.compile()
    return True


def _trainer(config: TrainConfig, run_dir: Path, checkpoints: list[ModelCheckpoint]
             ) -> L.Trainer:
    t = config.trainer
    if str(t.accelerator) in ("gpu", "cuda") and not torch.cuda.is_available():
        raise InvalidInputError(f"accelerator {t.accelerator!r}: no CUDA GPU is visible on this "
                                "machine; use --accelerator cpu (or auto)")
    return L.Trainer(
        max_epochs=t.epochs, accelerator=t.accelerator, devices=t.devices,
        num_nodes=t.num_nodes, strategy=t.strategy,
        precision=training_precision(t.precision, t.accelerator),
        accumulate_grad_batches=t.accumulate_grad_batches, gradient_clip_val=t.gradient_clip_val,
        deterministic=t.deterministic, limit_train_batches=t.limit_train_batches,
        limit_val_batches=t.limit_val_batches, log_every_n_steps=t.log_every_n_steps,
        enable_progress_bar=t.progress, enable_model_summary=False, num_sanity_val_steps=0,
        callbacks=[*checkpoints, EpochHistory(run_dir / HISTORY_FILE), _EpochSeed(t.seed)],
        logger=[CSVLogger(run_dir, name="logs"), TensorBoardLogger(run_dir, name="tensorboard")],
        default_root_dir=run_dir,
    )


def check_checkpoint_file(path: Path) -> None:
    """Refuse a checkpoint that is not a whole torch.save archive (a run killed while saving)
    before Lightning tries to unpickle it."""
    try:
        with zipfile.ZipFile(path) as archive:
            broken = archive.testzip()
    except (zipfile.BadZipFile, OSError) as err:
        raise CheckpointError(f"{path} is truncated or corrupted ({error_detail(err)}); delete it to restart "
                              "the run, or drop --resume") from err
    if broken is not None:
        raise CheckpointError(f"{path} is corrupted (member {broken}); delete it to restart the "
                              "run, or drop --resume")


class _EpochSeed(L.Callback):
    """Reseed every RNG at each epoch start, so a resumed run augments as an uninterrupted one."""

    def __init__(self, seed: int) -> None:
        self.seed = seed

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        seed_everything(self.seed * 1000 + trainer.current_epoch + 1000 * trainer.global_rank,
                        workers=True, verbose=False)


def _fit_one(config: TrainConfig, run_dir: Path, prepared: Prepared) -> RunResult:
    t = config.trainer
    model, datamodule, parent = prepared
    datamodule.config = config  # the resumed config may differ in where/how long it runs
    splits = datamodule.prepare()
    weights = None
    if config.data.balance == "reweight":
        weights = class_balanced_weights(splits.class_counts, beta=config.data.reweight_beta)
    module = ScanCCIModule(model, config, class_weights=weights, parent_optimizer=parent)
    mode = "min" if "loss" in t.monitor else "max"
    checkpoint = ModelCheckpoint(
        dirpath=run_dir / "checkpoints", filename="best", monitor=t.monitor, mode=mode,
        save_top_k=1, auto_insert_metric_name=False, enable_version_counter=False)
    # Lightning's save_last only fires when `best` improves: a second callback saves every epoch
    latest = ModelCheckpoint(dirpath=run_dir / "checkpoints", filename="last", monitor=None,
                             save_top_k=1, enable_version_counter=False)
    trainer = _trainer(config, run_dir, [checkpoint, latest])
    last = run_dir / LAST_CHECKPOINT
    resume_from = last if config.resume and last.is_file() else None
    if resume_from is not None:
        check_checkpoint_file(resume_from)
    trainer.fit(module, datamodule=datamodule,
                ckpt_path=str(resume_from) if resume_from else None)
    result = RunResult(run_dir, monitor=t.monitor, epochs=trainer.current_epoch,
                       primary=trainer.is_global_zero)
    if not trainer.is_global_zero:
        return result
    best = Path(checkpoint.best_model_path) if checkpoint.best_model_path else last
    result.best_checkpoint = best
    score = checkpoint.best_model_score
    result.best_score = float(score) if score is not None else None
    _load_weights(model, best)
    return finish_run(config, model, datamodule, result)


def _load_weights(model: torch.nn.Module, checkpoint: Path) -> None:
    """The selected epoch's network weights from a Lightning checkpoint (weights only)."""
    state = torch.load(checkpoint, map_location="cpu", weights_only=True)["state_dict"]
    model.load_state_dict({k.removeprefix("model."): v for k, v in state.items()
                           if k.startswith("model.")})
