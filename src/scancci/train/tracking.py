"""Where a run's curves go: Lightning's CSV and TensorBoard logs in the run folder, and MLflow
behind one switch (`--mlflow [URI]`, config `tracking.mlflow`).

Each logger writes version 0 of its folder, so a resumed run continues its own curves instead
of starting `version_1`. The hyperparameters (the run's provenance, flattened) go to every
logger: TensorBoard's HPARAMS tab (beside `hp_metric`, the selected epoch's score),
hparams.yaml, MLflow's params. MLflow writes to a local
SQLite store in the run folder (`sqlite:///RUN/mlflow.db`) unless a tracking URI is given; a
resumed run continues its MLflow run (its id is kept in the run folder).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

from lightning.pytorch.loggers import CSVLogger, Logger, MLFlowLogger, TensorBoardLogger
from lightning.pytorch.utilities import rank_zero_only

from scancci.errors import MissingDependencyError
from scancci.evaluate.record import Provenance
from scancci.train.config import TrainConfig

MLFLOW_RUN_FILE = "mlflow_run_id.txt"
MLFLOW_INSTALL = 'pip install "scancci[mlflow]"'


def hyperparameters(provenance: Provenance) -> dict[str, Any]:
    """The run's facts as flat, loggable hyperparameters."""
    p = provenance
    test = p.test
    return {
        "recipe": p.recipe, "architecture": p.architecture, "protocol": p.protocol,
        "num_classes": p.num_classes, "input_size": p.input_size, "seed": p.seed,
        "train_data": ", ".join(f"{d.dataset}/{d.split}" for d in p.sources("train")),
        "test_data": f"{test.dataset}/{test.split}" if test else "none",
        "trunk_init": p.trunk_init, "init_from": p.init_from or "none",
        "precision": p.precision, "epochs": p.epochs, "batch_per_process": p.batch_size,
        "processes": p.processes, "accumulate": p.accumulate, "global_batch": p.global_batch,
        "lr_scaling": p.lr_scaling, "sync_batchnorm": p.sync_batchnorm,
        **{f"optim/{k}": v for k, v in p.optim.items()},
        "tta_flip": p.tta_flip, "val_fraction": p.val_fraction if p.val_fraction else 0.0,
        "scancci_version": p.scancci_version,
    }


class ResumableMLFlowLogger(MLFlowLogger):
    """MLflow refuses to change a logged parameter: a resumed run logs only the parameters
    its MLflow run lacks, and a changed value (more epochs) as a tag `resumed.KEY`."""

    @rank_zero_only
    def log_hyperparams(self, params: Any) -> None:
        params = dict(params)
        logged = self.experiment.get_run(self.run_id).data.params
        for key, value in params.items():
            if key in logged and logged[key] != str(value):
                self.experiment.set_tag(self.run_id, f"resumed.{key}", str(value))
        fresh = {k: v for k, v in params.items() if k not in logged}
        if fresh:
            super().log_hyperparams(fresh)


def log_selected_score(logs: list[Logger], score: float | None, step: int) -> None:
    """TensorBoard's HPARAMS tab pairs the run's hyperparameters with `hp_metric`: Lightning
    writes -1 at the start, this the score the epoch was selected on, at the end."""
    for logger in logs:
        if isinstance(logger, TensorBoardLogger) and score is not None:
            logger.log_metrics({"hp_metric": score}, step=step)
            logger.save()


def mlflow_uri(config: TrainConfig, run_dir: Path) -> str:
    """The tracking URI: the one given, else a SQLite store in the run folder."""
    return config.tracking.mlflow_uri or f"sqlite:///{(run_dir / 'mlflow.db').resolve()}"


def check_mlflow(config: TrainConfig) -> None:
    """Refuse `tracking.mlflow` without MLflow installed, naming the install command."""
    if config.tracking.mlflow and importlib.util.find_spec("mlflow") is None:
        raise MissingDependencyError(f"--mlflow needs MLflow, which is not installed: "
                                     f"{MLFLOW_INSTALL}")


def loggers(config: TrainConfig, run_dir: Path) -> list[Logger]:
    """CSV and TensorBoard (version 0: a resumed run continues them), and MLflow when asked."""
    found: list[Logger] = [CSVLogger(run_dir, name="logs", version=0),
                           TensorBoardLogger(run_dir, name="tensorboard", version=0)]
    if config.tracking.mlflow:
        check_mlflow(config)
        stored = run_dir / MLFLOW_RUN_FILE
        run_id = stored.read_text().strip() if config.resume and stored.is_file() else None
        found.append(ResumableMLFlowLogger(experiment_name=config.tracking.experiment or config.name,
                                  run_name=run_dir.name, tracking_uri=mlflow_uri(config, run_dir),
                                  run_id=run_id, tags={"scancci.run_dir": str(run_dir)}))
    return found


def remember_mlflow_run(found: list[Logger], run_dir: Path) -> None:
    """Keep the MLflow run id in the run folder, so `--resume` continues that run."""
    for logger in found:
        if isinstance(logger, MLFlowLogger) and logger.run_id:
            (run_dir / MLFLOW_RUN_FILE).write_text(logger.run_id + "\n")
