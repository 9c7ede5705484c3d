"""`scancci calibrate`: refit a saved model's temperature on its own run's validation items.

A model saved by a training run carries its provenance: the run's data sources, seed,
validation fraction and protocol. The validation split is re-derived from them exactly as the
run carved it (the same `FERDataModule`), so calibration never fits on items the model trained
on, and gives the run's own temperature on the same data. Explicit arguments that keep that
promise win and are said (another data folder, or a held-out split of its own); those that
would break it (another seed or fraction of the training carve) are refused. A model without
provenance is calibrated on the carve the arguments describe, with a warning.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from torch.utils.data import Dataset

from scancci.data import open_dataset, stratified_split
from scancci.errors import InvalidInputError
from scancci.evaluate import Calibration, calibrate
from scancci.evaluate.evaluate import as_model, eval_transform
from scancci.evaluate.record import Provenance, provenance_of
from scancci.evaluate.session import reader_classes
from scancci.models import save_model
from scancci.models.base import ExpressionModel
from scancci.models.formats import WEIGHTS_NAME
from scancci.train.config import TrainConfig
from scancci.train.datamodule import FERDataModule

log = logging.getLogger(__name__)


@dataclass
class Recalibration:
    """The fitted temperature measured on its items, where it was fitted, and the files."""

    calibration: Calibration
    fitted_on: str
    model_path: Path
    diagram: Path
    overrides: list[str]

    def __str__(self) -> str:
        return "\n".join([*(f"note: {o}" for o in self.overrides),
                          f"{self.calibration} ({self.fitted_on})",
                          f"model: {self.model_path}", f"reliability diagram: {self.diagram}"])


def calibrate_run(model_path: str | Path, *, out: str | Path, root: str | Path | None = None,
                  dataset: str | None = None, split: str | None = None,
                  val_fraction: float | None = None, seed: int | None = None,
                  device: str = "cpu", batch_size: int | None = None,
                  progress: bool = True) -> Recalibration:
    """Fit T on the validation items of the model's run (or on `dataset`/`split` when given),
    save the model with it under `out` (never overwriting) and draw the reliability diagram."""
    out = Path(out)
    target = out / WEIGHTS_NAME
    if target.exists():
        raise InvalidInputError(f"{target} exists: choose another --output (nothing overwritten)")
    model = as_model(model_path, device)
    provenance = provenance_of(model)
    if provenance is None:
        data, fitted_on, notes = _without_provenance(model, model_path, root, dataset, split,
                                                     val_fraction, seed)
    else:
        data, fitted_on, notes = _run_validation(model, provenance, root, dataset, split,
                                                 val_fraction, seed)
        batch_size = batch_size or TrainConfig.from_dict(provenance.config).data.batch_size
    for note in notes:
        log.warning("scancci: %s", note)
    result = calibrate(model, data, device=device, batch_size=batch_size or 64,
                       progress=progress)
    out.mkdir(parents=True, exist_ok=True)
    save_model(model.cpu(), target)
    diagram = result.plot(out / "reliability.png")
    return Recalibration(result, fitted_on, target, diagram, notes)


def _run_validation(model: ExpressionModel, p: Provenance, root: str | Path | None,
                    dataset: str | None, split: str | None, val_fraction: float | None,
                    seed: int | None) -> tuple[Dataset, str, list[str]]:
    """The run's own validation items, re-derived; or a held-out split the run never read."""
    config = TrainConfig.from_dict(p.config)
    notes: list[str] = []
    for flag, value, recorded in (("--seed", seed, p.seed),
                                  ("--val-fraction", val_fraction, p.val_fraction)):
        if value is not None and value != recorded:
            raise InvalidInputError(
                f"{flag} {value}: the run carved its validation with {flag} {recorded}; another "
                "carve would fit on items the model trained on. Drop the flag (the run's own "
                "validation is used), or pass --dataset/--split of data it never trained on")
    if dataset is not None or split is not None:
        return _held_out(model, p, config, root, dataset, split, notes)
    if root is not None:
        config = config.with_overrides([f"data.root={root}"])
        notes.append(f"--data {root} overrode the run's data folders")
    mc = model.config
    datamodule = FERDataModule(config, input_size=mc.input_size, mean=mc.mean, std=mc.std,
                               fold=p.fold, evaluation=False)
    return datamodule.prepare().val, p.validation, notes


def _held_out(model: ExpressionModel, p: Provenance, config: TrainConfig, root: str | Path | None,
              dataset: str | None, split: str | None, notes: list[str]
              ) -> tuple[Dataset, str, list[str]]:
    test = p.test
    name = dataset or (test.dataset if test is not None else None)
    if name is None or split is None:
        raise InvalidInputError("--dataset needs --split: the held-out split to calibrate on")
    trained = {(d.dataset, d.split) for d in p.sources("train")}
    trained |= {(d.dataset, part) for d in p.sources("train") for part in d.split.split("+")}
    if (name, split) in trained:
        raise InvalidInputError(
            f"--dataset {name} --split {split}: the model trained on that split; calibration "
            "never fits on training items. Drop both flags to use the run's own validation")
    folder = root if root is not None else _recorded_root(p, name)
    notes.append(f"--dataset {name} --split {split} overrode the run's validation "
                 f"({p.validation})")
    data = open_dataset(name, folder, split=split, transform=eval_transform(model),
                        **reader_classes(model))
    return data, f"{name} {split}, all {len(data)} items", notes


def _recorded_root(p: Provenance, dataset: str) -> str:
    for d in p.data:
        if d.dataset == dataset and d.root is not None:
            return d.root
    raise InvalidInputError(f"the run read no {dataset} data: pass --data PATH")


def _without_provenance(model: ExpressionModel, model_path: str | Path, root: str | Path | None,
                        dataset: str | None, split: str | None, val_fraction: float | None,
                        seed: int | None) -> tuple[Dataset, str, list[str]]:
    if root is None or dataset is None:
        raise InvalidInputError(
            f"{model_path} records no training run (no provenance in its model.json): pass "
            "--dataset and --data, and the --seed and --val-fraction its training carved its "
            "validation with")
    split = split or "train"
    fraction = 0.1 if val_fraction is None else val_fraction
    seed = 0 if seed is None else seed
    data = open_dataset(dataset, root, split=split, transform=eval_transform(model),
                        **reader_classes(model))
    if fraction:
        data = data.subset(stratified_split(data.targets, fraction, seed=seed)[1])
        where = f"a {100 * fraction:g}% carve of {dataset} {split} (seed {seed})"
    else:
        where = f"all of {dataset} {split}"
    note = (f"{model_path} records no training run: calibrating on {where}; make sure the "
            "model never trained on these items")
    return data, where, [note]
