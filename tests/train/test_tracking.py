"""Experiment tracking: MLflow behind one switch, offline (a SQLite store in the run folder),
continued by --resume; without MLflow installed, one line naming the install command."""

from __future__ import annotations

import sys

import pytest

from scancci.cli import main
from scancci.train import fit

QUICK = ("trainer.epochs=1", "evaluation.calibrate=false", "data.subsets=[]")


@pytest.mark.slow
def test_mlflow_logs_params_and_curves_offline_and_resume_continues_the_run(
        tiny_config, tiny_cli, tmp_path) -> None:
    from mlflow.tracking import MlflowClient

    run = tmp_path / "tracked"
    assert main(["train", "--recipe", "demo", *tiny_cli(run, *QUICK), "--mlflow", "--quiet"]) == 0
    assert main(["train", "--resume", "--output", str(run), "--epochs", "2", "--quiet"]) == 0
    client = MlflowClient(tracking_uri=f"sqlite:///{run / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("demo")
    runs = client.search_runs([experiment.experiment_id])
    assert len(runs) == 1  # the resumed run continued it
    params, metrics = runs[0].data.params, runs[0].data.metrics
    assert params["recipe"] == "demo" and params["protocol"] == "honest"
    assert params["global_batch"] == "14"
    history = client.get_metric_history(runs[0].info.run_id, "val/acc")
    assert len(history) == 2 and "train/loss" in metrics  # one point per epoch, both epochs


def test_without_mlflow_the_switch_names_the_install_command(tiny_config, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "mlflow", None)  # as if it were not installed
    config = tiny_config(*QUICK, "tracking.mlflow=true")
    with pytest.raises(Exception, match=r'pip install "scancci\[mlflow\]"'):
        fit(config)
