"""The provenance a training run records: built once from its config and the data it opened.

Written to the run folder (provenance.json) when training starts, into model.json with the
selected model, and into eval/results.json; `scancci.evaluate.record.Provenance` is the type.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from scancci.cache import file_sha256
from scancci.evaluate.record import PROVENANCE_FILE, DataRecord, Provenance, write_json
from scancci.models.registry import get_entry
from scancci.train.build import target_class_names
from scancci.train.config import TrainConfig
from scancci.train.datamodule import FERDataModule, source_root, table_label
from scancci.version import __version__


def file_digest(path: Path) -> dict[str, Any]:
    """Path, size and sha256 of a label file; a folder is named with its path only."""
    path = path.resolve()
    if not path.is_file():
        return {"path": str(path)}
    return {"path": str(path), "bytes": path.stat().st_size, "sha256": file_sha256(path)}


def _base(dataset: Any) -> Any:
    """The reader's dataset under views (subsets, transforms)."""
    while not hasattr(dataset, "files") and hasattr(dataset, "base"):
        dataset = dataset.base
    return dataset


def data_records(config: TrainConfig, datamodule: FERDataModule) -> list[DataRecord]:
    """One record per source the datamodule opened: files, items and what it lost."""
    records = []
    for role, source, dataset in datamodule.opened:
        base = _base(dataset)
        root = source_root(config, source)
        records.append(DataRecord(
            role=role, name=table_label(role, source), dataset=source.dataset,
            split=source.split,
            root=str(root.resolve()) if root is not None else None, options=dict(source.options),
            files=[file_digest(Path(f)) for f in getattr(base, "files", [])], items=len(dataset),
            dropped=len(getattr(base, "problems", [])),
            excluded=dict(getattr(base, "excluded", {}))))
    return records


def trunk_init(config: TrainConfig) -> str:
    """Where the trunk's weights came from: a checkpoint, "imagenet", a file, or "random"."""
    m = config.model
    if m.init_from:
        return f"from {m.init_from}"
    if m.backbone_weights is not None:
        return str(m.backbone_weights)
    return "random" if get_entry(m.name).backbone != "none" else "none (trained from scratch)"


def validation_text(config: TrainConfig, datamodule: FERDataModule) -> str:
    """Where the epoch was selected and the temperature fitted, in words."""
    if config.original_protocol:
        return ("the TEST split (protocol original, as the authors' scripts: the test numbers "
                "are optimistic)")
    if config.data.val is not None:
        return f"the recipe's val split ({config.data.val.dataset}, {config.data.val.split})"
    splits = datamodule.prepare()
    return (f"a stratified {100 * config.data.val_fraction:g}% carve of the training data "
            f"(seed {config.trainer.seed}): {len(splits.val)} items, never trained on")


def build_provenance(config: TrainConfig, datamodule: FERDataModule, *, precision: str,
                     processes: int, optim: dict[str, Any], fold: int | None = None
                     ) -> Provenance:
    """The run's facts; `precision` resolved, `processes` the DDP world size, `optim` the
    learning rates as trained (after lr scaling)."""
    m, t = config.model, config.trainer
    skipped = [f"{name}: {why}" for name, why in datamodule.skipped.items()]
    return Provenance(
        recipe=config.name, architecture=m.name, num_classes=m.num_classes,
        class_names=list(target_class_names(config)), input_size=m.input_size,
        protocol=config.protocol, seed=t.seed, data=data_records(config, datamodule),
        validation=validation_text(config, datamodule),
        val_fraction=(config.data.val_fraction
                      if config.data.val is None and not config.original_protocol else None),
        trunk_init=trunk_init(config), precision=precision, optim=optim,
        batch_size=config.data.batch_size, processes=processes,
        accumulate=t.accumulate_grad_batches, epochs=t.epochs,
        tta_flip=config.evaluation.tta_flip, scancci_version=__version__,
        description=config.description, original_script=config.original.script,
        init_from=m.init_from, lr_scaling=config.optim.lr_scaling,
        sync_batchnorm=t.sync_batchnorm, skipped=skipped, fold=fold,
        config=config.to_dict())


def write_provenance(run_dir: Path, provenance: Provenance) -> Path:
    """provenance.json in the run folder."""
    path = run_dir / PROVENANCE_FILE
    write_json(path, provenance.to_dict())
    return path
