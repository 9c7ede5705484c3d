"""`fit(config) -> RunResult`: train, select on validation, evaluate the test split once.

A plain function (tests call it directly on the CPU). The same call runs on several GPUs,
nodes or CPU processes through Lightning's DDP (`trainer.strategy: ddp`); only the primary
process writes the run folder and runs the final evaluation.
"""

from __future__ import annotations

import errno
import importlib.util
import logging
import math
import os
import shlex
import shutil
import warnings
from dataclasses import replace
from pathlib import Path
from typing import Any

import lightning as L
import torch
from lightning.fabric.utilities.seed import seed_everything
from lightning.pytorch.callbacks import ModelCheckpoint

from scancci.data import class_balanced_weights
from scancci.devices import (
    check_accelerator,
    check_sync_batchnorm,
    training_precision,
    uses_gpu,
)
from scancci.errors import InvalidInputError, error_detail
from scancci.evaluate.record import RunRecord, read_run
from scancci.evaluate.report import run_report, runs_report
from scancci.models.base import ExpressionModel
from scancci.models.formats import WEIGHTS_NAME
from scancci.speed import channels_last, reuse_freed_memory
from scancci.train.build import model_for_training
from scancci.train.carry import parent_optimizer
from scancci.train.checkpoints import AtomicCheckpointIO, read_checkpoint
from scancci.train.config import TrainConfig
from scancci.train.datamodule import FERDataModule
from scancci.train.final import REPORT_FILE, RunResult, finish_run
from scancci.train.module import ScanCCIModule
from scancci.train.provenance import build_provenance, write_provenance
from scancci.train.rundir import (
    HISTORY_FILE,
    LAST_CHECKPOINT,
    EpochHistory,
    RunIOError,
    is_primary_process,
    prepare_run_dir,
    run_dir_of,
)
from scancci.train.tracking import (
    check_mlflow,
    hyperparameters,
    log_selected_score,
    loggers,
    remember_mlflow_run,
)

log = logging.getLogger(__name__)


def no_advertising(record: logging.LogRecord) -> bool:
    """Lightning's "💡 Tip: try installing ..." lines (a product's advertisement) are dropped."""
    return not str(record.msg).startswith("💡 Tip:")


def fit(config: TrainConfig) -> RunResult:
    """Train as `config` says; k-fold recipes train one model per fold under fold_<k>/.

    The model and the data are built first, so a bad path, recipe or checkpoint fails before
    the run folder is touched. A failure to write the run folder (a full disk, a folder turned
    read-only) is one `RunIOError` naming the last good checkpoint, which stays loadable.
    """
    t = config.trainer
    check_accelerator(t.accelerator)  # what the machine or the environment lacks: before any
    check_sync_batchnorm(t.accelerator, t.sync_batchnorm)  # work, and before the folder
    check_mlflow(config)
    first = _prepare(config, fold=0 if config.data.folds else None)
    try:
        return _fit(config, first)
    except OSError as err:
        if not _writing_run_folder(err, run_dir_of(config)):
            raise
        raise RunIOError(
            f"writing the run folder {run_dir_of(config)} failed ({error_detail(err)}). "
            f"{_last_good(run_dir_of(config))} Free space or fix the folder's permissions, then "
            f"continue with `scancci train --resume --output {run_dir_of(config)}`") from err


# what a full disk, a quota or a folder turned read-only raise while the run folder is written
WRITE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM})


def _writing_run_folder(err: OSError, run_dir: Path) -> bool:
    """True for an error of writing the run folder, not of reading the data (a broken image
    raises OSError too, and is not the run folder's fault)."""
    if err.filename is not None:
        return Path(err.filename).resolve().is_relative_to(run_dir.resolve())
    return err.errno in WRITE_ERRNOS


def _last_good(run_dir: Path) -> str:
    last = run_dir / LAST_CHECKPOINT
    return (f"The last good checkpoint {last} is kept." if last.is_file()
            else "No checkpoint was written yet.")


def _fit(config: TrainConfig, first: Prepared) -> RunResult:
    config = prepare_run_dir(config)
    run_dir = run_dir_of(config)
    if not config.data.folds:
        return _fit_one(config, run_dir, first)
    folds = []
    for fold in range(config.data.folds):
        fold_dir = run_dir / f"fold_{fold}"
        if config.resume and (fold_dir / "eval" / "results.json").is_file():
            folds.append(_finished(fold_dir))
            continue
        resume = config.resume and (fold_dir / LAST_CHECKPOINT).is_file()
        fold_config = replace(config, resume=resume)
        prepared = first if fold == 0 else _prepare(fold_config, fold)
        folds.append(_fit_one(fold_config, fold_dir, prepared, fold=fold))
    primary = is_primary_process()
    provenance = folds[0].provenance
    if provenance is not None:
        provenance = replace(provenance, fold=None)
    record = RunRecord(str(run_dir), {}, provenance=provenance,
                       folds=[f.record for f in folds])
    if primary and provenance is not None:
        write_provenance(run_dir, provenance)
        (run_dir / REPORT_FILE).write_text(run_report(record))
    return RunResult(run_dir, record, folds=folds, primary=primary)


def fit_seeds(config: TrainConfig, seeds: list[int]) -> list[RunResult]:
    """The recipe once per seed, in turn, under RUN/seed_<k>/; RUN/report.md then holds each
    run and the mean ± std over them (the runs share architecture, recipe, protocol and data,
    so they form one group)."""
    if not seeds or len(set(seeds)) != len(seeds):
        raise InvalidInputError(f"--seeds needs distinct seeds, e.g. 0,1,2; got {seeds}")
    base = run_dir_of(config)
    results = []
    for seed in seeds:
        one = config.with_overrides([f"trainer.seed={seed}", f"run_dir={base / f'seed_{seed}'}"])
        resume = config.resume and (base / f"seed_{seed}" / LAST_CHECKPOINT).is_file()
        finished = config.resume and (base / f"seed_{seed}" / REPORT_FILE).is_file()
        if finished:
            print(f"seed {seed}: finished earlier, kept ({base / f'seed_{seed}'})")
            results.append(RunResult(base / f"seed_{seed}", read_run(base / f"seed_{seed}")))
            continue
        print(f"\n== seed {seed} ==", flush=True)
        results.append(fit(replace(one, resume=resume)))
    if is_primary_process():
        text = runs_report([r.record for r in results],
                           title=f"{config.name} over seeds {', '.join(map(str, seeds))}")
        (base / REPORT_FILE).write_text(text)
    return results


Prepared = tuple[ExpressionModel, FERDataModule, Any]


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


def _finished(run_dir: Path) -> RunResult:
    return RunResult(run_dir, read_run(run_dir), model_path=run_dir / WEIGHTS_NAME)


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


def _trainer(config: TrainConfig, run_dir: Path, checkpoints: list[ModelCheckpoint],
             logs: list[Any]) -> L.Trainer:
    t = config.trainer
    for name in ("lightning.pytorch.utilities.rank_zero", "lightning.fabric.utilities.rank_zero"):
        logging.getLogger(name).addFilter(no_advertising)  # once: addFilter skips a repeat
    # Lightning's own use of a torch API torch deprecated: nothing a user can act on
    warnings.filterwarnings("ignore", message=r"`isinstance\(treespec, LeafSpec\)` is deprecated")
    return L.Trainer(
        max_epochs=t.epochs, accelerator=t.accelerator, devices=t.devices,
        num_nodes=t.num_nodes, strategy=t.strategy,
        # ignore: the recipe's precision is a free string; Lightning checks it itself (its
        # error lists the choices) where the hint allows its literals only
        precision=training_precision(t.precision, t.accelerator),  # type: ignore[arg-type]
        accumulate_grad_batches=t.accumulate_grad_batches, gradient_clip_val=t.gradient_clip_val,
        deterministic=t.deterministic, limit_train_batches=t.limit_train_batches,
        limit_val_batches=t.limit_val_batches, log_every_n_steps=t.log_every_n_steps,
        enable_progress_bar=t.progress, enable_model_summary=False, num_sanity_val_steps=0,
        sync_batchnorm=t.sync_batchnorm, plugins=[AtomicCheckpointIO()],
        callbacks=[*checkpoints, EpochHistory(run_dir / HISTORY_FILE), _EpochSeed(t.seed)],
        logger=logs, default_root_dir=run_dir,
    )


def lr_scale(config: TrainConfig, processes: int) -> float:
    """The factor `optim.lr_scaling` applies to the recipe's learning rates: none 1, linear
    global batch / reference_batch, sqrt its square root."""
    o = config.optim
    ratio = config.data.batch_size * processes * config.trainer.accumulate_grad_batches \
        / o.reference_batch
    return {"none": 1.0, "linear": ratio, "sqrt": math.sqrt(ratio)}[o.lr_scaling]


def _batch_line(config: TrainConfig, processes: int, scale: float) -> str:
    batch, accumulate = config.data.batch_size, config.trainer.accumulate_grad_batches
    rule = config.optim.lr_scaling
    text = (f"batch {batch} per process x {processes} process(es) x {accumulate} accumulation = "
            f"{batch * processes * accumulate} images per step; lr scaling {rule}")
    if rule == "none":
        return text + " (the recipe's learning rates as they are)"
    return text + f": x{scale:.3g} against a global batch of {config.optim.reference_batch}"


class _EpochSeed(L.Callback):
    """Reseed every RNG at each epoch start, so a resumed run augments as an uninterrupted one."""

    def __init__(self, seed: int) -> None:
        self.seed = seed

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        seed_everything(self.seed * 1000 + trainer.current_epoch + 1000 * trainer.global_rank,
                        workers=True, verbose=False)


def _fit_one(config: TrainConfig, run_dir: Path, prepared: Prepared,
             fold: int | None = None) -> RunResult:
    t = config.trainer
    model, datamodule, parent = prepared
    datamodule.config = config  # the resumed config may differ in where/how long it runs
    splits = datamodule.prepare()
    last = run_dir / LAST_CHECKPOINT
    resume_from = last if config.resume and last.is_file() else None
    if resume_from is not None:
        read_checkpoint(resume_from)  # a truncated or unsafe file: one clear error, first
    weights = None
    if config.data.balance == "reweight":
        weights = class_balanced_weights(splits.class_counts, beta=config.data.reweight_beta)
    monitor = config.monitor
    checkpoint = ModelCheckpoint(
        dirpath=run_dir / "checkpoints", filename="best", monitor=monitor,
        mode="min" if "loss" in monitor else "max", save_top_k=1,
        auto_insert_metric_name=False, enable_version_counter=False)
    # Lightning's save_last only fires when `best` improves: a second callback saves every epoch
    latest = ModelCheckpoint(dirpath=run_dir / "checkpoints", filename="last", monitor=None,
                             save_top_k=1, enable_version_counter=False)
    logs = loggers(config, run_dir)
    trainer = _trainer(config, run_dir, [checkpoint, latest], logs)
    scale = lr_scale(config, trainer.world_size)
    o = config.optim
    provenance = build_provenance(
        config, datamodule, precision=training_precision(t.precision, t.accelerator),
        processes=trainer.world_size, fold=fold,
        optim={"trunk_lr": o.trunk_lr * scale, "head_lr": o.head_lr * scale,
               "weight_decay": o.weight_decay, "momentum": o.momentum,
               "lr_decay": o.lr_decay})
    module = ScanCCIModule(model, config, class_weights=weights, parent_optimizer=parent,
                           lr_scale=scale, hparams=hyperparameters(provenance))
    if trainer.is_global_zero:
        write_provenance(run_dir, provenance)
        for line in [_batch_line(config, trainer.world_size, scale), *provenance.warnings()]:
            log.warning("scancci: %s", line)
    trainer.fit(module, datamodule=datamodule,
                ckpt_path=str(resume_from) if resume_from else None)
    if not trainer.is_global_zero:
        return RunResult(run_dir, RunRecord(str(run_dir), {}), primary=False)
    remember_mlflow_run(logs, run_dir)
    best = Path(checkpoint.best_model_path) if checkpoint.best_model_path else last
    score = checkpoint.best_model_score
    log_selected_score(logs, float(score) if score is not None else None, trainer.global_step)
    _load_weights(model, best)
    selection = {"monitor": monitor, "best_score": float(score) if score is not None else None,
                 "epochs": trainer.current_epoch}
    return finish_run(config, model, datamodule, run_dir=run_dir, provenance=provenance,
                      selection=selection, best_checkpoint=best)


def _load_weights(model: torch.nn.Module, checkpoint: Path) -> None:
    """The selected epoch's network weights from a Lightning checkpoint (weights only)."""
    state = read_checkpoint(checkpoint)["state_dict"]
    model.load_state_dict({k.removeprefix("model."): v for k, v in state.items()
                           if k.startswith("model.")})
