"""fit() on tiny generated faces: the loss falls, the run folder is complete, resume is exact."""

from __future__ import annotations

import csv
import importlib
from pathlib import Path

import pytest
import torch

from scancci.errors import CheckpointError, DatasetError, InvalidInputError
from scancci.train import fit
from scancci.train.module import TrainingDivergedError


def _history(run_dir: Path) -> list[dict[str, str]]:
    with (run_dir / "history.csv").open() as handle:
        return list(csv.DictReader(handle))


def _weights(path: Path) -> dict[str, torch.Tensor]:
    return torch.load(path, map_location="cpu", weights_only=True)["state_dict"]


def test_loss_falls_and_the_run_folder_holds_everything(tiny_config, caplog, recwarn) -> None:
    from scancci.models import load_network

    # no augmentation or resampling: the same 56 faces each epoch, so the loss must fall
    config = tiny_config("trainer.epochs=4", "optim.head_lr=0.1", "optim.trunk_lr=0.02",
                         "data.balance=none", "data.augment={flip: false, color_jitter: false}")
    result = fit(config)
    run = result.run_dir
    losses = [float(row["train/loss"]) for row in _history(run)]
    assert len(losses) == 4
    assert losses[-1] < 0.99 * losses[0]
    for name in ("config.yaml", "checkpoints/last.ckpt", "checkpoints/best.ckpt",
                 "model.safetensors", "model.json", "eval/results.json",
                 "eval/confusion_clean.csv", "eval/confusion_clean.png", "eval/reliability.png",
                 "report.md"):
        assert (run / name).is_file(), name
    assert list(run.glob("logs/version_*/metrics.csv"))
    assert list(run.glob("tensorboard/version_*/events.out.tfevents.*"))
    assert set(result.results) == {"clean", "occluded", "masked"}
    assert result.results["clean"].num_samples == 21
    model = load_network(run)  # the selected model with its fitted temperature
    assert model.config.temperature == pytest.approx(result.calibration["temperature"])
    assert "Test (evaluated once" in (run / "report.md").read_text()
    assert "GPU available" in caplog.text and "litlogger" not in caplog.text  # its ads dropped
    assert not [w for w in recwarn if "LeafSpec" in str(w.message)]  # nor its torch deprecation


def test_resumed_run_matches_an_uninterrupted_one(tiny_config) -> None:
    quick = ("evaluation.calibrate=false", "data.subsets=[]")
    fit(tiny_config(*quick, run="whole"))
    first = tiny_config("trainer.epochs=1", *quick, run="parts")
    fit(first)
    resumed = fit(tiny_config("resume=true", *quick, run="parts"))
    whole_dir, parts_dir = first.run_dir.replace("parts", "whole"), resumed.run_dir
    a = _weights(Path(whole_dir) / "checkpoints/last.ckpt")
    b = _weights(parts_dir / "checkpoints/last.ckpt")
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key
    assert _history(Path(whole_dir)) == _history(parts_dir)


def test_run_folder_is_never_overwritten_silently(tiny_config, tmp_path) -> None:
    config = tiny_config("trainer.epochs=1", "trainer.limit_train_batches=1")
    fit(config)
    with pytest.raises(InvalidInputError, match="not empty.*--resume.*--overwrite"):
        fit(config)
    stranger = tmp_path / "mine"
    stranger.mkdir()
    (stranger / "thesis.tex").write_text("precious")
    with pytest.raises(InvalidInputError, match="not a scancci run folder"):
        fit(tiny_config("overwrite=true", run="mine"))
    assert (stranger / "thesis.tex").read_text() == "precious"
    with pytest.raises(InvalidInputError, match="no checkpoints/last.ckpt"):
        fit(tiny_config("resume=true", run="empty"))
    with pytest.raises(InvalidInputError, match="differs"):
        fit(tiny_config("trainer.epochs=1", "optim.head_lr=0.5", "resume=true"))


def test_bad_data_and_checkpoints_fail_before_training(tiny_config, tmp_path) -> None:
    with pytest.raises(DatasetError, match="does not exist"):
        fit(tiny_config(f"data.root={tmp_path / 'nowhere'}", run="a"))
    with pytest.raises(InvalidInputError, match="--init-from"):
        fit(tiny_config("model.init_required=true", run="b"))
    from scancci.models import create_model, save_model

    other = create_model("scancci_mobilenetv2", num_classes=8, input_size=64)
    (tmp_path / "eight").mkdir()
    save_model(other, tmp_path / "eight" / "model.safetensors")
    with pytest.raises(CheckpointError, match="--reset-classifier"):
        fit(tiny_config(f"model.init_from={tmp_path / 'eight'}", run="c"))


def test_missing_subset_data_fails_before_the_first_epoch(tiny_faces, tmp_path, capsys) -> None:
    """The demo recipe given only its clean folder: one line naming both missing sources,
    exit 2, and no run folder (nothing was trained or calibrated)."""
    from scancci.cli import main

    out = tmp_path / "run"
    code = main(["train", "--recipe", "demo", "--data", str(tiny_faces["clean"]), "--out",
                 str(out), "--epochs", "1", "--model", "scancci_mobilenetv2", "--input-size",
                 "64", "--quiet"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1
    assert "cannot start" in err and "'occluded'" in err and "'masked'" in err
    assert "--data occluded=PATH" in err and "--data masked=PATH" in err
    assert not out.exists()


def test_diverging_loss_stops_with_a_clear_message(tiny_config, monkeypatch) -> None:
    module = importlib.import_module("scancci.train.module")  # the loss as the step calls it
    real = module.scancci_loss
    monkeypatch.setattr(module, "scancci_loss",
                        lambda *a, **k: real(*a, **k) * float("nan"))
    with pytest.raises(TrainingDivergedError, match="became nan.*head_lr"):
        fit(tiny_config("trainer.epochs=1"))


def test_linear_probe_on_the_users_own_label_set(tiny_config, tmp_path) -> None:
    from scancci.models import create_model, load_network, save_model

    start = create_model("scancci_mobilenetv2", num_classes=7, input_size=64,
                         backbone_weights="imagenet")
    (tmp_path / "start").mkdir()
    save_model(start, tmp_path / "start" / "model.safetensors")
    result = fit(tiny_config(f"model.init_from={tmp_path / 'start'}", "model.linear_probe=true",
                             "model.class_names=[sad, happy, neutral]", "model.num_classes=3",
                             "trainer.epochs=1", "evaluation.calibrate=false"))
    trained = load_network(result.model_path)
    assert tuple(trained.config.class_names) == ("sad", "happy", "neutral")
    assert result.results["clean"].num_samples == 9  # 3 test faces of each chosen class
    assert result.results["clean"].class_names == ("sad", "happy", "neutral")
    before = dict(start.named_parameters())
    changed = {n for n, p in trained.named_parameters()
               if n not in before or p.shape != before[n].shape or not torch.equal(p, before[n])}
    assert changed  # the new classifier
    trunk = {id(p) for p in trained.parameter_groups()["trunk"]}
    frozen = [n for n, p in trained.named_parameters() if id(p) in trunk]
    assert frozen and not set(frozen) & changed
    buffers = dict(start.named_buffers())
    assert all(torch.equal(b, buffers[n]) for n, b in trained.named_buffers()
               if n in buffers and b.shape == buffers[n].shape)  # BatchNorm statistics kept


def test_resume_from_a_truncated_checkpoint_is_one_clear_error(tiny_config, capsys) -> None:
    quick = ("trainer.epochs=1", "evaluation.calibrate=false", "data.subsets=[]")
    first = fit(tiny_config(*quick))
    last = first.run_dir / "checkpoints/last.ckpt"
    last.write_bytes(last.read_bytes()[: last.stat().st_size // 2])  # killed while saving
    with pytest.raises(CheckpointError, match="truncated or corrupted.*drop --resume"):
        fit(tiny_config("resume=true", *quick))
