"""The run folder: refuse to clobber, resume from it, write its config and epoch history.

Layout: config.yaml, provenance.json (the run's facts), history.csv (one row per epoch),
logs/ and tensorboard/ (version_0: a resumed run continues them), checkpoints/{last,best}.ckpt
(written atomically), model.safetensors + model.json (the selected model and its provenance),
eval/ (results.json, confusion matrices, reliability diagram) and report.md.
"""

from __future__ import annotations

import csv
import logging
import os
import shutil
from pathlib import Path
from typing import Any

import lightning as L
import yaml

from scancci.errors import InvalidInputError, ScanCCIError
from scancci.train.config import CONFIG_FILE, TrainConfig, flatten

log = logging.getLogger(__name__)

HISTORY_FILE = "history.csv"
LAST_CHECKPOINT = "checkpoints/last.ckpt"
# Settings a resumed run may change: where and how it runs, not what it computes.
RESUMABLE_CHANGES = ("trainer.epochs", "trainer.progress", "trainer.accelerator",
                     "trainer.devices", "trainer.num_nodes", "trainer.strategy",
                     "data.num_workers", "data.root", "data.roots", "resume", "overwrite",
                     "run_dir", "evaluation", "tracking")


class RunIOError(ScanCCIError):
    """The run folder could not be written (a full disk, a folder turned read-only)."""


def is_primary_process() -> bool:
    """False in the extra processes a DDP launcher starts (they must not touch the folder)."""
    rank = os.environ.get("RANK")
    if rank is not None:
        return int(rank) == 0
    return int(os.environ.get("LOCAL_RANK", 0)) == 0 and int(os.environ.get("NODE_RANK", 0)) == 0


def run_dir_of(config: TrainConfig) -> Path:
    return Path(config.run_dir or Path("runs") / config.name).expanduser()


def prepare_run_dir(config: TrainConfig) -> TrainConfig:
    """Check and set up the run folder; on resume, return the stored config (epochs may grow)."""
    run_dir = run_dir_of(config)
    if config.resume and (run_dir / LAST_CHECKPOINT).is_file() and not is_primary_process():
        return _resumed_config(config, run_dir)
    if not is_primary_process():  # a DDP worker: the primary process checked and set up
        return config
    busy = run_dir.exists() and any(run_dir.iterdir())
    if config.resume:
        if not (run_dir / LAST_CHECKPOINT).is_file():
            raise InvalidInputError(f"--resume: {run_dir} holds no {LAST_CHECKPOINT} to resume "
                                    "from; start a new run instead")
        return _resumed_config(config, run_dir)
    if busy:
        if not config.overwrite:
            raise InvalidInputError(
                f"run folder {run_dir} is not empty: pass --resume to continue that run, "
                "--overwrite to replace it, or --output NEW_FOLDER")
        if not (run_dir / CONFIG_FILE).is_file():
            raise InvalidInputError(f"--overwrite: {run_dir} holds no {CONFIG_FILE}, so it is not "
                                    "a scancci run folder; refusing to delete it")
        shutil.rmtree(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / CONFIG_FILE).write_text(config.to_yaml())
    return config


def _resumed_config(config: TrainConfig, run_dir: Path) -> TrainConfig:
    stored = TrainConfig.from_dict(yaml.safe_load((run_dir / CONFIG_FILE).read_text()))
    old, new = flatten(stored.to_dict()), flatten(config.to_dict())
    changed = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k)
                     and not k.startswith(RESUMABLE_CHANGES))
    if changed:
        details = "; ".join(f"{k}: {old.get(k)!r} -> {new.get(k)!r}" for k in changed[:8])
        raise InvalidInputError(
            f"--resume: the config differs from the one {run_dir} was started with ({details}). "
            "Resume with the same settings, or start a new run (--output NEW_FOLDER)")
    kept = [k for k in sorted(set(old) | set(new)) if old.get(k) != new.get(k)
            and k.startswith(RESUMABLE_CHANGES) and k not in ("resume", "overwrite")]
    for key in kept:
        log.warning("scancci: --resume: %s %r overrides the run's %r", key, new.get(key),
                    old.get(key))
    data = stored.to_dict()
    for key in RESUMABLE_CHANGES:
        section, _, field = key.partition(".")
        if field:
            data[section][field] = getattr(getattr(config, section), field)
        else:
            data[section] = getattr(config, section)
    return TrainConfig.from_dict(data)


class EpochHistory(L.Callback):
    """history.csv: one row per finished epoch (lr, train and val metrics), resume-safe."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.started = False

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if self.started:
            return
        self.started = True  # first epoch of this process: the checkpoint is restored by now
        if trainer.is_global_zero and self.path.is_file():
            start = trainer.current_epoch  # rows of epochs after the checkpoint are redone
            with self.path.open(newline="") as handle:
                rows = [r for r in csv.DictReader(handle) if int(r["epoch"]) < start]
            self._write(rows)

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if not trainer.is_global_zero or trainer.sanity_checking:
            return
        row: dict[str, Any] = {"epoch": trainer.current_epoch}
        for key, value in sorted(trainer.callback_metrics.items()):
            if not key.endswith("_step"):
                row[key.removesuffix("_epoch")] = f"{float(value):.6g}"
        rows = []
        if self.path.is_file():
            with self.path.open(newline="") as handle:
                rows = list(csv.DictReader(handle))
        self._write([*rows, row])

    def _write(self, rows: list[dict[str, Any]]) -> None:
        keys = list(dict.fromkeys(k for r in rows for k in r))
        tmp = self.path.with_suffix(".tmp")
        with tmp.open("w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=keys, restval="")
            writer.writeheader()
            writer.writerows(rows)
        os.replace(tmp, self.path)
